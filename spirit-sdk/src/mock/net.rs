//! The mock host's network: connections, incoming clients and HTTP
//! responses a test scripts, and what the spirit sent on them.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::string::{String, ToString};
use std::vec::Vec;

use crate::abi::{self, Capability};

std::thread_local! {
    static NET: RefCell<MockNet> = RefCell::new(MockNet::default());
}

#[derive(Debug, Default)]
struct MockNet {
    /// address → what a connection to it reads.
    connectable: BTreeMap<String, Vec<u8>>,
    /// port → the incoming connections (what each reads), in order.
    incoming: BTreeMap<u16, VecDeque<Vec<u8>>>,
    /// URL → the response, in the format `host_http_request` gives.
    responses: BTreeMap<String, Vec<u8>>,
    /// Every request, in the format the spirit wrote.
    requests: Vec<Vec<u8>>,
    /// Everything sent, by connection name.
    sent: BTreeMap<String, Vec<u8>>,
    open: BTreeMap<i64, Open>,
    next: i64,
}

#[derive(Debug)]
enum Open {
    /// A connection: its name and what is left to read.
    Stream {
        name: String,
        unread: VecDeque<u8>,
    },
    Listener {
        port: u16,
    },
    Response {
        unread: VecDeque<u8>,
    },
}

fn with<T>(f: impl FnOnce(&mut MockNet) -> T) -> T {
    NET.with(|n| f(&mut n.borrow_mut()))
}

pub(super) fn reset() {
    with(|n| *n = MockNet::default());
}

/// Lets the spirit connect to `address` (`host:port`, as it writes it);
/// the connection reads `incoming`, then the end of the stream. Addresses
/// not scripted are refused, as the sandbox refuses those outside the
/// allowlist.
///
/// ```
/// use spirit_sdk::{mock, net::TcpStream};
/// mock::script_connection("127.0.0.1:6379", b"+PONG\r\n");
/// let mut stream = TcpStream::connect("127.0.0.1:6379")?;
/// stream.write(b"PING\r\n")?;
/// let mut buf = [0; 16];
/// let n = stream.read(&mut buf)?;
/// assert_eq!(&buf[..n], b"+PONG\r\n");
/// assert_eq!(mock::sent("127.0.0.1:6379"), b"PING\r\n");
/// assert!(TcpStream::connect("10.0.0.1:22").is_err());
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
pub fn script_connection(address: &str, incoming: impl AsRef<[u8]>) {
    with(|n| {
        n.connectable
            .insert(address.to_string(), incoming.as_ref().to_vec())
    });
}

/// Queues a client that connects to the spirit's listener on `port` and
/// sends `incoming`; what the spirit sends it is [`sent`]`(":PORT")`.
///
/// ```
/// use spirit_sdk::{mock, net::TcpListener};
/// mock::script_client(8080, b"hello");
/// let listener = TcpListener::bind(8080)?;
/// let mut client = listener.accept()?;
/// let mut buf = [0; 8];
/// assert_eq!(client.read(&mut buf)?, 5);
/// client.write(b"bye")?;
/// assert_eq!(mock::sent(":8080"), b"bye");
/// assert_eq!(listener.accept_timeout(10)?.map(|s| s.handle()), None);
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
pub fn script_client(port: u16, incoming: impl AsRef<[u8]>) {
    with(|n| {
        n.incoming
            .entry(port)
            .or_default()
            .push_back(incoming.as_ref().to_vec())
    });
}

/// Answers HTTP requests for `url` (exactly as the spirit writes it) with
/// `status`, `headers` and `body`. URLs not scripted fail, as those outside
/// the allowlist do in the sandbox.
///
/// ```
/// use spirit_sdk::{http, mock};
/// mock::script_response("https://api.example.com/v1", 200, &[("content-type", "application/json")], br#"{"ok":true}"#);
/// let response = http::get("https://api.example.com/v1")?;
/// assert_eq!(response.status, 200);
/// assert_eq!(response.header("Content-Type"), Some("application/json"));
/// assert_eq!(response.body, br#"{"ok":true}"#);
/// assert!(mock::requests()[0].starts_with(b"GET https://api.example.com/v1\n"));
/// # Ok::<(), spirit_sdk::HostError>(())
/// ```
pub fn script_response(url: &str, status: u16, headers: &[(&str, &str)], body: impl AsRef<[u8]>) {
    let mut response = std::format!("{status}\n");
    for (name, value) in headers {
        response.push_str(&std::format!("{}: {value}\n", name.to_ascii_lowercase()));
    }
    response.push('\n');
    let mut response = response.into_bytes();
    response.extend_from_slice(body.as_ref());
    with(|n| n.responses.insert(url.to_string(), response));
}

/// Everything the spirit sent on connections named `name`: the address it
/// connected to, or `:PORT` for clients accepted on a port (broadcasts
/// included).
pub fn sent(name: &str) -> Vec<u8> {
    with(|n| n.sent.get(name).cloned().unwrap_or_default())
}

/// Every HTTP request the spirit sent, in the format it wrote
/// (`METHOD URL\n`, headers, `\n`, body).
pub fn requests() -> Vec<Vec<u8>> {
    with(|n| n.requests.clone())
}

/// The host functions, with the ABI's raw conventions.
pub(crate) mod host {
    use super::*;

    const ERROR: i64 = abi::ERROR as i64;

    fn open(n: &mut MockNet, entry: Open) -> i64 {
        n.next += 1;
        n.open.insert(n.next, entry);
        n.next
    }

    pub(crate) fn network_connect(address: &[u8]) -> i64 {
        if !super::super::granted(Capability::NetworkConnect) {
            return ERROR;
        }
        let Ok(address) = core::str::from_utf8(address) else {
            return ERROR;
        };
        with(|n| match n.connectable.get(address) {
            Some(incoming) => {
                let unread = incoming.iter().copied().collect();
                let name = address.to_string();
                open(n, Open::Stream { name, unread })
            }
            None => ERROR,
        })
    }

    pub(crate) fn network_listen(port: i32) -> i64 {
        if !super::super::granted(Capability::NetworkListen) {
            return ERROR;
        }
        let Ok(port) = u16::try_from(port) else {
            return ERROR;
        };
        with(|n| open(n, Open::Listener { port }))
    }

    pub(crate) fn network_broadcast(message: &[u8]) -> i64 {
        if !super::super::granted(Capability::NetworkBroadcast)
            || message.is_empty()
            || message.len() > abi::MAX_BROADCAST
        {
            return ERROR;
        }
        with(|n| {
            let names: Vec<String> = n
                .open
                .values()
                .filter_map(|o| match o {
                    Open::Stream { name, .. } => Some(name.clone()),
                    _ => None,
                })
                .collect();
            for name in &names {
                n.sent
                    .entry(name.clone())
                    .or_default()
                    .extend_from_slice(message);
            }
            i64::try_from(names.len()).unwrap_or(ERROR)
        })
    }

    pub(crate) fn network_send(handle: i64, bytes: &[u8]) -> i64 {
        with(|n| match n.open.get(&handle) {
            Some(Open::Stream { name, .. }) => {
                let name = name.clone();
                n.sent.entry(name).or_default().extend_from_slice(bytes);
                i64::try_from(bytes.len()).unwrap_or(ERROR)
            }
            _ => ERROR,
        })
    }

    pub(crate) fn network_recv(handle: i64, buf: &mut [u8], _timeout_ms: i32) -> i64 {
        with(|n| match n.open.get_mut(&handle) {
            Some(Open::Stream { unread, .. } | Open::Response { unread }) => {
                let count = unread.len().min(buf.len());
                for (slot, byte) in buf.iter_mut().zip(unread.drain(..count)) {
                    *slot = byte;
                }
                i64::try_from(count).unwrap_or(ERROR)
            }
            _ => ERROR,
        })
    }

    pub(crate) fn network_accept(listener: i64, _timeout_ms: i32) -> i64 {
        if !super::super::granted(Capability::NetworkListen) {
            return ERROR;
        }
        with(|n| {
            let Some(Open::Listener { port }) = n.open.get(&listener) else {
                return ERROR;
            };
            let port = *port;
            match n.incoming.get_mut(&port).and_then(VecDeque::pop_front) {
                Some(incoming) => {
                    let name = std::format!(":{port}");
                    let unread = incoming.into_iter().collect();
                    open(n, Open::Stream { name, unread })
                }
                None => abi::TIMED_OUT,
            }
        })
    }

    pub(crate) fn network_close(handle: i64) -> i32 {
        with(|n| match n.open.remove(&handle) {
            Some(_) => abi::SUCCESS,
            None => abi::ERROR,
        })
    }

    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) fn http_request(request: &[u8]) -> i64 {
        if !super::super::granted(Capability::NetworkConnect) {
            return ERROR;
        }
        with(|n| {
            n.requests.push(request.to_vec());
            let line = request.split(|b| *b == b'\n').next().unwrap_or_default();
            let url = core::str::from_utf8(line)
                .ok()
                .and_then(|l| l.split_once(' '))
                .map(|(_, url)| url.to_string());
            match url.and_then(|u| n.responses.get(&u).cloned()) {
                Some(response) => open(
                    n,
                    Open::Response {
                        unread: response.into_iter().collect(),
                    },
                ),
                None => ERROR,
            }
        })
    }
}
