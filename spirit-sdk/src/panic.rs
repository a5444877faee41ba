//! Panics end the run with their message and location, so `cargo spirit run`
//! prints `panicked at src/lib.rs:12:5: …` instead of a bare `unreachable`
//! trap.
//!
//! - A `no_std` spirit gets the SDK's `#[panic_handler]`, which sends
//!   `panicked at FILE:LINE:COLUMN: MESSAGE` through `host_abort` (every
//!   spirit may call it; no capability is needed).
//! - A spirit that links `std` (itself or through a dependency) must not get
//!   a second panic handler: enable the SDK's `std` feature. The handler is
//!   then left out and the entry point installs `install_hook` instead,
//!   which reports the same message the same way.
//!
//! The message of `panic!("literal")` costs nothing to report. A formatted
//! message (`panic!("{x}")`, or core's own, such as an index out of bounds)
//! needs `core::fmt`, about 2.5 KiB of code; the `panic-message` feature
//! (on by default) pays for it. Without it a spirit still reports the
//! location and every literal message.
//!
//! ```toml
//! # A spirit that uses std:
//! spirit-sdk = { version = "0.1", features = ["std"] }
//! # The smallest spirit, with literal panic messages only:
//! spirit-sdk = { version = "0.1", default-features = false, features = ["macros"] }
//! ```

use crate::entry::MessageBuf;

/// Writes `panicked at FILE:LINE:COLUMN: MESSAGE` into `out`.
#[cfg_attr(not(any(feature = "std", target_arch = "wasm32")), allow(dead_code))]
fn describe(
    out: &mut MessageBuf,
    location: Option<&core::panic::Location<'_>>,
    message: Option<&str>,
    formatted: impl FnOnce(&mut MessageBuf),
) {
    use core::fmt::Write;

    let _ = out.write_str("panicked");
    if let Some(at) = location {
        let _ = out.write_str(" at ");
        let _ = out.write_str(at.file());
        let _ = out.write_str(":");
        let _ = out.write_str(crate::number::Decimal::from(at.line()).as_str());
        let _ = out.write_str(":");
        let _ = out.write_str(crate::number::Decimal::from(at.column()).as_str());
    }
    let _ = out.write_str(": ");
    match message {
        Some(message) => {
            let _ = out.write_str(message);
        }
        None => formatted(out),
    }
}

#[cfg(all(target_arch = "wasm32", not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut out = MessageBuf::new();
    let message = info.message();
    describe(&mut out, info.location(), message.as_str(), |_out| {
        #[cfg(feature = "panic-message")]
        {
            use core::fmt::Write;
            let _ = write!(_out, "{message}");
        }
        #[cfg(not(feature = "panic-message"))]
        {
            use core::fmt::Write;
            let _ = _out.write_str(
                "(a formatted message; enable spirit-sdk's `panic-message` feature to see it)",
            );
        }
    });
    crate::sys::abort(out.as_bytes())
}

/// Installs a panic hook that ends the run with the panic's message and
/// location, as the `no_std` panic handler does. Only with the `std` feature;
/// the entry point calls it on wasm32, so a spirit never needs to.
///
/// On other targets the hook records the message in the [mock host](crate::mock)
/// (see [`mock::aborted`](crate::mock::aborted)) and lets the panic go on.
///
/// ```
/// spirit_sdk::panic::install_hook();
/// let result = std::panic::catch_unwind(|| panic!("boom"));
/// assert!(result.is_err());
/// let _ = std::panic::take_hook();
/// assert!(spirit_sdk::mock::aborted().unwrap().ends_with(": boom"));
/// ```
#[cfg(feature = "std")]
pub fn install_hook() {
    std::panic::set_hook(std::boxed::Box::new(|info| {
        let mut out = MessageBuf::new();
        let payload = info.payload();
        let message = payload.downcast_ref::<&str>().copied().or_else(|| {
            payload
                .downcast_ref::<std::string::String>()
                .map(|s| s.as_str())
        });
        describe(&mut out, info.location(), message, |out| {
            use core::fmt::Write;
            let _ = out.write_str("Box<dyn Any>");
        });
        #[cfg(target_arch = "wasm32")]
        crate::sys::abort(out.as_bytes());
        #[cfg(not(target_arch = "wasm32"))]
        crate::mock::host::record_abort(out.as_bytes());
    }));
}
