//! What a run may do and use, as plain data: the [`Policy`] of granted
//! capabilities, the [`Limits`] on fuel, memory, time, tables and storage
//! (a manifest's run defaults are these too), and the [`Pricing`] that turns
//! fuel into credits.
//!
//! Both the file formats ([`manifest`](crate::manifest)) and the runtime
//! ([`sandbox`](crate::sandbox)) use these types, so this module depends on
//! neither, nor on anything else in the crate but [`units`](crate::units)
//! (to show a limit in its errors). Each limit's range is [`check`]: the
//! flags, the manifest keys and every run use it.

use std::time::Duration;

use spirit_sdk::abi::Capability;

/// The deepest the WebAssembly stack may grow, in bytes; past it a run ends
/// with `stack overflow`. One value for the whole engine (wasmtime sets it
/// per engine), large enough for ordinary recursion and small enough that a
/// runaway recursion ends in milliseconds.
pub const MAX_WASM_STACK: usize = 512 << 10;

/// The most elements the pool reserves for one table; [`Limits::max_table_elements`]
/// cannot usefully exceed it.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// The most linear memory a spirit can be given: 4 GiB, everything a 32-bit
/// memory addresses (65 536 pages of 64 KiB).
pub const MAX_MEMORY: u64 = 4 << 30;

/// The longest a run may be allowed to take: 365 days, the longest
/// duration [`units::parse_duration`](crate::units::parse_duration)
/// accepts, and far from the point where adding it to a clock reading
/// overflows.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// The largest input a run may be given: `i32::MAX` bytes, since
/// `host_input_len` returns the length as an `i32`.
pub const MAX_INPUT: u64 = i32::MAX as u64;

/// The input cap when neither `--max-input` nor the manifest sets one.
pub const DEFAULT_MAX_INPUT: u64 = 64 << 20;

/// A limit out of its range, in words: which limit, the value, the range.
///
/// ```
/// use spirit_build::limits::{LimitError, Limits};
/// let limits = Limits { fuel: 0, ..Limits::default() };
/// assert_eq!(limits.check(), Err(LimitError::Fuel));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Zero fuel: the run could not execute a single instruction.
    #[error("the fuel limit must be at least 1 unit, not 0")]
    Fuel,
    /// No memory, or more than a 32-bit memory can have.
    #[error("the memory limit must be between 64 KiB and 4 GiB (all a 32-bit memory can address), not {}", crate::units::Bytes(*.0))]
    Memory(u64),
    /// A zero or overlong timeout.
    #[error("the timeout must be between 1ms and 365 days, not {0:?}")]
    Timeout(Duration),
    /// An input cap of zero or past what `host_input_len` can report.
    #[error("the input limit must be between 1 byte and {} (what `host_input_len` can report), not {}", crate::units::Bytes(MAX_INPUT), crate::units::Bytes(*.0))]
    Input(u64),
    /// More table elements than the pool reserves.
    #[error("the table limit must be between 1 and {MAX_TABLE_ELEMENTS} elements, not {0}")]
    Table(usize),
}

/// The range of each limit, as a flag or a manifest key gives it: each
/// function returns the value when it is in range.
///
/// ```
/// use spirit_build::limits::check;
/// assert_eq!(check::max_memory(16 << 20), Ok(16 << 20));
/// assert!(check::max_memory(99999 << 30).is_err());
/// assert!(check::fuel(0).is_err());
/// ```
pub mod check {
    use std::time::Duration;

    use crate::limits::{LimitError, MAX_INPUT, MAX_MEMORY, MAX_TABLE_ELEMENTS, MAX_TIMEOUT};

    /// Fuel: at least 1 unit.
    ///
    /// # Errors
    ///
    /// [`LimitError::Fuel`] for zero.
    pub fn fuel(units: u64) -> Result<u64, LimitError> {
        if units == 0 {
            Err(LimitError::Fuel)
        } else {
            Ok(units)
        }
    }

    /// Linear memory: one 64 KiB page to [`MAX_MEMORY`].
    ///
    /// # Errors
    ///
    /// [`LimitError::Memory`] outside the range.
    pub fn max_memory(bytes: u64) -> Result<u64, LimitError> {
        if (64 << 10..=MAX_MEMORY).contains(&bytes) {
            Ok(bytes)
        } else {
            Err(LimitError::Memory(bytes))
        }
    }

    /// A timeout: 1 ms to [`MAX_TIMEOUT`].
    ///
    /// # Errors
    ///
    /// [`LimitError::Timeout`] outside the range.
    pub fn timeout(timeout: Duration) -> Result<Duration, LimitError> {
        if (Duration::from_millis(1)..=MAX_TIMEOUT).contains(&timeout) {
            Ok(timeout)
        } else {
            Err(LimitError::Timeout(timeout))
        }
    }

    /// The input cap: 1 byte to [`MAX_INPUT`].
    ///
    /// # Errors
    ///
    /// [`LimitError::Input`] outside the range.
    pub fn max_input(bytes: u64) -> Result<u64, LimitError> {
        if (1..=MAX_INPUT).contains(&bytes) {
            Ok(bytes)
        } else {
            Err(LimitError::Input(bytes))
        }
    }

    /// Table elements: 1 to [`MAX_TABLE_ELEMENTS`].
    ///
    /// # Errors
    ///
    /// [`LimitError::Table`] outside the range.
    pub fn max_table_elements(elements: usize) -> Result<usize, LimitError> {
        if (1..=MAX_TABLE_ELEMENTS).contains(&elements) {
            Ok(elements)
        } else {
            Err(LimitError::Table(elements))
        }
    }
}

/// How a run's CPU use is bounded.
///
/// ```
/// use spirit_build::limits::Metering;
/// assert_eq!(Metering::default(), Metering::Fuel);
/// assert_eq!("time".parse::<Metering>(), Ok(Metering::Time));
/// assert_eq!(Metering::Time.to_string(), "time");
/// assert!("none".parse::<Metering>().unwrap_err().contains("`fuel` or `time`"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Metering {
    /// Fuel (a count of WebAssembly operations) and the wall-clock
    /// deadline: the run's cost is known, so it can be priced, and it ends
    /// the same way on every machine, so it can be deterministic.
    #[default]
    Fuel,
    /// The wall-clock deadline alone (epoch interruption), fuel off: no
    /// counting in the compiled code, so a compute-bound run is faster, but
    /// how far it gets depends on the machine. Refused for priced runs and
    /// `--deterministic` ones, which need fuel.
    Time,
}

impl Metering {
    /// `fuel` or `time`, as the flag and the manifest spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Metering::Fuel => "fuel",
            Metering::Time => "time",
        }
    }
}

impl std::fmt::Display for Metering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Metering {
    type Err = String;

    fn from_str(s: &str) -> Result<Metering, String> {
        match s {
            "fuel" => Ok(Metering::Fuel),
            "time" => Ok(Metering::Time),
            other => Err(format!(
                "unknown metering `{}`: use `fuel` or `time`",
                other.escape_default()
            )),
        }
    }
}

/// Resource limits for one run. A manifest records `fuel`, `timeout` and
/// `max_memory` as the spirit's run defaults (`[run]`); the table and
/// storage limits are the host's.
///
/// ```
/// use std::time::Duration;
/// use spirit_build::limits::Limits;
///
/// let limits = Limits { fuel: 1_000_000, timeout: Duration::from_millis(500), ..Limits::default() };
/// assert_eq!(limits.max_memory, 64 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fuel units (roughly, WebAssembly instructions) the run may use.
    pub fuel: u64,
    /// The most linear memory the spirit may have, in bytes.
    pub max_memory: u64,
    /// The longest the run may take, start function included.
    pub timeout: Duration,
    /// The most elements the spirit's table may have.
    pub max_table_elements: usize,
    /// The largest input the run accepts, in bytes; a longer input is
    /// refused while it is read, before it is all in memory.
    pub max_input: u64,
    /// How much the spirit may keep in its persistent storage.
    pub storage: StorageQuota,
    /// How its CPU use is bounded: fuel and time, or time alone.
    pub metering: Metering,
}

impl Default for Limits {
    /// 1 billion units of fuel, 64 MiB of memory, 30 seconds, 10 000 table
    /// elements, 64 MiB of input, the default [`StorageQuota`], metered by
    /// fuel.
    fn default() -> Limits {
        Limits {
            fuel: 1_000_000_000,
            max_memory: 64 << 20,
            timeout: Duration::from_secs(30),
            max_table_elements: 10_000,
            max_input: DEFAULT_MAX_INPUT,
            storage: StorageQuota::default(),
            metering: Metering::Fuel,
        }
    }
}

impl Limits {
    /// Whether every limit is in its range ([`check`]); a run refuses
    /// limits that are not, whichever flag, manifest or embedder set them.
    ///
    /// ```
    /// use spirit_build::limits::Limits;
    /// assert!(Limits::default().check().is_ok());
    /// assert!(Limits { max_memory: 5 << 30, ..Limits::default() }.check().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// The first limit out of range.
    pub fn check(&self) -> Result<(), LimitError> {
        check::fuel(self.fuel)?;
        check::max_memory(self.max_memory)?;
        check::timeout(self.timeout)?;
        check::max_input(self.max_input)?;
        check::max_table_elements(self.max_table_elements)?;
        Ok(())
    }
}

/// What a spirit may do: the capabilities granted for this run.
///
/// ```
/// use spirit_build::limits::Policy;
/// use spirit_sdk::abi::Capability;
///
/// let declared = [Capability::ActuatorLog, Capability::SensorTime];
/// let policy = Policy::from_declared(declared, [], [Capability::SensorTime]);
/// assert!(policy.grants(Capability::ActuatorLog));
/// assert!(!policy.grants(Capability::SensorTime));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    granted: Vec<Capability>,
    /// What `--deny` withheld, so that a refusal can say so.
    denied: Vec<Capability>,
    /// The embedder's capabilities granted (see [`Policy::grant_custom`]),
    /// sorted.
    custom: Vec<String>,
}

impl Policy {
    /// A policy that grants exactly these capabilities.
    ///
    /// ```
    /// use spirit_build::limits::Policy;
    /// use spirit_sdk::abi::Capability;
    /// assert!(Policy::allow([Capability::StorageRead]).grants(Capability::StorageRead));
    /// ```
    pub fn allow(capabilities: impl IntoIterator<Item = Capability>) -> Policy {
        let mut granted: Vec<Capability> = capabilities.into_iter().collect();
        granted.sort();
        granted.dedup();
        Policy {
            granted,
            denied: Vec::new(),
            custom: Vec::new(),
        }
    }

    /// What the manifest declares, plus what `allow` adds, minus what `deny`
    /// withholds (deny wins).
    ///
    /// ```
    /// use spirit_build::limits::Policy;
    /// use spirit_sdk::abi::Capability::*;
    /// let p = Policy::from_declared([ActuatorLog], [SensorTime], [ActuatorLog]);
    /// assert_eq!(p.granted(), &[SensorTime]);
    /// ```
    pub fn from_declared(
        declared: impl IntoIterator<Item = Capability>,
        allow: impl IntoIterator<Item = Capability>,
        deny: impl IntoIterator<Item = Capability>,
    ) -> Policy {
        let mut denied: Vec<Capability> = deny.into_iter().collect();
        denied.sort();
        denied.dedup();
        let policy = Policy::allow(
            declared
                .into_iter()
                .chain(allow)
                .filter(|c| !denied.contains(c)),
        );
        Policy { denied, ..policy }
    }

    /// The capabilities withheld by `deny` (see [`Policy::from_declared`]).
    ///
    /// ```
    /// use spirit_build::limits::Policy;
    /// use spirit_sdk::abi::Capability::*;
    /// assert_eq!(Policy::from_declared([ActuatorLog], [], [ActuatorLog]).denied(), &[ActuatorLog]);
    /// ```
    pub fn denied(&self) -> &[Capability] {
        &self.denied
    }

    /// The granted capabilities, sorted.
    pub fn granted(&self) -> &[Capability] {
        &self.granted
    }

    /// Whether `capability` is granted.
    pub fn grants(&self, capability: Capability) -> bool {
        self.granted.binary_search(&capability).is_ok()
    }

    /// This policy, also granting the embedder's capability `capability`
    /// (such as `acme:db`): the one that gates the embedder's own host
    /// functions (see [`HostFunctions`](crate::sandbox::HostFunctions)).
    /// Such a capability is never one of the built-in [`Capability`]s, and
    /// only the embedder grants it: a spirit's manifest, `--allow` and a
    /// dependency's policy cannot.
    ///
    /// ```
    /// use spirit_build::limits::Policy;
    /// let policy = Policy::default().grant_custom("acme:db");
    /// assert!(policy.grants_custom("acme:db"));
    /// assert!(!policy.grants_custom("acme:mail"));
    /// assert!(!Policy::default().grants_custom("acme:db"));
    /// ```
    #[must_use]
    pub fn grant_custom(mut self, capability: impl Into<String>) -> Policy {
        let capability = capability.into();
        if let Err(at) = self.custom.binary_search(&capability) {
            self.custom.insert(at, capability);
        }
        self
    }

    /// Whether the embedder's capability `capability` is granted (see
    /// [`Policy::grant_custom`]).
    pub fn grants_custom(&self, capability: &str) -> bool {
        self.custom
            .binary_search_by(|c| c.as_str().cmp(capability))
            .is_ok()
    }

    /// The embedder's capabilities granted, sorted.
    pub fn granted_custom(&self) -> &[String] {
        &self.custom
    }
}

/// What a run costs in credits, by the VUDO VM's formula:
/// `base_cost + fuel × per_fuel_cost / 1000` (`per_fuel_cost` is per
/// thousand units of fuel; the division rounds down).
///
/// ```
/// use spirit_build::limits::Pricing;
/// let pricing = Pricing { base_cost: 100, per_fuel_cost: 2, min_balance: None };
/// assert_eq!(pricing.cost(1_000), 102);
/// assert_eq!(pricing.cost(499), 100);
/// assert_eq!(pricing.cost(u64::MAX), 100 + u64::MAX / 500);
/// let dear = Pricing { base_cost: u64::MAX, per_fuel_cost: u64::MAX, min_balance: None };
/// assert_eq!(dear.cost(u64::MAX), u64::MAX);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pricing {
    /// Credits charged for any run.
    pub base_cost: u64,
    /// Credits per thousand units of fuel used.
    pub per_fuel_cost: u64,
    /// Credits the payer must have available before a run starts
    /// (`min-balance`), beyond covering its maximum cost; `None`: only the
    /// maximum cost.
    pub min_balance: Option<u64>,
}

impl Pricing {
    /// The cost of a run that used `fuel` units, saturating at `u64::MAX`.
    pub fn cost(&self, fuel: u64) -> u64 {
        // In 128 bits the product cannot overflow, so the division sees
        // the exact product rather than a saturated one.
        let per_fuel = u128::from(fuel) * u128::from(self.per_fuel_cost) / 1000;
        self.base_cost
            .saturating_add(u64::try_from(per_fuel).unwrap_or(u64::MAX))
    }
}

/// How much a spirit may keep in its persistent storage.
///
/// ```
/// let quota = spirit_build::limits::StorageQuota::default();
/// assert_eq!(quota.max_key, 1024);
/// assert_eq!(quota.max_value, 1 << 20);
/// assert_eq!(quota.max_total, 64 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageQuota {
    /// The longest key, in bytes (keys are 1 byte or longer).
    pub max_key: usize,
    /// The largest value, in bytes.
    pub max_value: usize,
    /// The most bytes (keys plus values) one spirit may store in total.
    pub max_total: u64,
}

impl Default for StorageQuota {
    /// Keys up to 1 KiB, values up to 1 MiB, 64 MiB in total.
    fn default() -> StorageQuota {
        StorageQuota {
            max_key: 1024,
            max_value: 1 << 20,
            max_total: 64 << 20,
        }
    }
}
