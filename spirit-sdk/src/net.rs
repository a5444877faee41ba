//! TCP for spirits: [`TcpStream`] to connect, [`TcpListener`] to accept,
//! and [`broadcast`] to every open connection, within the allowlists the
//! host grants (`[package.metadata.spirit.network]`, `--allow-net`,
//! `--allow-listen`). No allocation; every wait ends at the run's deadline.
//!
//! ```
//! use spirit_sdk::{mock, net::TcpStream};
//!
//! mock::script_connection("127.0.0.1:7000", b"pong");
//! let mut stream = TcpStream::connect("127.0.0.1:7000")?;
//! stream.write(b"ping")?;
//! let mut buf = [0; 4];
//! assert_eq!(stream.read(&mut buf)?, 4);
//! assert_eq!(&buf, b"pong");
//! stream.close()?;
//! # Ok::<(), spirit_sdk::HostError>(())
//! ```

use crate::abi;
use crate::error::HostError;
use crate::sys;

/// A TCP connection, opened by [`TcpStream::connect`] or
/// [`TcpListener::accept`]; closed by [`close`](TcpStream::close) or when
/// dropped.
#[derive(Debug, PartialEq, Eq)]
pub struct TcpStream {
    handle: i64,
}

impl TcpStream {
    /// Connects to `address`, `host:port` (1 to 256 bytes), which the run's
    /// connect allowlist must name.
    ///
    /// # Errors
    ///
    /// [`HostError::Network`]: not allowed, unresolvable, refused, timed out.
    pub fn connect(address: &str) -> Result<TcpStream, HostError> {
        match sys::network_connect(address.as_bytes()) {
            handle if handle >= 0 => Ok(TcpStream { handle }),
            _ => Err(HostError::Network),
        }
    }

    /// The host's handle of this connection.
    pub fn handle(&self) -> i64 {
        self.handle
    }

    /// Sends all of `bytes`; returns how many (all of them).
    ///
    /// # Errors
    ///
    /// [`HostError::Network`]: the connection failed or time ran out.
    pub fn write(&mut self, bytes: &[u8]) -> Result<usize, HostError> {
        let sent = sys::network_send(self.handle, bytes);
        usize::try_from(sent).map_err(|_| HostError::Network)
    }

    /// Receives at most `buf.len()` bytes, waiting for them until the run's
    /// deadline; `0` at the end of the stream.
    ///
    /// # Errors
    ///
    /// [`HostError::Network`]: the connection failed, or nothing came
    /// before the deadline.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, HostError> {
        self.read_timeout(buf, 0)?.ok_or(HostError::Network)
    }

    /// As [`read`](TcpStream::read), waiting at most `timeout_ms`
    /// milliseconds (`0`: until the run's deadline): `None` when nothing
    /// came in time (the connection stays open).
    ///
    /// # Errors
    ///
    /// [`HostError::Network`]: the connection failed.
    pub fn read_timeout(
        &mut self,
        buf: &mut [u8],
        timeout_ms: u32,
    ) -> Result<Option<usize>, HostError> {
        let timeout = i32::try_from(timeout_ms).unwrap_or(i32::MAX);
        match sys::network_recv(self.handle, buf, timeout) {
            abi::TIMED_OUT => Ok(None),
            n => usize::try_from(n).map(Some).map_err(|_| HostError::Network),
        }
    }

    /// Closes the connection.
    ///
    /// # Errors
    ///
    /// [`HostError::Network`]: the host had no such connection open.
    pub fn close(self) -> Result<(), HostError> {
        let handle = self.handle;
        core::mem::forget(self);
        close(handle)
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        let _ = close(self.handle);
    }
}

/// A TCP listener on a port of the run's listen allowlist.
#[derive(Debug, PartialEq, Eq)]
pub struct TcpListener {
    handle: i64,
}

impl TcpListener {
    /// Listens on `port`, at the address the listen allowlist names for it.
    ///
    /// # Errors
    ///
    /// [`HostError::Network`]: not allowed, or the port is in use.
    pub fn bind(port: u16) -> Result<TcpListener, HostError> {
        match sys::network_listen(i32::from(port)) {
            handle if handle >= 0 => Ok(TcpListener { handle }),
            _ => Err(HostError::Network),
        }
    }

    /// Waits, until the run's deadline, for a client.
    ///
    /// # Errors
    ///
    /// [`HostError::Network`]: the listener failed or none came in time.
    pub fn accept(&self) -> Result<TcpStream, HostError> {
        self.accept_timeout(0)?.ok_or(HostError::Network)
    }

    /// Waits at most `timeout_ms` milliseconds (`0`: until the run's
    /// deadline) for a client: `None` when none came.
    ///
    /// # Errors
    ///
    /// [`HostError::Network`]: the listener failed.
    pub fn accept_timeout(&self, timeout_ms: u32) -> Result<Option<TcpStream>, HostError> {
        let timeout = i32::try_from(timeout_ms).unwrap_or(i32::MAX);
        match sys::network_accept(self.handle, timeout) {
            abi::TIMED_OUT => Ok(None),
            handle if handle >= 0 => Ok(Some(TcpStream { handle })),
            _ => Err(HostError::Network),
        }
    }

    /// Stops listening.
    ///
    /// # Errors
    ///
    /// [`HostError::Network`]: the host had no such listener open.
    pub fn close(self) -> Result<(), HostError> {
        let handle = self.handle;
        core::mem::forget(self);
        close(handle)
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let _ = close(self.handle);
    }
}

fn close(handle: i64) -> Result<(), HostError> {
    match sys::network_close(handle) {
        abi::SUCCESS => Ok(()),
        _ => Err(HostError::Network),
    }
}

/// Sends `message` (1 byte to 64 KiB) on every open connection of the run;
/// returns how many it reached.
///
/// ```
/// use spirit_sdk::{mock, net};
/// mock::script_connection("10.0.0.7:9000", b"");
/// let _peer = net::TcpStream::connect("10.0.0.7:9000")?;
/// assert_eq!(net::broadcast(b"hello")?, 1);
/// assert_eq!(mock::sent("10.0.0.7:9000"), b"hello");
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
///
/// # Errors
///
/// [`HostError::Network`]: not granted, or the message's size.
pub fn broadcast(message: &[u8]) -> Result<u64, HostError> {
    u64::try_from(sys::network_broadcast(message)).map_err(|_| HostError::Network)
}
