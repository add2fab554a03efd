//! Route policy: given a route, the normalised path and who is asking, decide — as a pure
//! function — whether the request goes through, needs a sign-in, or is refused.

use crate::config::{Auth, Route};
use crate::http::path;

/// Who is asking, as far as policy cares.
pub trait Principal {
    fn username(&self) -> &str;
    fn groups(&self) -> &[String];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No authentication needed: a public route or a public path.
    Public,
    /// Signed in and allowed.
    Allow,
    /// Not signed in.
    Login,
    /// Signed in, not allowed.
    Deny,
}

/// True when the route lets `path` through without authentication. Only the normalised path
/// counts: query and fragment never do (security.md: skip-auth matched on more than the path).
pub fn is_public(route: &Route, normalised_path: &str) -> bool {
    route.auth == Auth::Public
        || route
            .public_paths
            .iter()
            .any(|p| path::under(normalised_path, p))
}

pub fn decide<P: Principal>(route: &Route, normalised_path: &str, who: Option<&P>) -> Access {
    if is_public(route, normalised_path) {
        return Access::Public;
    }
    match who {
        None => Access::Login,
        Some(p) if allowed(route, p) => Access::Allow,
        Some(_) => Access::Deny,
    }
}

/// `allow_users` and `allow_groups`: any match allows; both empty allow any signed-in user.
pub fn allowed<P: Principal>(route: &Route, p: &P) -> bool {
    if route.allow_users.is_empty() && route.allow_groups.is_empty() {
        return true;
    }
    route.allow_users.iter().any(|u| u == p.username())
        || route.allow_groups.iter().any(|g| p.groups().contains(g))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    struct Who(&'static str, Vec<String>);
    impl Principal for Who {
        fn username(&self) -> &str {
            self.0
        }
        fn groups(&self) -> &[String] {
            &self.1
        }
    }

    fn route(extra: &str) -> Route {
        let cfg = config::from_str(&format!(
            "[server]\nlisten=[\"127.0.0.1:1\"]\npublic_url=\"http://a\"\n[tokens]\ncreate_key_if_missing=true\nsigning_key_file=\"/x\"\n[[routes]]\nupstreams=[\"127.0.0.1:2\"]\n{extra}"
        ))
        .unwrap();
        cfg.routes.into_iter().next().unwrap()
    }

    #[test]
    fn matrix() {
        let alice = Who("alice", vec!["staff".into()]);
        let bob = Who("bob", vec!["guests".into()]);
        let open = route("");
        assert_eq!(decide(&open, "/", None::<&Who>), Access::Login);
        assert_eq!(decide(&open, "/", Some(&bob)), Access::Allow);
        let staff = route("allow_groups = [\"staff\"]\nallow_users = [\"carol\"]\npublic_paths = [\"/static/\", \"/healthz\"]");
        assert_eq!(decide(&staff, "/", Some(&alice)), Access::Allow);
        assert_eq!(decide(&staff, "/", Some(&bob)), Access::Deny);
        assert_eq!(
            decide(&staff, "/static/app.js", None::<&Who>),
            Access::Public
        );
        assert_eq!(decide(&staff, "/healthz", None::<&Who>), Access::Public);
        assert_eq!(decide(&staff, "/healthzx", None::<&Who>), Access::Login);
        assert_eq!(decide(&staff, "/static", None::<&Who>), Access::Login);
        let public = route("auth = \"public\"");
        assert_eq!(decide(&public, "/admin", None::<&Who>), Access::Public);
    }
}
