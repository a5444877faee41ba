//! How a run ends: the [`Outcome`] of one that finished, or the
//! [`RunError`] that says in words why it did not.

use std::fmt;
use std::time::Duration;

use wasmtime::{Trap, Val};

use super::io::{CollectingIo, LogRecord, SpiritIo};
use crate::limits::Limits;
use crate::validate;

/// A WebAssembly value passed to or returned by `--invoke`.
///
/// It displays as `wasmtime run --invoke` prints results: the number in
/// decimal.
///
/// ```
/// use spirit_build::sandbox::Value;
/// assert_eq!(Value::I32(-7).to_string(), "-7");
/// assert_eq!(Value::F64(2.5).to_string(), "2.5");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
        }
    }
}

impl Value {
    /// Its WebAssembly type: `i32`, `i64`, `f32` or `f64`.
    ///
    /// ```
    /// use spirit_build::sandbox::Value;
    /// assert_eq!(Value::F32(1.0).type_name(), "f32");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::I32(_) => "i32",
            Value::I64(_) => "i64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
        }
    }

    pub(crate) fn to_val(self) -> Val {
        match self {
            Value::I32(v) => Val::I32(v),
            Value::I64(v) => Val::I64(v),
            Value::F32(v) => Val::F32(v.to_bits()),
            Value::F64(v) => Val::F64(v.to_bits()),
        }
    }

    pub(crate) fn from_val(val: &Val) -> Option<Value> {
        Some(match val {
            Val::I32(v) => Value::I32(*v),
            Val::I64(v) => Value::I64(*v),
            Val::F32(v) => Value::F32(f32::from_bits(*v)),
            Val::F64(v) => Value::F64(f64::from_bits(*v)),
            _ => return None,
        })
    }

    /// Parses a command-line argument as a value of type `ty` (`i32`, `i64`,
    /// `f32` or `f64`), as `wasmtime run --invoke` does: decimal, or
    /// hexadecimal after `0x` for integers.
    ///
    /// ```
    /// use spirit_build::sandbox::Value;
    /// assert_eq!(Value::parse("0x10", "i32"), Ok(Value::I32(16)));
    /// assert_eq!(Value::parse("-1.5", "f32"), Ok(Value::F32(-1.5)));
    /// assert!(Value::parse("x", "i64").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// Says what was expected.
    pub fn parse(text: &str, ty: &str) -> Result<Value, String> {
        let bad = || format!("`{text}` is not a valid {ty}");
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let hex = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"));
        let int = |bits: u32| -> Result<i128, String> {
            let magnitude = match hex {
                Some(h) => i128::from_str_radix(h, 16).map_err(|_| bad())?,
                None => digits.parse::<i128>().map_err(|_| bad())?,
            };
            let v = if negative { -magnitude } else { magnitude };
            // Accept the signed and the unsigned range, as wasm integers
            // have no sign of their own.
            let (min, max) = (-(1i128 << (bits - 1)), (1i128 << bits) - 1);
            if (min..=max).contains(&v) {
                Ok(v)
            } else {
                Err(format!("`{text}` is out of range for {ty}"))
            }
        };
        Ok(match ty {
            "i32" => Value::I32(int(32)? as u32 as i32),
            "i64" => Value::I64(int(64)? as u64 as i64),
            "f32" => Value::F32(text.parse().map_err(|_| bad())?),
            "f64" => Value::F64(text.parse().map_err(|_| bad())?),
            other => return Err(format!("parameters of type {other} cannot be passed")),
        })
    }
}

/// How a run that finished went.
#[derive(Debug)]
pub struct Outcome {
    /// The entry's status (`0` when it returns nothing, and for `--invoke`).
    pub status: i32,
    /// What the invoked function returned (empty for an entry).
    pub results: Vec<Value>,
    /// Fuel units used, start function included.
    pub fuel_used: u64,
    /// Wall-clock time of instantiation and call.
    pub duration: Duration,
    /// The peak size of the spirit's memory, in bytes.
    pub peak_memory: usize,
    /// The I/O sink, handed back: [`Outcome::output`], [`Outcome::logs`]
    /// and [`Outcome::warnings`] read a [`CollectingIo`].
    pub io: Box<dyn SpiritIo>,
}

impl Outcome {
    /// What the spirit wrote to its output, when its I/O was collected
    /// ([`CollectingIo`], the default of [`RunRequest::new`](super::RunRequest::new));
    /// empty for a sink that keeps nothing.
    ///
    /// ```
    /// use spirit_build::sandbox::{Limits, Policy, RunRequest, Sandbox, SandboxConfig};
    ///
    /// let sandbox = Sandbox::with_config(SandboxConfig::in_memory())?;
    /// let echo = sandbox.load("echo", &wat::parse_str(r#"(module
    ///     (import "vudo" "host_input_read" (func $in (param i32 i32 i32) (result i32)))
    ///     (import "vudo" "host_output_write" (func $out (param i32 i32) (result i32)))
    ///     (memory (export "memory") 1)
    ///     (func (export "run") (drop (call $out (i32.const 0) (call $in (i32.const 0) (i32.const 100) (i32.const 0))))))"#)?)?;
    /// let request = RunRequest::new(Policy::default(), Limits::default()).with_input(b"ping".to_vec());
    /// assert_eq!(sandbox.run(&echo, request)?.output(), b"ping");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn output(&self) -> &[u8] {
        self.io.collected().map_or(&[], |c| &c.output)
    }

    /// The spirit's log lines, when its I/O was collected.
    pub fn logs(&self) -> &[LogRecord] {
        self.io.collected().map_or(&[], |c| &c.logs)
    }

    /// The host's warnings (why a call returned `-1`), when its I/O was
    /// collected.
    pub fn warnings(&self) -> &[String] {
        self.io.collected().map_or(&[], |c| &c.warnings)
    }
}

/// A run that did not finish, with what it did before it ended: the
/// [`RunError`] that says why, and the fuel, time, memory and I/O (logs,
/// output so far, warnings) of the run up to then. Returned by
/// [`Sandbox::execute`](super::Sandbox::execute); it displays as its error.
///
/// ```
/// use spirit_build::sandbox::{Limits, Policy, RunError, RunRequest, Sandbox, SandboxConfig};
///
/// let sandbox = Sandbox::with_config(SandboxConfig::in_memory())?;
/// let spirit = sandbox.load("chatty", &wat::parse_str(r#"(module
///     (import "vudo" "host_output_write" (func $out (param i32 i32) (result i32)))
///     (memory (export "memory") 1) (data (i32.const 0) "so far")
///     (func (export "run") (drop (call $out (i32.const 0) (i32.const 6))) (loop (br 0))))"#)?)?;
/// let limits = Limits { fuel: 100_000, ..Limits::default() };
/// let request = RunRequest::new(Policy::default(), limits);
/// let failure = sandbox.execute(&spirit, request).unwrap_err();
/// assert!(matches!(failure.error, RunError::OutOfFuel(100_000)));
/// assert_eq!(failure.output(), b"so far");
/// assert_eq!(failure.fuel_used, 100_000);
/// assert_eq!(failure.to_string(), "out of fuel after 100000 units");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RunFailure {
    /// Why the run ended.
    pub error: RunError,
    /// Fuel units used until then (0 when it was refused before starting).
    pub fuel_used: u64,
    /// Wall-clock time of instantiation and call until then.
    pub duration: Duration,
    /// The peak size of the spirit's memory, in bytes.
    pub peak_memory: usize,
    /// The I/O sink, handed back with what the spirit wrote before it
    /// ended; read as [`Outcome`]'s through [`RunFailure::output`],
    /// [`RunFailure::logs`], [`RunFailure::warnings`].
    pub io: Box<dyn SpiritIo>,
}

impl RunFailure {
    /// A run refused before it started: nothing used, `io` handed back
    /// untouched.
    pub fn before_start(error: RunError, io: Box<dyn SpiritIo>) -> RunFailure {
        RunFailure {
            error,
            fuel_used: 0,
            duration: Duration::ZERO,
            peak_memory: 0,
            io,
        }
    }

    /// A run refused before it had an I/O sink: an empty [`CollectingIo`].
    pub fn refused(error: RunError) -> RunFailure {
        RunFailure::before_start(error, Box::new(CollectingIo::default()))
    }

    /// What the spirit wrote to its output before it ended, when its I/O
    /// was collected.
    pub fn output(&self) -> &[u8] {
        self.io.collected().map_or(&[], |c| &c.output)
    }

    /// Its log lines until then, when its I/O was collected.
    pub fn logs(&self) -> &[LogRecord] {
        self.io.collected().map_or(&[], |c| &c.logs)
    }

    /// The host's warnings until then, when its I/O was collected.
    pub fn warnings(&self) -> &[String] {
        self.io.collected().map_or(&[], |c| &c.warnings)
    }
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for RunFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

impl From<RunFailure> for RunError {
    fn from(failure: RunFailure) -> RunError {
        failure.error
    }
}

/// Why a run did not finish normally (non-exhaustive: limits and host
/// functions come with new ways to end).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The module imports what the policy does not grant.
    #[error("refused before running ({} problem{})\n\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, problems(.0))]
    Refused(Vec<validate::Problem>),
    /// A time-only run (`--metering time`) that needs fuel.
    #[error("{0} needs fuel metering, but this run is metered by time alone")]
    NeedsFuel(&'static str),
    /// The run's metering is not the one the sandbox's engine compiles for.
    #[error(
        "the run asks for {asked} metering, but this sandbox meters by {sandbox}\nhelp: create the sandbox with `SandboxConfig::metering` set to the run's `Limits::metering`"
    )]
    Metering {
        /// The run's `Limits::metering`.
        asked: crate::limits::Metering,
        /// The sandbox's `SandboxConfig::metering`.
        sandbox: crate::limits::Metering,
    },
    /// A run that nothing would stop at its deadline, and why: the sandbox
    /// compiles no deadline checks and the run brought no guard (or is a
    /// séance's instance, which cannot), or its guard could not be armed.
    #[error(
        "nothing would stop this run at its deadline: {0}\nhelp: give the run a `DeadlineGuard` that can be armed, or create the sandbox with `deadline_checks: true`"
    )]
    Unbounded(String),
    /// The spirit used all its fuel: the run's fuel limit, this many units.
    #[error("out of fuel after {0} units")]
    OutOfFuel(u64),
    /// The run took too long: its timeout, this long.
    #[error("timed out after {}", format_duration(*.0))]
    Timeout(Duration),
    /// The spirit asked for more memory than allowed, then failed: the
    /// memory limit, in bytes.
    #[error("memory limit of {} reached", crate::units::Bytes(*.0))]
    MemoryLimit(u64),
    /// A limit is out of its range (zero fuel, more memory than 4 GiB, …):
    /// refused before the run.
    #[error("{0}")]
    Limits(#[from] crate::limits::LimitError),
    /// The spirit's manifest sets a `[run]` limit out of its range.
    #[error("its manifest's `[run]` limits are out of range: {0}")]
    ManifestLimits(crate::limits::LimitError),
    /// The input is longer than the run's input limit, in bytes.
    #[error("the input is larger than the input limit of {}", crate::units::Bytes(*.0))]
    InputTooLarge(u64),
    /// The spirit's table would grow past the limit.
    #[error("table limit of {0} elements reached")]
    TableLimit(usize),
    /// The spirit recursed too deeply.
    #[error("stack overflow")]
    StackOverflow,
    /// The spirit aborted (a panic, or an error returned from its entry).
    #[error("{0}")]
    Aborted(String),
    /// The spirit trapped.
    #[error("trap: {0}")]
    Trap(String),
    /// The function to call is missing or has the wrong type.
    #[error("{0}")]
    Entry(String),
    /// The arguments do not fit the invoked function.
    #[error("{0}")]
    Arguments(String),
    /// Every instance slot of the sandbox's pool is in use by other runs.
    #[error(
        "could not instantiate the spirit: {0}\nhelp: every instance slot of this sandbox is in use; run fewer spirits at once, or raise `SandboxConfig::max_instances`"
    )]
    PoolFull(String),
    /// The spirit returned, but its storage writes could not be committed:
    /// none of them was applied.
    #[error("its storage writes were not saved (none of them): {0}")]
    Storage(super::storage::StorageError),
    /// The sandbox could not instantiate the spirit.
    #[error("could not instantiate the spirit: {0}")]
    Instantiate(String),
    /// A spirit it called (or one called by that one) used up the fuel or
    /// time they share; the message names it.
    #[error("{0}")]
    Dependency(String),
}

fn problems(problems: &[validate::Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n\n")
}

pub(crate) fn format_duration(d: Duration) -> String {
    if d.as_millis() < 1000 || d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs())
    }
}

/// How the host ends a run early, carried through wasmtime as an error and
/// turned back into a [`RunError`] by [`classify`].
#[derive(Debug)]
pub(crate) enum Halt {
    /// The spirit called `host_abort` with this message.
    Aborted(String),
    /// The function to call is not there.
    Entry(String),
    /// A host function without a result was called with arguments it
    /// cannot use (a range outside memory): the call ends, since the
    /// spirit could not be told.
    HostCall(String),
    /// A called spirit used up the budget it shares with its caller.
    Dependency(String),
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Halt::Aborted(message)
            | Halt::Entry(message)
            | Halt::HostCall(message)
            | Halt::Dependency(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Halt {}

/// Which of the store's limits refused to grow something during the run.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LimitsHit {
    pub(crate) memory: bool,
    pub(crate) table: bool,
}

/// Names the reason a run ended with `e`.
pub(crate) fn classify(
    e: wasmtime::Error,
    hit: LimitsHit,
    limits: Limits,
    fuel_used: u64,
) -> RunError {
    match e.downcast_ref::<Halt>() {
        Some(Halt::Aborted(message)) => return RunError::Aborted(message.clone()),
        Some(Halt::Entry(message)) => return RunError::Entry(message.clone()),
        Some(Halt::HostCall(message)) => return RunError::Trap(message.clone()),
        Some(Halt::Dependency(message)) => return RunError::Dependency(message.clone()),
        None => {}
    }
    if let Some(full) = e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        return RunError::PoolFull(full.to_string());
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => RunError::OutOfFuel(fuel_used),
        Some(Trap::Interrupt) => RunError::Timeout(limits.timeout),
        Some(Trap::StackOverflow) => RunError::StackOverflow,
        // A spirit whose allocation was refused usually traps right after
        // (or, at instantiation, fails at once); the refusal is the cause
        // worth reporting.
        _ if hit.memory => RunError::MemoryLimit(limits.max_memory),
        _ if hit.table => RunError::TableLimit(limits.max_table_elements),
        Some(trap) => RunError::Trap(describe_trap(*trap, &e)),
        None => RunError::Instantiate(format!("{e:#}")),
    }
}

fn describe_trap(trap: Trap, e: &wasmtime::Error) -> String {
    let function = e.downcast_ref::<wasmtime::WasmBacktrace>().and_then(|bt| {
        bt.frames().first().map(|f| {
            f.func_name()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("#{}", f.func_index()))
        })
    });
    let what = match trap {
        Trap::UnreachableCodeReached => "unreachable".to_owned(),
        Trap::MemoryOutOfBounds => "out-of-bounds memory access".to_owned(),
        Trap::IntegerDivisionByZero => "integer division by zero".to_owned(),
        Trap::IntegerOverflow => "integer overflow".to_owned(),
        Trap::IndirectCallToNull => "indirect call to a null table entry".to_owned(),
        Trap::BadSignature => "indirect call with the wrong signature".to_owned(),
        Trap::TableOutOfBounds => "out-of-bounds table access".to_owned(),
        Trap::BadConversionToInteger => "invalid float-to-integer conversion".to_owned(),
        other => other.to_string(),
    };
    match function {
        Some(f) => format!("{what} in function {f}"),
        None => what,
    }
}
