//! What a store holds for one run: the [`HostState`] the host functions
//! read and write, its deterministic clock and random source, and the
//! resource limiter that enforces the memory and table limits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use spirit_sdk::abi::{self, LogLevel};
use wasmtime::ResourceLimiter;

use super::backend::{RunStorage, StorageBackend};
use super::bus::Bus;
use super::calls::CallSite;
use super::heap::HostHeap;
use super::io::{LogRecord, SpiritIo};
use super::storage::{StorageError, StorageOwner};
use crate::ledger::{CreditError, RunCredits};
use crate::limits::{Limits, Policy};
use crate::net::{NetSession, NetworkAccess};

/// The most host warnings (why a call returned `-1`) one run reports.
pub(crate) const MAX_WARNINGS: u32 = 10;
/// Where the seeded clock of deterministic mode starts:
/// 2024-01-01T00:00:00Z, in nanoseconds since the Unix epoch (the unit of
/// `host_time_now`).
pub const DETERMINISTIC_EPOCH_NS: i64 = 1_704_067_200_000_000_000;
/// The same instant in milliseconds since the Unix epoch, as the SDK's
/// `time::now()` reads it.
pub const DETERMINISTIC_EPOCH_MS: i64 = DETERMINISTIC_EPOCH_NS / 1_000_000;
/// How far the seeded clock moves per `host_time_now` call: one millisecond,
/// in nanoseconds.
pub const DETERMINISTIC_STEP_NS: i64 = 1_000_000;

/// What a run's state is made from.
pub(crate) struct HostSetup {
    pub(crate) name: String,
    pub(crate) owner: StorageOwner,
    pub(crate) policy: Policy,
    pub(crate) limits: Limits,
    pub(crate) input: Vec<u8>,
    pub(crate) io: Box<dyn SpiritIo>,
    pub(crate) seed: Option<u64>,
    pub(crate) stores: Arc<dyn StorageBackend>,
    pub(crate) deadline: Instant,
    pub(crate) credits: Option<RunCredits>,
    pub(crate) network: NetworkAccess,
    /// Its calls of other spirits (`None`: it has no dependencies).
    pub(crate) spirits: Option<Box<dyn CallSite>>,
}

/// Everything a store holds for one run.
pub(crate) struct HostState {
    name: String,
    /// Whose store this run opens (with `name`).
    owner: StorageOwner,
    /// The capabilities granted; the linker's capability gate reads it.
    pub(super) policy: Policy,
    pub(super) limits: Limits,
    pub(super) input: Vec<u8>,
    pub(super) io: Box<dyn SpiritIo>,
    clock: Clock,
    entropy: Entropy,
    stores: Arc<dyn StorageBackend>,
    /// This run's transaction on its spirit's database, begun on the first
    /// storage call and held until the run ends: committed by
    /// [`HostState::commit_storage`] when the run returns, aborted when the
    /// state is dropped without it.
    storage: Option<Box<dyn RunStorage>>,
    deadline: Deadline,
    /// The run's access to the credit ledger (`None`: every credit call
    /// returns `-1`). Dropped with the state at the end of the run, which
    /// releases the reservations the spirit left.
    credits: Option<RunCredits>,
    /// The run's network: its allowlist and open handles (closed when the
    /// state is dropped).
    net: NetSession,
    /// Its calls of other spirits (`None`: it has no dependencies).
    pub(super) spirits: Option<Box<dyn CallSite>>,
    /// The last call's output, and why it failed (empty when it did not).
    pub(super) last_call_output: Vec<u8>,
    pub(super) last_call_error: String,
    pub(super) log_count: u32,
    warning_count: u32,
    /// The host's allocations in the instance's memory (`vudo_alloc`).
    pub(super) heap: HostHeap,
    /// The séance's message bus, or one of its own with only this spirit
    /// on it (a one-shot run), made when a messaging function first needs
    /// it.
    bus: OnceLock<Arc<Bus>>,
    /// Where `vudo_monotonic_now` counts from.
    monotonic_origin: Instant,
    pub(super) output_len: usize,
    peak_memory: usize,
    pub(crate) memory_limit_hit: bool,
    pub(crate) table_limit_hit: bool,
}

/// Where `host_time_now` reads the time.
enum Clock {
    System,
    /// Deterministic mode: starts at [`DETERMINISTIC_EPOCH_NS`] and advances
    /// [`DETERMINISTIC_STEP_NS`] per call, so time still moves forward.
    Seeded {
        next_ns: i64,
    },
}

/// A clock that costs an atomic load to read: how many times the
/// sandbox's epoch ticker has ticked, every `every`.
#[derive(Clone, Debug)]
pub(crate) struct Ticks {
    pub(crate) count: Arc<AtomicU64>,
    pub(crate) every: Duration,
}

/// When the current run or invocation must end.
enum Deadline {
    /// A run's, read from the clock when it started.
    At(Instant),
    /// A live instance's invocation: `timeout` from tick `start`.
    Ticks {
        start: u64,
        timeout: Duration,
        ticks: Ticks,
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
                        next_ns: DETERMINISTIC_EPOCH_NS,
                    },
                    Entropy::Seeded(Box::new(hasher.finalize_xof())),
                )
            }
        };
        HostState {
            heap: HostHeap::default(),
            bus: OnceLock::new(),
            monotonic_origin: Instant::now(),
            name: setup.name,
            owner: setup.owner,
            policy: setup.policy,
            limits: setup.limits,
            input: setup.input,
            io: setup.io,
            clock,
            entropy,
            stores: setup.stores,
            storage: None,
            deadline: Deadline::At(setup.deadline),
            credits: setup.credits,
            net: NetSession::new(setup.network, setup.seed.is_some(), setup.deadline),
            spirits: setup.spirits,
            last_call_output: Vec::new(),
            last_call_error: String::new(),
            log_count: 0,
            warning_count: 0,
            output_len: 0,
            peak_memory: 0,
            memory_limit_hit: false,
            table_limit_hit: false,
        }
    }

    /// The spirit's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The bus the messaging and effect functions use.
    pub(crate) fn bus(&self) -> &Arc<Bus> {
        self.bus.get_or_init(|| {
            let bus = Arc::new(Bus::new());
            // A fresh bus has no one on it, so the name is free.
            let _ = bus.join(&self.name);
            bus
        })
    }

    /// Puts the spirit on a séance's bus (which it has joined) instead of
    /// its own.
    pub(crate) fn use_bus(&mut self, bus: Arc<Bus>) {
        self.bus = OnceLock::from(bus);
    }

    /// Starts another invocation of a live instance: a new deadline,
    /// `timeout` from now, and the per-run caps (logs, warnings, output)
    /// counted afresh. With the sandbox's epoch ticks, the start is one
    /// atomic load, and the deadline is worked out only when a host call
    /// needs it (to the ticks' 5 ms, as the epoch deadline itself); without,
    /// it reads the clock.
    pub(crate) fn begin_invocation(&mut self, timeout: Duration, ticks: Option<&Ticks>) {
        self.deadline = match ticks {
            Some(ticks) => Deadline::Ticks {
                start: ticks.count.load(Ordering::Relaxed),
                timeout,
                ticks: ticks.clone(),
            },
            None => {
                let now = Instant::now();
                Deadline::At(now.checked_add(timeout).unwrap_or(now))
            }
        };
        self.memory_limit_hit = false;
        self.table_limit_hit = false;
        self.log_count = 0;
        self.warning_count = 0;
        self.output_len = 0;
    }

    /// Drops what the current invocation wrote to storage (it failed).
    pub(crate) fn abort_storage(&mut self) {
        self.storage = None;
    }

    /// The peak memory so far.
    pub(crate) fn peak_memory(&self) -> usize {
        self.peak_memory
    }

    /// Replaces the I/O sink, returning the old one.
    pub(crate) fn replace_io(&mut self, io: Box<dyn SpiritIo>) -> Box<dyn SpiritIo> {
        std::mem::replace(&mut self.io, io)
    }

    /// The peak memory and the I/O sink, at the end of a run.
    pub(crate) fn finish(self) -> (usize, Box<dyn SpiritIo>) {
        (self.peak_memory, self.io)
    }

    pub(super) fn log(&mut self, level: LogLevel, message: String) {
        self.io.log(LogRecord {
            spirit: self.name.clone(),
            level,
            message,
        });
    }

    /// The run's network session, its waits ending at the current
    /// invocation's deadline.
    pub(super) fn net(&mut self) -> &mut NetSession {
        let deadline = self.deadline();
        self.net.set_deadline(deadline);
        &mut self.net
    }

    /// When the run must end: the deadline its calls of other spirits share.
    pub(super) fn deadline(&self) -> Instant {
        match &self.deadline {
            Deadline::At(at) => *at,
            Deadline::Ticks {
                start,
                timeout,
                ticks,
            } => {
                let elapsed = ticks.count.load(Ordering::Relaxed).saturating_sub(*start);
                let spent = ticks
                    .every
                    .saturating_mul(u32::try_from(elapsed).unwrap_or(u32::MAX));
                let now = Instant::now();
                now.checked_add(timeout.saturating_sub(spent))
                    .unwrap_or(now)
            }
        }
    }

    /// Reports why a call returned `-1`, at most [`MAX_WARNINGS`] times.
    pub(super) fn warn(&mut self, message: String) {
        self.warning_count = self.warning_count.saturating_add(1);
        if self.warning_count <= MAX_WARNINGS {
            self.io.warning(message);
        } else if self.warning_count == MAX_WARNINGS + 1 {
            self.io.warning(format!(
                "more than {MAX_WARNINGS} host warnings; further ones are dropped"
            ));
        }
    }

    /// Nanoseconds since the Unix epoch, from the clock of this run.
    pub(super) fn now_ns(&mut self) -> i64 {
        match &mut self.clock {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            Clock::Seeded { next_ns } => {
                let now = *next_ns;
                *next_ns = next_ns.saturating_add(DETERMINISTIC_STEP_NS);
                now
            }
        }
    }

    /// Nanoseconds on a clock that never goes back: since the state was
    /// made, or since the seeded clock's start in deterministic mode.
    pub(super) fn monotonic_ns(&mut self) -> i64 {
        match self.clock {
            Clock::System => {
                i64::try_from(self.monotonic_origin.elapsed().as_nanos()).unwrap_or(i64::MAX)
            }
            Clock::Seeded { .. } => self.now_ns().saturating_sub(DETERMINISTIC_EPOCH_NS),
        }
    }

    /// Waits `ms` milliseconds, at most until the run's deadline; in
    /// deterministic mode the seeded clock advances instead. `false` when
    /// the wait was cut at the deadline.
    pub(super) fn sleep(&mut self, ms: u32) -> bool {
        let duration = std::time::Duration::from_millis(u64::from(ms));
        match &mut self.clock {
            Clock::Seeded { next_ns } => {
                let step = i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX);
                *next_ns = next_ns.saturating_add(step);
                true
            }
            Clock::System => {
                let left = self.deadline().saturating_duration_since(Instant::now());
                std::thread::sleep(duration.min(left));
                duration <= left
            }
        }
    }

    /// Fills `buf` from the random source of this run; `false` when the
    /// operating system's generator failed.
    pub(super) fn fill_random(&mut self, buf: &mut [u8]) -> bool {
        match &mut self.entropy {
            Entropy::System => getrandom::fill(buf).is_ok(),
            Entropy::Seeded(reader) => {
                reader.fill(buf);
                true
            }
        }
    }

    /// The run's storage transaction, begun on first use (opening the
    /// spirit's database and waiting, until the run's deadline, for other
    /// runs of the spirit to end).
    pub(super) fn storage(&mut self) -> Result<&mut dyn RunStorage, StorageError> {
        let txn = match self.storage.take() {
            Some(txn) => txn,
            None => {
                let deadline = self.deadline();
                let txn = self.stores.begin(self.owner, &self.name, deadline)?;
                for note in txn.notes() {
                    self.io.warning(note.clone());
                }
                txn
            }
        };
        Ok(self.storage.insert(txn).as_mut())
    }

    /// Commits what the run wrote and deleted, all together, and lets the
    /// next run of the spirit in; called only when the run returned.
    pub(crate) fn commit_storage(&mut self) -> Result<(), StorageError> {
        self.storage.take().map_or(Ok(()), RunStorage::commit)
    }

    /// Calls `f` with the run's credits; `None` (the spirit gets `-1`) when
    /// the run has none or `f` refuses, with the reason reported.
    pub(super) fn credit<R>(
        &mut self,
        function: &str,
        f: impl FnOnce(&mut RunCredits) -> Result<R, CreditError>,
    ) -> Option<R> {
        let Some(credits) = self.credits.as_mut() else {
            self.warn(format!(
                "`{function}` returned -1: this run has no credit ledger\nhelp: `cargo spirit run` gives one to a spirit granted `actuator_credit`; an embedding host sets `RunRequest::credits`"
            ));
            return None;
        };
        match f(credits) {
            Ok(value) => Some(value),
            Err(e) => {
                self.warn(format!("`{function}` returned -1: {e}"));
                None
            }
        }
    }

    /// `-1`, with the reason reported to the person running the spirit.
    pub(super) fn storage_failed(&mut self, function: &str, error: &StorageError) -> i32 {
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
        if u64::try_from(desired).map_or(true, |d| d > self.limits.max_memory) {
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
