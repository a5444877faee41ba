//! The bounds on a run's network use, with their defaults: plain data
//! below both the session and the HTTP client.

use std::time::{Duration, Instant};

use super::error::NetError;

/// The bounds on a run's network use. Each is documented with its default;
/// `cargo spirit run` sets `timeout` (`--net-timeout`) and `max_response`
/// (`--max-response`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetLimits {
    /// Handles (connections, listeners, responses) open at once: 64.
    pub max_handles: usize,
    /// The longest a lookup, a connect, a send or an HTTP request may take
    /// (never past the run's own deadline): 30 s.
    pub timeout: Duration,
    /// The largest HTTP response body: 8 MiB.
    pub max_response: u64,
    /// The largest HTTP request body, and the most one `send` sends: 8 MiB.
    pub max_request: u64,
    /// The largest HTTP head, the spirit's request's and the response's:
    /// 64 KiB.
    pub max_header: usize,
    /// The most redirects one HTTP request follows: 5.
    pub max_redirects: u32,
}

impl Default for NetLimits {
    fn default() -> NetLimits {
        NetLimits {
            max_handles: 64,
            timeout: Duration::from_secs(30),
            max_response: 8 << 20,
            max_request: 8 << 20,
            max_header: 64 << 10,
            max_redirects: 5,
        }
    }
}

impl NetLimits {
    /// How long an operation on `what` may wait: the network timeout,
    /// `asked` if shorter, and never past `deadline`.
    pub(super) fn wait(
        &self,
        deadline: Instant,
        asked: Option<Duration>,
        what: &str,
    ) -> Result<Duration, NetError> {
        let left = deadline.saturating_duration_since(Instant::now());
        let wait = asked
            .map_or(self.timeout, |a| a.min(self.timeout))
            .min(left);
        if wait.is_zero() {
            return Err(NetError::Timeout {
                what: what.to_owned(),
                limit: Duration::ZERO,
            });
        }
        Ok(wait)
    }
}
