//! Whether `run` grants the capabilities a spirit's own manifest declares:
//! only when someone the user trusts vouches for it.
//!
//! A manifest is written by whoever made the package, so its list of
//! capabilities is a request, not a grant. `run` grants it when
//!
//! - the spirit is a crate (`cargo spirit run` in a crate, or a crate
//!   directory): the user builds it from source, and its build script
//!   already runs natively with the user's rights, so withholding what it
//!   declares would protect nothing;
//! - a package or build directory is signed, the signature verifies, and
//!   its author is in `trusted.toml` (what `install` requires);
//! - an installed spirit's author is still trusted (`untrust` after
//!   install withdraws the grant), or it was installed unsigned with
//!   `--allow-unsigned`, which the user chose and the index records.
//!
//! Otherwise the spirit runs with `--allow` only, like a bare `.wasm`, and a
//! warning says why and how to grant (trust the author, or `--allow`).
//! Signatures are checked with the one signed-files check,
//! [`sign::check_signed`], and an explicit [`SignaturePolicy`].

use std::fmt;

use spirit_sdk::abi::Capability;

use crate::package::SpiritFiles;
use crate::registry::Entry;
use crate::sign::{self, Acceptance, Author, SignaturePolicy, Verdict, VerifyError};

/// What a run grants of the declared capabilities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Grant {
    /// All of them.
    Declared,
    /// None: why, in words, and who could be trusted to change that.
    Withheld {
        /// Why, completing "the capabilities it declares are not granted: …".
        why: String,
        /// The author to trust instead, when the spirit is signed.
        author: Option<Author>,
    },
}

/// The policy for running a package or a build directory: an unsigned or
/// untrusted one passes (it runs), but only a trusted one is granted what
/// it declares.
const RUN_POLICY: SignaturePolicy = SignaturePolicy {
    unsigned: Acceptance::Allow,
    untrusted: Acceptance::Allow,
    author: None,
};

/// Checks a package's or build directory's files and says what to grant.
///
/// # Errors
///
/// Fails when the files disagree or a signature does not verify.
pub(super) fn for_files(
    files: &SpiritFiles,
    trusted: &[Author],
) -> Result<(Grant, Verdict), VerifyError> {
    let verdict = sign::check_signed(files.signed(), &RUN_POLICY, trusted)?;
    let grant = match verdict {
        Verdict::Trusted(_) => Grant::Declared,
        Verdict::Untrusted(author) => Grant::Withheld {
            why: format!("it is signed by {author}, who is not trusted"),
            author: Some(author),
        },
        Verdict::Unsigned => Grant::Withheld {
            why: "it is unsigned, so who made it cannot be checked".to_owned(),
            author: None,
        },
    };
    Ok((grant, verdict))
}

/// What to grant an installed spirit, whose files the registry has just
/// checked against its index: its author must still be trusted.
pub(super) fn for_installed(entry: &Entry, trusted: &[Author]) -> Grant {
    if entry.unsigned {
        return Grant::Declared;
    }
    let author = entry
        .author
        .as_deref()
        .and_then(|a| Author::from_hex(a).ok());
    match author {
        Some(author) if trusted.contains(&author) => Grant::Declared,
        Some(author) => Grant::Withheld {
            why: format!(
                "its author {author} is no longer trusted (`cargo spirit untrust` since it was installed)"
            ),
            author: Some(author),
        },
        None => Grant::Withheld {
            why: "the index does not say who signed it".to_owned(),
            author: None,
        },
    }
}

/// The warning for capabilities a run withholds: those declared and not
/// granted by `--allow` anyway (nor withheld by `--deny`); `None` when
/// nothing is lost.
pub(super) fn warning(
    what: &dyn fmt::Display,
    why: &str,
    author: Option<Author>,
    declared: &[Capability],
    allow: &[Capability],
    deny: &[Capability],
) -> Option<String> {
    let lost: Vec<&str> = declared
        .iter()
        .filter(|c| !allow.contains(c) && !deny.contains(c))
        .map(|c| c.as_str())
        .collect();
    if lost.is_empty() {
        return None;
    }
    let allow_flags = lost
        .iter()
        .map(|c| format!("--allow {c}"))
        .collect::<Vec<_>>()
        .join(" ");
    let trust = match author {
        Some(author) => format!("trust its author (`cargo spirit trust {author}`)"),
        None => "sign it with a key you trust".to_owned(),
    };
    Some(format!(
        "`{what}` runs without the capabilities it declares ({}): {why}\nhelp: to grant them, {trust}, or grant them for this run with `{allow_flags}`",
        lost.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use crate::sign::Key;

    fn files(key: Option<&Key>) -> SpiritFiles {
        let wasm = b"\0asm\x01\0\0\0".to_vec();
        let mut manifest = Manifest::for_module("asker", "1.0.0".parse().unwrap(), &wasm);
        manifest.capabilities = vec![Capability::StorageWrite, Capability::ActuatorLog];
        SpiritFiles::new(manifest, wasm, key)
    }

    #[test]
    fn only_a_trusted_signature_grants_what_a_manifest_declares() {
        let key = Key::generate().unwrap();
        let trusted = [key.author()];
        assert_eq!(
            for_files(&files(Some(&key)), &trusted).unwrap().0,
            Grant::Declared
        );
        assert!(matches!(
            for_files(&files(Some(&key)), &[]).unwrap().0,
            Grant::Withheld { author: Some(a), .. } if a == key.author()
        ));
        assert!(matches!(
            for_files(&files(None), &trusted).unwrap().0,
            Grant::Withheld { author: None, .. }
        ));
        // A signature that does not verify is an error, not a withheld grant.
        let mut forged = files(Some(&key));
        forged.wasm.push(0);
        assert!(for_files(&forged, &trusted).is_err());
    }

    #[test]
    fn the_warning_names_what_is_lost_and_both_ways_to_grant_it() {
        let author = Key::generate().unwrap().author();
        let declared = [Capability::StorageWrite, Capability::ActuatorLog];
        let text = warning(
            &"a.spirit",
            "why",
            Some(author),
            &declared,
            &[Capability::ActuatorLog],
            &[],
        )
        .unwrap();
        assert_eq!(
            text,
            format!(
                "`a.spirit` runs without the capabilities it declares (storage_write): why\nhelp: to grant them, trust its author (`cargo spirit trust {author}`), or grant them for this run with `--allow storage_write`"
            )
        );
        assert_eq!(
            warning(
                &"a",
                "why",
                None,
                &declared,
                &[Capability::ActuatorLog],
                &[Capability::StorageWrite]
            ),
            None
        );
    }
}
