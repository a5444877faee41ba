//! What a run may do and use, as plain data: the [`Policy`] of granted
//! capabilities, the [`Limits`] on fuel, memory, time, tables and storage
//! (a manifest's run defaults are these too), and the [`Pricing`] that turns
//! fuel into credits.
//!
//! Both the file formats ([`manifest`](crate::manifest)) and the runtime
//! ([`sandbox`](crate::sandbox)) use these types, so this module depends on
//! neither, nor on anything else in the crate.

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
    /// How much the spirit may keep in its persistent storage.
    pub storage: StorageQuota,
}

impl Default for Limits {
    /// 1 billion units of fuel, 64 MiB of memory, 30 seconds, 10 000 table
    /// elements, and the default [`StorageQuota`].
    fn default() -> Limits {
        Limits {
            fuel: 1_000_000_000,
            max_memory: 64 << 20,
            timeout: Duration::from_secs(30),
            max_table_elements: 10_000,
            storage: StorageQuota::default(),
        }
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
        Policy { granted }
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
        let deny: Vec<Capability> = deny.into_iter().collect();
        Policy::allow(
            declared
                .into_iter()
                .chain(allow)
                .filter(|c| !deny.contains(c)),
        )
    }

    /// The granted capabilities, sorted.
    pub fn granted(&self) -> &[Capability] {
        &self.granted
    }

    /// Whether `capability` is granted.
    pub fn grants(&self, capability: Capability) -> bool {
        self.granted.binary_search(&capability).is_ok()
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
