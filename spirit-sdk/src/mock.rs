//! The in-memory host that the SDK talks to on non-wasm targets, so a
//! spirit's logic can be unit-tested with plain `cargo test`.
//!
//! Every SDK call works as it does in the sandbox, against this host: a
//! settable clock, a seeded random generator, storage, input and output,
//! and a record of every log message. The pure primitives
//! ([`hash`](crate::hash), [`json`](crate::json),
//! [`base64`](crate::base64)) run the sandbox's own code (the
//! `spirit-primitives` crate), so they give the same results and errors.
//! Each test thread has its own host (the test harness runs each test on
//! its own thread), so tests do not see each other's state; [`reset`]
//! starts over within one.
//!
//! ```
//! use spirit_sdk::{mock, storage};
//!
//! // Arrange: what the host holds before the spirit runs.
//! mock::set_input(b"set greeting hello");
//! mock::set_time(1_700_000_000_000);
//!
//! // Act: the spirit's own code, here inline.
//! storage::set("greeting", "hello")?;
//! spirit_sdk::log::info("stored");
//!
//! // Assert: what the spirit left behind.
//! assert_eq!(mock::stored("greeting").as_deref(), Some(&b"hello"[..]));
//! assert_eq!(mock::logs(), ["[INFO] stored"]);
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```
//!
//! The network is scripted: [`script_connection`], [`script_client`] and
//! [`script_response`] say what a connection, a client of a listener and
//! an HTTP request get; [`sent`] and [`requests`] what the spirit sent.
//!
//! Capabilities are all granted, so that a test exercises the spirit's
//! logic; [`deny`] withholds one to test an error path, as the sandbox does
//! with `cargo spirit run --deny CAP`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::string::{String, ToString};
use std::vec::Vec;

use crate::abi::{self, Capability, LogLevel};

mod net;
pub use net::{requests, script_client, script_connection, script_response, sent};

std::thread_local! {
    static HOST: RefCell<MockHost> = RefCell::new(MockHost::default());
}

/// The clock's reading before [`set_time`]: 2023-11-14T22:13:20Z.
///
/// ```
/// assert_eq!(spirit_sdk::time::now(), Ok(spirit_sdk::mock::DEFAULT_TIME));
/// ```
pub const DEFAULT_TIME: u64 = 1_700_000_000_000;

#[derive(Debug)]
struct MockHost {
    time: u64,
    random: u64,
    logs: Vec<(LogLevel, String)>,
    storage: BTreeMap<Vec<u8>, Vec<u8>>,
    input: Vec<u8>,
    output: Vec<u8>,
    denied: BTreeSet<Capability>,
    aborted: Option<String>,
    credits: Credits,
    /// The spirit the code runs as ([`act_as`]).
    spirit: String,
    /// Each spirit's queue of `(sender, payload)`, as the séance's bus.
    mailboxes: BTreeMap<String, VecDeque<(String, Vec<u8>)>>,
    /// Fake dependencies by name, and the last call's output and error.
    spirits: BTreeMap<String, FakeSpirit>,
    last_output: Vec<u8>,
    last_error: String,
}

/// What a fake dependency does: (export, input) to output or why it failed.
type FakeCall = dyn Fn(&str, &[u8]) -> Result<Vec<u8>, String>;

/// A dependency registered with [`register_spirit`].
#[derive(Clone)]
struct FakeSpirit(std::rc::Rc<FakeCall>);

impl std::fmt::Debug for FakeSpirit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeSpirit")
    }
}

/// The spirit the mock host runs code as until [`act_as`] says otherwise.
pub const DEFAULT_SPIRIT: &str = "spirit";
/// The sandbox's caps on a message and a queue, kept by the mock too.
const MAX_PAYLOAD: usize = crate::message::MAX_PAYLOAD;
const MAX_QUEUED: usize = 256;

/// The mock's ledger: balances, reservations, and the run's payer rule.
#[derive(Debug, Default)]
struct Credits {
    balances: BTreeMap<[u8; 32], u64>,
    /// id → (account, amount).
    reservations: BTreeMap<i64, ([u8; 32], u64)>,
    next_id: i64,
    payer: Option<[u8; 32]>,
    limit: u64,
    /// Transferred, consumed, and held by active reservations.
    committed: u64,
    author: Option<[u8; 32]>,
}

impl Default for MockHost {
    fn default() -> MockHost {
        MockHost {
            time: DEFAULT_TIME,
            random: 0,
            logs: Vec::new(),
            storage: BTreeMap::new(),
            input: Vec::new(),
            output: Vec::new(),
            denied: BTreeSet::new(),
            aborted: None,
            credits: Credits::default(),
            spirit: DEFAULT_SPIRIT.to_string(),
            mailboxes: BTreeMap::from([(DEFAULT_SPIRIT.to_string(), VecDeque::new())]),
            spirits: BTreeMap::new(),
            last_output: Vec::new(),
            last_error: String::new(),
        }
    }
}

fn with<T>(f: impl FnOnce(&mut MockHost) -> T) -> T {
    HOST.with(|h| f(&mut h.borrow_mut()))
}

/// Forgets everything this thread's mock host holds and recorded.
///
/// ```
/// spirit_sdk::log::info("before");
/// spirit_sdk::mock::reset();
/// assert!(spirit_sdk::mock::logs().is_empty());
/// ```
pub fn reset() {
    with(|h| *h = MockHost::default());
    net::reset();
}

/// Sets the clock that [`time::now`](crate::time::now) reads, in
/// milliseconds since the Unix epoch (the mock's `host_time_now` returns it
/// in nanoseconds, as the sandbox does). It stands still until set again.
///
/// ```
/// spirit_sdk::mock::set_time(42);
/// assert_eq!(spirit_sdk::time::now(), Ok(42));
/// ```
pub fn set_time(millis: u64) {
    with(|h| h.time = millis);
}

/// Moves the clock forward by `millis`.
///
/// ```
/// spirit_sdk::mock::set_time(1_000);
/// spirit_sdk::mock::advance_time(500);
/// assert_eq!(spirit_sdk::time::now(), Ok(1_500));
/// ```
pub fn advance_time(millis: u64) {
    with(|h| h.time = h.time.saturating_add(millis));
}

/// Seeds the random generator: the same seed gives the same bytes. The
/// seed is `0` until set.
///
/// ```
/// use spirit_sdk::{mock, random};
/// mock::seed_random(7);
/// let first = random::u64()?;
/// mock::seed_random(7);
/// assert_eq!(random::u64()?, first);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
pub fn seed_random(seed: u64) {
    with(|h| h.random = seed);
}

/// Sets the input that [`input`](crate::input) reads.
///
/// ```
/// spirit_sdk::mock::set_input(b"get name");
/// assert_eq!(spirit_sdk::input::len(), 8);
/// ```
pub fn set_input(bytes: impl AsRef<[u8]>) {
    let bytes = bytes.as_ref().to_vec();
    with(|h| h.input = bytes);
}

/// Everything written to the output so far.
///
/// ```
/// spirit_sdk::output::write(b"ok\n")?;
/// assert_eq!(spirit_sdk::mock::output(), b"ok\n");
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
pub fn output() -> Vec<u8> {
    with(|h| h.output.clone())
}

/// Every message logged so far, formatted as `[LEVEL] message`.
///
/// ```
/// spirit_sdk::log::warn("low on fuel");
/// assert_eq!(spirit_sdk::mock::logs(), ["[WARN] low on fuel"]);
/// ```
pub fn logs() -> Vec<String> {
    with(|h| {
        h.logs
            .iter()
            .map(|(level, m)| std::format!("[{}] {m}", level.as_str()))
            .collect()
    })
}

/// Every message logged so far, with its level.
///
/// ```
/// use spirit_sdk::log::LogLevel;
/// spirit_sdk::log::error("oops");
/// assert_eq!(spirit_sdk::mock::log_records(), [(LogLevel::Error, "oops".to_string())]);
/// ```
pub fn log_records() -> Vec<(LogLevel, String)> {
    with(|h| h.logs.clone())
}

/// The value stored under `key`, if any.
///
/// ```
/// spirit_sdk::storage::set("k", "v")?;
/// assert_eq!(spirit_sdk::mock::stored("k"), Some(b"v".to_vec()));
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
pub fn stored(key: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    with(|h| h.storage.get(key.as_ref()).cloned())
}

/// Every key and value in storage, in key order.
///
/// ```
/// spirit_sdk::storage::set("b", "2")?;
/// spirit_sdk::storage::set("a", "1")?;
/// let keys: Vec<_> = spirit_sdk::mock::storage().into_keys().collect();
/// assert_eq!(keys, [b"a".to_vec(), b"b".to_vec()]);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
pub fn storage() -> BTreeMap<Vec<u8>, Vec<u8>> {
    with(|h| h.storage.clone())
}

/// Puts a value in storage before the spirit runs, as an earlier run would
/// have.
///
/// ```
/// spirit_sdk::mock::store("count", 41u64.to_le_bytes());
/// let mut buf = [0u8; 8];
/// assert_eq!(spirit_sdk::storage::get_into("count", &mut buf)?, Some(8));
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
pub fn store(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
    let (key, value) = (key.as_ref().to_vec(), value.as_ref().to_vec());
    with(|h| h.storage.insert(key, value));
}

/// Sets an account's balance, as the ledger holds it before the run.
///
/// ```
/// use spirit_sdk::credit::{self, Account};
/// spirit_sdk::mock::set_balance(Account([1; 32]), 500);
/// assert_eq!(credit::balance(&Account([1; 32])), Ok(500));
/// ```
pub fn set_balance(account: crate::credit::Account, credits: u64) {
    with(|h| h.credits.balances.insert(account.0, credits));
}

/// An account's balance now.
///
/// ```
/// assert_eq!(spirit_sdk::mock::balance(spirit_sdk::credit::Account([9; 32])), 0);
/// ```
pub fn balance(account: crate::credit::Account) -> u64 {
    with(|h| h.credits.balances.get(&account.0).copied().unwrap_or(0))
}

/// Makes `payer` the run's payer, whose account the spirit may debit by at
/// most `spend_limit` credits (as `cargo spirit run --payer KEY
/// --spend-limit N` does). Without a payer every debit fails.
///
/// ```
/// use spirit_sdk::credit::{self, Account};
/// let (payer, shop) = (Account([1; 32]), Account([2; 32]));
/// spirit_sdk::mock::set_balance(payer, 100);
/// spirit_sdk::mock::set_payer(payer, 30);
/// credit::transfer(&payer, &shop, 30)?;
/// assert!(credit::transfer(&payer, &shop, 1).is_err()); // past the limit
/// assert!(credit::transfer(&shop, &payer, 1).is_err()); // not the payer
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
pub fn set_payer(payer: crate::credit::Account, spend_limit: u64) {
    with(|h| {
        h.credits.payer = Some(payer.0);
        h.credits.limit = spend_limit;
        h.credits.committed = 0;
    });
}

/// Makes `author` the account consumed reservations pay (the spirit's
/// author); without one they are burned.
///
/// ```
/// use spirit_sdk::credit::{self, Account};
/// let (payer, author) = (Account([1; 32]), Account([2; 32]));
/// spirit_sdk::mock::set_balance(payer, 100);
/// spirit_sdk::mock::set_payer(payer, 100);
/// spirit_sdk::mock::set_author(author);
/// credit::reserve(&payer, 40)?.consume()?;
/// assert_eq!(spirit_sdk::mock::balance(author), 40);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
pub fn set_author(author: crate::credit::Account) {
    with(|h| h.credits.author = Some(author.0));
}

/// Withholds `capability`: calls that need it fail as they do when the
/// host refuses them.
///
/// ```
/// use spirit_sdk::{HostError, abi::Capability};
/// spirit_sdk::mock::deny(Capability::SensorTime);
/// assert_eq!(spirit_sdk::time::now(), Err(HostError::Time));
/// ```
pub fn deny(capability: Capability) {
    with(|h| h.denied.insert(capability));
}

/// Puts a spirit named `name` in the mock's séance, with an empty queue
/// (nothing changes if it is there).
///
/// ```
/// spirit_sdk::mock::summon("pong");
/// assert_eq!(spirit_sdk::message::send("pong", b"hi"), Ok(true));
/// ```
pub fn summon(name: &str) {
    with(|h| {
        h.mailboxes.entry(name.to_string()).or_default();
    });
}

/// Runs the following SDK calls as the spirit `name` (summoning it if
/// needed): its queue is the one [`message::recv`](crate::message::recv_into)
/// reads, its name the sender of what it sends.
pub fn act_as(name: &str) {
    summon(name);
    with(|h| h.spirit = name.to_string());
}

/// Queues `payload` for `to` from the host (sender `@host`), as a séance's
/// embedder does; `false` when `to` is not summoned.
///
/// ```
/// assert!(spirit_sdk::mock::inject(spirit_sdk::mock::DEFAULT_SPIRIT, b"tick"));
/// assert_eq!(spirit_sdk::message::pending(), 1);
/// ```
pub fn inject(to: &str, payload: &[u8]) -> bool {
    with(|h| match h.mailboxes.get_mut(to) {
        Some(queue) => {
            queue.push_back(("@host".to_string(), payload.to_vec()));
            true
        }
        None => false,
    })
}

/// Whether [`deny`] left `capability` granted.
fn granted(capability: Capability) -> bool {
    with(|h| !h.denied.contains(&capability))
}

/// Registers a fake dependency: [`spirits::call`](crate::spirits::call)
/// of `name` runs `spirit` with the export called (`""` for the entry) and
/// the input, and gets its output, or fails with its message as the
/// sandbox's `host_spirit_error` would give it. A name not registered is
/// not a declared dependency.
///
/// ```
/// use spirit_sdk::{mock, spirits::{self, SpiritCallError}};
///
/// mock::register_spirit("upper", |_export, input| Ok(input.to_ascii_uppercase()));
/// mock::register_spirit("broken", |_, _| Err("`broken@1.0.0` failed: trap: unreachable".into()));
/// let mut out = [0u8; 16];
/// assert_eq!(spirits::call("upper", b"hi", &mut out), Ok(2));
/// assert_eq!(&out[..2], b"HI");
/// assert_eq!(spirits::call("broken", b"", &mut out), Err(SpiritCallError::Failed));
/// let mut why = [0u8; 64];
/// let n = spirits::last_error(&mut why);
/// assert!(why[..n].starts_with(b"`broken@1.0.0` failed"));
/// assert_eq!(spirits::call("other", b"", &mut out), Err(SpiritCallError::NotADependency));
/// ```
pub fn register_spirit(
    name: &str,
    spirit: impl Fn(&str, &[u8]) -> Result<Vec<u8>, String> + 'static,
) {
    with(|h| {
        h.spirits
            .insert(name.to_string(), FakeSpirit(std::rc::Rc::new(spirit)))
    });
}

/// The message the spirit aborted with (a returned error or a panic), if it
/// did. In tests an abort is a panic with the message `spirit aborted: …`,
/// so use `#[should_panic]` or `std::panic::catch_unwind` to test one.
///
/// ```
/// use spirit_sdk::entry::Status;
/// let run = std::panic::catch_unwind(|| Err::<(), &str>("bad input").into_status());
/// assert!(run.is_err());
/// assert_eq!(spirit_sdk::mock::aborted().as_deref(), Some("bad input"));
/// ```
pub fn aborted() -> Option<String> {
    with(|h| h.aborted.clone())
}

/// The host functions, with the ABI's raw conventions: what `sys` calls on
/// non-wasm targets.
pub(crate) mod host {
    use super::*;

    pub(crate) use super::net::host::*;

    fn granted(h: &MockHost, capability: Capability) -> bool {
        !h.denied.contains(&capability)
    }

    /// Nanoseconds, as the sandbox's `host_time_now` returns them.
    pub(crate) fn time_now() -> i64 {
        with(|h| {
            if granted(h, Capability::SensorTime) {
                let nanos = h.time.saturating_mul(crate::time::NANOS_PER_MILLI);
                i64::try_from(nanos).unwrap_or(i64::MAX)
            } else {
                i64::from(abi::ERROR)
            }
        })
    }

    pub(crate) fn random_bytes(buf: &mut [u8]) -> i32 {
        with(|h| {
            if !granted(h, Capability::SensorRandom) {
                return abi::ERROR;
            }
            for chunk in buf.chunks_mut(8) {
                let bytes = splitmix64(&mut h.random).to_le_bytes();
                chunk.copy_from_slice(&bytes[..chunk.len()]);
            }
            abi::SUCCESS
        })
    }

    /// SplitMix64: small, fast, and good enough to stand in for the host's
    /// generator in tests (not for secrets).
    fn splitmix64(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn log(level: i32, message: &str) -> i32 {
        with(|h| match LogLevel::from_i32(level) {
            Some(level) if granted(h, Capability::ActuatorLog) => {
                h.logs.push((level, message.to_string()));
                abi::SUCCESS
            }
            _ => abi::ERROR,
        })
    }

    pub(crate) fn storage_read(key: &[u8], buf: &mut [u8]) -> i32 {
        with(|h| {
            if !granted(h, Capability::StorageRead) {
                return abi::ERROR;
            }
            match h.storage.get(key) {
                None => 0,
                Some(value) if value.len() > buf.len() => abi::ERROR,
                Some(value) => {
                    buf[..value.len()].copy_from_slice(value);
                    i32::try_from(value.len()).unwrap_or(abi::ERROR)
                }
            }
        })
    }

    pub(crate) fn storage_write(key: &[u8], value: &[u8]) -> i32 {
        with(|h| {
            if !granted(h, Capability::StorageWrite) {
                return abi::ERROR;
            }
            h.storage.insert(key.to_vec(), value.to_vec());
            abi::SUCCESS
        })
    }

    pub(crate) fn storage_delete(key: &[u8]) -> i32 {
        with(|h| {
            if !granted(h, Capability::StorageDelete) {
                return abi::ERROR;
            }
            i32::from(h.storage.remove(key).is_some())
        })
    }

    /// The sandbox's semantics: a missing key or an empty value is 0, any
    /// other value must be 8 bytes; an overflow is refused.
    pub(crate) fn storage_increment(key: &[u8], delta: i64, out: &mut [u8; 8]) -> i32 {
        with(|h| {
            if !granted(h, Capability::StorageWrite) {
                return abi::ERROR;
            }
            let value = match h.storage.get(key).map(Vec::as_slice) {
                None | Some([]) => 0,
                Some(bytes) => match <[u8; 8]>::try_from(bytes) {
                    Ok(bytes) => i64::from_le_bytes(bytes),
                    Err(_) => return abi::ERROR,
                },
            };
            let Some(sum) = value.checked_add(delta) else {
                return abi::ERROR;
            };
            *out = sum.to_le_bytes();
            h.storage.insert(key.to_vec(), out.to_vec());
            abi::SUCCESS
        })
    }

    pub(crate) fn storage_compare_and_swap(key: &[u8], old: &[u8], new: &[u8]) -> i32 {
        with(|h| {
            if !granted(h, Capability::StorageWrite) {
                return abi::ERROR;
            }
            if h.storage.get(key).map_or(&[][..], Vec::as_slice) != old {
                return 0;
            }
            h.storage.insert(key.to_vec(), new.to_vec());
            1
        })
    }

    const CREDIT_ERROR: i64 = abi::ERROR as i64;

    fn credit_granted(h: &MockHost) -> bool {
        granted(h, Capability::ActuatorCredit)
    }

    /// What may be debited from `account`: the payer's, within the limit.
    fn may_debit(h: &MockHost, account: &[u8; 32], amount: u64) -> bool {
        let c = &h.credits;
        c.payer.as_ref() == Some(account) && c.committed.saturating_add(amount) <= c.limit
    }

    fn available(h: &MockHost, account: &[u8; 32]) -> u64 {
        let held: u64 = h
            .credits
            .reservations
            .values()
            .filter(|(a, _)| a == account)
            .map(|(_, n)| n)
            .sum();
        let balance = h.credits.balances.get(account).copied().unwrap_or(0);
        balance.saturating_sub(held)
    }

    pub(crate) fn credit_balance(account: &[u8; 32]) -> i64 {
        with(|h| {
            if !credit_granted(h) {
                return CREDIT_ERROR;
            }
            let balance = h.credits.balances.get(account).copied().unwrap_or(0);
            i64::try_from(balance).unwrap_or(i64::MAX)
        })
    }

    pub(crate) fn credit_available(account: &[u8; 32]) -> i64 {
        with(|h| {
            if !credit_granted(h) {
                return CREDIT_ERROR;
            }
            i64::try_from(available(h, account)).unwrap_or(i64::MAX)
        })
    }

    pub(crate) fn credit_transfer(from: &[u8; 32], to: &[u8; 32], amount: i64) -> i32 {
        with(|h| {
            let Ok(amount) = u64::try_from(amount) else {
                return abi::ERROR;
            };
            if !credit_granted(h)
                || amount == 0
                || amount > 1_000_000_000_000
                || from == to
                || !may_debit(h, from, amount)
                || available(h, from) < amount
            {
                return abi::ERROR;
            }
            let c = &mut h.credits;
            *c.balances.entry(*from).or_default() -= amount;
            *c.balances.entry(*to).or_default() += amount;
            c.committed += amount;
            abi::SUCCESS
        })
    }

    pub(crate) fn credit_reserve(account: &[u8; 32], amount: i64) -> i64 {
        with(|h| {
            let Ok(amount) = u64::try_from(amount) else {
                return CREDIT_ERROR;
            };
            if !credit_granted(h)
                || amount == 0
                || amount > 100_000_000_000
                || !may_debit(h, account, amount)
                || available(h, account) < amount
            {
                return CREDIT_ERROR;
            }
            let c = &mut h.credits;
            c.next_id += 1;
            c.reservations.insert(c.next_id, (*account, amount));
            c.committed += amount;
            c.next_id
        })
    }

    pub(crate) fn credit_release(id: i64) -> i32 {
        with(|h| {
            if !credit_granted(h) {
                return abi::ERROR;
            }
            let c = &mut h.credits;
            match c.reservations.remove(&id) {
                Some((_, amount)) => {
                    c.committed -= amount;
                    abi::SUCCESS
                }
                None => abi::ERROR,
            }
        })
    }

    pub(crate) fn credit_consume(id: i64) -> i32 {
        with(|h| {
            if !credit_granted(h) {
                return abi::ERROR;
            }
            let c = &mut h.credits;
            match c.reservations.remove(&id) {
                Some((account, amount)) => {
                    *c.balances.entry(account).or_default() -= amount;
                    if let Some(author) = c.author {
                        *c.balances.entry(author).or_default() += amount;
                    }
                    abi::SUCCESS
                }
                None => abi::ERROR,
            }
        })
    }

    fn queue(h: &mut MockHost, to: &str, payload: &[u8]) -> Option<bool> {
        let from = h.spirit.clone();
        let Some(queue) = h.mailboxes.get_mut(to) else {
            return Some(false);
        };
        if queue.len() >= MAX_QUEUED {
            return None;
        }
        queue.push_back((from, payload.to_vec()));
        Some(true)
    }

    pub(crate) fn message_send(to: &[u8], payload: &[u8]) -> i32 {
        with(|h| {
            if !granted(h, Capability::NetworkBroadcast) || payload.len() > MAX_PAYLOAD {
                return abi::ERROR;
            }
            let Ok(to) = core::str::from_utf8(to) else {
                return 0;
            };
            match queue(h, to, payload) {
                Some(delivered) => i32::from(delivered),
                None => abi::ERROR,
            }
        })
    }

    pub(crate) fn message_broadcast(payload: &[u8]) -> i32 {
        with(|h| {
            if !granted(h, Capability::NetworkBroadcast) || payload.len() > MAX_PAYLOAD {
                return abi::ERROR;
            }
            let others: Vec<String> = h
                .mailboxes
                .keys()
                .filter(|n| **n != h.spirit)
                .cloned()
                .collect();
            let delivered = others
                .iter()
                .filter(|to| queue(h, to, payload) == Some(true))
                .count();
            i32::try_from(delivered).unwrap_or(i32::MAX)
        })
    }

    pub(crate) fn message_pending() -> i32 {
        with(|h| {
            let n = h.mailboxes.get(&h.spirit).map_or(0, VecDeque::len);
            i32::try_from(n).unwrap_or(i32::MAX)
        })
    }

    pub(crate) fn message_recv(f: &mut dyn FnMut(&[u8], &[u8])) -> i32 {
        let message = with(|h| {
            let spirit = h.spirit.clone();
            h.mailboxes.get_mut(&spirit).and_then(VecDeque::pop_front)
        });
        match message {
            Some((from, payload)) => {
                f(from.as_bytes(), &payload);
                1
            }
            None => 0,
        }
    }

    pub(crate) fn input_len() -> i32 {
        with(|h| i32::try_from(h.input.len()).unwrap_or(abi::ERROR))
    }

    pub(crate) fn input_read(buf: &mut [u8], offset: i32) -> i32 {
        with(|h| {
            let Ok(offset) = usize::try_from(offset) else {
                return abi::ERROR;
            };
            let available = h.input.get(offset..).unwrap_or_default();
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            i32::try_from(n).unwrap_or(abi::ERROR)
        })
    }

    pub(crate) fn output_write(bytes: &[u8]) -> i32 {
        with(|h| h.output.extend_from_slice(bytes));
        abi::SUCCESS
    }

    // The primitives are pure: the very functions the sandbox runs once it
    // has checked the guest's ranges and charged fuel.

    #[cfg(feature = "mock-hash")]
    pub(crate) fn hash_commit(data: &[u8], out: &mut [u8; 32]) -> i32 {
        spirit_primitives::abi::hash_commit(data, out)
    }

    #[cfg(feature = "mock-hash")]
    pub(crate) fn hash_verify(data: &[u8], expected: &[u8; 32]) -> i32 {
        spirit_primitives::abi::hash_verify(data, expected)
    }

    #[cfg(not(feature = "mock-hash"))]
    pub(crate) fn hash_commit(_: &[u8], _: &mut [u8; 32]) -> i32 {
        std::panic!("{NO_MOCK_HASH}")
    }

    #[cfg(not(feature = "mock-hash"))]
    pub(crate) fn hash_verify(_: &[u8], _: &[u8; 32]) -> i32 {
        std::panic!("{NO_MOCK_HASH}")
    }

    /// Why a native test cannot hash without `mock-hash`, and the fix.
    #[cfg(not(feature = "mock-hash"))]
    const NO_MOCK_HASH: &str = "the mock host hashes only with spirit-sdk's `mock-hash` feature \
        (it runs the host's own BLAKE3): add `features = [\"mock-hash\"]` to the spirit-sdk \
        dependency; the spirit's wasm does not change";

    pub(crate) fn json_path(doc: &[u8], path: &[u8], out: &mut [u8], mode: i32) -> i32 {
        spirit_primitives::abi::json_path(doc, path, out, mode)
    }

    pub(crate) fn base64_encode(input: &[u8], out: &mut [u8], flags: i32) -> i32 {
        spirit_primitives::abi::base64_encode(input, out, flags)
    }

    pub(crate) fn base64_decode(text: &[u8], out: &mut [u8], flags: i32) -> i32 {
        spirit_primitives::abi::base64_decode(text, out, flags)
    }

    pub(crate) fn spirit_call(name: &[u8], export: &[u8], input: &[u8], out: &mut [u8]) -> i32 {
        let fake = with(|h| {
            h.last_output.clear();
            h.last_error.clear();
            if !granted(h, Capability::CrossSandboxCall) {
                return Err(abi::ERROR);
            }
            let name = String::from_utf8_lossy(name);
            match h.spirits.get(name.as_ref()) {
                Some(fake) => Ok(fake.clone()),
                None => {
                    h.last_error = std::format!("`{name}` is not a dependency of this spirit");
                    Err(abi::NOT_FOUND)
                }
            }
        });
        let fake = match fake {
            Ok(fake) => fake,
            Err(code) => return code,
        };
        // Outside the borrow: a fake may use the SDK itself.
        let result = (fake.0)(&String::from_utf8_lossy(export), input);
        with(|h| match result {
            Ok(output) => {
                if output.len() <= out.len() {
                    out[..output.len()].copy_from_slice(&output);
                }
                let len = i32::try_from(output.len()).unwrap_or(abi::ERROR);
                h.last_output = output;
                len
            }
            Err(why) => {
                h.last_error = why;
                abi::SPIRIT_FAILED
            }
        })
    }

    pub(crate) fn spirit_output(out: &mut [u8]) -> i32 {
        with(|h| copy_out(&h.last_output, out))
    }

    pub(crate) fn spirit_error(out: &mut [u8]) -> i32 {
        with(|h| copy_out(h.last_error.as_bytes(), out))
    }

    fn copy_out(bytes: &[u8], out: &mut [u8]) -> i32 {
        if bytes.len() <= out.len() {
            out[..bytes.len()].copy_from_slice(bytes);
        }
        i32::try_from(bytes.len()).unwrap_or(abi::ERROR)
    }

    pub(crate) fn record_abort(message: &[u8]) {
        let message = String::from_utf8_lossy(message).into_owned();
        with(|h| h.aborted = Some(message));
    }

    pub(crate) fn abort(message: &[u8]) -> ! {
        record_abort(message);
        std::panic!("spirit aborted: {}", String::from_utf8_lossy(message))
    }
}
