//! Status output in cargo's format, through one type that knows `-q`, `-v`
//! and `--color`.
//!
//! Status lines go to standard error as a 12-column right-aligned bold
//! status word and a message (`   Compiling hello v0.1.0`); `warning:` and
//! `error:` are never justified. `-q` silences status and warnings, never
//! errors.
//!
//! Text that comes from a package, a manifest or a module (a description, a
//! spirit's name, an export's name) is printed through [`escape`], so that
//! it cannot move the cursor, forge a line, set the terminal's title or
//! reverse what follows (as cargo escapes the strings of a crate it did not
//! write).

use std::fmt::Display;
use std::io::{self, Write};
use std::sync::Mutex;

use anstream::{AutoStream, ColorChoice as StreamChoice};
use anstyle::{AnsiColor, Style};

/// Whether `c` is a character a terminal acts on rather than shows: a C0
/// control (newline and tab included), DEL, a C1 control, or a
/// bidirectional formatting character (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069, which reorder what follows: "Trojan
/// Source").
///
/// ```
/// use spirit_build::shell::is_terminal_control;
/// assert!(is_terminal_control('\x1b') && is_terminal_control('\n') && is_terminal_control('\u{9b}'));
/// assert!(is_terminal_control('\u{202e}'));
/// assert!(!is_terminal_control('é') && !is_terminal_control(' '));
/// ```
pub fn is_terminal_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Text made safe to print: each [terminal control](is_terminal_control)
/// is written as a visible escape (`\n`, `\r`, `\t`, else `\u{1b}`), the
/// rest as it is. Every human output of text from a package, a manifest or
/// a module goes through it.
///
/// ```
/// use spirit_build::shell::escape;
/// assert_eq!(escape("fine\n\x1b]0;owned\x07").to_string(), "fine\\n\\u{1b}]0;owned\\u{7}");
/// assert_eq!(escape("caf\u{e9} \u{202e}txt").to_string(), "caf\u{e9} \\u{202e}txt");
/// assert_eq!(escape("plain").to_string(), "plain");
/// ```
pub fn escape(text: &str) -> Escaped<'_> {
    Escaped(text)
}

/// What [`escape`] returns: displays the text escaped; `{:<N}` pads the
/// escaped text, so tables stay aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Escaped<'a>(pub &'a str);

impl Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        if !self.0.chars().any(is_terminal_control) {
            return f.pad(self.0);
        }
        let mut escaped = String::with_capacity(self.0.len() + 8);
        for c in self.0.chars() {
            match c {
                '\n' => escaped.push_str("\\n"),
                '\r' => escaped.push_str("\\r"),
                '\t' => escaped.push_str("\\t"),
                c if is_terminal_control(c) => {
                    let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
                }
                c => escaped.push(c),
            }
        }
        f.pad(&escaped)
    }
}

/// Bytes that were expected to be something else (a module's magic
/// number, a package's header), shown safely: printable ASCII as it is,
/// anything else as `\xNN`, at most `limit` bytes.
///
/// ```
/// use spirit_build::shell::escape_bytes;
/// assert_eq!(escape_bytes(b"\0asm\x1b[2J", 8), "\\x00asm\\x1b[2J");
/// assert_eq!(escape_bytes(b"root:x:0:0", 4), "root");
/// ```
pub fn escape_bytes(bytes: &[u8], limit: usize) -> String {
    bytes
        .iter()
        .take(limit)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect()
}

/// How much the shell prints.
///
/// The variants are ordered, so "at least normal" is a comparison:
///
/// ```
/// use spirit_build::Verbosity;
///
/// assert!(Verbosity::Quiet < Verbosity::Normal);
/// assert!(Verbosity::Verbose > Verbosity::Normal);
/// ```
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
///
/// ```
/// use spirit_build::ColorChoice;
///
/// assert_eq!(ColorChoice::default(), ColorChoice::Auto);
/// ```
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
    ///
    /// ```
    /// use spirit_build::ColorChoice;
    ///
    /// let mut cargo = std::process::Command::new("cargo");
    /// cargo.args(["build", "--color", ColorChoice::Never.as_str()]);
    /// assert_eq!(ColorChoice::Always.as_str(), "always");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    }
}

/// Green for progress, as cargo prints it.
///
/// A style for [`Shell::status_with_style`]; a shell that does not colour
/// prints the text alone. What a colouring shell writes around a status
/// word:
///
/// ```
/// use spirit_build::shell::GREEN;
///
/// assert_eq!(format!("{GREEN}Finished{GREEN:#}"), "\x1b[1m\x1b[32mFinished\x1b[0m");
/// ```
pub const GREEN: Style = AnsiColor::Green.on_default().bold();

/// Cyan for notes and in-progress work.
///
/// ```
/// use spirit_build::{ColorChoice, Shell, Verbosity, shell::CYAN};
///
/// let shell = Shell::new(Verbosity::Normal, ColorChoice::Auto);
/// shell.status_with_style("Waiting", "for the registry lock", CYAN);
/// ```
pub const CYAN: Style = AnsiColor::Cyan.on_default().bold();

/// Yellow for warnings.
///
/// ```
/// use spirit_build::shell::YELLOW;
///
/// assert_eq!(format!("{YELLOW}warning{YELLOW:#}"), "\x1b[1m\x1b[33mwarning\x1b[0m");
/// ```
pub const YELLOW: Style = AnsiColor::Yellow.on_default().bold();

/// Red for errors.
///
/// ```
/// use spirit_build::shell::RED;
///
/// assert_eq!(format!("{RED}error{RED:#}"), "\x1b[1m\x1b[31merror\x1b[0m");
/// ```
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
///
/// The methods' examples read what they print back from a pipe, as
/// [`Shell::from_writers`] shows.
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
    /// `ColorChoice::Auto` colours standard error only when it is a
    /// terminal; standard output is never coloured.
    ///
    /// ```
    /// use spirit_build::{ColorChoice, Shell, Verbosity};
    ///
    /// let shell = Shell::new(Verbosity::Quiet, ColorChoice::Never);
    /// shell.status("Compiling", "hello v0.1.0"); // quiet: prints nothing
    /// ```
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
    ///
    /// ```
    /// use spirit_build::{Shell, Verbosity};
    ///
    /// let (stderr, stderr_writer) = std::io::pipe()?;
    /// let (stdout, stdout_writer) = std::io::pipe()?;
    /// let shell = Shell::from_writers(Verbosity::Normal, Box::new(stderr_writer), Box::new(stdout_writer));
    /// shell.status("Running", "spirit `hello`");
    /// shell.write_stdout(b"42")?;
    /// drop(shell); // closes the pipes' writing ends
    /// assert_eq!(std::io::read_to_string(stderr)?, "     Running spirit `hello`\n");
    /// assert_eq!(std::io::read_to_string(stdout)?, "42");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_writers(verbosity: Verbosity, err: Sink, out: Sink) -> Shell {
        Shell {
            err: Mutex::new(AutoStream::new(err, StreamChoice::Never)),
            out: Mutex::new(out),
            verbosity,
            color: ColorChoice::Never,
            err_is_terminal: false,
        }
    }

    /// What `f` prints through a shell like this one (the same verbosity,
    /// and colours where this one colours), as bytes: standard error's,
    /// then standard output's. For output prepared ahead of time, such as
    /// the error a process alarm writes when it ends a run.
    ///
    /// ```
    /// use spirit_build::{ColorChoice, Shell, Verbosity};
    ///
    /// let shell = Shell::new(Verbosity::Normal, ColorChoice::Never);
    /// let (err, out) = shell.capture(|s| {
    ///     s.error("spirit `spin` failed: timed out after 1s");
    ///     let _ = s.write_stdout(b"{}");
    /// });
    /// assert_eq!(err, b"error: spirit `spin` failed: timed out after 1s\n");
    /// assert_eq!(out, b"{}");
    /// ```
    pub fn capture(&self, f: impl FnOnce(&Shell)) -> (Vec<u8>, Vec<u8>) {
        /// A sink whose bytes are read back once the shell is gone.
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (err, out) = (Buffer::default(), Buffer::default());
        let choice = self
            .err
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .current_choice();
        let shell = Shell {
            err: Mutex::new(AutoStream::new(Box::new(err.clone()), choice)),
            out: Mutex::new(Box::new(out.clone())),
            verbosity: self.verbosity,
            color: self.color,
            err_is_terminal: self.err_is_terminal,
        };
        f(&shell);
        drop(shell);
        let take = |b: Buffer| std::mem::take(&mut *b.0.lock().unwrap_or_else(|e| e.into_inner()));
        (take(err), take(out))
    }

    /// The verbosity this shell was made with.
    ///
    /// ```
    /// use spirit_build::{ColorChoice, Shell, Verbosity};
    ///
    /// let shell = Shell::new(Verbosity::Verbose, ColorChoice::Auto);
    /// assert_eq!(shell.verbosity(), Verbosity::Verbose);
    /// ```
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// The colour choice to hand to child processes such as cargo.
    ///
    /// ```
    /// use spirit_build::{ColorChoice, Shell, Verbosity};
    ///
    /// let shell = Shell::new(Verbosity::Normal, ColorChoice::Always);
    /// let mut cargo = std::process::Command::new("cargo");
    /// cargo.args(["build", "--color", shell.color_choice().as_str()]);
    /// assert_eq!(shell.color_choice(), ColorChoice::Always);
    /// ```
    pub fn color_choice(&self) -> ColorChoice {
        self.color
    }

    /// Whether standard error is a terminal; never for a shell made with
    /// [`Shell::from_writers`].
    ///
    /// ```
    /// use spirit_build::{Shell, Verbosity};
    ///
    /// let shell = Shell::from_writers(Verbosity::Normal, Box::new(std::io::sink()), Box::new(std::io::sink()));
    /// assert!(!shell.err_is_terminal());
    /// ```
    pub fn err_is_terminal(&self) -> bool {
        self.err_is_terminal
    }

    /// Prints a green status line, unless quiet: the status word
    /// right-aligned to 12 columns, then the message.
    ///
    /// ```
    /// # use spirit_build::{Shell, Verbosity};
    /// # let (stderr, writer) = std::io::pipe().unwrap();
    /// # let shell = Shell::from_writers(Verbosity::Normal, Box::new(writer), Box::new(std::io::sink()));
    /// shell.status("Compiling", "hello v0.1.0");
    /// # drop(shell);
    /// # let printed = std::io::read_to_string(stderr).unwrap();
    /// assert_eq!(printed, "   Compiling hello v0.1.0\n");
    /// ```
    pub fn status(&self, status: &str, message: impl Display) {
        self.status_with_style(status, message, GREEN);
    }

    /// Prints a status line in the given style, unless quiet.
    ///
    /// ```
    /// use spirit_build::shell::CYAN;
    /// # use spirit_build::{Shell, Verbosity};
    /// # let (stderr, writer) = std::io::pipe().unwrap();
    /// # let shell = Shell::from_writers(Verbosity::Normal, Box::new(writer), Box::new(std::io::sink()));
    /// shell.status_with_style("Blocking", "waiting for the registry lock", CYAN);
    /// # drop(shell);
    /// # let printed = std::io::read_to_string(stderr).unwrap();
    /// assert_eq!(printed, "    Blocking waiting for the registry lock\n");
    /// ```
    pub fn status_with_style(&self, status: &str, message: impl Display, style: Style) {
        if self.verbosity > Verbosity::Quiet {
            self.print_err(format_args!("{style}{status:>12}{style:#} {message}\n"));
        }
    }

    /// Prints `warning: message`, unless quiet.
    ///
    /// ```
    /// # use spirit_build::{Shell, Verbosity};
    /// # let (stderr, writer) = std::io::pipe().unwrap();
    /// # let shell = Shell::from_writers(Verbosity::Normal, Box::new(writer), Box::new(std::io::sink()));
    /// shell.warn("capability `sensor_time` is declared but never used");
    /// # drop(shell);
    /// # let printed = std::io::read_to_string(stderr).unwrap();
    /// assert_eq!(printed, "warning: capability `sensor_time` is declared but never used\n");
    /// ```
    pub fn warn(&self, message: impl Display) {
        if self.verbosity > Verbosity::Quiet {
            self.print_err(format_args!(
                "{YELLOW}warning{YELLOW:#}{BOLD}:{BOLD:#} {message}\n"
            ));
        }
    }

    /// Prints `note: message`, unless quiet.
    ///
    /// ```
    /// # use spirit_build::{Shell, Verbosity};
    /// # let (stderr, writer) = std::io::pipe().unwrap();
    /// # let shell = Shell::from_writers(Verbosity::Normal, Box::new(writer), Box::new(std::io::sink()));
    /// shell.note("the key was trusted");
    /// # drop(shell);
    /// # let printed = std::io::read_to_string(stderr).unwrap();
    /// assert_eq!(printed, "note: the key was trusted\n");
    /// ```
    pub fn note(&self, message: impl Display) {
        if self.verbosity > Verbosity::Quiet {
            self.print_err(format_args!(
                "{CYAN}note{CYAN:#}{BOLD}:{BOLD:#} {message}\n"
            ));
        }
    }

    /// Prints `error: message`, whatever the verbosity.
    ///
    /// ```
    /// # use spirit_build::{Shell, Verbosity};
    /// # let (stderr, writer) = std::io::pipe().unwrap();
    /// # let shell = Shell::from_writers(Verbosity::Quiet, Box::new(writer), Box::new(std::io::sink()));
    /// shell.warn("not shown under -q");
    /// shell.error("spirit `hello` ran out of fuel");
    /// # drop(shell);
    /// # let printed = std::io::read_to_string(stderr).unwrap();
    /// assert_eq!(printed, "error: spirit `hello` ran out of fuel\n");
    /// ```
    pub fn error(&self, message: impl Display) {
        self.print_err(format_args!("{RED}error{RED:#}{BOLD}:{BOLD:#} {message}\n"));
    }

    /// Runs `f` only when verbose (`-v`): details that cost something to
    /// gather or that most runs do not need.
    ///
    /// ```
    /// # use spirit_build::{Shell, Verbosity};
    /// # let (stderr, writer) = std::io::pipe().unwrap();
    /// # let shell = Shell::from_writers(Verbosity::Verbose, Box::new(writer), Box::new(std::io::sink()));
    /// shell.verbose(|shell| shell.status("Fuel", "1234 units"));
    /// # drop(shell);
    /// # let printed = std::io::read_to_string(stderr).unwrap();
    /// assert_eq!(printed, "        Fuel 1234 units\n");
    /// ```
    pub fn verbose(&self, f: impl FnOnce(&Shell)) {
        if self.verbosity == Verbosity::Verbose {
            f(self);
        }
    }

    /// Writes a line on standard error as it is (a spirit's log line, for
    /// example), unless quiet.
    ///
    /// ```
    /// # use spirit_build::{Shell, Verbosity};
    /// # let (stderr, writer) = std::io::pipe().unwrap();
    /// # let shell = Shell::from_writers(Verbosity::Normal, Box::new(writer), Box::new(std::io::sink()));
    /// shell.print_err_line("[INFO hello] Hello from hello!");
    /// # drop(shell);
    /// # let printed = std::io::read_to_string(stderr).unwrap();
    /// assert_eq!(printed, "[INFO hello] Hello from hello!\n");
    /// ```
    pub fn print_err_line(&self, line: impl Display) {
        if self.verbosity > Verbosity::Quiet {
            self.print_err(format_args!("{line}\n"));
        }
    }

    /// Writes raw bytes to standard output: a spirit's output, JSON messages,
    /// results. Never silenced by `-q`.
    ///
    /// ```
    /// use spirit_build::{Shell, Verbosity};
    ///
    /// let (stdout, writer) = std::io::pipe()?;
    /// let shell = Shell::from_writers(Verbosity::Quiet, Box::new(std::io::sink()), Box::new(writer));
    /// shell.write_stdout(b"{\"reason\":\"spirit-artifact\"}\n")?;
    /// drop(shell);
    /// assert_eq!(std::io::read_to_string(stdout)?, "{\"reason\":\"spirit-artifact\"}\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Fails when standard output cannot be written, such as a closed pipe.
    pub fn write_stdout(&self, bytes: &[u8]) -> io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(bytes)?;
        out.flush()
    }

    fn print_err(&self, args: std::fmt::Arguments<'_>) {
        // Formatted first and written whole: one write per line, so that the
        // lines of processes sharing a terminal do not interleave.
        let text = std::fmt::format(args);
        let mut err = self.err.lock().unwrap_or_else(|e| e.into_inner());
        // A closed stderr is not worth failing the operation for.
        let _ = err.write_all(text.as_bytes());
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
