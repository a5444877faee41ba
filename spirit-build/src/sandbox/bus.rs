//! The message bus of a séance: one mailbox per summoned spirit, the effect
//! channels spirits subscribe to, and the events the host reads (messages,
//! broadcasts, effects), every one of them capped so that a flooding spirit
//! cannot exhaust the host.
//!
//! The host functions (`vudo_send`, `vudo_recv`, `vudo_broadcast`,
//! `vudo_emit_effect`, `vudo_subscribe`, …) reach it through the run's
//! state; an embedder through [`Seance`](crate::seance::Seance). A one-shot
//! run has a bus of its own with only itself on it, so `vudo_send` finds no
//! one (`0`) and `vudo_recv` nothing (`0`).
//!
//! ```
//! use spirit_build::sandbox::Bus;
//!
//! let bus = Bus::new();
//! bus.join("ping")?;
//! bus.join("pong")?;
//! assert_eq!(bus.send("ping", "pong", b"hello"), Ok(true));
//! assert_eq!(bus.send("ping", "nobody", b"hello"), Ok(false));
//! assert_eq!(bus.pending("pong"), 1);
//! assert_eq!(bus.broadcast("pong", b"hi all"), Ok(1));
//! # Ok::<(), spirit_build::sandbox::BusError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The largest payload of one message or effect: 64 KiB.
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;
/// The most messages one spirit's queue holds; sending to a full queue
/// fails (`-1`) until the spirit receives.
pub const MAX_QUEUED_MESSAGES: usize = 256;
/// The most payload bytes one spirit's queue holds: 1 MiB.
pub const MAX_QUEUED_BYTES: usize = 1 << 20;
/// The most effect channels one spirit subscribes to.
pub const MAX_SUBSCRIPTIONS: usize = 64;
/// The longest channel name, in bytes.
pub const MAX_CHANNEL_NAME: usize = 64;
/// The most events the bus keeps for the host between two reads; older
/// ones are dropped (and counted) past it.
pub const MAX_EVENTS: usize = 4096;
/// The sender of messages the host injects ([`Bus::send`] from an
/// embedder): not a possible spirit name.
pub const HOST_SENDER: &str = "@host";

/// One message in a spirit's queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Who sent it: a spirit's name, [`HOST_SENDER`], or
    /// `effect:<id>:<spirit>` for an effect delivered to a subscriber.
    pub from: String,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Message {
    /// The record `vudo_recv` writes into the spirit's memory:
    /// `[sender_len: u32 LE][sender][payload_len: u32 LE][payload]`.
    ///
    /// ```
    /// use spirit_build::sandbox::Message;
    /// let m = Message { from: "a".into(), payload: b"hi".to_vec() };
    /// assert_eq!(m.record(), [1, 0, 0, 0, b'a', 2, 0, 0, 0, b'h', b'i']);
    /// ```
    pub fn record(&self) -> Vec<u8> {
        let mut record = Vec::with_capacity(8 + self.from.len() + self.payload.len());
        // Both lengths are bounded (names by the bus, payloads by
        // MAX_MESSAGE_BYTES), far below u32::MAX.
        record.extend_from_slice(&(self.from.len() as u32).to_le_bytes());
        record.extend_from_slice(self.from.as_bytes());
        record.extend_from_slice(&(self.payload.len() as u32).to_le_bytes());
        record.extend_from_slice(&self.payload);
        record
    }
}

/// An effect a spirit emitted with `vudo_emit_effect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    /// The spirit that emitted it.
    pub spirit: String,
    /// Its id (the seed's standard ids: 0 no-op, 1 terminate, 2 spawn, 10
    /// file read, …; any `i32` is accepted).
    pub id: i32,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// Something that passed over the bus, for the host to read
/// ([`Bus::take_events`]; `cargo spirit seance -v` prints them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusEvent {
    /// A message was queued for `to`.
    Message {
        /// The sender.
        from: String,
        /// The receiver.
        to: String,
        /// The payload's length.
        len: usize,
    },
    /// A broadcast reached `delivered` spirits.
    Broadcast {
        /// The sender.
        from: String,
        /// How many received it.
        delivered: usize,
        /// The payload's length.
        len: usize,
    },
    /// An effect was emitted.
    Effect(Effect),
    /// Events were dropped because the host did not read them in time.
    Dropped(usize),
}

impl fmt::Display for BusEvent {
    /// One line, as `-v` prints it (names and payloads escaped by the
    /// printer, not here).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusEvent::Message { from, to, len } => {
                write!(f, "message {from} -> {to} ({len} bytes)")
            }
            BusEvent::Broadcast {
                from,
                delivered,
                len,
            } => write!(
                f,
                "broadcast from {from} to {delivered} spirit{} ({len} bytes)",
                if *delivered == 1 { "" } else { "s" }
            ),
            BusEvent::Effect(e) => write!(
                f,
                "effect {} from {}: {}",
                e.id,
                e.spirit,
                String::from_utf8_lossy(&e.payload)
            ),
            BusEvent::Dropped(n) => write!(f, "{n} events dropped (not read in time)"),
        }
    }
}

/// Why the bus refused something.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The payload is larger than [`MAX_MESSAGE_BYTES`].
    #[error("the payload of {0} bytes is larger than the limit of {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    /// The receiver's queue is at [`MAX_QUEUED_MESSAGES`] or
    /// [`MAX_QUEUED_BYTES`].
    #[error(
        "the queue of `{0}` is full ({MAX_QUEUED_MESSAGES} messages or {MAX_QUEUED_BYTES} bytes); it must receive first"
    )]
    QueueFull(String),
    /// A spirit of this name is already on the bus.
    #[error("a spirit named `{0}` is already in the séance")]
    Taken(String),
    /// The channel name is empty, too long, or not UTF-8.
    #[error("the channel name must be 1 to {MAX_CHANNEL_NAME} bytes of UTF-8")]
    BadChannel,
    /// The spirit subscribes to [`MAX_SUBSCRIPTIONS`] channels already.
    #[error("a spirit may subscribe to at most {MAX_SUBSCRIPTIONS} channels")]
    TooManySubscriptions,
    /// The spirit is not on the bus (it was released).
    #[error("`{0}` is not in the séance")]
    Absent(String),
}

#[derive(Debug, Default)]
struct Mailbox {
    queue: VecDeque<Message>,
    queued_bytes: usize,
    channels: BTreeSet<String>,
}

impl Mailbox {
    fn push(&mut self, to: &str, message: Message) -> Result<(), BusError> {
        if self.queue.len() >= MAX_QUEUED_MESSAGES
            || self.queued_bytes + message.payload.len() > MAX_QUEUED_BYTES
        {
            return Err(BusError::QueueFull(to.to_owned()));
        }
        self.queued_bytes += message.payload.len();
        self.queue.push_back(message);
        Ok(())
    }
}

#[derive(Default)]
struct BusState {
    mailboxes: BTreeMap<String, Mailbox>,
    events: VecDeque<BusEvent>,
    dropped: usize,
}

impl BusState {
    fn record(&mut self, event: BusEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(event);
    }
}

/// A handler the host gives for effects, called as each is emitted.
pub type EffectHandler = Box<dyn FnMut(&Effect) + Send>;

/// The message bus of a séance; shared (`Arc`) by its spirits' stores.
#[derive(Default)]
pub struct Bus {
    state: Mutex<BusState>,
    handler: Mutex<Option<EffectHandler>>,
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Bus")
            .field("spirits", &state.mailboxes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// An empty bus.
    pub fn new() -> Bus {
        Bus::default()
    }

    // A panic while the lock was held cannot leave the maps half-changed
    // (every change is one insert or removal), so a poisoned lock is used.
    fn lock(&self) -> MutexGuard<'_, BusState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Calls `handler` for every effect emitted from now on (replacing any
    /// earlier handler), besides recording it as an event.
    pub fn on_effect(&self, handler: EffectHandler) {
        *self.handler.lock().unwrap_or_else(PoisonError::into_inner) = Some(handler);
    }

    /// Gives `name` a mailbox.
    ///
    /// # Errors
    ///
    /// [`BusError::Taken`] when the name has one.
    pub fn join(&self, name: &str) -> Result<(), BusError> {
        let mut state = self.lock();
        if state.mailboxes.contains_key(name) {
            return Err(BusError::Taken(name.to_owned()));
        }
        state.mailboxes.insert(name.to_owned(), Mailbox::default());
        Ok(())
    }

    /// Removes `name`'s mailbox and what was queued in it.
    pub fn leave(&self, name: &str) {
        self.lock().mailboxes.remove(name);
    }

    /// The names on the bus, sorted.
    pub fn spirits(&self) -> Vec<String> {
        self.lock().mailboxes.keys().cloned().collect()
    }

    /// Queues `payload` for `to`: `Ok(true)` delivered, `Ok(false)` there
    /// is no such spirit.
    ///
    /// # Errors
    ///
    /// The payload is too large or `to`'s queue is full.
    pub fn send(&self, from: &str, to: &str, payload: &[u8]) -> Result<bool, BusError> {
        if payload.len() > MAX_MESSAGE_BYTES {
            return Err(BusError::TooLarge(payload.len()));
        }
        let mut state = self.lock();
        let Some(mailbox) = state.mailboxes.get_mut(to) else {
            return Ok(false);
        };
        mailbox.push(
            to,
            Message {
                from: from.to_owned(),
                payload: payload.to_vec(),
            },
        )?;
        state.record(BusEvent::Message {
            from: from.to_owned(),
            to: to.to_owned(),
            len: payload.len(),
        });
        Ok(true)
    }

    /// Queues `payload` for every spirit but `from`; returns how many got
    /// it (a full queue is skipped).
    ///
    /// # Errors
    ///
    /// The payload is too large.
    pub fn broadcast(&self, from: &str, payload: &[u8]) -> Result<usize, BusError> {
        if payload.len() > MAX_MESSAGE_BYTES {
            return Err(BusError::TooLarge(payload.len()));
        }
        let mut state = self.lock();
        let mut delivered = 0;
        for (name, mailbox) in state.mailboxes.iter_mut().filter(|(n, _)| *n != from) {
            let message = Message {
                from: from.to_owned(),
                payload: payload.to_vec(),
            };
            if mailbox.push(name, message).is_ok() {
                delivered += 1;
            }
        }
        state.record(BusEvent::Broadcast {
            from: from.to_owned(),
            delivered,
            len: payload.len(),
        });
        Ok(delivered)
    }

    /// Takes the oldest message queued for `name`.
    pub fn recv(&self, name: &str) -> Option<Message> {
        let mut state = self.lock();
        let mailbox = state.mailboxes.get_mut(name)?;
        let message = mailbox.queue.pop_front()?;
        mailbox.queued_bytes -= message.payload.len();
        Some(message)
    }

    /// Puts a message taken by [`Bus::recv`] back at the front of `name`'s
    /// queue (it could not be handed over); caps do not apply, since it
    /// was counted before.
    pub(crate) fn unreceive(&self, name: &str, message: Message) {
        if let Some(mailbox) = self.lock().mailboxes.get_mut(name) {
            mailbox.queued_bytes += message.payload.len();
            mailbox.queue.push_front(message);
        }
    }

    /// How many messages are queued for `name`.
    pub fn pending(&self, name: &str) -> usize {
        self.lock().mailboxes.get(name).map_or(0, |m| m.queue.len())
    }

    /// Subscribes `name` to the effect channel `channel` (an effect id in
    /// decimal, or `*`).
    ///
    /// # Errors
    ///
    /// A bad channel name, too many subscriptions, or `name` not on the bus.
    pub fn subscribe(&self, name: &str, channel: &str) -> Result<(), BusError> {
        if channel.is_empty() || channel.len() > MAX_CHANNEL_NAME {
            return Err(BusError::BadChannel);
        }
        let mut state = self.lock();
        let mailbox = state
            .mailboxes
            .get_mut(name)
            .ok_or_else(|| BusError::Absent(name.to_owned()))?;
        if !mailbox.channels.contains(channel) && mailbox.channels.len() >= MAX_SUBSCRIPTIONS {
            return Err(BusError::TooManySubscriptions);
        }
        mailbox.channels.insert(channel.to_owned());
        Ok(())
    }

    /// Emits an effect: to the host's handler and events, and as a message
    /// from `effect:<id>:<from>` to every other spirit subscribed to `id`
    /// (in decimal) or `*`. Returns how many spirits received it.
    ///
    /// # Errors
    ///
    /// The payload is too large.
    pub fn emit(&self, from: &str, id: i32, payload: &[u8]) -> Result<usize, BusError> {
        if payload.len() > MAX_MESSAGE_BYTES {
            return Err(BusError::TooLarge(payload.len()));
        }
        let channel = id.to_string();
        let sender = format!("effect:{id}:{from}");
        let effect = Effect {
            spirit: from.to_owned(),
            id,
            payload: payload.to_vec(),
        };
        let delivered = {
            let mut state = self.lock();
            let mut delivered = 0;
            for (name, mailbox) in state.mailboxes.iter_mut().filter(|(n, _)| *n != from) {
                if mailbox.channels.contains(&channel) || mailbox.channels.contains("*") {
                    let message = Message {
                        from: sender.clone(),
                        payload: payload.to_vec(),
                    };
                    if mailbox.push(name, message).is_ok() {
                        delivered += 1;
                    }
                }
            }
            state.record(BusEvent::Effect(effect.clone()));
            delivered
        };
        // Called without the bus's lock, so a handler may use the bus.
        if let Some(handler) = self
            .handler
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            handler(&effect);
        }
        Ok(delivered)
    }

    /// Every event since the last call, oldest first (with a
    /// [`BusEvent::Dropped`] first when some were dropped).
    pub fn take_events(&self) -> Vec<BusEvent> {
        let mut state = self.lock();
        let dropped = std::mem::take(&mut state.dropped);
        let mut events: Vec<BusEvent> = Vec::with_capacity(state.events.len() + 1);
        if dropped > 0 {
            events.push(BusEvent::Dropped(dropped));
        }
        events.extend(state.events.drain(..));
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_are_capped_by_count_and_bytes() {
        let bus = Bus::new();
        bus.join("a").unwrap();
        bus.join("b").unwrap();
        for _ in 0..MAX_QUEUED_MESSAGES {
            assert_eq!(bus.send("a", "b", b"x"), Ok(true));
        }
        assert_eq!(
            bus.send("a", "b", b"x"),
            Err(BusError::QueueFull("b".into()))
        );
        assert_eq!(bus.pending("b"), MAX_QUEUED_MESSAGES);
        assert!(bus.recv("b").is_some());
        assert_eq!(bus.send("a", "b", b"x"), Ok(true));

        let big = vec![0u8; MAX_MESSAGE_BYTES];
        let c = Bus::new();
        c.join("c").unwrap();
        let fits = MAX_QUEUED_BYTES / MAX_MESSAGE_BYTES;
        for _ in 0..fits {
            assert_eq!(c.send("a", "c", &big), Ok(true));
        }
        assert_eq!(c.send("a", "c", &big), Err(BusError::QueueFull("c".into())));
        assert_eq!(
            c.send("a", "c", &vec![0; MAX_MESSAGE_BYTES + 1]),
            Err(BusError::TooLarge(MAX_MESSAGE_BYTES + 1))
        );
        // A full queue is skipped by a broadcast, and not counted.
        assert_eq!(c.broadcast("a", &big), Ok(0));
    }

    #[test]
    fn effects_reach_subscribers_other_than_the_emitter_and_the_handler() {
        let bus = std::sync::Arc::new(Bus::new());
        for name in ["a", "b", "c"] {
            bus.join(name).unwrap();
        }
        bus.subscribe("a", "7").unwrap();
        bus.subscribe("b", "*").unwrap();
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        bus.on_effect(Box::new(move |e| sink.lock().unwrap().push(e.id)));
        assert_eq!(bus.emit("a", 7, b"go"), Ok(1));
        assert_eq!(bus.emit("c", 7, b"go"), Ok(2));
        assert_eq!(bus.emit("c", 8, b"go"), Ok(1));
        assert_eq!(*seen.lock().unwrap(), [7, 7, 8]);
        assert_eq!(bus.recv("a").unwrap().from, "effect:7:c");
        assert_eq!(bus.pending("b"), 3);
        assert_eq!(bus.pending("c"), 0);
        assert_eq!(bus.subscribe("a", ""), Err(BusError::BadChannel));
        for i in 0..MAX_SUBSCRIPTIONS - 1 {
            bus.subscribe("a", &format!("c{i}")).unwrap();
        }
        assert_eq!(
            bus.subscribe("a", "one-more"),
            Err(BusError::TooManySubscriptions)
        );
    }

    #[test]
    fn events_are_capped_and_the_drop_is_counted() {
        let bus = Bus::new();
        bus.join("a").unwrap();
        for _ in 0..MAX_EVENTS + 3 {
            bus.emit("a", 0, b"").unwrap();
        }
        let events = bus.take_events();
        assert_eq!(events.len(), MAX_EVENTS + 1);
        assert_eq!(events[0], BusEvent::Dropped(3));
        assert!(bus.take_events().is_empty());
    }
}
