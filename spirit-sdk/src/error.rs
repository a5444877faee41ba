//! [`HostError`]: why a host call failed.
//!
//! The host ABI answers a failed call with `-1` and no further detail (the
//! VUDO VM's convention), so each variant names the call that failed, the
//! capability it needs, and the causes that are possible for it.

use core::fmt;

use crate::abi::Capability;

/// A host call that did not succeed.
///
/// Every fallible function of the SDK returns `Result<_, HostError>`. An
/// entry point may return it directly: `Err(e)` ends the run with
/// [`as_str`](HostError::as_str)'s message.
///
/// ```
/// use spirit_sdk::{HostError, abi::Capability, mock, storage};
///
/// mock::deny(Capability::StorageWrite);
/// let error = storage::set("key", "value").unwrap_err();
/// assert_eq!(error, HostError::StorageWrite);
/// assert_eq!(error.capability(), Some(Capability::StorageWrite));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostError {
    /// `host_time_now` failed: `sensor_time` is not granted.
    Time,
    /// `host_random_bytes` failed: `sensor_random` is not granted or the
    /// host's generator failed.
    Random,
    /// `host_storage_read` failed: `storage_read` is not granted, or the
    /// key is invalid or storage could not be read.
    StorageRead,
    /// The stored value is larger than the buffer given to
    /// [`storage::get_into`](crate::storage::get_into). (The host reports
    /// this like a read failure; the SDK tells them apart by retrying with a
    /// larger buffer only in `storage::get`.)
    ValueTooLarge {
        /// The size of the buffer that was too small.
        capacity: usize,
    },
    /// `host_storage_write` (or an atomic `host_storage_increment` or
    /// `host_storage_compare_and_swap`) failed: `storage_write` is not
    /// granted, the key or value is over the host's quota, a counter is not
    /// 8 bytes or would overflow, or storage could not be written.
    StorageWrite,
    /// `host_storage_delete` failed: `storage_delete` is not granted, or
    /// storage could not be written.
    StorageDelete,
    /// `host_input_read` failed (a buffer the host could not write to).
    Input,
    /// `host_output_write` failed: the run's output limit was reached or the
    /// host could not write it.
    Output,
    /// A `host_credit_*` call failed: `actuator_credit` is not granted, the
    /// account debited is not the run's payer, the amount is out of range,
    /// not available or past the run's spend limit, or the reservation is
    /// not one of this run's.
    Credit,
}

impl HostError {
    /// What went wrong and what to check, as one static line; formatting it
    /// costs no `core::fmt` code.
    ///
    /// ```
    /// use spirit_sdk::HostError;
    /// assert!(HostError::Time.as_str().contains("sensor_time"));
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            HostError::Time => "reading the clock failed: is `sensor_time` declared?",
            HostError::Random => "reading random bytes failed: is `sensor_random` declared?",
            HostError::StorageRead => {
                "reading storage failed: is `storage_read` declared, and the key valid?"
            }
            HostError::ValueTooLarge { .. } => {
                "the stored value does not fit in the buffer (or storage could not be read)"
            }
            HostError::StorageWrite => {
                "writing storage failed: is `storage_write` declared, and the key and value within the host's quota?"
            }
            HostError::StorageDelete => {
                "deleting from storage failed: is `storage_delete` declared?"
            }
            HostError::Input => "reading the input failed",
            HostError::Output => "writing the output failed: was the output limit reached?",
            HostError::Credit => {
                "a credit call failed: is `actuator_credit` declared, the account the run's payer, and the amount available and within the run's spend limit?"
            }
        }
    }

    /// The capability the failed call needs, if it needs one.
    ///
    /// ```
    /// use spirit_sdk::{HostError, abi::Capability};
    /// assert_eq!(HostError::StorageDelete.capability(), Some(Capability::StorageDelete));
    /// assert_eq!(HostError::Output.capability(), None);
    /// ```
    pub const fn capability(&self) -> Option<Capability> {
        match self {
            HostError::Time => Some(Capability::SensorTime),
            HostError::Random => Some(Capability::SensorRandom),
            HostError::StorageRead | HostError::ValueTooLarge { .. } => {
                Some(Capability::StorageRead)
            }
            HostError::StorageWrite => Some(Capability::StorageWrite),
            HostError::StorageDelete => Some(Capability::StorageDelete),
            HostError::Credit => Some(Capability::ActuatorCredit),
            HostError::Input | HostError::Output => None,
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for HostError {}
