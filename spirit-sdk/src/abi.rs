//! The host ABI: every function a spirit may import, defined once.
//!
//! The list below is the single source of truth. The SDK's private import
//! block (`raw`), the build-time validator, the sandbox's linker and
//! `docs/HOST_ABI.md` are all generated from it or tested against it, so a
//! name, a signature or a capability cannot drift between guest and host.
//!
//! Every function lives in the import module [`MODULE`] (`vudo`), with the
//! names, signatures and return conventions of the VUDO VM: `0` is success
//! and `-1` is an error, unless a function documents otherwise. Pointers and
//! lengths are offsets into the guest's exported `memory`; the host checks
//! every one of them and returns `-1` for any range outside that memory.
//!
//! # Primitives
//!
//! `host_hash_*`, `host_json_path` and `host_base64_*` are pure: they need
//! no capability, touch nothing but the spirit's memory, and give the same
//! result for the same bytes. Each reads at most [`MAX_PRIMITIVE_INPUT`]
//! bytes. A function writing into a buffer returns the length of its
//! result and writes it only when it fits, so a result larger than the
//! capacity is "buffer too small" with the size needed. The other errors
//! have their own codes: [`NOT_FOUND`], [`INVALID_INPUT`], [`INVALID_PATH`],
//! [`TOO_LARGE`], [`NOT_A_STRING`].
//!
//! # Fuel
//!
//! A primitive costs 100 units of fuel plus one per byte it reads and
//! writes, charged before it reads (for the input) and after it writes (for
//! the output); a spirit without that much fuel left stops with "out of
//! fuel". The same work compiled into a spirit costs several instructions,
//! each a unit, per byte.
//!
//! ```
//! use spirit_sdk::abi::{self, Capability};
//!
//! let log = abi::host_function("host_log").unwrap();
//! assert_eq!(log.capability, Some(Capability::ActuatorLog));
//! assert_eq!(log.signature(), "(i32, i32, i32) -> i32");
//! ```

use core::fmt;

/// The import module every host function lives in.
pub const MODULE: &str = "vudo";

/// The export that holds the guest's linear memory.
pub const MEMORY_EXPORT: &str = "memory";

/// The entry point called when no other is named.
pub const DEFAULT_ENTRY: &str = "run";

/// Returned by a host function that succeeded.
pub const SUCCESS: i32 = 0;

/// Returned by a host function that failed.
pub const ERROR: i32 = -1;

/// Calls `$callback!` with the whole host ABI, one entry per function:
/// `/// docs  name(params) -> result, capability;`.
///
/// Each entry's capability is either a [`Capability`] variant or `None` for a
/// function every spirit may call (its own input, output and abort).
macro_rules! host_abi {
    ($callback:ident) => {
        $callback! {
            /// Wall-clock time in milliseconds since the Unix epoch (or the
            /// seeded clock in deterministic mode).
            host_time_now() -> i64, Some(SensorTime);
            /// Fills `len` bytes at `ptr` with random bytes. `0` / `-1`.
            host_random_bytes(ptr: i32, len: i32) -> i32, Some(SensorRandom);
            /// Logs the UTF-8 message at `ptr..ptr+len` at `level` (0 trace,
            /// 1 debug, 2 info, 3 warn, 4 error). `0` / `-1`.
            host_log(level: i32, ptr: i32, len: i32) -> i32, Some(ActuatorLog);
            /// Copies the value stored under the key into `val_ptr` (at most
            /// `val_cap` bytes). Returns the value's length, `0` when the key
            /// is missing, `-1` when the buffer is too small or on error.
            host_storage_read(key_ptr: i32, key_len: i32, val_ptr: i32, val_cap: i32) -> i32, Some(StorageRead);
            /// Stores the value under the key, replacing any previous value.
            /// `0` / `-1` (bad range, quota exceeded, storage failure).
            host_storage_write(key_ptr: i32, key_len: i32, val_ptr: i32, val_len: i32) -> i32, Some(StorageWrite);
            /// Deletes the key. `1` deleted, `0` missing, `-1` error.
            host_storage_delete(key_ptr: i32, key_len: i32) -> i32, Some(StorageDelete);
            /// The length in bytes of the run's input.
            host_input_len() -> i32, None;
            /// Copies up to `len` bytes of the input, starting at byte
            /// `offset`, to `ptr`. Returns the number of bytes copied (`0` at
            /// the end of the input), `-1` on a bad range.
            host_input_read(ptr: i32, len: i32, offset: i32) -> i32, None;
            /// Appends the bytes at `ptr..ptr+len` to the run's output
            /// (standard output for `cargo spirit run`). `0` / `-1`.
            host_output_write(ptr: i32, len: i32) -> i32, None;
            /// Ends the run with the UTF-8 message at `ptr..ptr+len` (a panic
            /// message, for example). Never returns.
            host_abort(ptr: i32, len: i32), None;
            /// Writes the BLAKE3 hash of `ptr..ptr+len` to the 32 bytes at
            /// `out_ptr`. `0`; `-5` when the data is over 16 MiB.
            host_hash_commit(ptr: i32, len: i32, out_ptr: i32) -> i32, None;
            /// Compares the BLAKE3 hash of `ptr..ptr+len` with the 32 bytes
            /// at `hash_ptr`, in constant time. `1` equal, `0` different;
            /// `-5` when the data is over 16 MiB.
            host_hash_verify(ptr: i32, len: i32, hash_ptr: i32) -> i32, None;
            /// Selects the value at the JSON path `path_ptr..+path_len` in
            /// the JSON document `doc_ptr..+doc_len` and writes its JSON text
            /// (`mode` 0) or a string's unquoted contents (`mode` 1) to
            /// `out_ptr`. Returns the value's length, written only when it is
            /// at most `out_cap` (so a larger result is the size needed);
            /// `-2` not found, `-3` invalid JSON, `-4` invalid path, `-5`
            /// over a limit, `-6` not a string (mode 1).
            host_json_path(doc_ptr: i32, doc_len: i32, path_ptr: i32, path_len: i32, out_ptr: i32, out_cap: i32, mode: i32) -> i32, None;
            /// Writes the base64 text (standard alphabet; `flags` 0 padded,
            /// 1 unpadded) of `ptr..ptr+len` to `out_ptr`. Returns its
            /// length, written only when it is at most `out_cap`; `-5` when
            /// the input is over 16 MiB.
            host_base64_encode(ptr: i32, len: i32, out_ptr: i32, out_cap: i32, flags: i32) -> i32, None;
            /// Writes the bytes of the base64 text at `ptr..ptr+len` (`flags`
            /// 0: padding required, 1: no padding) to `out_ptr`. Returns
            /// their length, written only when it is at most `out_cap`; `-3`
            /// not base64, `-5` when the text is over 16 MiB.
            host_base64_decode(ptr: i32, len: i32, out_ptr: i32, out_cap: i32, flags: i32) -> i32, None;
        }
    };
}
// Used by `sys` to declare the imports on wasm32.
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_imports))]
pub(crate) use host_abi;

/// A WebAssembly value type used by the host ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// A 32-bit integer (also every pointer and length).
    I32,
    /// A 64-bit integer.
    I64,
}

impl ValType {
    /// The type's name in the WebAssembly text format: `i32` or `i64`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One host function: its name, signature, capability and documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostFunction {
    /// The import name within [`MODULE`].
    pub name: &'static str,
    /// Parameter types, in order.
    pub params: &'static [ValType],
    /// Result types (none or one).
    pub results: &'static [ValType],
    /// The capability a spirit must be granted to import it, or `None` when
    /// every spirit may.
    pub capability: Option<Capability>,
    /// Parameter names, for messages and documentation.
    pub param_names: &'static [&'static str],
    /// What the function does and returns.
    pub doc: &'static str,
}

impl HostFunction {
    /// The signature as written in messages and docs: `(i32, i32) -> i32`.
    ///
    /// ```
    /// let f = spirit_sdk::abi::host_function("host_time_now").unwrap();
    /// assert_eq!(f.signature(), "() -> i64");
    /// ```
    pub fn signature(&self) -> SignatureDisplay {
        SignatureDisplay {
            params: self.params,
            results: self.results,
        }
    }
}

/// Displays a function type as `(i32, i32) -> i32`; see [`HostFunction::signature`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureDisplay {
    /// Parameter types.
    pub params: &'static [ValType],
    /// Result types.
    pub results: &'static [ValType],
}

impl fmt::Display for SignatureDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_types(f, self.params)?;
        if !self.results.is_empty() {
            f.write_str(" -> ")?;
            if self.results.len() == 1 {
                write!(f, "{}", self.results[0])?;
            } else {
                write_types(f, self.results)?;
            }
        }
        Ok(())
    }
}

impl PartialEq<&str> for SignatureDisplay {
    fn eq(&self, other: &&str) -> bool {
        let mut buf = FmtBuf::default();
        fmt::write(&mut buf, format_args!("{self}")).is_ok() && buf.as_str() == *other
    }
}

fn write_types(f: &mut fmt::Formatter<'_>, types: &[ValType]) -> fmt::Result {
    f.write_str("(")?;
    for (i, t) in types.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{t}")?;
    }
    f.write_str(")")
}

/// A fixed buffer for comparing short formatted strings without `alloc`.
struct FmtBuf {
    bytes: [u8; 96],
    len: usize,
}

impl Default for FmtBuf {
    fn default() -> FmtBuf {
        FmtBuf {
            bytes: [0; 96],
            len: 0,
        }
    }
}

impl FmtBuf {
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for FmtBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

macro_rules! valtype {
    (i32) => {
        ValType::I32
    };
    (i64) => {
        ValType::I64
    };
}

macro_rules! table {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident($($param:ident: $pty:ident),*) $(-> $rty:ident)?, $cap:ident$(($capv:ident))?;
    )*) => {
        /// Every host function, in the order of `docs/HOST_ABI.md`.
        pub const HOST_FUNCTIONS: &[HostFunction] = &[$(
            HostFunction {
                name: stringify!($name),
                params: &[$(valtype!($pty)),*],
                results: &[$(valtype!($rty))?],
                capability: $cap$((Capability::$capv))?,
                param_names: &[$(stringify!($param)),*],
                doc: concat!($($doc, "\n"),*),
            },
        )*];
    };
}
host_abi!(table);

/// The host function called `name`, if there is one.
///
/// ```
/// assert!(spirit_sdk::abi::host_function("host_log").is_some());
/// assert!(spirit_sdk::abi::host_function("fd_write").is_none());
/// ```
pub fn host_function(name: &str) -> Option<&'static HostFunction> {
    HOST_FUNCTIONS.iter().find(|f| f.name == name)
}

macro_rules! capabilities {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// A permission a spirit declares in `[package.metadata.spirit]` and
        /// the host grants (or not) at run time. The names are the VUDO VM's.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Capability {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Capability {
            /// Every capability, in declaration order.
            pub const ALL: &'static [Capability] = &[$(Capability::$variant),*];

            /// The capability's manifest name, such as `"actuator_log"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Capability::$variant => $name,)*
                }
            }

            /// The capability called `name` in a manifest, if there is one.
            ///
            /// ```
            /// use spirit_sdk::abi::Capability;
            /// assert_eq!(Capability::from_name("sensor_time"), Some(Capability::SensorTime));
            /// assert_eq!(Capability::from_name("SensorTime"), None);
            /// ```
            pub fn from_name(name: &str) -> Option<Capability> {
                match name {
                    $($name => Some(Capability::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

capabilities! {
    /// Read the wall clock (`host_time_now`).
    SensorTime = "sensor_time",
    /// Read random bytes (`host_random_bytes`).
    SensorRandom = "sensor_random",
    /// Read the host's environment (reserved: no host function yet).
    SensorEnvironment = "sensor_environment",
    /// Write log messages (`host_log`).
    ActuatorLog = "actuator_log",
    /// Send notifications (reserved: no host function yet).
    ActuatorNotify = "actuator_notify",
    /// Spend and move credits (reserved: no host function yet).
    ActuatorCredit = "actuator_credit",
    /// Read the spirit's persistent storage (`host_storage_read`).
    StorageRead = "storage_read",
    /// Write the spirit's persistent storage (`host_storage_write`).
    StorageWrite = "storage_write",
    /// Delete keys from the spirit's persistent storage (`host_storage_delete`).
    StorageDelete = "storage_delete",
    /// Open outgoing connections (reserved: no host function yet).
    NetworkConnect = "network_connect",
    /// Accept incoming connections (reserved: no host function yet).
    NetworkListen = "network_listen",
    /// Broadcast to peers (reserved: no host function yet).
    NetworkBroadcast = "network_broadcast",
    /// Start other sandboxes (reserved: no host function yet).
    SpawnSandbox = "spawn_sandbox",
    /// Call into other sandboxes (reserved: no host function yet).
    CrossSandboxCall = "cross_sandbox_call",
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A log level as passed to `host_log`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum LogLevel {
    /// Level 0.
    Trace = 0,
    /// Level 1.
    Debug = 1,
    /// Level 2.
    Info = 2,
    /// Level 3.
    Warn = 3,
    /// Level 4.
    Error = 4,
}

impl LogLevel {
    /// The level for a raw `host_log` argument, if it is one (0..=4).
    pub const fn from_i32(level: i32) -> Option<LogLevel> {
        Some(match level {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            _ => return None,
        })
    }

    /// The upper-case name printed by the host: `INFO`, `WARN`, ….
    pub const fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        }
    }
}

/// The largest input a primitive (`host_hash_*`, `host_json_path`,
/// `host_base64_*`) reads: 16 MiB. Larger ones return [`TOO_LARGE`].
pub const MAX_PRIMITIVE_INPUT: usize = 16 << 20;

/// `host_json_path`: the path selects nothing.
pub const NOT_FOUND: i32 = -2;

/// `host_json_path`: the document is not JSON; `host_base64_decode`: the
/// text is not base64.
pub const INVALID_INPUT: i32 = -3;

/// `host_json_path`: the path is not in the supported subset.
pub const INVALID_PATH: i32 = -4;

/// A primitive's input is over a limit: [`MAX_PRIMITIVE_INPUT`], or for
/// `host_json_path`, 128 levels of nesting, a path over 4096 bytes or 128
/// steps.
pub const TOO_LARGE: i32 = -5;

/// `host_json_path` in mode 1: the value is not a string.
pub const NOT_A_STRING: i32 = -6;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_in_the_vudo_namespace() {
        for (i, f) in HOST_FUNCTIONS.iter().enumerate() {
            assert!(f.name.starts_with("host_"), "{}", f.name);
            assert_eq!(f.params.len(), f.param_names.len(), "{}", f.name);
            assert!(
                HOST_FUNCTIONS[i + 1..].iter().all(|g| g.name != f.name),
                "{} is defined twice",
                f.name
            );
        }
    }

    #[test]
    fn capability_names_round_trip() {
        for &c in Capability::ALL {
            assert_eq!(Capability::from_name(c.as_str()), Some(c));
        }
    }

    #[test]
    fn signatures_match_the_vudo_vm() {
        let sig = |name| host_function(name).unwrap().signature();
        assert_eq!(sig("host_time_now"), "() -> i64");
        assert_eq!(sig("host_log"), "(i32, i32, i32) -> i32");
        assert_eq!(sig("host_storage_read"), "(i32, i32, i32, i32) -> i32");
        assert_eq!(sig("host_abort"), "(i32, i32)");
        assert_eq!(
            sig("host_json_path"),
            "(i32, i32, i32, i32, i32, i32, i32) -> i32"
        );
    }

    /// The primitives' codes are the host's: `spirit-primitives` computes
    /// them for the sandbox and the mock host alike.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn primitive_codes_are_the_hosts() {
        use spirit_primitives::code;
        assert_eq!(ERROR, code::BAD_ARGUMENT);
        assert_eq!(NOT_FOUND, code::NOT_FOUND);
        assert_eq!(INVALID_INPUT, code::INVALID_INPUT);
        assert_eq!(INVALID_PATH, code::INVALID_PATH);
        assert_eq!(TOO_LARGE, code::TOO_LARGE);
        assert_eq!(NOT_A_STRING, code::NOT_A_STRING);
        assert_eq!(MAX_PRIMITIVE_INPUT, spirit_primitives::MAX_INPUT);
    }
}
