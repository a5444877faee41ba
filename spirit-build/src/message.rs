//! `--message-format`: whether standard output carries JSON messages, and
//! the one function that writes such a message.
//!
//! Every JSON line cargo-spirit prints (the build's `spirit-artifact`, the
//! check's `spirit-check`, each command's own) goes through
//! [`MessageFormat::emit`], so they all share one shape: one object per line
//! on standard output, while status lines stay on standard error.

use serde::Serialize;

use crate::Shell;

/// `--message-format`: for people, or one JSON object per line for tools.
///
/// ```
/// use spirit_build::MessageFormat;
/// assert_eq!("json".parse::<MessageFormat>(), Ok(MessageFormat::Json));
/// assert_eq!(MessageFormat::Human.as_str(), "human");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageFormat {
    /// Status lines on standard error.
    #[default]
    Human,
    /// Cargo's JSON messages and one object per result (such as a
    /// `spirit-artifact` per spirit) on standard output (status lines still
    /// go to standard error).
    Json,
}

impl MessageFormat {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [MessageFormat; 2] = [MessageFormat::Human, MessageFormat::Json];

    /// The name `--message-format` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageFormat::Human => "human",
            MessageFormat::Json => "json",
        }
    }

    /// Whether this is [`MessageFormat::Json`].
    pub fn is_json(self) -> bool {
        self == MessageFormat::Json
    }

    /// With [`MessageFormat::Json`], writes `message` as one line of JSON on
    /// standard output; with [`MessageFormat::Human`], nothing.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use spirit_build::{MessageFormat, Shell, Verbosity};
    ///
    /// #[derive(Clone, Default)]
    /// struct Out(Arc<Mutex<Vec<u8>>>);
    /// impl std::io::Write for Out {
    ///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().extend_from_slice(b); Ok(b.len()) }
    ///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// }
    /// let out = Out::default();
    /// let shell = Shell::from_writers(Verbosity::Normal, Box::new(std::io::sink()), Box::new(out.clone()));
    /// MessageFormat::Json.emit(&shell, &serde_json::json!({ "reason": "key-created" })).unwrap();
    /// MessageFormat::Human.emit(&shell, &serde_json::json!({ "reason": "ignored" })).unwrap();
    /// assert_eq!(out.0.lock().unwrap().as_slice(), b"{\"reason\":\"key-created\"}\n");
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when `message` cannot be serialized or standard output cannot
    /// be written.
    pub fn emit(self, shell: &Shell, message: &impl Serialize) -> std::io::Result<()> {
        if self.is_json() {
            let mut line = serde_json::to_string(message)?;
            line.push('\n');
            shell.write_stdout(line.as_bytes())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for MessageFormat {
    type Err = String;

    fn from_str(name: &str) -> Result<MessageFormat, String> {
        MessageFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| format!("unknown message format `{name}`; accepted: human, json"))
    }
}
