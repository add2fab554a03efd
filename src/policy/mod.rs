//! Route policy: the one access decision. Given a route, the facts of the request and who is
//! asking, decide — as a pure function — whether the request goes through, needs a sign-in or
//! a second factor, or is refused. The proxy and forward-auth both ask here and only map the
//! answer to HTTP; a new condition is added here once.

pub mod rules;

use std::net::IpAddr;

use crate::config::{Auth, Login, Route, Rule, RulePolicy, SecondFactor};
use crate::http::path;

/// How a caller proved who they are. It decides what a missing second factor becomes: a
/// session can step up, a token or an app password cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session,
    Bearer,
    AppPassword,
}

/// Who is asking, as far as policy cares.
pub trait Principal {
    fn username(&self) -> &str;
    fn groups(&self) -> &[String];
    /// A second factor was used (`amr` has `mfa`).
    fn second_factor(&self) -> bool;
    fn credential(&self) -> Credential;
    /// The client a bearer caller's token was issued to, for rules that name `clients`.
    fn client_id(&self) -> Option<&str> {
        None
    }
}

/// The request being decided on, as facts computed once (normalised path, method, the client's
/// address after trusted proxies, the query as sent).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub path: &'a str,
    pub method: &'a str,
    pub client_ip: Option<IpAddr>,
    pub query: Option<&'a str>,
}

/// What the route requires beyond the route itself: whether a second factor is needed there
/// (the route's `require_second_factor` or `[login] second_factor = "required"`).
#[derive(Debug, Clone, Copy)]
pub struct Requires {
    pub second_factor: bool,
    /// `[login] second_factor = "required"`: a second factor everywhere, rules included.
    pub everywhere: bool,
}

impl Requires {
    /// What `route` requires under `login`.
    pub fn of(route: &Route, login: &Login) -> Requires {
        let everywhere = login.second_factor == SecondFactor::Required;
        Requires {
            second_factor: route.require_second_factor || everywhere,
            everywhere,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No authentication needed: a public route or a public path.
    Public,
    /// Signed in and allowed.
    Allow,
    /// Not signed in; the sign-in must include the second factor when `second_factor`.
    Login { second_factor: bool },
    /// Signed in and allowed, but without the second factor the route needs.
    StepUp,
    /// Signed in, not allowed.
    Deny,
}

/// True when the route lets the request through without authentication: a matching `bypass`
/// rule, or with no rule matching, `auth = "public"` or a `public_paths` entry. Only the
/// normalised path counts: query and fragment never do (hardening: skip-auth matched on more
/// than the path).
///
/// `rule` is the matching rule (`rules::first`), found once by a caller that goes on to
/// `decide_by`.
pub fn is_public_by(route: &Route, req: &Request<'_>, rule: Option<&Rule>) -> bool {
    match rule {
        Some(rule) => rule.policy == RulePolicy::Bypass,
        None => {
            route.auth == Auth::Public
                || route.public_paths.iter().any(|p| path::under(req.path, p))
        }
    }
}

/// The access decision. Refusal comes before a step-up: a user who may not use the route is
/// not asked for a second factor first.
pub fn decide<P: Principal>(
    route: &Route,
    req: &Request<'_>,
    who: Option<&P>,
    requires: Requires,
) -> Decision {
    decide_by(route, req, rules::first(route, req), who, requires)
}

/// `decide` with the matching rule already found (`rules::first`).
pub fn decide_by<P: Principal>(
    route: &Route,
    req: &Request<'_>,
    rule: Option<&Rule>,
    who: Option<&P>,
    requires: Requires,
) -> Decision {
    if let Some(rule) = rule {
        return by_rule(route, rule, who, requires);
    }
    if is_public_by(route, req, None) {
        return Decision::Public;
    }
    let Some(who) = who else {
        return Decision::Login {
            second_factor: requires.second_factor,
        };
    };
    if !allowed(route, who) {
        return Decision::Deny;
    }
    if requires.second_factor && !counts_as_second_factor(route, who) {
        return Decision::StepUp;
    }
    Decision::Allow
}

/// The decision of the rule that matched: its policy, then its subject conditions.
fn by_rule<P: Principal>(
    route: &Route,
    rule: &Rule,
    who: Option<&P>,
    requires: Requires,
) -> Decision {
    let second_factor = match rule.policy {
        RulePolicy::Bypass => return Decision::Public,
        RulePolicy::Deny => return Decision::Deny,
        RulePolicy::OneFactor => requires.everywhere,
        RulePolicy::TwoFactor => true,
    };
    let Some(who) = who else {
        return Decision::Login { second_factor };
    };
    if !rules::subject_allows(rule, who) {
        return Decision::Deny;
    }
    if second_factor && !counts_as_second_factor(route, who) {
        return Decision::StepUp;
    }
    Decision::Allow
}

/// A second factor was used, or the caller used an app password on a route that takes one as
/// enough (`app_passwords_satisfy_second_factor`).
fn counts_as_second_factor<P: Principal>(route: &Route, who: &P) -> bool {
    who.second_factor()
        || (who.credential() == Credential::AppPassword
            && route.app_passwords_satisfy_second_factor)
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

    struct Who(&'static str, Vec<String>, bool, Credential);
    impl Principal for Who {
        fn username(&self) -> &str {
            self.0
        }
        fn groups(&self) -> &[String] {
            &self.1
        }
        fn second_factor(&self) -> bool {
            self.2
        }
        fn credential(&self) -> Credential {
            self.3
        }
    }

    fn route(extra: &str) -> Route {
        let cfg = config::from_str(&format!(
            "[server]\nlisten=[\"127.0.0.1:1\"]\npublic_url=\"http://a\"\n[tokens]\ncreate_key_if_missing=true\nsigning_key_file=\"/x\"\n[[routes]]\nupstreams=[\"127.0.0.1:2\"]\n{extra}"
        ))
        .unwrap();
        cfg.routes.into_iter().next().unwrap()
    }

    fn at(path: &str) -> Request<'_> {
        Request {
            path,
            method: "GET",
            client_ip: None,
            query: None,
        }
    }

    const ONE: Requires = Requires {
        second_factor: false,
        everywhere: false,
    };
    const TWO: Requires = Requires {
        second_factor: true,
        everywhere: false,
    };

    #[test]
    fn matrix() {
        let alice = Who("alice", vec!["staff".into()], false, Credential::Session);
        let bob = Who("bob", vec!["guests".into()], false, Credential::Session);
        let nobody = None::<&Who>;
        let open = route("");
        assert_eq!(
            decide(&open, &at("/"), nobody, ONE),
            Decision::Login {
                second_factor: false
            }
        );
        assert_eq!(decide(&open, &at("/"), Some(&bob), ONE), Decision::Allow);
        let staff = route("allow_groups = [\"staff\"]\nallow_users = [\"carol\"]\npublic_paths = [\"/static/\", \"/healthz\"]");
        assert_eq!(decide(&staff, &at("/"), Some(&alice), ONE), Decision::Allow);
        assert_eq!(decide(&staff, &at("/"), Some(&bob), ONE), Decision::Deny);
        assert_eq!(
            decide(&staff, &at("/static/app.js"), nobody, ONE),
            Decision::Public
        );
        assert_eq!(
            decide(&staff, &at("/healthz"), nobody, ONE),
            Decision::Public
        );
        assert!(matches!(
            decide(&staff, &at("/healthzx"), nobody, ONE),
            Decision::Login { .. }
        ));
        assert!(matches!(
            decide(&staff, &at("/static"), nobody, ONE),
            Decision::Login { .. }
        ));
        let public = route("auth = \"public\"");
        assert_eq!(
            decide(&public, &at("/admin"), nobody, TWO),
            Decision::Public
        );
    }

    #[test]
    fn second_factor_step_up_comes_after_refusal() {
        let open = route("allow_users = [\"alice\"]");
        let one = Who("alice", vec![], false, Credential::Session);
        let two = Who("alice", vec![], true, Credential::Session);
        let bob = Who("bob", vec![], false, Credential::Session);
        assert_eq!(
            decide(&open, &at("/"), None::<&Who>, TWO),
            Decision::Login {
                second_factor: true
            }
        );
        assert_eq!(decide(&open, &at("/"), Some(&one), TWO), Decision::StepUp);
        assert_eq!(decide(&open, &at("/"), Some(&two), TWO), Decision::Allow);
        assert_eq!(decide(&open, &at("/"), Some(&bob), TWO), Decision::Deny);
    }

    #[test]
    fn an_app_password_is_a_second_factor_only_where_the_route_says() {
        let app = Who("alice", vec![], false, Credential::AppPassword);
        let plain = route("");
        assert_eq!(decide(&plain, &at("/"), Some(&app), TWO), Decision::StepUp);
        let enough = route("app_passwords_satisfy_second_factor = true");
        assert_eq!(decide(&enough, &at("/"), Some(&app), TWO), Decision::Allow);
        let token = Who("alice", vec![], false, Credential::Bearer);
        assert_eq!(
            decide(&enough, &at("/"), Some(&token), TWO),
            Decision::StepUp
        );
    }
}
