//! Route matching, a pure rule: a route with a host beats a route without one; then the
//! longest `path_prefix` wins. Matching uses the canonical host and the normalised path only.

use crate::config::Route;
use crate::http::host::Host;
use crate::http::path;

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

/// Whether `route` serves `host` + `req_path`.
pub fn matches(route: &Route, host: &Host, req_path: &str) -> bool {
    let host_ok = match &route.host {
        None => true,
        Some(h) => h.name == host.name && (h.port.is_none() || h.port == host.port),
    };
    host_ok && path::under(req_path, &route.path_prefix)
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
