//! Two spirits' message exchange, run natively on the mock host: the same
//! calls a séance serves in the sandbox.
#![allow(clippy::unwrap_used)]

use spirit_sdk::abi::Capability;
use spirit_sdk::{HostError, message, mock};

/// Ping's side: sends one ping, counts the pongs it received.
fn ping_turn() -> Result<usize, HostError> {
    let mut pongs = 0;
    while let Some(m) = message::recv()? {
        assert_eq!((m.from.as_str(), &m.payload[..]), ("pong", &b"pong"[..]));
        pongs += 1;
    }
    message::send("pong", b"ping")?;
    Ok(pongs)
}

/// Pong's side: answers every ping to its sender.
fn pong_turn() -> Result<usize, HostError> {
    let mut answered = 0;
    let mut buf = [0u8; 32];
    while let Some(got) = message::recv_into(&mut buf)? {
        let from = std::str::from_utf8(got.from(&buf)).unwrap().to_owned();
        assert_eq!(got.payload(&buf), b"ping");
        assert!(message::send(&from, b"pong")?);
        answered += 1;
    }
    Ok(answered)
}

#[test]
fn ping_and_pong_exchange_messages_natively() {
    mock::act_as("ping");
    mock::summon("pong");
    assert_eq!(ping_turn(), Ok(0));
    mock::act_as("pong");
    assert_eq!(message::pending(), 1);
    assert_eq!(pong_turn(), Ok(1));
    mock::act_as("ping");
    assert_eq!(ping_turn(), Ok(1));
    mock::act_as("pong");
    assert_eq!(pong_turn(), Ok(1));
    assert!(mock::inject("pong", b"tick"));
    let m = message::recv().unwrap().unwrap();
    assert_eq!(m.from, "@host");
}

#[test]
fn a_small_buffer_truncates_and_sending_needs_the_capability() {
    mock::act_as("a");
    mock::summon("b");
    message::send("b", b"a long payload").unwrap();
    mock::act_as("b");
    let mut buf = [0u8; 4];
    let got = message::recv_into(&mut buf).unwrap().unwrap();
    assert_eq!(
        (got.from(&buf), got.payload(&buf)),
        (&b"a"[..], &b"a l"[..])
    );
    assert!(got.truncated());
    assert_eq!(
        message::send("a", &vec![0; message::MAX_PAYLOAD + 1]),
        Err(HostError::Message)
    );
    mock::deny(Capability::NetworkBroadcast);
    assert_eq!(message::send("a", b"x"), Err(HostError::Message));
    assert_eq!(
        HostError::Message.capability(),
        Some(Capability::NetworkBroadcast)
    );
    // The queue is capped as in the sandbox.
    mock::reset();
    mock::summon("c");
    for _ in 0..256 {
        assert_eq!(message::send("c", b"x"), Ok(true));
    }
    assert_eq!(message::send("c", b"x"), Err(HostError::Message));
}
