//! Log messages through the host (capability `actuator_log`).
//!
//! The host prints each message on its standard error as
//! `[INFO hello] message`. Logging never fails from the spirit's point of
//! view: a message the host refuses (over the volume cap, say) is dropped,
//! and the host says so once.
//!
//! ```
//! spirit_sdk::log::info("counter reset");
//! spirit_sdk::log::warn("storage nearly full");
//! # assert_eq!(spirit_sdk::mock::logs(), ["[INFO] counter reset", "[WARN] storage nearly full"]);
//! ```
//!
//! With the `alloc` feature, `info!` and its siblings take
//! `format!` arguments:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! let count = 3;
//! spirit_sdk::info!("count is {count}");
//! # assert_eq!(spirit_sdk::mock::logs(), ["[INFO] count is 3"]);
//! # }
//! ```

pub use crate::abi::LogLevel;

/// Logs `message` at `level`. Needs `actuator_log`.
///
/// ```
/// use spirit_sdk::log::{self, LogLevel};
/// log::log(LogLevel::Debug, "details");
/// # assert_eq!(spirit_sdk::mock::logs(), ["[DEBUG] details"]);
/// ```
pub fn log(level: LogLevel, message: &str) {
    let _ = crate::sys::log(level as i32, message);
}

/// Logs at trace level. Needs `actuator_log`.
///
/// ```
/// spirit_sdk::log::trace("entering the loop");
/// ```
pub fn trace(message: &str) {
    log(LogLevel::Trace, message);
}

/// Logs at debug level. Needs `actuator_log`.
///
/// ```
/// spirit_sdk::log::debug("cache miss");
/// ```
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Logs at info level. Needs `actuator_log`.
///
/// ```
/// spirit_sdk::log::info("started");
/// ```
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// Logs at warn level. Needs `actuator_log`.
///
/// ```
/// spirit_sdk::log::warn("input is empty; nothing to do");
/// ```
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// Logs at error level. Needs `actuator_log`.
///
/// ```
/// spirit_sdk::log::error("could not parse the input");
/// ```
pub fn error(message: &str) {
    log(LogLevel::Error, message);
}

/// Logs a formatted message at trace level.
///
/// ```
/// let x = 1;
/// spirit_sdk::trace!("x = {x}");
/// ```
///
/// Needs `actuator_log` and the `alloc` feature (the message is formatted
/// into a `String`).
#[cfg(feature = "alloc")]
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        $crate::log::trace(&$crate::__private::format!($($arg)*))
    };
}

/// Logs a formatted message at debug level.
///
/// ```
/// let n = 12;
/// spirit_sdk::debug!("got {} bytes", n);
/// ```
///
/// Needs `actuator_log` and the `alloc` feature (the message is formatted
/// into a `String`).
#[cfg(feature = "alloc")]
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::log::debug(&$crate::__private::format!($($arg)*))
    };
}

/// Logs a formatted message at info level.
///
/// ```
/// let count = 3;
/// spirit_sdk::info!("count is {count}");
/// # assert_eq!(spirit_sdk::mock::logs(), ["[INFO] count is 3"]);
/// ```
///
/// Needs `actuator_log` and the `alloc` feature (the message is formatted
/// into a `String`).
#[cfg(feature = "alloc")]
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::log::info(&$crate::__private::format!($($arg)*))
    };
}

/// Logs a formatted message at warn level.
///
/// ```
/// let n = 2;
/// spirit_sdk::warn!("{n} retries left");
/// ```
///
/// Needs `actuator_log` and the `alloc` feature (the message is formatted
/// into a `String`).
#[cfg(feature = "alloc")]
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::log::warn(&$crate::__private::format!($($arg)*))
    };
}

/// Logs a formatted message at error level.
///
/// ```
/// let e = spirit_sdk::HostError::Output;
/// spirit_sdk::error!("giving up: {e}");
/// ```
///
/// Needs `actuator_log` and the `alloc` feature (the message is formatted
/// into a `String`).
#[cfg(feature = "alloc")]
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::log::error(&$crate::__private::format!($($arg)*))
    };
}
