//! `[[routes.rules]]`: the first rule whose request conditions (paths, methods, networks,
//! query) all hold decides; its subject conditions and policy then say who passes and how.
//! Matching allocates nothing: the patterns were compiled when the configuration was read.

use crate::config::{Route, Rule};

use super::Request;

/// Why a rule did not match, for the dry run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    Path,
    Method,
    Network,
    Query,
}

impl Miss {
    pub fn as_str(self) -> &'static str {
        match self {
            Miss::Path => "path",
            Miss::Method => "method",
            Miss::Network => "network",
            Miss::Query => "query",
        }
    }
}

/// The first condition of `rule` that `req` fails, or `None` when all hold.
pub fn miss(rule: &Rule, req: &Request<'_>) -> Option<Miss> {
    if !rule.paths.is_empty() && !rule.paths.iter().any(|p| p.is_match(req.path.as_bytes())) {
        return Some(Miss::Path);
    }
    if !rule.methods.is_empty() && !rule.methods.iter().any(|m| m.as_str() == req.method) {
        return Some(Miss::Method);
    }
    if !rule.networks.is_empty() {
        let inside = req
            .client_ip
            .is_some_and(|ip| rule.networks.iter().any(|n| n.contains(&ip)));
        if !inside {
            return Some(Miss::Network);
        }
    }
    if !rule
        .query
        .iter()
        .all(|(k, v)| has_param(req.query, k, v.as_deref()))
    {
        return Some(Miss::Query);
    }
    None
}

/// The rule that decides `req` on `route`, if any.
pub fn first<'r>(route: &'r Route, req: &Request<'_>) -> Option<&'r Rule> {
    route.rules.iter().find(|r| miss(r, req).is_none())
}

/// `key` (or `key=value`) among the `&`-separated pairs of `query`, compared as sent.
fn has_param(query: Option<&str>, key: &str, value: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|pair| match (pair.split_once('='), value) {
                (Some((k, v)), Some(want)) => k == key && v == want,
                (Some((k, _)), None) => k == key,
                (None, None) => pair == key,
                (None, Some(_)) => false,
            })
    })
}

/// Who passes a rule once signed in: anyone when it names nobody.
pub fn subject_allows<P: super::Principal>(rule: &Rule, who: &P) -> bool {
    if rule.users.is_empty() && rule.groups.is_empty() && rule.clients.is_empty() {
        return true;
    }
    rule.users.iter().any(|u| u == who.username())
        || rule.groups.iter().any(|g| who.groups().contains(g))
        || who
            .client_id()
            .is_some_and(|c| rule.clients.iter().any(|x| x == c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn route(rules: &str) -> config::Route {
        let cfg = config::from_str(&format!(
            "[server]\nlisten=[\"127.0.0.1:1\"]\npublic_url=\"http://a\"\n[tokens]\n\
             create_key_if_missing=true\nsigning_key_file=\"/x\"\n\
             [networks]\noffice = [\"192.0.2.0/24\"]\n\
             [[routes]]\nupstreams=[\"127.0.0.1:2\"]\n{rules}"
        ))
        .unwrap();
        cfg.routes.into_iter().next().unwrap()
    }

    fn req<'a>(method: &'a str, path: &'a str, ip: &str, query: Option<&'a str>) -> Request<'a> {
        Request {
            path,
            method,
            client_ip: ip.parse().ok(),
            query,
        }
    }

    #[test]
    fn one_star_is_one_segment_two_are_any_depth_and_a_caret_is_a_regex() {
        let r = route(
            "[[routes.rules]]\npaths = [\"/api/*\"]\npolicy = \"deny\"\n\
             [[routes.rules]]\npaths = [\"/deep/**\"]\npolicy = \"deny\"\n\
             [[routes.rules]]\npaths = [\"^/v[0-9]+/\"]\npolicy = \"deny\"\n",
        );
        let index = |path| first(&r, &req("GET", path, "10.0.0.1", None)).map(|x| x.index);
        assert_eq!(index("/api/x"), Some(0));
        assert_eq!(index("/api/x/y"), None);
        assert_eq!(index("/deep/a/b/c"), Some(1));
        assert_eq!(index("/v2/anything"), Some(2));
        assert_eq!(index("/other"), None);
    }

    #[test]
    fn every_condition_must_hold_and_each_miss_is_named() {
        let r = route(
            "[[routes.rules]]\npaths = [\"/hooks/*\"]\nmethods = [\"POST\"]\n\
             networks = [\"office\", \"198.51.100.7\"]\nquery = [\"token\", \"v=2\"]\npolicy = \"bypass\"\n",
        );
        let rule = &r.rules[0];
        let ok = req("POST", "/hooks/a", "192.0.2.9", Some("v=2&token=x"));
        assert_eq!(miss(rule, &ok), None);
        let ci = req("POST", "/hooks/a", "198.51.100.7", Some("token&v=2"));
        assert_eq!(miss(rule, &ci), None);
        assert_eq!(
            miss(rule, &req("POST", "/other", "192.0.2.9", None)),
            Some(Miss::Path)
        );
        assert_eq!(
            miss(rule, &req("GET", "/hooks/a", "192.0.2.9", None)),
            Some(Miss::Method)
        );
        assert_eq!(
            miss(rule, &req("POST", "/hooks/a", "10.0.0.1", None)),
            Some(Miss::Network)
        );
        let old = req("POST", "/hooks/a", "192.0.2.9", Some("v=1&token=x"));
        assert_eq!(miss(rule, &old), Some(Miss::Query));
    }
}
