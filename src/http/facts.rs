//! The facts about a request that every decision uses, computed once: canonical host,
//! normalised path, scheme, and the client's address (from trusted `X-Forwarded-For` only).

use std::net::IpAddr;

use ipnet::IpNet;
use pingora::http::RequestHeader;

use super::host::Host;
use super::path;
use super::GatewayError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// What authgate needs to know about a request, computed once.
#[derive(Debug, Clone)]
pub struct Facts {
    pub host: Host,
    /// The normalised path: policy decides on it and it is what the upstream receives.
    pub path: String,
    pub query: Option<String>,
    /// The address the connection came from.
    pub peer: Option<IpAddr>,
    /// The client's address: the peer, or behind trusted proxies the nearest untrusted address
    /// of `X-Forwarded-For`. Lockout, rate limits and the access log key on it.
    pub client_ip: Option<IpAddr>,
    /// The peer is in `trusted_proxies`: its `X-Forwarded-*` are believed.
    pub trusted: bool,
    /// The scheme the browser used (from the listener, or `X-Forwarded-Proto` of a trusted peer).
    pub scheme: Scheme,
}

pub const MAX_QUERY: usize = 8 * 1024;

/// Classifies a request. Errors are the request's fault (400/414).
pub fn classify(
    req: &RequestHeader,
    peer: Option<IpAddr>,
    tls: bool,
    trusted_proxies: &[IpNet],
) -> Result<Facts, GatewayError> {
    let raw_host = req
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri.authority().map(|a| a.as_str()))
        .ok_or_else(|| GatewayError::BadRequest("the request has no Host".into()))?;
    let host = Host::parse(raw_host).ok_or_else(|| {
        GatewayError::BadRequest("the Host header is not a valid host name".into())
    })?;
    let query = req.uri.query().map(str::to_string);
    if query.as_ref().is_some_and(|q| q.len() > MAX_QUERY) {
        return Err(GatewayError::UriTooLong);
    }
    let path =
        path::normalize(req.uri.path()).map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    let is_trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    let trusted = peer.is_some_and(|ip| is_trusted(&ip));
    let forwarded_https = trusted
        && req
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let scheme = if tls || forwarded_https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let client_ip = match trusted {
        true => forwarded_client(req, &is_trusted)?.or(peer),
        false => peer,
    };
    Ok(Facts {
        host,
        path,
        query,
        peer,
        client_ip,
        trusted,
        scheme,
    })
}

/// The nearest valid address in `X-Forwarded-For` that is not a trusted proxy, read from the
/// right (each proxy appends the address it saw; only the trusted ones' entries can be
/// believed). Entries that are not addresses are skipped, never a reason to fall back to the
/// peer: a client's garbage must not make the proxy's own address the client's, sharing its
/// lockout with everyone behind it. When every valid entry is a trusted address (a client
/// inside the trusted network), the first one is the client. `None` without the header; a
/// header with no valid entry at all is refused (400).
fn forwarded_client(
    req: &RequestHeader,
    is_trusted: &impl Fn(&IpAddr) -> bool,
) -> Result<Option<IpAddr>, GatewayError> {
    let values = req.headers.get_all("x-forwarded-for");
    if values.iter().next().is_none() {
        return Ok(None);
    }
    // Read in place, from either end: nothing is copied per request.
    let valid = || {
        values
            .iter()
            .map(|v| v.to_str().unwrap_or(""))
            .flat_map(|v| v.split(','))
            .filter_map(|a| parse_entry(a.trim()))
    };
    valid()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or_else(|| valid().next())
        .map(Some)
        .ok_or_else(|| GatewayError::BadRequest("X-Forwarded-For names no address".into()))
}

/// An `X-Forwarded-For` entry: an address, an IPv6 one possibly in brackets.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let bare = entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .unwrap_or(entry);
    bare.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(peer: &str, xff: Option<&str>) -> Facts {
        try_facts(peer, xff).unwrap()
    }

    fn try_facts(peer: &str, xff: Option<&str>) -> Result<Facts, GatewayError> {
        let mut req = RequestHeader::build("GET", b"/a/../b", None).unwrap();
        req.insert_header("Host", "App.Test.").unwrap();
        if let Some(x) = xff {
            req.insert_header("X-Forwarded-For", x).unwrap();
        }
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        classify(&req, Some(peer.parse().unwrap()), false, &trusted)
    }

    #[test]
    fn client_address_comes_from_trusted_forwarded_for_only() {
        let f = facts("10.0.0.1", Some("198.51.100.7, 10.0.0.2"));
        assert_eq!(f.client_ip, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(f.peer, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(f.path, "/b");
        assert_eq!(f.host.name, "app.test");
        let spoofed = facts("203.0.113.9", Some("198.51.100.7"));
        assert_eq!(spoofed.client_ip, Some("203.0.113.9".parse().unwrap()));
        let none = facts("10.0.0.1", None);
        assert_eq!(none.client_ip, Some("10.0.0.1".parse().unwrap()));
    }

    /// hardening: lockout key fallback.
    #[test]
    fn malformed_forwarded_for_never_makes_the_proxy_the_client() {
        let skipped = facts("10.0.0.1", Some("198.51.100.7, not-an-ip, 10.0.0.2"));
        assert_eq!(skipped.client_ip, Some("198.51.100.7".parse().unwrap()));
        let v6 = facts("10.0.0.1", Some("[2001:db8::1], garbage"));
        assert_eq!(v6.client_ip, Some("2001:db8::1".parse().unwrap()));
        let inside = facts("10.0.0.1", Some("10.0.0.7, junk, 10.0.0.2"));
        assert_eq!(inside.client_ip, Some("10.0.0.7".parse().unwrap()));
        for refused in ["not-an-ip", "", "unknown, junk"] {
            assert!(
                matches!(
                    try_facts("10.0.0.1", Some(refused)),
                    Err(GatewayError::BadRequest(_))
                ),
                "{refused:?}"
            );
        }
    }
}
