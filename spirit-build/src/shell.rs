//! Status output in cargo's format, through one type that knows `-q`, `-v`
//! and `--color`.
//!
//! Status lines go to standard error as a 12-column right-aligned bold
//! status word and a message (`   Compiling hello v0.1.0`); `warning:` and
//! `error:` are never justified. `-q` silences status and warnings, never
//! errors.

use std::fmt::Display;
use std::io::{self, Write};
use std::sync::Mutex;

use anstream::{AutoStream, ColorChoice as StreamChoice};
use anstyle::{AnsiColor, Style};

/// How much the shell prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// Status lines, warnings and errors.
    Normal,
    /// Also the details printed with [`Shell::verbose`] (`-v`).
    Verbose,
}

/// Whether output is coloured (`--color`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// The value cargo takes for `--color`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    }
}

/// Green for progress, as cargo prints it.
pub const GREEN: Style = AnsiColor::Green.on_default().bold();
/// Cyan for notes and in-progress work.
pub const CYAN: Style = AnsiColor::Cyan.on_default().bold();
/// Yellow for warnings.
pub const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
/// Red for errors.
pub const RED: Style = AnsiColor::Red.on_default().bold();
const BOLD: Style = Style::new().bold();

type Sink = Box<dyn Write + Send>;

/// The single way spirit-build prints anything meant for a person.
///
/// ```
/// use spirit_build::{ColorChoice, Shell, Verbosity};
///
/// let shell = Shell::new(Verbosity::Normal, ColorChoice::Never);
/// shell.status("Compiling", "hello v0.1.0");
/// shell.warn("capability `sensor_time` is declared but never used");
/// ```
pub struct Shell {
    err: Mutex<AutoStream<Sink>>,
    // Raw: standard output carries data (JSON, a spirit's output bytes),
    // which a colour-stripping stream would alter.
    out: Mutex<Sink>,
    verbosity: Verbosity,
    color: ColorChoice,
    err_is_terminal: bool,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("verbosity", &self.verbosity)
            .field("color", &self.color)
            .finish_non_exhaustive()
    }
}

impl Shell {
    /// A shell on the process's standard error and standard output.
    pub fn new(verbosity: Verbosity, color: ColorChoice) -> Shell {
        let err_is_terminal = std::io::IsTerminal::is_terminal(&io::stderr());
        let choice = |is_terminal: bool| match color {
            ColorChoice::Always => StreamChoice::Always,
            ColorChoice::Never => StreamChoice::Never,
            ColorChoice::Auto if is_terminal => StreamChoice::Auto,
            ColorChoice::Auto => StreamChoice::Never,
        };
        Shell {
            err: Mutex::new(AutoStream::new(
                Box::new(io::stderr()),
                choice(err_is_terminal),
            )),
            out: Mutex::new(Box::new(io::stdout())),
            verbosity,
            color,
            err_is_terminal,
        }
    }

    /// A shell that writes both streams, uncoloured, to the given sinks:
    /// for tests and for embedding.
    pub fn from_writers(verbosity: Verbosity, err: Sink, out: Sink) -> Shell {
        Shell {
            err: Mutex::new(AutoStream::new(err, StreamChoice::Never)),
            out: Mutex::new(out),
            verbosity,
            color: ColorChoice::Never,
            err_is_terminal: false,
        }
    }

    /// The verbosity this shell was made with.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// The colour choice to hand to child processes such as cargo.
    pub fn color_choice(&self) -> ColorChoice {
        self.color
    }

    /// Whether standard error is a terminal.
    pub fn err_is_terminal(&self) -> bool {
        self.err_is_terminal
    }

    /// Prints a green status line, unless quiet.
    pub fn status(&self, status: &str, message: impl Display) {
        self.status_with_style(status, message, GREEN);
    }

    /// Prints a status line in the given style, unless quiet.
    pub fn status_with_style(&self, status: &str, message: impl Display, style: Style) {
        if self.verbosity > Verbosity::Quiet {
            self.print_err(format_args!("{style}{status:>12}{style:#} {message}\n"));
        }
    }

    /// Prints `warning: message`, unless quiet.
    pub fn warn(&self, message: impl Display) {
        if self.verbosity > Verbosity::Quiet {
            self.print_err(format_args!(
                "{YELLOW}warning{YELLOW:#}{BOLD}:{BOLD:#} {message}\n"
            ));
        }
    }

    /// Prints `note: message`, unless quiet.
    pub fn note(&self, message: impl Display) {
        if self.verbosity > Verbosity::Quiet {
            self.print_err(format_args!(
                "{CYAN}note{CYAN:#}{BOLD}:{BOLD:#} {message}\n"
            ));
        }
    }

    /// Prints `error: message`, whatever the verbosity.
    pub fn error(&self, message: impl Display) {
        self.print_err(format_args!("{RED}error{RED:#}{BOLD}:{BOLD:#} {message}\n"));
    }

    /// Runs `f` only when verbose.
    pub fn verbose(&self, f: impl FnOnce(&Shell)) {
        if self.verbosity == Verbosity::Verbose {
            f(self);
        }
    }

    /// Writes a line on standard error as it is (a spirit's log line, for
    /// example), unless quiet.
    pub fn print_err_line(&self, line: impl Display) {
        if self.verbosity > Verbosity::Quiet {
            self.print_err(format_args!("{line}\n"));
        }
    }

    /// Writes raw bytes to standard output: a spirit's output, JSON messages,
    /// results. Never silenced by `-q`.
    pub fn write_stdout(&self, bytes: &[u8]) -> io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(bytes)?;
        out.flush()
    }

    fn print_err(&self, args: std::fmt::Arguments<'_>) {
        let mut err = self.err.lock().unwrap_or_else(|e| e.into_inner());
        // A closed stderr is not worth failing the operation for.
        let _ = err.write_fmt(args);
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn shell(verbosity: Verbosity) -> (Shell, Capture) {
        let err = Capture::default();
        let shell = Shell::from_writers(verbosity, Box::new(err.clone()), Box::new(io::sink()));
        (shell, err)
    }

    #[test]
    fn status_is_right_aligned_to_twelve_columns() {
        let (shell, err) = shell(Verbosity::Normal);
        shell.status("Compiling", "hello v0.1.0");
        shell.warn("careful");
        let text = String::from_utf8(err.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "   Compiling hello v0.1.0\nwarning: careful\n");
    }

    #[test]
    fn quiet_keeps_errors_only() {
        let (shell, err) = shell(Verbosity::Quiet);
        shell.status("Compiling", "hello");
        shell.warn("careful");
        shell.error("broken");
        let text = String::from_utf8(err.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "error: broken\n");
    }
}
