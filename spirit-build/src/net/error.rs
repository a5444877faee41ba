//! What can go wrong with the network: [`PatternError`] for an allowlist
//! entry, [`NetError`] for a call a spirit made (reported as the warning
//! beside its `-1`).

use std::time::Duration;

/// An allowlist entry that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// No `:port` and no scheme to imply one.
    #[error(
        "network entry `{entry}` names no port\nhelp: write `host:port` (`api.example.com:443`) or a URL (`https://api.example.com`)"
    )]
    NoPort {
        /// The entry.
        entry: String,
    },
    /// A port that is not a number in range.
    #[error("network entry `{entry}` has port `{port}`; a port is a number from {min} to 65535")]
    Port {
        /// The entry.
        entry: String,
        /// Its port text.
        port: String,
        /// The lowest port allowed (0 for a listener, 1 to connect to).
        min: u16,
    },
    /// A scheme other than `http` or `https`.
    #[error(
        "network entry `{entry}` has a scheme other than `http://` or `https://`\nhelp: name any other service as `host:port`"
    )]
    Scheme {
        /// The entry.
        entry: String,
    },
    /// A path, query or user in an entry.
    #[error(
        "network entry `{entry}` has a path, query or user name; an entry names a host and port only\nhelp: write `https://host[:port]`"
    )]
    Path {
        /// The entry.
        entry: String,
    },
    /// A host that is not a DNS name or an IP address.
    #[error("network host `{host}` is not valid: {reason}")]
    Host {
        /// The host.
        host: String,
        /// Why.
        reason: &'static str,
    },
    /// A listen entry that is not `IP:PORT`.
    #[error(
        "listen entry `{entry}` is not an IP address and port\nhelp: write it as `127.0.0.1:8080` or `[::1]:8080`; a listener's address must not depend on a lookup"
    )]
    ListenAddress {
        /// The entry.
        entry: String,
    },
}

/// Why a network call of a spirit failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// No connect entry matches.
    #[error(
        "`{target}` is not in the run's connect allowlist\nhelp: allow it with `--allow-net {suggest}` or `connect = [\"{suggest}\"]` under `[package.metadata.spirit.network]`"
    )]
    NotAllowed {
        /// What was asked for.
        target: String,
        /// The entry that would allow it.
        suggest: String,
    },
    /// No listen entry for the port.
    #[error(
        "listening on port {port} is not in the run's listen allowlist\nhelp: allow it with `--allow-listen 127.0.0.1:{port}` or `listen = [\"127.0.0.1:{port}\"]` under `[package.metadata.spirit.network]`"
    )]
    ListenNotAllowed {
        /// The port.
        port: u16,
    },
    /// Every address the name resolved to is special and unnamed.
    #[error(
        "`{target}` resolves to {addr}, a {kind} address, which only an entry naming it allows\nhelp: if that is meant, allow it with `--allow-net {addr}`"
    )]
    Address {
        /// What was asked for.
        target: String,
        /// The first refused address.
        addr: std::net::SocketAddr,
        /// What kind of address.
        kind: &'static str,
    },
    /// A deterministic run asked for the network.
    #[error(
        "a deterministic run cannot use the network (its result would depend on it)\nhelp: run without `--deterministic`"
    )]
    Deterministic,
    /// The address or request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The name did not resolve.
    #[error("`{target}` does not resolve: {reason}")]
    Resolve {
        /// What was asked for.
        target: String,
        /// Why.
        reason: String,
    },
    /// The time allowed ran out.
    #[error(
        "`{what}` took longer than {limit:?} (the network timeout, or what was left of the run's)"
    )]
    Timeout {
        /// What was being done.
        what: String,
        /// The time it had.
        limit: Duration,
    },
    /// The run has as many open handles as it may.
    #[error(
        "the run already has {0} open network handles, the most it may\nhelp: close handles it no longer needs"
    )]
    TooManyHandles(usize),
    /// No open handle with that number.
    #[error("there is no open network handle {0}")]
    NoHandle(i64),
    /// The handle is of the wrong kind.
    #[error("network handle {handle} is {is}, not {wanted}")]
    WrongHandle {
        /// The handle.
        handle: i64,
        /// What it is.
        is: &'static str,
        /// What the call needs.
        wanted: &'static str,
    },
    /// A response or request over its limit.
    #[error("{what} is larger than the limit of {limit} bytes\nhelp: {help}")]
    TooLarge {
        /// What.
        what: &'static str,
        /// The limit.
        limit: u64,
        /// How to raise it.
        help: &'static str,
    },
    /// More redirects than allowed.
    #[error("`{url}` redirected more than {limit} times")]
    Redirects {
        /// The first URL.
        url: String,
        /// The limit.
        limit: u32,
    },
    /// A socket or HTTP failure.
    #[error("`{target}`: {reason}")]
    Io {
        /// What was asked for.
        target: String,
        /// What failed.
        reason: String,
    },
}
