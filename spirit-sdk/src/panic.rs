//! The panic handler for `no_std` spirits: the message and location reach
//! the host through `host_abort`, so `cargo spirit run` prints
//! `panicked at src/lib.rs:12:5: …` instead of a bare `unreachable` trap.

use core::fmt::Write;

use crate::entry::MessageBuf;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut message = MessageBuf::new();
    let _ = match info.location() {
        Some(at) => write!(
            message,
            "panicked at {}:{}:{}: {}",
            at.file(),
            at.line(),
            at.column(),
            info.message()
        ),
        None => write!(message, "panicked: {}", info.message()),
    };
    crate::sys::abort(message.as_str())
}
