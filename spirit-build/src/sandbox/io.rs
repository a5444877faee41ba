//! Where a running spirit's logs and output go: the [`SpiritIo`] trait, the
//! in-memory [`CollectingIo`], and the [`LogRecord`] of one log line.

use std::any::Any;
use std::fmt;

use spirit_sdk::abi::LogLevel;

/// Where a running spirit's logs and output go. `Sync` because a failed
/// run hands its sink back inside its error ([`RunFailure`](super::RunFailure)),
/// which may cross threads.
pub trait SpiritIo: Send + Sync + Any + fmt::Debug {
    /// A log line from the spirit.
    fn log(&mut self, record: LogRecord);
    /// Bytes the spirit wrote to its output.
    ///
    /// # Errors
    ///
    /// The spirit's `host_output_write` returns `-1` when this fails.
    fn output(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Why a host call returned `-1` when the spirit cannot tell (a storage
    /// quota, a busy database), for the person running it. At most a few
    /// per run. Ignored unless implemented.
    fn warning(&mut self, message: String) {
        let _ = message;
    }
    /// A network attempt the run's allowlist let through (`cargo spirit
    /// run -v` prints them; refusals are [`SpiritIo::warning`]s). Ignored
    /// unless implemented.
    fn network(&mut self, event: String) {
        let _ = event;
    }
    /// As `Any`, to get a concrete sink back from an [`Outcome`](super::Outcome).
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    /// What this sink collected, if it keeps logs and output in memory: a
    /// [`CollectingIo`] returns itself, a sink that wraps one returns it.
    /// [`Outcome::output`](super::Outcome::output) and its siblings read it.
    fn collected(&self) -> Option<&CollectingIo> {
        None
    }
}

/// Keeps logs and output in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectingIo {
    /// Every log line, in order.
    pub logs: Vec<LogRecord>,
    /// Everything written to the output.
    pub output: Vec<u8>,
    /// Every host warning, in order.
    pub warnings: Vec<String>,
    /// Every network attempt allowed, in order.
    pub network: Vec<String>,
}

impl SpiritIo for CollectingIo {
    fn log(&mut self, record: LogRecord) {
        self.logs.push(record);
    }

    fn output(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.output.extend_from_slice(bytes);
        Ok(())
    }

    fn warning(&mut self, message: String) {
        self.warnings.push(message);
    }

    fn network(&mut self, event: String) {
        self.network.push(event);
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn collected(&self) -> Option<&CollectingIo> {
        Some(self)
    }
}

/// A host-side log line from a spirit.
///
/// ```
/// use spirit_build::sandbox::LogRecord;
/// use spirit_sdk::abi::LogLevel;
/// let record = LogRecord { spirit: "hello".into(), level: LogLevel::Info, message: "hi".into() };
/// assert_eq!(record.to_string(), "[INFO hello] hi");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// The spirit's name.
    pub spirit: String,
    /// The level.
    pub level: LogLevel,
    /// The message.
    pub message: String,
}

impl fmt::Display for LogRecord {
    /// `[INFO hello] message`, as `cargo spirit run` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{} {}] {}",
            self.level.as_str(),
            self.spirit,
            self.message
        )
    }
}
