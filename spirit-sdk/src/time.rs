//! The wall clock (capability `sensor_time`).
//!
//! ```
//! # spirit_sdk::mock::set_time(1_700_000_000_000);
//! let now = spirit_sdk::time::now()?;
//! assert!(now > 0);
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```

use crate::HostError;

/// Milliseconds since the Unix epoch, as the host's clock reads (or the
/// seeded clock when the host runs deterministically). Needs `sensor_time`.
///
/// The host returns nanoseconds, as the VUDO VM does; this is that reading
/// divided by [`NANOS_PER_MILLI`], rounded down.
///
/// ```
/// spirit_sdk::mock::set_time(1_700_000_000_123);
/// assert_eq!(spirit_sdk::time::now(), Ok(1_700_000_000_123));
/// ```
///
/// # Errors
///
/// [`HostError::Time`] when the host refuses the call.
pub fn now() -> Result<u64, HostError> {
    let nanos = u64::try_from(crate::sys::time_now()).map_err(|_| HostError::Time)?;
    Ok(nanos / NANOS_PER_MILLI)
}

/// Nanoseconds in a millisecond: `host_time_now` returns nanoseconds,
/// [`now`] milliseconds.
pub const NANOS_PER_MILLI: u64 = 1_000_000;
