//! Resolving a name once, within a time limit, and keeping only the
//! addresses the allowlist lets the run reach.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use super::allow::{Allowlist, ConnectRule, Host, special};
use super::error::NetError;

/// The most addresses kept from one lookup.
const MAX_ADDRESSES: usize = 16;

/// The addresses of `host:port` the run may connect to under `rule`, in
/// the resolver's order. A name is looked up once, on a thread given at
/// most `timeout` (the system resolver has no timeout of its own); an IP
/// address is itself.
///
/// # Errors
///
/// The name does not resolve in time, or every address it resolves to is
/// special and named by no entry.
pub(super) fn checked_addresses(
    list: &Allowlist,
    rule: &ConnectRule,
    host: &Host,
    port: u16,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, NetError> {
    let target = format!("{host}:{port}");
    let resolved = match host {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
        Host::Name(name) | Host::Wildcard(name) => lookup(name.clone(), port, timeout, &target)?,
    };
    let allowed: Vec<SocketAddr> = resolved
        .iter()
        .copied()
        .filter(|a| list.reaches(rule, *a))
        .collect();
    match (allowed.is_empty(), resolved.first()) {
        (false, _) => Ok(allowed),
        (true, Some(addr)) => Err(NetError::Address {
            target,
            addr: *addr,
            kind: special(addr.ip()).unwrap_or("special"),
        }),
        (true, None) => Err(NetError::Resolve {
            target,
            reason: "no addresses".to_owned(),
        }),
    }
}

fn lookup(
    name: String,
    port: u16,
    timeout: Duration,
    target: &str,
) -> Result<Vec<SocketAddr>, NetError> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("spirit-resolve".to_owned())
        .spawn(move || {
            let result = (name.as_str(), port)
                .to_socket_addrs()
                .map(|addrs| addrs.take(MAX_ADDRESSES).collect::<Vec<_>>());
            let _ = tx.send(result);
        })
        .map_err(|e| NetError::Resolve {
            target: target.to_owned(),
            reason: e.to_string(),
        })?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(NetError::Resolve {
            target: target.to_owned(),
            reason: e.to_string(),
        }),
        Err(_) => Err(NetError::Timeout {
            what: format!("resolving {target}"),
            limit: timeout,
        }),
    }
}
