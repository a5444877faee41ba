//! Joining a cargo workspace: when `cargo spirit new` or `init` writes a
//! crate inside one, the crate is added to the workspace's `members`, as
//! `cargo new` does.
//!
//! The workspace's `Cargo.toml` is edited with `toml_edit`, which keeps
//! every comment, blank line and the array's layout; only the new member is
//! added, formatted like its neighbours.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Value};

/// How a new crate relates to the workspace around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The workspace's `Cargo.toml`.
    pub manifest: PathBuf,
    /// The crate's path relative to the workspace root, with `/`.
    pub member: String,
    /// What was done.
    pub outcome: Joined,
}

/// What [`join`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Joined {
    /// The crate was added to `members`.
    Added,
    /// `members` already covers it (by name or by a glob such as `spirits/*`).
    AlreadyMember,
    /// The workspace's `exclude` names it: left out.
    Excluded,
}

/// Why the workspace could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The workspace's `Cargo.toml` is not valid TOML, or its
    /// `workspace.members` is not an array.
    #[error("could not add `{member}` to the workspace in `{}`: {reason}\nhelp: add `\"{member}\"` to `workspace.members` by hand", manifest.display())]
    Invalid {
        /// The workspace's `Cargo.toml`.
        manifest: PathBuf,
        /// The new member.
        member: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Fs(#[from] crate::fs::FsError),
}

/// Adds the crate in `crate_dir` (an absolute path) to the `members` of the
/// nearest workspace above it, if there is one.
///
/// ```
/// use spirit_build::workspace::{self, Joined};
///
/// let root = tempfile::tempdir().unwrap();
/// let manifest = root.path().join("Cargo.toml");
/// std::fs::write(&manifest, "[workspace]\n# the tools\nmembers = [\"cli\"]\n").unwrap();
/// let spirit = root.path().join("spirits/hello");
/// std::fs::create_dir_all(&spirit).unwrap();
///
/// let joined = workspace::join(&spirit).unwrap().unwrap();
/// assert_eq!(joined.outcome, Joined::Added);
/// assert_eq!(
///     std::fs::read_to_string(&manifest).unwrap(),
///     "[workspace]\n# the tools\nmembers = [\"cli\", \"spirits/hello\"]\n"
/// );
/// ```
///
/// # Errors
///
/// Fails when the workspace's `Cargo.toml` cannot be read, parsed or
/// written; the crate itself is not affected.
pub fn join(crate_dir: &Path) -> Result<Option<Membership>, WorkspaceError> {
    let Some((root, mut doc)) = find(crate_dir)? else {
        return Ok(None);
    };
    let manifest = root.join("Cargo.toml");
    let member = crate_dir
        .strip_prefix(&root)
        .unwrap_or(crate_dir)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let invalid = |reason: &str| WorkspaceError::Invalid {
        manifest: manifest.clone(),
        member: member.clone(),
        reason: reason.to_owned(),
    };
    let Some(workspace) = doc.get_mut("workspace").and_then(Item::as_table_like_mut) else {
        return Err(invalid("`workspace` is not a table"));
    };
    let listed = |key: &str| -> Result<Vec<String>, WorkspaceError> {
        match workspace.get(key) {
            None => Ok(Vec::new()),
            Some(item) => item
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(normalize)).collect())
                .ok_or_else(|| invalid(&format!("`workspace.{key}` is not an array"))),
        }
    };
    let exclude = listed("exclude")?;
    let members = listed("members")?;
    let outcome = if exclude
        .iter()
        .any(|e| member == *e || member.starts_with(&format!("{e}/")))
    {
        Joined::Excluded
    } else if members.iter().any(|m| glob_matches(m, &member)) {
        Joined::AlreadyMember
    } else {
        let item = workspace
            .entry("members")
            .or_insert(Item::Value(Value::Array(toml_edit::Array::new())));
        let Some(array) = item.as_array_mut() else {
            return Err(invalid("`workspace.members` is not an array"));
        };
        push_like_neighbours(array, &member);
        crate::fs::write_atomic(&manifest, doc.to_string().as_bytes())?;
        Joined::Added
    };
    Ok(Some(Membership {
        manifest,
        member,
        outcome,
    }))
}

/// The nearest directory above `crate_dir` whose `Cargo.toml` has a
/// `[workspace]` table, with that file parsed.
fn find(crate_dir: &Path) -> Result<Option<(PathBuf, DocumentMut)>, WorkspaceError> {
    for dir in crate_dir.ancestors().skip(1) {
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let bytes = crate::fs::read(&manifest)?;
        let text = String::from_utf8_lossy(&bytes);
        // Only a file that is a workspace is parsed strictly: a broken
        // package manifest above the new crate is none of our business.
        if !text.contains("workspace") {
            continue;
        }
        let doc: DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| WorkspaceError::Invalid {
                    manifest: manifest.clone(),
                    member: crate_dir.display().to_string(),
                    reason: format!("invalid TOML: {}", e.message()),
                })?;
        if doc.get("workspace").is_some() {
            return Ok(Some((dir.to_owned(), doc)));
        }
    }
    Ok(None)
}

/// Appends `member`, laid out like the elements before it: on its own
/// line in a multi-line array (a comment after the last element stays with
/// that element), after a space in a one-line array.
fn push_like_neighbours(array: &mut toml_edit::Array, member: &str) {
    let mut value = Value::from(member);
    let last_prefix = array
        .iter()
        .last()
        .and_then(|v| v.decor().prefix())
        .and_then(|p| p.as_str())
        .map(str::to_owned);
    match last_prefix {
        Some(prefix) if prefix.contains('\n') => {
            let indent = prefix.rsplit('\n').next().unwrap_or_default().to_owned();
            let mut trailing = array.trailing().as_str().unwrap_or_default().to_owned();
            if !array.trailing_comma() {
                // Without a trailing comma, what follows the last element is
                // that element's suffix: move it after the new comma.
                if let Some(last) = array.iter_mut().last() {
                    let suffix = last
                        .decor()
                        .suffix()
                        .and_then(|s| s.as_str())
                        .unwrap_or_default();
                    trailing = format!("{suffix}{trailing}");
                    last.decor_mut().set_suffix("");
                }
            }
            // `trailing` is what follows the last comma: a comment on the
            // last element's line, then the newline and indent before `]`.
            let (comment, before_bracket) = trailing.rsplit_once('\n').unwrap_or(("", ""));
            value.decor_mut().set_prefix(format!("{comment}\n{indent}"));
            array.set_trailing(format!("\n{before_bracket}"));
            array.set_trailing_comma(true);
        }
        Some(_) => value.decor_mut().set_prefix(" "),
        None => {}
    }
    array.push_formatted(value);
}

/// `./spirits/x/` → `spirits/x`.
fn normalize(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_end_matches('/')
        .replace('\\', "/")
}

/// Whether `path` matches the workspace glob `pattern`, component by
/// component, with `*` (any run of characters) and `?` (one character).
/// Cargo itself uses the `glob` crate; members rarely need more than this,
/// and a miss only means the new crate is listed explicitly.
fn glob_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(&path)
            .all(|(p, c)| component_matches(p.as_bytes(), c.as_bytes()))
}

fn component_matches(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.split_first(), text.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => {
            component_matches(rest, text)
                || text
                    .split_first()
                    .is_some_and(|(_, tail)| component_matches(pattern, tail))
        }
        (Some((b'?', rest)), Some((_, tail))) => component_matches(rest, tail),
        (Some((p, rest)), Some((c, tail))) => p == c && component_matches(rest, tail),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(workspace: &str, member: &str) -> (Joined, String) {
        let root = tempfile::tempdir().unwrap();
        let manifest = root.path().join("Cargo.toml");
        crate::fs::write_atomic(&manifest, workspace.as_bytes()).unwrap();
        let dir = root.path().join(member);
        std::fs::create_dir_all(&dir).unwrap();
        let membership = join(&dir).unwrap().unwrap();
        assert_eq!(membership.member, member);
        (
            membership.outcome,
            std::fs::read_to_string(&manifest).unwrap(),
        )
    }

    #[test]
    fn multi_line_arrays_keep_their_layout_and_comments() {
        let before = "\
# The workspace.
[workspace]
resolver = \"3\"
members = [
    # Tools.
    \"cli\",   # the binary
]

[workspace.package]
edition = \"2024\"
";
        let (outcome, after) = joined(before, "spirits/hello");
        assert_eq!(outcome, Joined::Added);
        assert_eq!(
            after,
            "\
# The workspace.
[workspace]
resolver = \"3\"
members = [
    # Tools.
    \"cli\",   # the binary
    \"spirits/hello\",
]

[workspace.package]
edition = \"2024\"
"
        );
    }

    #[test]
    fn a_multi_line_array_without_trailing_comma_gets_one() {
        let (_, after) = joined("[workspace]\nmembers = [\n  \"a\",\n  \"b\"\n]\n", "c");
        assert_eq!(
            after,
            "[workspace]\nmembers = [\n  \"a\",\n  \"b\",\n  \"c\",\n]\n"
        );
    }

    #[test]
    fn missing_or_empty_members_are_created() {
        let (_, after) = joined("[workspace]\nresolver = \"3\"\n", "x");
        assert_eq!(after, "[workspace]\nresolver = \"3\"\nmembers = [\"x\"]\n");
        let (_, after) = joined("[workspace]\nmembers = []\n", "x");
        assert_eq!(after, "[workspace]\nmembers = [\"x\"]\n");
    }

    #[test]
    fn globs_and_excludes_are_respected() {
        let text = "[workspace]\nmembers = [\"spirits/*\"]\nexclude = [\"scratch\"]\n";
        assert_eq!(joined(text, "spirits/a").0, Joined::AlreadyMember);
        assert_eq!(joined(text, "scratch/a").0, Joined::Excluded);
        assert_eq!(joined(text, "spirits/a").1, text, "unchanged");
    }

    #[test]
    fn no_workspace_no_change() {
        let root = tempfile::tempdir().unwrap();
        crate::fs::write_atomic(
            &root.path().join("Cargo.toml"),
            b"[package]\nname = \"p\"\n",
        )
        .unwrap();
        let dir = root.path().join("x");
        std::fs::create_dir(&dir).unwrap();
        assert_eq!(join(&dir).unwrap(), None);
    }

    #[test]
    fn glob_components() {
        assert!(glob_matches("spirits/*", "spirits/hello"));
        assert!(glob_matches("s*/h?llo", "spirits/hello"));
        assert!(!glob_matches("spirits/*", "spirits/a/b"));
        assert!(!glob_matches("tools/*", "spirits/a"));
        assert!(glob_matches("a", "a"));
    }
}
