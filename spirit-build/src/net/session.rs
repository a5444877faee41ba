//! One run's network: what it may reach ([`NetworkAccess`]), and the
//! [`NetSession`] that opens, uses and closes its handles within the
//! allowlist, the limits and the run's deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::allow::{Allowlist, Host};
use super::error::NetError;
use super::handles::{Handle, Handles};
use super::http::{HttpClient, HttpRequest};
use super::limits::NetLimits;
use super::resolve::checked_addresses;

/// What a run may reach on the network: its allowlists, limits and the
/// extra roots HTTPS trusts. The default reaches nothing.
///
/// ```
/// use spirit_build::net::{Allowlist, NetworkAccess};
/// let access = NetworkAccess {
///     allowlist: Allowlist::parse(&["https://api.example.com"], &[])?,
///     ..NetworkAccess::default()
/// };
/// assert_eq!(access.limits.max_response, 8 << 20);
/// # Ok::<(), spirit_build::net::PatternError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkAccess {
    /// Where it may connect and listen.
    pub allowlist: Allowlist,
    /// The bounds.
    pub limits: NetLimits,
    /// DER certificates trusted as HTTPS roots besides Mozilla's (see
    /// [`read_roots`](super::read_roots)).
    pub extra_roots: Vec<Vec<u8>>,
}

/// What `recv` got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// This many bytes (0: the end of the stream).
    Bytes(usize),
    /// Nothing within the timeout.
    TimedOut,
}

/// One run's network: its access, deadline and open handles. Dropping it
/// closes every handle.
#[derive(Debug)]
pub struct NetSession {
    access: NetworkAccess,
    deterministic: bool,
    deadline: Instant,
    handles: Handles,
    http: Option<HttpClient>,
    notes: Vec<String>,
}

impl NetSession {
    /// A session for a run ending at `deadline`; a `deterministic` one
    /// refuses every call.
    pub fn new(access: NetworkAccess, deterministic: bool, deadline: Instant) -> NetSession {
        let handles = Handles::new(access.limits.max_handles);
        NetSession {
            access,
            deterministic,
            deadline,
            handles,
            http: None,
            notes: Vec::new(),
        }
    }

    /// Moves the deadline every wait ends at: a live instance's next
    /// invocation has its own.
    pub(crate) fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    /// What was allowed since the last call (for `-v`).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn open(&self) -> Result<(), NetError> {
        if self.deterministic {
            return Err(NetError::Deterministic);
        }
        Ok(())
    }

    /// Opens a TCP connection to `address` (`host:port`).
    ///
    /// # Errors
    ///
    /// Not allowed, unresolvable, refused, timed out, too many handles.
    pub fn connect(&mut self, address: &str) -> Result<i64, NetError> {
        self.open()?;
        self.handles.check_room()?;
        let invalid = || {
            NetError::Invalid(format!(
                "`{address}` is not `host:port` (a name or IP address, and a port from 1 to 65535)"
            ))
        };
        let (host, port) = address.rsplit_once(':').ok_or_else(invalid)?;
        let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(invalid)?;
        let host = Host::parse_target(host).map_err(|_| invalid())?;
        let target = format!("{host}:{port}");
        let list = &self.access.allowlist;
        let rule = list
            .connect_rule(None, &host, port)
            .ok_or_else(|| NetError::NotAllowed {
                target: target.clone(),
                suggest: target.clone(),
            })?;
        let wait = self.access.limits.wait(self.deadline, None, &target)?;
        let addrs = checked_addresses(list, rule, &host, port, wait)?;
        let mut last = None;
        for addr in addrs {
            let wait = self.access.limits.wait(self.deadline, None, &target)?;
            match TcpStream::connect_timeout(&addr, wait) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    self.notes.push(format!(
                        "connected to {target} ({addr}), allowed by `{rule}`"
                    ));
                    return self.handles.insert(Handle::Stream(stream));
                }
                Err(e) => last = Some(io_error(&target, e, wait)),
            }
        }
        Err(last.unwrap_or_else(invalid))
    }

    /// Listens on `port` at the address the listen allowlist names for it.
    ///
    /// # Errors
    ///
    /// Not allowed, out of range, in use, too many handles.
    pub fn listen(&mut self, port: i32) -> Result<i64, NetError> {
        self.open()?;
        let port = u16::try_from(port)
            .map_err(|_| NetError::Invalid(format!("port {port} is outside 0 to 65535")))?;
        let rule = self
            .access
            .allowlist
            .listen_rule(port)
            .copied()
            .ok_or(NetError::ListenNotAllowed { port })?;
        self.handles.check_room()?;
        let listener = TcpListener::bind(rule.addr).map_err(|e| NetError::Io {
            target: rule.addr.to_string(),
            reason: e.to_string(),
        })?;
        self.notes.push(format!("listening on {}", rule.addr));
        self.handles.insert(Handle::Listener(listener))
    }

    /// Sends `message` on every open connection; returns how many it
    /// reached.
    ///
    /// # Errors
    ///
    /// Only when the run may not use the network or its time is up.
    pub fn broadcast(&mut self, message: &[u8]) -> Result<i64, NetError> {
        self.open()?;
        let limits = self.access.limits;
        let mut reached = 0;
        for stream in self.handles.streams() {
            let wait = limits.wait(self.deadline, None, "broadcast")?;
            if stream.set_write_timeout(Some(wait)).is_ok() && stream.write_all(message).is_ok() {
                reached += 1;
            }
        }
        Ok(reached)
    }

    /// Sends all of `bytes` on the connection `handle`.
    ///
    /// # Errors
    ///
    /// No such connection, over the request limit, timed out, failed.
    pub fn send(&mut self, handle: i64, bytes: &[u8]) -> Result<usize, NetError> {
        self.open()?;
        if bytes.len() as u64 > self.access.limits.max_request {
            return Err(NetError::TooLarge {
                what: "the data to send",
                limit: self.access.limits.max_request,
                help: "send it in parts",
            });
        }
        let what = format!("sending on handle {handle}");
        let wait = self.access.limits.wait(self.deadline, None, &what)?;
        let stream = stream(self.handles.get_mut(handle)?, handle)?;
        stream
            .set_write_timeout(Some(wait))
            .and_then(|()| stream.write_all(bytes))
            .map_err(|e| io_error(&what, e, wait))?;
        Ok(bytes.len())
    }

    /// Receives up to `buf.len()` bytes from a connection or response,
    /// waiting at most `timeout` (`None`: until the run's deadline).
    ///
    /// # Errors
    ///
    /// No such handle, or the connection failed.
    pub fn recv(
        &mut self,
        handle: i64,
        buf: &mut [u8],
        timeout: Option<Duration>,
    ) -> Result<Received, NetError> {
        self.open()?;
        let deadline = self.deadline;
        match self.handles.get_mut(handle)? {
            Handle::Response(cursor) => Ok(Received::Bytes(cursor.read(buf).unwrap_or(0))),
            Handle::Stream(stream) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let wait = timeout.map_or(left, |t| t.min(left));
                if wait.is_zero() {
                    return Ok(Received::TimedOut);
                }
                stream
                    .set_read_timeout(Some(wait))
                    .map_err(|e| NetError::Io {
                        target: format!("handle {handle}"),
                        reason: e.to_string(),
                    })?;
                match stream.read(buf) {
                    Ok(n) => Ok(Received::Bytes(n)),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        Ok(Received::TimedOut)
                    }
                    Err(e) => Err(NetError::Io {
                        target: format!("receiving on handle {handle}"),
                        reason: e.to_string(),
                    }),
                }
            }
            other => Err(NetError::WrongHandle {
                handle,
                is: other.kind(),
                wanted: "a connection or an HTTP response",
            }),
        }
    }

    /// Waits at most `timeout` (`None`: until the run's deadline) for a
    /// connection on the listener `handle`; `Ok(None)` when none came.
    ///
    /// # Errors
    ///
    /// No such listener, too many handles, the listener failed.
    pub fn accept(
        &mut self,
        handle: i64,
        timeout: Option<Duration>,
    ) -> Result<Option<i64>, NetError> {
        self.open()?;
        self.handles.check_room()?;
        let left = self.deadline.saturating_duration_since(Instant::now());
        let until = Instant::now() + timeout.map_or(left, |t| t.min(left));
        let listener = match self.handles.get_mut(handle)? {
            Handle::Listener(l) => l,
            other => {
                return Err(NetError::WrongHandle {
                    handle,
                    is: other.kind(),
                    wanted: "a listener",
                });
            }
        };
        let failed = |e: std::io::Error| NetError::Io {
            target: format!("accepting on handle {handle}"),
            reason: e.to_string(),
        };
        listener.set_nonblocking(true).map_err(failed)?;
        // The standard library's listener has no accept timeout: poll it,
        // with a pause that grows to 5 ms (a connection waits at most that
        // long in the backlog).
        let mut pause = Duration::from_micros(100);
        let accepted = loop {
            match listener.accept() {
                Ok((stream, peer)) => break Some((stream, peer)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let now = Instant::now();
                    if now >= until {
                        break None;
                    }
                    std::thread::sleep(pause.min(until - now));
                    pause = (pause * 2).min(Duration::from_millis(5));
                }
                Err(e) => return Err(failed(e)),
            }
        };
        let Some((stream, peer)) = accepted else {
            return Ok(None);
        };
        stream.set_nonblocking(false).map_err(failed)?;
        let _ = stream.set_nodelay(true);
        self.notes
            .push(format!("accepted a connection from {peer}"));
        self.handles.insert(Handle::Stream(stream)).map(Some)
    }

    /// Closes a handle.
    ///
    /// # Errors
    ///
    /// No such handle.
    pub fn close(&mut self, handle: i64) -> Result<(), NetError> {
        self.handles.remove(handle).map(drop)
    }

    /// Sends the HTTP request a spirit wrote (see `host_http_request`) and
    /// returns the handle of its response.
    ///
    /// # Errors
    ///
    /// Malformed, not allowed (at any hop), too large, timed out, failed.
    pub fn http_request(&mut self, request: &[u8]) -> Result<i64, NetError> {
        self.open()?;
        self.handles.check_room()?;
        let limits = self.access.limits;
        let request = HttpRequest::parse(request, &limits)?;
        let client = self
            .http
            .get_or_insert_with(|| HttpClient::new(&self.access.extra_roots, &limits));
        let response = client.send(
            request,
            &self.access.allowlist,
            &limits,
            self.deadline,
            &mut self.notes,
        )?;
        self.handles
            .insert(Handle::Response(std::io::Cursor::new(response)))
    }
}

fn stream(handle: &mut Handle, id: i64) -> Result<&mut TcpStream, NetError> {
    match handle {
        Handle::Stream(s) => Ok(s),
        other => Err(NetError::WrongHandle {
            handle: id,
            is: other.kind(),
            wanted: "a connection",
        }),
    }
}

fn io_error(target: &str, error: std::io::Error, wait: Duration) -> NetError {
    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
        NetError::Timeout {
            what: target.to_owned(),
            limit: wait,
        }
    } else {
        NetError::Io {
            target: target.to_owned(),
            reason: error.to_string(),
        }
    }
}
