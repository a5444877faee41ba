//! What validation reports: a [`Problem`] in words, and each [`Import`] a
//! module makes.

use std::fmt;

use spirit_sdk::abi::HostFunction;

/// One thing wrong with a module, in words.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
}

impl Problem {
    pub(super) fn new(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            help: None,
        }
    }

    pub(super) fn help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A message quotes names from the module (imports, exports), which
        // a hostile module fills with escape sequences.
        write!(f, "{}", crate::shell::escape(&self.message))?;
        if let Some(help) = &self.help {
            write!(f, "\nhelp: {help}")?;
        }
        Ok(())
    }
}

/// An import the module makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The import module.
    pub module: String,
    /// The import name.
    pub name: String,
    /// The host function it names, when it is one with the right signature.
    pub host_function: Option<&'static HostFunction>,
}
