//! Log messages through the host (capability `actuator_log`).
//!
//! The host prints each message on its standard error as
//! `[INFO hello] message`. Logging never fails from the spirit's point of
//! view: a message the host refuses (too long, over the volume cap) is
//! dropped by the host, which says so once.
//!
//! ```no_run
//! spirit_sdk::log::info("counter reset");
//! spirit_sdk::log::warn("storage nearly full");
//! ```

use crate::abi::LogLevel;

/// Logs `message` at `level`. Needs `actuator_log`.
pub fn log(level: LogLevel, message: &str) {
    let _ = crate::sys::log(level as i32, message);
}

/// Logs at trace level. Needs `actuator_log`.
pub fn trace(message: &str) {
    log(LogLevel::Trace, message);
}

/// Logs at debug level. Needs `actuator_log`.
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Logs at info level. Needs `actuator_log`.
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// Logs at warn level. Needs `actuator_log`.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// Logs at error level. Needs `actuator_log`.
pub fn error(message: &str) {
    log(LogLevel::Error, message);
}
