//! The network a spirit may use: allowlists of where it may connect and
//! listen ([`Allowlist`]), and the per-run [`NetSession`] behind the
//! `host_network_*` and `host_http_request` functions.
//!
//! Closed by construction: a name is resolved once, each resolved address
//! is checked (a loopback, private, link-local or otherwise special address
//! only when an entry names it, or `localhost` for loopback), and the
//! connection goes to the address that was checked; an HTTP request follows
//! no redirect by itself (the client has them off): the session checks each
//! hop's URL and addresses the same way, up to [`NetLimits::max_redirects`].
//! Every wait is bounded by a timeout and the run's deadline, and every
//! size by a limit. A deterministic run may not use the network at all.
//!
//! The sandbox's `host/net.rs` is the thin ABI layer over this module.

mod allow;
mod error;
mod handles;
mod http;
mod limits;
mod resolve;
mod session;

pub use allow::{Allowlist, ConnectRule, Host, ListenRule, Scheme, special};
pub use error::{NetError, PatternError};
pub use http::{RootsError, read_roots};
pub use limits::NetLimits;
pub use session::{NetSession, NetworkAccess, Received};
