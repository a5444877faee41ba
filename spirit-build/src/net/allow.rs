//! The network allowlists, as plain data: the hosts and ports a run may
//! connect to ([`ConnectRule`]), the addresses it may listen on
//! ([`ListenRule`]), and which resolved addresses a rule lets it reach.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::error::PatternError;

/// The scheme of an `http://` or `https://` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http://`, port 80 unless given.
    Http,
    /// `https://`, port 443 unless given.
    Https,
}

impl Scheme {
    /// The scheme's name without `://`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port a URL of this scheme means when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// The scheme called `name` (ASCII case-insensitive), if supported.
    pub fn from_name(name: &str) -> Option<Scheme> {
        if name.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else if name.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else {
            None
        }
    }
}

/// The host part of a connect entry, or of an address a spirit asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, in lower case: matches that name only.
    Name(String),
    /// `*.example.org` (stored as `example.org`): matches every name
    /// ending in `.example.org`, not `example.org` itself.
    Wildcard(String),
    /// An IP address, written as one: matches that address only, and is
    /// what lets a run reach a loopback or private address.
    Ip(IpAddr),
}

impl Host {
    /// Reads the host of an address a spirit asks for (a name or an IP
    /// address, IPv6 in brackets or not; no wildcard).
    ///
    /// # Errors
    ///
    /// A name that is not a valid DNS name.
    pub fn parse_target(text: &str) -> Result<Host, PatternError> {
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        check_name(text)?;
        Ok(Host::Name(text.to_ascii_lowercase()))
    }

    fn parse_pattern(text: &str) -> Result<Host, PatternError> {
        if let Some(suffix) = text.strip_prefix("*.") {
            check_name(suffix)?;
            return Ok(Host::Wildcard(suffix.to_ascii_lowercase()));
        }
        Host::parse_target(text)
    }

    /// Whether this entry host matches the host asked for.
    fn matches(&self, asked: &Host) -> bool {
        match (self, asked) {
            (Host::Name(a), Host::Name(b)) => a == b,
            (Host::Wildcard(suffix), Host::Name(b)) => b
                .strip_suffix(suffix.as_str())
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            (Host::Ip(a), Host::Ip(b)) => canonical(*a) == canonical(*b),
            _ => false,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Wildcard(suffix) => write!(f, "*.{suffix}"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// A DNS name: 1 to 253 bytes of labels of letters, digits, `-` and `_`,
/// none empty or over 63 bytes.
fn check_name(name: &str) -> Result<(), PatternError> {
    let bad = |reason: &'static str| PatternError::Host {
        host: name.to_owned(),
        reason,
    };
    if name.is_empty() || name.len() > 253 {
        return Err(bad("a host name is 1 to 253 bytes"));
    }
    for label in name.strip_suffix('.').unwrap_or(name).split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("each dot-separated label is 1 to 63 bytes"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad(
                "a host name holds only letters, digits, `-`, `_` and dots (`*.` only at the start)",
            ));
        }
    }
    Ok(())
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is, so an entry and
/// an address compare the same however either was written.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One entry of a connect allowlist, as `[package.metadata.spirit.network]
/// connect` or `--allow-net` gives it: `host:port`, `*.suffix:port`,
/// `IP:port`, `[IPv6]:port`, or `http(s)://host[:port]` (which allows HTTP
/// requests of that scheme only, not raw TCP).
///
/// ```
/// use spirit_build::net::ConnectRule;
/// let rule = ConnectRule::parse("*.example.org:8443")?;
/// assert_eq!(rule.to_string(), "*.example.org:8443");
/// assert!(ConnectRule::parse("example.org").is_err());
/// # Ok::<(), spirit_build::net::PatternError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConnectRule {
    /// `Some`: only HTTP requests of this scheme.
    pub scheme: Option<Scheme>,
    /// The host it names.
    pub host: Host,
    /// The port it names.
    pub port: u16,
}

impl ConnectRule {
    /// Reads an entry.
    ///
    /// # Errors
    ///
    /// An entry without a port (and without a scheme), with a path, a bad
    /// host name or a port outside 1..=65535.
    pub fn parse(text: &str) -> Result<ConnectRule, PatternError> {
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => match Scheme::from_name(scheme) {
                Some(s) => (Some(s), rest.strip_suffix('/').unwrap_or(rest)),
                None => {
                    return Err(PatternError::Scheme {
                        entry: text.to_owned(),
                    });
                }
            },
            None => (None, text),
        };
        if rest.contains(['/', '?', '#', '@']) {
            return Err(PatternError::Path {
                entry: text.to_owned(),
            });
        }
        let (host, port) = match split_port(rest) {
            Some((host, port)) => (host, parse_port(text, port, 1)?),
            None => match scheme {
                Some(s) => (rest, s.default_port()),
                None => {
                    return Err(PatternError::NoPort {
                        entry: text.to_owned(),
                    });
                }
            },
        };
        Ok(ConnectRule {
            scheme,
            host: Host::parse_pattern(host)?,
            port,
        })
    }

    /// Whether this entry allows reaching `host:port`, by `scheme` for an
    /// HTTP request (`None`: a raw TCP connection).
    pub fn matches(&self, scheme: Option<Scheme>, host: &Host, port: u16) -> bool {
        self.port == port
            && self.host.matches(host)
            && (self.scheme.is_none() || self.scheme == scheme)
    }
}

impl fmt::Display for ConnectRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Some(s) if s.default_port() == self.port => write!(f, "{}://{}", s.as_str(), self.host),
            Some(s) => write!(f, "{}://{}:{}", s.as_str(), self.host, self.port),
            None => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

/// `host:port` split at the last colon outside brackets; `None` without one.
fn split_port(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix('[') {
        let close = rest.find(']')?;
        let port = rest[close + 1..].strip_prefix(':')?;
        return Some((&text[..close + 2], port));
    }
    match text.matches(':').count() {
        1 => text.rsplit_once(':'),
        _ => None,
    }
}

fn parse_port(entry: &str, port: &str, min: u16) -> Result<u16, PatternError> {
    port.parse::<u16>()
        .ok()
        .filter(|p| *p >= min && port.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| PatternError::Port {
            entry: entry.to_owned(),
            port: port.to_owned(),
            min,
        })
}

/// One entry of a listen allowlist: an IP address and port
/// (`127.0.0.1:8080`, `[::1]:8080`) a run may listen on with
/// `host_network_listen(port)`.
///
/// ```
/// use spirit_build::net::ListenRule;
/// assert_eq!(ListenRule::parse("127.0.0.1:8080")?.addr.port(), 8080);
/// assert!(ListenRule::parse("localhost:8080").is_err());
/// # Ok::<(), spirit_build::net::PatternError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenRule {
    /// The address and port.
    pub addr: SocketAddr,
}

impl ListenRule {
    /// Reads an entry.
    ///
    /// # Errors
    ///
    /// Anything but `IP:PORT` (a name is refused: which address a listener
    /// binds must not depend on a lookup).
    pub fn parse(text: &str) -> Result<ListenRule, PatternError> {
        let Some((host, port)) = split_port(text) else {
            return Err(PatternError::NoPort {
                entry: text.to_owned(),
            });
        };
        let port = parse_port(text, port, 0)?;
        match Host::parse_target(host) {
            Ok(Host::Ip(ip)) => Ok(ListenRule {
                addr: SocketAddr::new(ip, port),
            }),
            _ => Err(PatternError::ListenAddress {
                entry: text.to_owned(),
            }),
        }
    }
}

impl fmt::Display for ListenRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)
    }
}

/// What a run may reach: its connect and listen allowlists. Empty (the
/// default) allows nothing, whatever capabilities are granted.
///
/// ```
/// use spirit_build::net::{Allowlist, Host};
/// let list = Allowlist::parse(&["api.example.com:443"], &[])?;
/// let asked = Host::parse_target("api.example.com")?;
/// assert!(list.connect_rule(None, &asked, 443).is_some());
/// assert!(list.connect_rule(None, &asked, 80).is_none());
/// # Ok::<(), spirit_build::net::PatternError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowlist {
    /// Where it may connect and send HTTP requests.
    pub connect: Vec<ConnectRule>,
    /// Where it may listen.
    pub listen: Vec<ListenRule>,
}

impl Allowlist {
    /// Reads both lists.
    ///
    /// # Errors
    ///
    /// The first entry that does not parse.
    pub fn parse(connect: &[&str], listen: &[&str]) -> Result<Allowlist, PatternError> {
        Ok(Allowlist {
            connect: connect
                .iter()
                .map(|e| ConnectRule::parse(e))
                .collect::<Result<_, _>>()?,
            listen: listen
                .iter()
                .map(|e| ListenRule::parse(e))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether both lists are empty.
    pub fn is_empty(&self) -> bool {
        self.connect.is_empty() && self.listen.is_empty()
    }

    /// Adds the entries of `other` not already here.
    pub fn extend(&mut self, other: &Allowlist) {
        for rule in &other.connect {
            if !self.connect.contains(rule) {
                self.connect.push(rule.clone());
            }
        }
        for rule in &other.listen {
            if !self.listen.contains(rule) {
                self.listen.push(*rule);
            }
        }
    }

    /// The first connect entry that allows `host:port` (by `scheme` for an
    /// HTTP request).
    pub fn connect_rule(
        &self,
        scheme: Option<Scheme>,
        host: &Host,
        port: u16,
    ) -> Option<&ConnectRule> {
        self.connect.iter().find(|r| r.matches(scheme, host, port))
    }

    /// The listen entry for `port`.
    pub fn listen_rule(&self, port: u16) -> Option<&ListenRule> {
        self.listen.iter().find(|r| r.addr.port() == port)
    }

    /// Whether `rule` (which matched the name asked for) lets a run reach
    /// the resolved address `addr`: a public address always; a special one
    /// (see [`special`]) only when an entry names that very address and
    /// port, or when `rule` names `localhost` and the address is loopback.
    pub fn reaches(&self, rule: &ConnectRule, addr: SocketAddr) -> bool {
        let Some(_) = special(addr.ip()) else {
            return true;
        };
        if rule.host == Host::Name("localhost".to_owned()) && canonical(addr.ip()).is_loopback() {
            return true;
        }
        self.connect.iter().any(|r| {
            r.port == addr.port()
                && r.host.matches(&Host::Ip(addr.ip()))
                && (r.scheme.is_none() || r.scheme == rule.scheme)
        })
    }
}

/// Both lists on one line, as `inspect` and `info` show them:
/// `connect A, B; listen C`.
///
/// ```
/// use spirit_build::net::Allowlist;
/// let list = Allowlist::parse(&["https://api.example.com"], &["127.0.0.1:8080"])?;
/// assert_eq!(list.to_string(), "connect https://api.example.com; listen 127.0.0.1:8080");
/// # Ok::<(), spirit_build::net::PatternError>(())
/// ```
impl fmt::Display for Allowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
        if !self.connect.is_empty() {
            f.write_str("connect ")?;
            list(f, &self.connect)?;
        }
        if !self.listen.is_empty() {
            if !self.connect.is_empty() {
                f.write_str("; ")?;
            }
            f.write_str("listen ")?;
            list(f, &self.listen)?;
        }
        Ok(())
    }
}

/// Why an address is not a public one a name may resolve to, or `None`
/// for a public address: loopback, private, carrier-grade NAT, link-local,
/// unspecified, multicast, broadcast, unique-local, IPv4-mapped (checked as
/// the IPv4 address it maps) and other reserved ranges.
///
/// ```
/// use spirit_build::net::special;
/// assert_eq!(special("10.1.2.3".parse()?), Some("private"));
/// assert_eq!(special("::ffff:127.0.0.1".parse()?), Some("loopback"));
/// assert_eq!(special("93.184.216.34".parse()?), None);
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local"
    } else if ip.is_unspecified() || a == 0 {
        "unspecified"
    } else if a == 100 && (64..128).contains(&b) {
        "carrier-grade NAT (shared)"
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        "multicast, broadcast or reserved"
    } else {
        return None;
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(if ip.is_loopback() {
        "loopback"
    } else if ip.is_unspecified() {
        "unspecified"
    } else if first & 0xfe00 == 0xfc00 {
        "unique-local (private)"
    } else if first & 0xffc0 == 0xfe80 || first & 0xffc0 == 0xfec0 {
        "link-local"
    } else if ip.is_multicast() {
        "multicast"
    } else if ip.segments()[..6] == [0; 6] {
        "IPv4-compatible"
    } else if first == 0x64 && ip.segments()[1] == 0xff9b {
        "NAT64"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> ConnectRule {
        ConnectRule::parse(text).unwrap()
    }

    fn host(text: &str) -> Host {
        Host::parse_target(text).unwrap()
    }

    #[test]
    fn entries_parse_and_print_as_written() {
        for entry in [
            "api.example.com:443",
            "*.example.org:8443",
            "https://api.example.com",
            "http://example.com:8080",
            "127.0.0.1:6379",
            "[::1]:80",
        ] {
            assert_eq!(rule(entry).to_string(), entry);
        }
        assert_eq!(rule("https://api.example.com").port, 443);
        assert_eq!(
            rule("HTTPS://API.example.com/").to_string(),
            "https://api.example.com"
        );
    }

    #[test]
    fn bad_entries_are_refused_in_words() {
        for (entry, words) in [
            ("example.com", "names no port"),
            ("example.com:0", "port"),
            ("example.com:99999", "port"),
            ("ftp://example.com", "scheme"),
            ("https://example.com/path", "path"),
            ("exa mple.com:80", "letters"),
            ("*:80", "letters"),
            ("a.*.com:80", "letters"),
            ("user@example.com:80", "path"),
        ] {
            let error = ConnectRule::parse(entry).unwrap_err().to_string();
            assert!(error.contains(words), "{entry}: {error}");
        }
        assert!(ListenRule::parse("0.0.0.0").is_err());
        assert!(ListenRule::parse("*.a.com:80").is_err());
    }

    #[test]
    fn hosts_match_exactly_or_below_a_wildcard() {
        assert!(rule("api.example.com:443").matches(None, &host("API.example.com"), 443));
        assert!(!rule("api.example.com:443").matches(None, &host("api.example.com"), 444));
        assert!(!rule("api.example.com:443").matches(None, &host("evil-api.example.com"), 443));
        let wild = rule("*.example.org:8443");
        assert!(wild.matches(None, &host("a.example.org"), 8443));
        assert!(wild.matches(None, &host("a.b.example.org"), 8443));
        assert!(!wild.matches(None, &host("example.org"), 8443));
        assert!(!wild.matches(None, &host("badexample.org"), 8443));
        let https = rule("https://api.example.com");
        assert!(https.matches(Some(Scheme::Https), &host("api.example.com"), 443));
        assert!(!https.matches(Some(Scheme::Http), &host("api.example.com"), 443));
        assert!(
            !https.matches(None, &host("api.example.com"), 443),
            "no raw TCP"
        );
        assert!(rule("127.0.0.1:80").matches(None, &host("::ffff:127.0.0.1"), 80));
        assert!(!rule("127.0.0.1:80").matches(None, &host("localhost"), 80));
    }

    #[test]
    fn special_addresses_need_an_entry_naming_them() {
        let list = Allowlist::parse(
            &["api.example.com:443", "127.0.0.1:6379", "localhost:8080"],
            &[],
        )
        .unwrap();
        let api = rule("api.example.com:443");
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(list.reaches(&api, addr("93.184.216.34:443")));
        for private in [
            "127.0.0.1:443",
            "10.0.0.1:443",
            "192.168.1.1:443",
            "172.16.0.1:443",
            "169.254.169.254:443",
            "0.0.0.0:443",
            "100.64.0.1:443",
            "[::1]:443",
            "[fd00::1]:443",
            "[fe80::1]:443",
            "[::ffff:10.0.0.1]:443",
            "[::ffff:127.0.0.1]:443",
        ] {
            assert!(!list.reaches(&api, addr(private)), "{private}");
        }
        // An entry naming the address and port lets it be reached, from
        // any name; another port of it is still closed.
        assert!(list.reaches(&api, addr("127.0.0.1:6379")));
        assert!(!list.reaches(&rule("127.0.0.1:6379"), addr("127.0.0.1:6380")));
        let localhost = rule("localhost:8080");
        assert!(list.reaches(&localhost, addr("127.0.0.1:8080")));
        assert!(list.reaches(&localhost, addr("[::1]:8080")));
        assert!(!list.reaches(&localhost, addr("10.0.0.1:8080")));
    }
}
