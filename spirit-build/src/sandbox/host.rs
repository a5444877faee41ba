//! The host side of the ABI: the functions a spirit imports from `vudo`,
//! each checking its capability on every call and every guest pointer
//! before it touches memory.

use std::any::Any;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use spirit_sdk::abi::{self, Capability, LogLevel};
use wasmtime::{Caller, Engine, Extern, Linker, ResourceLimiter};

use super::{Limits, LogRecord, Policy};

/// The most bytes one log message may have; longer ones are cut.
pub(crate) const MAX_LOG_MESSAGE: usize = 4096;
/// The most log messages one run may print; later ones are dropped.
pub(crate) const MAX_LOG_MESSAGES: u32 = 1000;
/// The most bytes of output one run may write.
pub(crate) const MAX_OUTPUT: usize = 16 << 20;

/// Where a running spirit's logs and output go.
pub trait SpiritIo: Send + Any + fmt::Debug {
    /// A log line from the spirit.
    fn log(&mut self, record: LogRecord);
    /// Bytes the spirit wrote to its output.
    ///
    /// # Errors
    ///
    /// The spirit's `host_output_write` returns `-1` when this fails.
    fn output(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// As `Any`, to get a concrete sink back from an [`Outcome`](super::Outcome).
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// Keeps logs and output in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectingIo {
    /// Every log line, in order.
    pub logs: Vec<LogRecord>,
    /// Everything written to the output.
    pub output: Vec<u8>,
}

impl SpiritIo for CollectingIo {
    fn log(&mut self, record: LogRecord) {
        self.logs.push(record);
    }

    fn output(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.output.extend_from_slice(bytes);
        Ok(())
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// A spirit's `host_abort`: the run ends with this message.
#[derive(Debug)]
pub(crate) struct GuestAbort(pub(crate) String);

impl fmt::Display for GuestAbort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GuestAbort {}

/// Everything a store holds for one run.
pub(crate) struct HostState {
    name: String,
    policy: Policy,
    limits: Limits,
    input: Vec<u8>,
    pub(crate) io: Box<dyn SpiritIo>,
    log_count: u32,
    output_len: usize,
    pub(crate) peak_memory: usize,
    pub(crate) memory_limit_hit: bool,
}

impl HostState {
    pub(crate) fn new(
        name: String,
        policy: Policy,
        limits: Limits,
        input: Vec<u8>,
        io: Box<dyn SpiritIo>,
    ) -> HostState {
        HostState {
            name,
            policy,
            limits,
            input,
            io,
            log_count: 0,
            output_len: 0,
            peak_memory: 0,
            memory_limit_hit: false,
        }
    }

    fn log(&mut self, level: LogLevel, message: String) {
        self.io.log(LogRecord {
            spirit: self.name.clone(),
            level,
            message,
        });
    }
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limits.max_memory {
            self.memory_limit_hit = true;
            return Ok(false);
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 10_000)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}

/// The guest's memory and the state, borrowed together.
fn memory<'a>(caller: &'a mut Caller<'_, HostState>) -> Option<(&'a mut [u8], &'a mut HostState)> {
    let Some(Extern::Memory(memory)) = caller.get_export(abi::MEMORY_EXPORT) else {
        return None;
    };
    Some(memory.data_and_store_mut(caller))
}

/// The range `ptr..ptr+len` of guest memory, when it is inside it.
fn range(mem_len: usize, ptr: i32, len: i32) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(u32::try_from(ptr).ok()?).ok()?;
    let len = usize::try_from(u32::try_from(len).ok()?).ok()?;
    let end = start.checked_add(len)?;
    (end <= mem_len).then_some(start..end)
}

fn granted(caller: &Caller<'_, HostState>, capability: Capability) -> bool {
    caller.data().policy.grants(capability)
}

/// The linker with every host function the sandbox implements.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    let m = abi::MODULE;

    linker.func_wrap(m, "host_time_now", |caller: Caller<'_, HostState>| -> i64 {
        if !granted(&caller, Capability::SensorTime) {
            return i64::from(abi::ERROR);
        }
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })?;

    linker.func_wrap(
        m,
        "host_random_bytes",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> i32 {
            if !granted(&caller, Capability::SensorRandom) {
                return abi::ERROR;
            }
            let Some((mem, _)) = memory(&mut caller) else {
                return abi::ERROR;
            };
            let Some(r) = range(mem.len(), ptr, len) else {
                return abi::ERROR;
            };
            if fill_random(&mut mem[r]) {
                abi::SUCCESS
            } else {
                abi::ERROR
            }
        },
    )?;

    linker.func_wrap(m, "host_log", |mut caller: Caller<'_, HostState>, level: i32, ptr: i32, len: i32| -> i32 {
        if !granted(&caller, Capability::ActuatorLog) {
            return abi::ERROR;
        }
        let Some(level) = LogLevel::from_i32(level) else {
            return abi::ERROR;
        };
        let Some((mem, state)) = memory(&mut caller) else {
            return abi::ERROR;
        };
        let Some(r) = range(mem.len(), ptr, len) else {
            return abi::ERROR;
        };
        let Ok(text) = std::str::from_utf8(&mem[r]) else {
            return abi::ERROR;
        };
        state.log_count = state.log_count.saturating_add(1);
        if state.log_count > MAX_LOG_MESSAGES {
            if state.log_count == MAX_LOG_MESSAGES + 1 {
                state.log(
                    LogLevel::Warn,
                    format!("log limit of {MAX_LOG_MESSAGES} messages reached; further messages are dropped"),
                );
            }
            return abi::ERROR;
        }
        let message = truncate(text, MAX_LOG_MESSAGE);
        state.log(level, message);
        abi::SUCCESS
    })?;

    linker.func_wrap(
        m,
        "host_input_len",
        |caller: Caller<'_, HostState>| -> i32 {
            i32::try_from(caller.data().input.len()).unwrap_or(abi::ERROR)
        },
    )?;

    linker.func_wrap(
        m,
        "host_input_read",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32, offset: i32| -> i32 {
            let Some((mem, state)) = memory(&mut caller) else {
                return abi::ERROR;
            };
            let (Some(r), Ok(offset)) = (range(mem.len(), ptr, len), usize::try_from(offset))
            else {
                return abi::ERROR;
            };
            let available = state.input.get(offset..).unwrap_or_default();
            let n = available.len().min(r.len());
            mem[r.start..r.start + n].copy_from_slice(&available[..n]);
            i32::try_from(n).unwrap_or(abi::ERROR)
        },
    )?;

    linker.func_wrap(
        m,
        "host_output_write",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> i32 {
            let Some((mem, state)) = memory(&mut caller) else {
                return abi::ERROR;
            };
            let Some(r) = range(mem.len(), ptr, len) else {
                return abi::ERROR;
            };
            if state.output_len + r.len() > MAX_OUTPUT {
                return abi::ERROR;
            }
            state.output_len += r.len();
            match state.io.output(&mem[r]) {
                Ok(()) => abi::SUCCESS,
                Err(_) => abi::ERROR,
            }
        },
    )?;

    linker.func_wrap(
        m,
        "host_abort",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let message = memory(&mut caller)
                .and_then(|(mem, _)| {
                    range(mem.len(), ptr, len)
                        .map(|r| String::from_utf8_lossy(&mem[r]).into_owned())
                })
                .unwrap_or_else(|| {
                    "the spirit aborted (its message was outside its memory)".to_owned()
                });
            Err(wasmtime::Error::new(GuestAbort(truncate(
                &message,
                MAX_LOG_MESSAGE,
            ))))
        },
    )?;

    Ok(linker)
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Random bytes from the operating system's generator.
fn fill_random(buf: &mut [u8]) -> bool {
    getrandom::fill(buf).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_outside_memory_are_refused() {
        assert_eq!(range(100, 0, 100), Some(0..100));
        assert_eq!(range(100, 1, 100), None);
        assert_eq!(range(100, -1, 1), None);
        assert_eq!(range(100, 10, -1), None);
        assert_eq!(range(100, i32::MAX, i32::MAX), None);
    }

    #[test]
    fn truncation_keeps_utf8() {
        assert_eq!(truncate("ééé", 3), "é…");
    }
}
