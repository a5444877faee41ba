//! A run's open network handles: connections, listeners and HTTP
//! responses, numbered from 1, at most [`NetLimits::max_handles`] at once.
//!
//! [`NetLimits::max_handles`]: super::NetLimits::max_handles

use std::collections::BTreeMap;
use std::io::Cursor;
use std::net::{TcpListener, TcpStream};

use super::error::NetError;

/// One open handle.
#[derive(Debug)]
pub(super) enum Handle {
    /// A TCP connection (connected or accepted).
    Stream(TcpStream),
    /// A TCP listener.
    Listener(TcpListener),
    /// A received HTTP response: head and body, read with `recv`.
    Response(Cursor<Vec<u8>>),
}

impl Handle {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Handle::Stream(_) => "a connection",
            Handle::Listener(_) => "a listener",
            Handle::Response(_) => "an HTTP response",
        }
    }
}

/// The open handles of one run; dropping it closes them all.
#[derive(Debug)]
pub(super) struct Handles {
    open: BTreeMap<i64, Handle>,
    next: i64,
    max: usize,
}

impl Handles {
    pub(super) fn new(max: usize) -> Handles {
        Handles {
            open: BTreeMap::new(),
            next: 1,
            max,
        }
    }

    /// Whether another handle may be opened.
    pub(super) fn check_room(&self) -> Result<(), NetError> {
        if self.open.len() >= self.max {
            return Err(NetError::TooManyHandles(self.max));
        }
        Ok(())
    }

    /// Opens `handle`, returning its number.
    pub(super) fn insert(&mut self, handle: Handle) -> Result<i64, NetError> {
        self.check_room()?;
        let id = self.next;
        self.next += 1;
        self.open.insert(id, handle);
        Ok(id)
    }

    pub(super) fn get_mut(&mut self, id: i64) -> Result<&mut Handle, NetError> {
        self.open.get_mut(&id).ok_or(NetError::NoHandle(id))
    }

    pub(super) fn remove(&mut self, id: i64) -> Result<Handle, NetError> {
        self.open.remove(&id).ok_or(NetError::NoHandle(id))
    }

    /// Every open connection, in handle order.
    pub(super) fn streams(&mut self) -> impl Iterator<Item = &mut TcpStream> {
        self.open.values_mut().filter_map(|h| match h {
            Handle::Stream(s) => Some(s),
            _ => None,
        })
    }
}
