//! A run at a terminal: its input read from a file or standard input, its
//! logs on standard error and its output on standard output as they happen
//! (what `cargo spirit run` gives [`run`](crate::ops::run)).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::error::InputError;
use crate::sandbox::{LogRecord, SpiritIo};
use crate::{Error, Shell};

/// The input of a run: bytes in hand, or a file to read (`-`: standard
/// input). A file is read by [`run`](crate::ops::run) once the run's limits
/// are known, within its input limit and its timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunInput {
    /// These bytes (checked against the input limit all the same).
    Bytes(Vec<u8>),
    /// This file, or standard input for `-`.
    File(PathBuf),
}

impl Default for RunInput {
    /// No input.
    fn default() -> RunInput {
        RunInput::Bytes(Vec::new())
    }
}

/// How much of the input is read at a time, and the first allocation.
const CHUNK: usize = 64 << 10;

/// The bytes of a file (standard input for `-`), at most `max` of them and
/// within `timeout`.
///
/// The limit is enforced while reading: a file whose size is known to be
/// larger is refused before it is read, and a stream is refused as soon as
/// it passes the limit, so no more than the limit (and one chunk) is ever in
/// memory (`/dev/zero` ends at once). Reading happens on its own thread so
/// that a stream that never ends (a terminal, a pipe nobody writes) cannot
/// outlast the timeout; such a thread is left blocked, which a command line
/// ends by exiting.
///
/// ```
/// use std::time::Duration;
/// use spirit_build::ops::{InputError, read_input};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("in.bin");
/// spirit_build::fs::write_atomic(&path, b"hi").unwrap();
/// assert_eq!(read_input(&path, 2, Duration::from_secs(5)).unwrap(), b"hi");
/// assert!(matches!(
///     read_input(&path, 1, Duration::from_secs(5)),
///     Err(spirit_build::Error::Input(InputError::TooLarge { max: 1, .. }))
/// ));
/// ```
///
/// # Errors
///
/// Fails when the file or standard input cannot be read, holds more than
/// `max` bytes, or is not read within `timeout`.
pub fn read_input(path: &Path, max: u64, timeout: Duration) -> Result<Vec<u8>, Error> {
    let stdin = path.as_os_str() == "-";
    let from = if stdin {
        "standard input".to_owned()
    } else {
        format!("`{}`", path.display())
    };
    let (send, receive) = std::sync::mpsc::sync_channel(1);
    let path = path.to_owned();
    let reader_from = from.clone();
    std::thread::Builder::new()
        .name("spirit-input".into())
        .spawn(move || {
            let read = if stdin {
                read_bounded(std::io::stdin().lock(), max, &reader_from)
            } else {
                std::fs::File::open(&path)
                    .map_err(|error| InputError::Read {
                        from: reader_from.clone(),
                        error,
                    })
                    .and_then(|file| {
                        let known = file.metadata().ok().filter(|m| m.is_file());
                        match known {
                            Some(m) if m.len() > max => Err(InputError::TooLarge {
                                from: reader_from.clone(),
                                max,
                            }),
                            _ => read_bounded(file, max, &reader_from),
                        }
                    })
            };
            // The receiver is gone when the run gave up waiting.
            let _ = send.send(read);
        })
        .map_err(|error| InputError::Read {
            from: from.clone(),
            error,
        })?;
    match receive.recv_timeout(timeout) {
        Ok(read) => Ok(read?),
        Err(_) => Err(InputError::TimedOut { from, timeout }.into()),
    }
}

/// Reads `reader` to its end, failing as soon as it passes `max` bytes;
/// the buffer never grows past `max` plus one chunk.
fn read_bounded(mut reader: impl Read, max: u64, from: &str) -> Result<Vec<u8>, InputError> {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(CHUNK.min(max.saturating_add(1)));
    let mut chunk = vec![0; CHUNK];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(InputError::Read {
                    from: from.to_owned(),
                    error,
                });
            }
        };
        if bytes.len().saturating_add(n) > max {
            return Err(InputError::TooLarge {
                from: from.to_owned(),
                max: u64::try_from(max).unwrap_or(u64::MAX),
            });
        }
        if bytes.capacity() - bytes.len() < n {
            // Double, as `Vec` would, but never past the limit.
            let wanted = bytes.capacity().saturating_mul(2).clamp(CHUNK, max);
            bytes.reserve_exact(wanted.max(bytes.len() + n) - bytes.len());
        }
        bytes.extend_from_slice(&chunk[..n]);
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
        // The spirit's name comes from its package and the message from
        // its code: neither may drive the terminal or forge a line.
        self.shell.print_err_line(format_args!(
            "[{} {}] {}",
            record.level.as_str(),
            crate::shell::escape(&record.spirit),
            crate::shell::escape(&record.message)
        ));
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

    fn network(&mut self, event: String) {
        self.shell
            .verbose(|s| s.status("Network", crate::shell::escape(&event)));
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
