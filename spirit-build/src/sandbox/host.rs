//! The host side of the ABI: the functions a spirit imports from `vudo`,
//! each checking its capability on every call and every guest pointer
//! before it touches memory.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use spirit_sdk::abi::{self, Capability, LogLevel};
use wasmtime::{Caller, Engine, Extern, Linker, ResourceLimiter};

use super::storage::{SpiritStore, StorageError, Stores};
use super::{Limits, LogRecord, Policy};

/// The most bytes one log message may have; longer ones are cut.
pub(crate) const MAX_LOG_MESSAGE: usize = 4096;
/// The most log messages one run may print; later ones are dropped.
pub(crate) const MAX_LOG_MESSAGES: u32 = 1000;
/// The most bytes of output one run may write.
pub(crate) const MAX_OUTPUT: usize = 16 << 20;
/// The most host warnings (why a call returned `-1`) one run reports.
pub(crate) const MAX_WARNINGS: u32 = 10;
/// Where the seeded clock of deterministic mode starts:
/// 2024-01-01T00:00:00Z, in milliseconds since the Unix epoch.
pub const DETERMINISTIC_EPOCH_MS: i64 = 1_704_067_200_000;

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
    /// Why a host call returned `-1` when the spirit cannot tell (a storage
    /// quota, a busy database), for the person running it. At most a few
    /// per run. Ignored unless implemented.
    fn warning(&mut self, message: String) {
        let _ = message;
    }
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
    /// Every host warning, in order.
    pub warnings: Vec<String>,
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

/// What a run's state is made from.
pub(crate) struct HostSetup {
    pub(crate) name: String,
    pub(crate) policy: Policy,
    pub(crate) limits: Limits,
    pub(crate) input: Vec<u8>,
    pub(crate) io: Box<dyn SpiritIo>,
    pub(crate) seed: Option<u64>,
    pub(crate) stores: Arc<Stores>,
    pub(crate) deadline: Instant,
}

/// Everything a store holds for one run.
pub(crate) struct HostState {
    name: String,
    policy: Policy,
    limits: Limits,
    input: Vec<u8>,
    io: Box<dyn SpiritIo>,
    clock: Clock,
    entropy: Entropy,
    stores: Arc<Stores>,
    /// This run's handle on its spirit's database, opened on first use and
    /// held until the run ends.
    storage: Option<Arc<SpiritStore>>,
    deadline: Instant,
    log_count: u32,
    warning_count: u32,
    output_len: usize,
    peak_memory: usize,
    pub(crate) memory_limit_hit: bool,
    pub(crate) table_limit_hit: bool,
}

/// Where `host_time_now` reads the time.
enum Clock {
    System,
    /// Deterministic mode: starts at [`DETERMINISTIC_EPOCH_MS`] and advances
    /// one millisecond per call, so time still moves forward.
    Seeded {
        next_ms: i64,
    },
}

/// Where `host_random_bytes` gets its bytes.
enum Entropy {
    System,
    /// Deterministic mode: blake3's extendable output keyed by the seed, a
    /// stream as unpredictable as a CSPRNG to anyone without the seed, and
    /// already a dependency.
    Seeded(Box<blake3::OutputReader>),
}

impl HostState {
    pub(crate) fn new(setup: HostSetup) -> HostState {
        let (clock, entropy) = match setup.seed {
            None => (Clock::System, Entropy::System),
            Some(seed) => {
                let mut hasher =
                    blake3::Hasher::new_derive_key("cargo-spirit deterministic random v1");
                hasher.update(&seed.to_le_bytes());
                (
                    Clock::Seeded {
                        next_ms: DETERMINISTIC_EPOCH_MS,
                    },
                    Entropy::Seeded(Box::new(hasher.finalize_xof())),
                )
            }
        };
        HostState {
            name: setup.name,
            policy: setup.policy,
            limits: setup.limits,
            input: setup.input,
            io: setup.io,
            clock,
            entropy,
            stores: setup.stores,
            storage: None,
            deadline: setup.deadline,
            log_count: 0,
            warning_count: 0,
            output_len: 0,
            peak_memory: 0,
            memory_limit_hit: false,
            table_limit_hit: false,
        }
    }

    /// The peak memory and the I/O sink, at the end of a run.
    pub(crate) fn finish(self) -> (usize, Box<dyn SpiritIo>) {
        (self.peak_memory, self.io)
    }

    fn log(&mut self, level: LogLevel, message: String) {
        self.io.log(LogRecord {
            spirit: self.name.clone(),
            level,
            message,
        });
    }

    fn warn(&mut self, message: String) {
        self.warning_count = self.warning_count.saturating_add(1);
        if self.warning_count <= MAX_WARNINGS {
            self.io.warning(message);
        } else if self.warning_count == MAX_WARNINGS + 1 {
            self.io.warning(format!(
                "more than {MAX_WARNINGS} host warnings; further ones are dropped"
            ));
        }
    }

    fn now_ms(&mut self) -> i64 {
        match &mut self.clock {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            Clock::Seeded { next_ms } => {
                let now = *next_ms;
                *next_ms = next_ms.saturating_add(1);
                now
            }
        }
    }

    fn fill_random(&mut self, buf: &mut [u8]) -> bool {
        match &mut self.entropy {
            Entropy::System => getrandom::fill(buf).is_ok(),
            Entropy::Seeded(reader) => {
                reader.fill(buf);
                true
            }
        }
    }

    /// The spirit's database, opened on first use.
    fn storage(&mut self) -> Result<Arc<SpiritStore>, StorageError> {
        if let Some(store) = &self.storage {
            return Ok(store.clone());
        }
        let store = self.stores.open(&self.name, self.deadline)?;
        self.storage = Some(store.clone());
        Ok(store)
    }

    /// `-1`, with the reason reported to the person running the spirit.
    fn storage_failed(&mut self, function: &str, error: &StorageError) -> i32 {
        self.warn(format!("`{function}` returned -1: {error}"));
        abi::ERROR
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
        if desired > self.limits.max_table_elements {
            self.table_limit_hit = true;
            return Ok(false);
        }
        Ok(true)
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
/// Pointers and lengths are `i32` in the ABI but addresses in a 32-bit
/// memory are unsigned, so both are read as `u32` (a negative one is then
/// beyond any memory smaller than 2 GiB, and refused).
fn range(mem_len: usize, ptr: i32, len: i32) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(unsigned(ptr)).ok()?;
    let len = usize::try_from(unsigned(len)).ok()?;
    let end = start.checked_add(len)?;
    (end <= mem_len).then_some(start..end)
}

/// The bits of an ABI `i32` as the `u32` WebAssembly means by them.
fn unsigned(value: i32) -> u32 {
    u32::from_ne_bytes(value.to_ne_bytes())
}

fn granted(caller: &Caller<'_, HostState>, capability: Capability) -> bool {
    caller.data().policy.grants(capability)
}

/// The linker with every host function the sandbox implements.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    let m = abi::MODULE;

    linker.func_wrap(
        m,
        "host_time_now",
        |mut caller: Caller<'_, HostState>| -> i64 {
            if !granted(&caller, Capability::SensorTime) {
                return i64::from(abi::ERROR);
            }
            caller.data_mut().now_ms()
        },
    )?;

    linker.func_wrap(
        m,
        "host_random_bytes",
        |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> i32 {
            if !granted(&caller, Capability::SensorRandom) {
                return abi::ERROR;
            }
            let Some((mem, state)) = memory(&mut caller) else {
                return abi::ERROR;
            };
            let Some(r) = range(mem.len(), ptr, len) else {
                return abi::ERROR;
            };
            if state.fill_random(&mut mem[r]) {
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
        "host_storage_read",
        |mut caller: Caller<'_, HostState>,
         key_ptr: i32,
         key_len: i32,
         val_ptr: i32,
         val_cap: i32|
         -> i32 {
            const NAME: &str = "host_storage_read";
            let (key, store) =
                match storage_call(&mut caller, NAME, Capability::StorageRead, key_ptr, key_len) {
                    Ok(call) => call,
                    Err(status) => return status,
                };
            let Some((mem, state)) = memory(&mut caller) else {
                return abi::ERROR;
            };
            let Some(dest) = range(mem.len(), val_ptr, val_cap) else {
                return abi::ERROR;
            };
            let copied = store.read(&key, |value| match value {
                None => 0,
                Some(v) if v.len() > dest.len() => abi::ERROR,
                Some(v) => {
                    mem[dest.start..dest.start + v.len()].copy_from_slice(v);
                    i32::try_from(v.len()).unwrap_or(abi::ERROR)
                }
            });
            match copied {
                Ok(n) => n,
                Err(e) => state.storage_failed(NAME, &e),
            }
        },
    )?;

    linker.func_wrap(
        m,
        "host_storage_write",
        |mut caller: Caller<'_, HostState>,
         key_ptr: i32,
         key_len: i32,
         val_ptr: i32,
         val_len: i32|
         -> i32 {
            const NAME: &str = "host_storage_write";
            let (key, store) = match storage_call(
                &mut caller,
                NAME,
                Capability::StorageWrite,
                key_ptr,
                key_len,
            ) {
                Ok(call) => call,
                Err(status) => return status,
            };
            let Some((mem, state)) = memory(&mut caller) else {
                return abi::ERROR;
            };
            let Some(value) = range(mem.len(), val_ptr, val_len) else {
                return abi::ERROR;
            };
            match store.write(&key, &mem[value], &state.limits.storage) {
                Ok(()) => abi::SUCCESS,
                Err(e) => state.storage_failed(NAME, &e),
            }
        },
    )?;

    linker.func_wrap(
        m,
        "host_storage_delete",
        |mut caller: Caller<'_, HostState>, key_ptr: i32, key_len: i32| -> i32 {
            const NAME: &str = "host_storage_delete";
            let (key, store) = match storage_call(
                &mut caller,
                NAME,
                Capability::StorageDelete,
                key_ptr,
                key_len,
            ) {
                Ok(call) => call,
                Err(status) => return status,
            };
            let state = caller.data_mut();
            match store.delete(&key, &state.limits.storage) {
                Ok(true) => 1,
                Ok(false) => 0,
                Err(e) => state.storage_failed(NAME, &e),
            }
        },
    )?;

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
            let (Some(r), Ok(offset)) = (
                range(mem.len(), ptr, len),
                usize::try_from(unsigned(offset)),
            ) else {
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

/// A copy of the key at `ptr..ptr+len`, when it is inside the guest's memory
/// and within the key quota (checked before copying, so a guest cannot make
/// the host copy megabytes to be refused).
/// What every storage call does first: check its capability, read the key
/// from guest memory, and get the spirit's store. `Err` holds the status to
/// return to the guest (`-1`; a failure to open the store is also reported
/// to the person running the spirit).
fn storage_call(
    caller: &mut Caller<'_, HostState>,
    function: &str,
    capability: Capability,
    key_ptr: i32,
    key_len: i32,
) -> Result<(Vec<u8>, Arc<SpiritStore>), i32> {
    if !granted(caller, capability) {
        return Err(abi::ERROR);
    }
    let key = guest_key(caller, key_ptr, key_len).ok_or(abi::ERROR)?;
    match caller.data_mut().storage() {
        Ok(store) => Ok((key, store)),
        Err(e) => Err(caller.data_mut().storage_failed(function, &e)),
    }
}

fn guest_key(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> Option<Vec<u8>> {
    let (mem, state) = memory(caller)?;
    let r = range(mem.len(), ptr, len)?;
    if r.is_empty() || r.len() > state.limits.storage.max_key {
        let error = StorageError::KeyLength {
            len: r.len(),
            max: state.limits.storage.max_key,
        };
        state.warn(format!("a storage call returned -1: {error}"));
        return None;
    }
    Some(mem[r].to_vec())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_outside_memory_are_refused() {
        assert_eq!(range(100, 0, 100), Some(0..100));
        assert_eq!(range(100, 1, 100), None);
        assert_eq!(range(100, -1, 1), None);
        assert_eq!(range(1 << 32, -1, 1), Some((1 << 32) - 1..1 << 32));
        assert_eq!(range(100, 10, -1), None);
        assert_eq!(range(100, i32::MAX, i32::MAX), None);
    }

    /// The guest side (the SDK's imports, validation) follows
    /// `HOST_FUNCTIONS`; so must the host: every function defined, with its
    /// exact type, and nothing more.
    #[test]
    fn the_linker_defines_exactly_the_abi() {
        let engine = Engine::default();
        let linker = linker(&engine).unwrap();
        let state = HostState::new(HostSetup {
            name: "abi".into(),
            policy: Policy::default(),
            limits: Limits::default(),
            input: Vec::new(),
            io: Box::new(CollectingIo::default()),
            seed: None,
            stores: Arc::new(Stores::new(None)),
            deadline: Instant::now(),
        });
        let mut store = wasmtime::Store::new(&engine, state);
        let items: Vec<(String, String, Extern)> = linker
            .iter(&mut store)
            .map(|(module, name, item)| (module.to_owned(), name.to_owned(), item))
            .collect();
        let mut defined: Vec<(String, String, String)> = items
            .into_iter()
            .map(|(module, name, item)| {
                let ty = match item {
                    Extern::Func(f) => {
                        let ty = f.ty(&store);
                        let params: Vec<String> = ty.params().map(|t| t.to_string()).collect();
                        let params = params.join(", ");
                        let results: Vec<String> = ty.results().map(|t| t.to_string()).collect();
                        match results.as_slice() {
                            [] => format!("({params})"),
                            [one] => format!("({params}) -> {one}"),
                            many => format!("({params}) -> ({})", many.join(", ")),
                        }
                    }
                    _ => "not a function".to_owned(),
                };
                (module, name, ty)
            })
            .collect();
        defined.sort();
        let mut expected: Vec<(String, String, String)> = abi::HOST_FUNCTIONS
            .iter()
            .map(|f| {
                (
                    abi::MODULE.to_owned(),
                    f.name.to_owned(),
                    f.signature().to_string(),
                )
            })
            .collect();
        expected.sort();
        assert_eq!(defined, expected);
    }

    #[test]
    fn truncation_keeps_utf8() {
        assert_eq!(truncate("ééé", 3), "é…");
    }
}
