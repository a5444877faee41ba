//! Every SDK function against the mock host: the success path and, where a
//! call can fail, the error path (a capability the mock withholds).
//!
//! Each test runs on its own thread, so each starts with a fresh mock host.
#![allow(clippy::unwrap_used)]

use spirit_sdk::abi::Capability;
use spirit_sdk::entry::Status;
use spirit_sdk::log::LogLevel;
use spirit_sdk::number::Decimal;
use spirit_sdk::{HostError, input, log, mock, output, random, storage, time};

#[test]
fn log_records_every_level_in_order() {
    log::trace("t");
    log::debug("d");
    log::info("i");
    log::warn("w");
    log::error("e");
    log::log(LogLevel::Info, "direct");
    assert_eq!(
        mock::logs(),
        [
            "[TRACE] t",
            "[DEBUG] d",
            "[INFO] i",
            "[WARN] w",
            "[ERROR] e",
            "[INFO] direct"
        ]
    );
    assert_eq!(mock::log_records()[4], (LogLevel::Error, "e".to_owned()));
}

#[test]
fn a_refused_log_message_is_dropped_silently() {
    mock::deny(Capability::ActuatorLog);
    log::info("not recorded");
    assert!(mock::logs().is_empty());
}

#[test]
fn formatting_macros_log_at_their_level() {
    let n = 3;
    spirit_sdk::trace!("t{n}");
    spirit_sdk::debug!("d{}", n);
    spirit_sdk::info!("i{n}");
    spirit_sdk::warn!("w{n}");
    spirit_sdk::error!("e{n}");
    assert_eq!(
        mock::logs(),
        [
            "[TRACE] t3",
            "[DEBUG] d3",
            "[INFO] i3",
            "[WARN] w3",
            "[ERROR] e3"
        ]
    );
}

#[test]
fn time_reads_the_settable_clock() {
    assert_eq!(time::now(), Ok(mock::DEFAULT_TIME));
    mock::set_time(5);
    assert_eq!(time::now(), Ok(5));
    mock::advance_time(10);
    assert_eq!(time::now(), Ok(15));
    mock::deny(Capability::SensorTime);
    assert_eq!(time::now(), Err(HostError::Time));
}

#[test]
fn random_is_seeded_and_fills_any_length() {
    mock::seed_random(1);
    let mut a = [0u8; 13];
    random::fill(&mut a).unwrap();
    mock::seed_random(1);
    let mut b = [0u8; 13];
    random::fill(&mut b).unwrap();
    assert_eq!(a, b, "same seed, same bytes");
    assert_ne!(a, [0; 13]);
    mock::seed_random(2);
    random::fill(&mut b).unwrap();
    assert_ne!(a, b, "another seed, other bytes");
    assert_ne!(random::u64().unwrap(), random::u64().unwrap());
    random::fill(&mut []).unwrap();
}

#[test]
fn random_fails_without_its_capability() {
    mock::deny(Capability::SensorRandom);
    assert_eq!(random::fill(&mut [0; 4]), Err(HostError::Random));
    assert_eq!(random::u64(), Err(HostError::Random));
    // Nothing to fill: no host call, no error.
    assert_eq!(random::fill(&mut []), Ok(()));
}

#[test]
fn storage_round_trips_through_a_callers_buffer() {
    let mut buf = [0u8; 5];
    assert_eq!(storage::get_into("k", &mut buf), Ok(None));
    storage::set("k", b"value").unwrap();
    assert_eq!(storage::get_into("k", &mut buf), Ok(Some(5)), "exact fit");
    assert_eq!(&buf, b"value");
    assert_eq!(
        storage::get_into("k", &mut [0u8; 4]),
        Err(HostError::ValueTooLarge { capacity: 4 })
    );
    storage::set(b"k", "new").unwrap();
    assert_eq!(storage::get_into("k", &mut buf), Ok(Some(3)));
    assert_eq!(mock::stored("k"), Some(b"new".to_vec()));
    assert!(storage::delete("k").unwrap());
    assert!(!storage::delete("k").unwrap());
    assert!(mock::storage().is_empty());
}

#[test]
fn an_empty_value_reads_as_missing() {
    storage::set("empty", "").unwrap();
    assert_eq!(storage::get_into("empty", &mut [0u8; 4]), Ok(None));
}

#[test]
fn storage_get_grows_its_buffer_to_the_value() {
    assert_eq!(storage::get("missing"), Ok(None));
    let big: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    mock::store("big", &big);
    assert_eq!(storage::get("big").unwrap(), Some(big));
    mock::store("small", "s");
    assert_eq!(storage::get("small").unwrap(), Some(b"s".to_vec()));
}

#[test]
fn storage_calls_fail_without_their_capability() {
    mock::store("k", "v");
    mock::deny(Capability::StorageRead);
    mock::deny(Capability::StorageWrite);
    mock::deny(Capability::StorageDelete);
    assert_eq!(storage::get("k"), Err(HostError::StorageRead));
    assert_eq!(storage::get_into("k", &mut []), Err(HostError::StorageRead));
    assert_eq!(storage::set("k", "w"), Err(HostError::StorageWrite));
    assert_eq!(storage::delete("k"), Err(HostError::StorageDelete));
    assert_eq!(mock::stored("k"), Some(b"v".to_vec()), "unchanged");
}

#[test]
fn input_reads_from_any_offset() {
    assert!(input::is_empty());
    mock::set_input(b"abcdef");
    assert_eq!(input::len(), 6);
    let mut buf = [0u8; 4];
    assert_eq!(input::read(0, &mut buf), Ok(4));
    assert_eq!(&buf, b"abcd");
    assert_eq!(input::read(4, &mut buf), Ok(2));
    assert_eq!(&buf[..2], b"ef");
    assert_eq!(input::read(6, &mut buf), Ok(0));
    assert_eq!(input::read(usize::MAX, &mut buf), Ok(0));
    assert_eq!(input::read_all().unwrap(), b"abcdef");
}

#[test]
fn output_collects_bytes_text_and_formatting() {
    use core::fmt::Write;
    output::write(b"a").unwrap();
    output::write_str("b").unwrap();
    write!(output::Writer, "{}", 3).unwrap();
    output::write(Decimal::from(-42).as_bytes()).unwrap();
    assert_eq!(mock::output(), b"ab3-42");
}

#[test]
fn entry_statuses() {
    assert_eq!(().into_status(), 0);
    assert_eq!(9.into_status(), 9);
    assert_eq!(Ok::<i32, HostError>(2).into_status(), 2);
    let run = std::panic::catch_unwind(|| Err::<(), _>(HostError::StorageWrite).into_status());
    assert!(run.is_err());
    assert_eq!(
        mock::aborted().as_deref(),
        Some(HostError::StorageWrite.as_str())
    );
}

#[test]
fn every_error_names_its_capability() {
    let cases = [
        (HostError::Time, Some(Capability::SensorTime)),
        (HostError::Random, Some(Capability::SensorRandom)),
        (HostError::StorageRead, Some(Capability::StorageRead)),
        (
            HostError::ValueTooLarge { capacity: 1 },
            Some(Capability::StorageRead),
        ),
        (HostError::StorageWrite, Some(Capability::StorageWrite)),
        (HostError::StorageDelete, Some(Capability::StorageDelete)),
        (HostError::Input, None),
        (HostError::Output, None),
    ];
    for (error, capability) in cases {
        assert_eq!(error.capability(), capability);
        assert_eq!(error.to_string(), error.as_str());
        if let Some(c) = capability
            && !matches!(error, HostError::ValueTooLarge { .. })
        {
            assert!(error.as_str().contains(c.as_str()), "{error}");
        }
    }
}

#[test]
fn reset_forgets_everything() {
    mock::set_input("x");
    mock::store("k", "v");
    mock::deny(Capability::SensorTime);
    output::write("o").unwrap();
    mock::reset();
    assert!(input::is_empty());
    assert!(mock::storage().is_empty());
    assert!(mock::output().is_empty());
    assert!(time::now().is_ok());
}

#[test]
fn primitives_need_no_capability() {
    for &capability in Capability::ALL {
        mock::deny(capability);
    }
    let digest = spirit_sdk::hash::commit(b"data").unwrap();
    assert!(spirit_sdk::hash::verify(b"data", &digest).unwrap());
    let mut buf = [0u8; 16];
    assert_eq!(
        spirit_sdk::json::get(b"[1]", "$[0]", &mut buf).unwrap(),
        b"1"
    );
    let padding = spirit_sdk::base64::Padding::Padded;
    assert_eq!(
        spirit_sdk::base64::encode(b"data", padding, &mut buf).unwrap(),
        b"ZGF0YQ=="
    );
}

#[test]
fn base64_round_trips_through_the_sdk() {
    use spirit_sdk::base64::{self, Base64Error, Padding, encoded_len};
    let data: Vec<u8> = (0..=255).collect();
    for len in [0, 1, 2, 3, 4, 5, 254, 255, 256] {
        for padding in [Padding::Padded, Padding::Unpadded] {
            let mut text = vec![0u8; encoded_len(len, padding)];
            let text = base64::encode(&data[..len], padding, &mut text).unwrap();
            let mut back = vec![0u8; len];
            assert_eq!(
                base64::decode(text, padding, &mut back).unwrap(),
                &data[..len]
            );
            if len > 0 {
                let mut short = vec![0u8; text.len() - 1];
                assert_eq!(
                    base64::encode(&data[..len], padding, &mut short),
                    Err(Base64Error::BufferTooSmall { needed: text.len() })
                );
            }
        }
    }
    let mut buf = [0u8; 8];
    assert_eq!(
        base64::decode(b"not base64!", Padding::Padded, &mut buf),
        Err(Base64Error::Invalid)
    );
}

#[test]
fn the_sdk_and_the_primitives_agree_on_encoded_lengths() {
    use spirit_primitives::base64 as host;
    use spirit_sdk::base64::{Padding, encoded_len};
    for len in 0..100 {
        assert_eq!(
            encoded_len(len, Padding::Padded),
            host::encoded_len(len, host::Padding::Padded)
        );
        assert_eq!(
            encoded_len(len, Padding::Unpadded),
            host::encoded_len(len, host::Padding::Unpadded)
        );
    }
}
