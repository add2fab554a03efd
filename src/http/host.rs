//! Canonical host names: one spelling for route matching, cookies and redirect URIs.
//!
//! Lowercase, no trailing dot, port split off. Anything that is not a plain DNS name, IPv4
//! address or bracketed IPv6 address is refused rather than guessed at.

/// A host as routes compare it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Host {
    /// Lowercase name without trailing dot; IPv6 keeps its brackets.
    pub name: String,
    pub port: Option<u16>,
}

impl Host {
    /// Parses a `Host` header value or a configured host (`name[:port]`).
    pub fn parse(raw: &str) -> Option<Host> {
        let raw = raw.trim();
        let (name, port) = if let Some(rest) = raw.strip_prefix('[') {
            let (addr, after) = rest.split_once(']')?;
            addr.parse::<std::net::Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                p => Some(parse_port(p.strip_prefix(':')?)?),
            };
            (format!("[{}]", addr.to_ascii_lowercase()), port)
        } else {
            let (name, port) = match raw.rsplit_once(':') {
                Some((n, p)) => (n, Some(parse_port(p)?)),
                None => (raw, None),
            };
            let name = name.strip_suffix('.').unwrap_or(name);
            if !valid_dns_name(name) {
                return None;
            }
            (name.to_ascii_lowercase(), port)
        };
        Some(Host { name, port })
    }

    /// The host of an absolute URL, its explicit port kept (`url` has already dropped a
    /// default one).
    pub fn from_url(url: &url::Url) -> Option<Host> {
        let host = url.host_str()?;
        Host::parse(&match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        })
    }

    /// `localhost`, `*.localhost`, 127.0.0.0/8 or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        self.name == "localhost"
            || self.name.ends_with(".localhost")
            || self.name == "[::1]"
            || self
                .name
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// `raw` (a `Host` header value) is exactly `authority()`, so it can be passed on as it is.
    pub fn written_as(&self, raw: &[u8]) -> bool {
        let Some(rest) = raw.strip_prefix(self.name.as_bytes()) else {
            return false;
        };
        match (self.port, rest) {
            (None, []) => true,
            (Some(port), [b':', digits @ ..]) => {
                digits.first() != Some(&b'0')
                    && std::str::from_utf8(digits)
                        .ok()
                        .and_then(|d| d.parse().ok())
                        == Some(port)
            }
            _ => false,
        }
    }

    /// `name[:port]` as it appears in a URL authority.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.name),
            None => self.name.clone(),
        }
    }
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

fn valid_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_as_only_the_exact_authority() {
        let h = Host::parse("App.Test:8080").unwrap();
        assert!(h.written_as(b"app.test:8080"));
        for raw in [
            &b"App.Test:8080"[..],
            b"app.test",
            b"app.test:08080",
            b"app.test:80",
            b"app.test:8080x",
        ] {
            assert!(!h.written_as(raw), "{}", String::from_utf8_lossy(raw));
        }
        let plain = Host::parse("app.test").unwrap();
        assert!(plain.written_as(b"app.test"));
        assert!(!plain.written_as(b"app.test."));
    }

    #[test]
    fn lowercases_and_drops_trailing_dot() {
        let h = Host::parse("App.Example.COM.:8443").unwrap();
        assert_eq!(h.name, "app.example.com");
        assert_eq!(h.port, Some(8443));
    }

    #[test]
    fn ipv6() {
        let h = Host::parse("[::1]:80").unwrap();
        assert_eq!(h.name, "[::1]");
        assert_eq!(h.port, Some(80));
        assert!(Host::parse("[zz]").is_none());
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "a..b",
            "evil.com/x",
            "a@b",
            "x:",
            "x:99999",
            "x:1a",
            "a b",
            ".",
            "x:-1",
        ] {
            assert!(Host::parse(bad).is_none(), "{bad}");
        }
    }
}
