//! Route matching and the classification of a request, done once into the context.
//!
//! A route with a host beats a route without one; then the longest `path_prefix` wins.
//! Matching uses the canonical host and the normalised path only.

use std::net::IpAddr;

use pingora::http::RequestHeader;

use crate::config::{Route, Server};
use crate::http::host::Host;
use crate::http::path;
use crate::http::GatewayError;

pub struct RouteTable {
    /// Indexes into the config's routes, most specific first.
    order: Vec<usize>,
}

impl RouteTable {
    pub fn new(routes: &[Route]) -> RouteTable {
        let mut order: Vec<usize> = (0..routes.len()).collect();
        order.sort_by_key(|&i| {
            routes.get(i).map(|r| {
                (
                    r.host.is_none(),
                    r.host.as_ref().is_some_and(|h| h.port.is_none()),
                    std::cmp::Reverse(r.path_prefix.len()),
                )
            })
        });
        RouteTable { order }
    }

    /// The index of the route serving `host` + `path`, if any.
    pub fn find(&self, routes: &[Route], host: &Host, path: &str) -> Option<usize> {
        self.order
            .iter()
            .copied()
            .find(|&i| routes.get(i).is_some_and(|r| matches(r, host, path)))
    }
}

fn matches(route: &Route, host: &Host, req_path: &str) -> bool {
    let host_ok = match &route.host {
        None => true,
        Some(h) => h.name == host.name && (h.port.is_none() || h.port == host.port),
    };
    host_ok && path::under(req_path, &route.path_prefix)
}

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
    server: &Server,
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
    let trusted = peer.is_some_and(|ip| server.is_trusted(ip));
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
    Ok(Facts {
        host,
        path,
        query,
        client_ip: peer,
        trusted,
        scheme,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn cfg() -> config::Config {
        config::from_str(
            r#"
            [server]
            listen = ["127.0.0.1:1"]
            public_url = "http://auth.test"
            [tokens]
            create_key_if_missing = true
            [[routes]]
            upstreams = ["127.0.0.1:2"]
            [[routes]]
            host = "App.Test"
            upstreams = ["127.0.0.1:3"]
            [[routes]]
            host = "app.test"
            path_prefix = "/api"
            upstreams = ["127.0.0.1:4"]
            [[routes]]
            host = "app.test:8443"
            upstreams = ["127.0.0.1:5"]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn host_and_longest_prefix() {
        let c = cfg();
        let t = RouteTable::new(&c.routes);
        let h = |s| Host::parse(s).unwrap();
        assert_eq!(t.find(&c.routes, &h("app.test"), "/api/x"), Some(2));
        assert_eq!(t.find(&c.routes, &h("APP.test."), "/apix"), Some(1));
        assert_eq!(t.find(&c.routes, &h("app.test:8443"), "/"), Some(3));
        assert_eq!(t.find(&c.routes, &h("app.test:8080"), "/"), Some(1));
        assert_eq!(t.find(&c.routes, &h("other.test"), "/"), Some(0));
    }
}
