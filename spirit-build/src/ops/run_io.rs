//! A run at a terminal: its input read from a file or standard input, its
//! logs on standard error and its output on standard output as they happen
//! (what `cargo spirit run` gives [`run`](crate::ops::run)).

use std::io::{Read, Write};
use std::path::Path;

pub use crate::error::InputError;
use crate::sandbox::{LogRecord, SpiritIo};
use crate::{Error, Shell};

/// The input bytes of a run: none, a file's, or standard input's for `-`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("in.bin");
/// spirit_build::fs::write_atomic(&path, b"hi").unwrap();
/// assert_eq!(spirit_build::ops::read_input(Some(&path)).unwrap(), b"hi");
/// assert!(spirit_build::ops::read_input(None).unwrap().is_empty());
/// ```
///
/// # Errors
///
/// Fails when the file or standard input cannot be read.
pub fn read_input(path: Option<&Path>) -> Result<Vec<u8>, Error> {
    match path {
        None => Ok(Vec::new()),
        Some(path) if path.as_os_str() == "-" => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(InputError)?;
            Ok(bytes)
        }
        Some(path) => {
            Ok(std::fs::read(path)
                .map_err(|e| crate::fs::FsError::new("read the input", path, e))?)
        }
    }
}

/// Log lines and warnings to standard error (through a [`Shell`], so `-q`
/// silences them), output to standard output, as they happen.
#[derive(Debug)]
pub struct TerminalIo {
    shell: Shell,
}

impl TerminalIo {
    /// Writes with the verbosity and colours of `shell`.
    pub fn new(shell: &Shell) -> TerminalIo {
        TerminalIo {
            shell: Shell::new(shell.verbosity(), shell.color_choice()),
        }
    }
}

impl SpiritIo for TerminalIo {
    fn log(&mut self, record: LogRecord) {
        self.shell.print_err_line(&record);
    }

    /// Straight to the process's standard output: `Shell::write_stdout`
    /// goes through a colour-stripping stream, which would drop any bytes of
    /// binary output that look like an escape sequence.
    fn output(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()
    }

    fn warning(&mut self, message: String) {
        self.shell.warn(message);
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// The process exit code for a spirit's status: its low byte, and `1` when
/// that is zero but the status is not.
///
/// ```
/// use spirit_build::ops::exit_code;
/// assert_eq!((exit_code(0), exit_code(3), exit_code(256), exit_code(-1)), (0, 3, 1, 255));
/// ```
pub fn exit_code(status: i32) -> u8 {
    if status == 0 {
        return 0;
    }
    u8::try_from(status & 0xff)
        .ok()
        .filter(|c| *c != 0)
        .unwrap_or(1)
}
