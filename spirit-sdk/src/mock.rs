//! The in-memory host that the SDK talks to on non-wasm targets, so a
//! spirit's logic can be unit-tested with plain `cargo test`.
//!
//! Each test thread has its own host; inspect it with the functions here.
//!
//! ```
//! spirit_sdk::log::info("hello");
//! assert_eq!(spirit_sdk::mock::logs(), ["[INFO] hello"]);
//! ```

use std::cell::RefCell;
use std::string::{String, ToString};
use std::vec::Vec;

use crate::abi::LogLevel;

std::thread_local! {
    static HOST: RefCell<MockHost> = RefCell::new(MockHost::default());
}

#[derive(Default)]
struct MockHost {
    logs: Vec<(LogLevel, String)>,
}

/// Every message logged on this thread, formatted as `[LEVEL] message`.
pub fn logs() -> Vec<String> {
    HOST.with(|h| {
        h.borrow()
            .logs
            .iter()
            .map(|(level, m)| std::format!("[{}] {m}", level.as_str()))
            .collect()
    })
}

/// Forgets everything this thread's mock host recorded.
pub fn reset() {
    HOST.with(|h| *h.borrow_mut() = MockHost::default());
}

pub(crate) mod host {
    use super::*;

    pub(crate) fn log(level: i32, message: &str) -> i32 {
        match LogLevel::from_i32(level) {
            Some(level) => {
                HOST.with(|h| h.borrow_mut().logs.push((level, message.to_string())));
                crate::abi::SUCCESS
            }
            None => crate::abi::ERROR,
        }
    }

    pub(crate) fn abort(message: &str) -> ! {
        std::panic!("spirit aborted: {message}")
    }
}
