//! [`SeanceError`]: why a séance refused to summon, invoke or release.

use crate::sandbox::{BusError, RunError, SandboxError};

/// Why a séance operation failed; each message names the spirit.
#[derive(Debug, thiserror::Error)]
pub enum SeanceError {
    /// The name is not one a spirit can have in a séance.
    #[error(
        "`{name}` cannot name a spirit in a séance: {reason}\nhelp: use a letter, then letters, digits, `-` or `_` (at most 64)"
    )]
    BadName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A spirit of that name is in the séance already.
    #[error(
        "a spirit named `{0}` is already summoned\nhelp: give each spirit its own name (NAME=TARGET)"
    )]
    Taken(String),
    /// No spirit of that name was summoned (or it was released).
    #[error("no spirit named `{name}` is summoned{}", summoned_help(.summoned))]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names summoned.
        summoned: Vec<String>,
    },
    /// The spirit's instance ended in an earlier invocation.
    #[error(
        "`{name}` ended in an earlier invocation ({cause}) and cannot be invoked again\nhelp: summon it again for a fresh instance"
    )]
    Ended {
        /// The spirit.
        name: String,
        /// How it ended.
        cause: String,
    },
    /// The spirit could not be loaded (compiled, linked).
    #[error(transparent)]
    Load(#[from] SandboxError),
    /// Summoning or invoking the spirit failed.
    #[error("`{name}`: {error}")]
    Run {
        /// The spirit.
        name: String,
        /// What happened.
        error: RunError,
    },
    /// A `NAME=TARGET` or `NAME.FUNC [ARGS…]` that does not parse.
    #[error("`{spec}` is not {expected}\nhelp: {help}")]
    Spec {
        /// The text given.
        spec: String,
        /// What it should be.
        expected: &'static str,
        /// An example.
        help: &'static str,
    },
    /// Results could not be written to standard output.
    #[error("could not write the results to standard output: {0}")]
    Output(#[source] std::io::Error),
    /// The bus refused a message from the host.
    #[error(transparent)]
    Bus(#[from] BusError),
}

fn summoned_help(summoned: &[String]) -> String {
    if summoned.is_empty() {
        "\nhelp: nothing is summoned".to_owned()
    } else {
        format!(
            "\nhelp: summoned: {}",
            summoned
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}
