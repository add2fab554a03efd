//! The identity sent upstream: strip whatever the client claimed, then add ours — the
//! configured headers and a short-lived signed assertion, prepared once per session and target.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use moka::sync::Cache;
use pingora::http::RequestHeader;
use serde::Serialize;

use crate::config::{IdentityHeaders, UpstreamBasic};
use crate::directory::UserInfo;
use crate::http::host::Host;
use crate::keys::{KeyError, KeySet};
use crate::policy::{Credential, Principal};

/// How long an assertion is valid, and how long before its end a new one is signed.
pub const ASSERTION_TTL: u64 = 300;
const ASSERTION_RENEW_BEFORE: u64 = 60;

/// A signed-in user, as the directory knows them.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: Arc<UserInfo>,
    /// What the assertion cache is keyed by: the session's store key or the token's `jti`.
    pub cache_key: String,
    /// How the user authenticated (RFC 8176).
    pub amr: Vec<String>,
    /// What the request carried to prove it.
    pub credential: Credential,
    /// The client a bearer token was issued to.
    pub client: Option<String>,
}

impl Identity {
    pub fn of(
        user: Arc<UserInfo>,
        cache_key: String,
        amr: Vec<String>,
        credential: Credential,
    ) -> Identity {
        Identity {
            user,
            cache_key,
            amr,
            credential,
            client: None,
        }
    }

    /// The same identity, carried by a token issued to `client`.
    pub fn for_client(mut self, client: &str) -> Identity {
        self.client = Some(client.to_string());
        self
    }

    /// A second factor was used.
    pub fn mfa(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }

    /// Authenticated by an app password.
    pub fn via_app_password(&self) -> bool {
        self.credential == Credential::AppPassword
    }
}

impl Principal for Identity {
    fn username(&self) -> &str {
        &self.user.username
    }
    fn groups(&self) -> &[String] {
        &self.user.groups
    }
    fn second_factor(&self) -> bool {
        self.mfa()
    }
    fn credential(&self) -> Credential {
        self.credential
    }
    fn client_id(&self) -> Option<&str> {
        self.client.as_deref()
    }
}

/// `X-Forwarded-User` and `x_forwarded_user` are the same header to a CGI-style upstream:
/// compare names ignoring case and `-`/`_`.
fn squash(name: &str) -> String {
    name.bytes()
        .filter(|b| *b != b'-' && *b != b'_')
        .map(|b| char::from(b.to_ascii_lowercase()))
        .collect()
}

/// Header names that may only come from authgate, squashed for comparison.
pub struct Reserved(Vec<String>);

impl Reserved {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a IdentityHeaders>) -> Reserved {
        let mut all: Vec<String> = Vec::new();
        let mut add = |h: &IdentityHeaders| {
            for n in [
                &h.user,
                &h.email,
                &h.groups,
                &h.preferred_username,
                &h.assertion,
            ] {
                let s = squash(n);
                if !all.contains(&s) {
                    all.push(s);
                }
            }
        };
        add(&IdentityHeaders::default());
        names.into_iter().for_each(add);
        Reserved(all)
    }

    /// Runs on every header of every request: compares without allocating.
    pub fn contains(&self, name: &str) -> bool {
        let squashed = || {
            name.bytes()
                .filter(|b| *b != b'-' && *b != b'_')
                .map(|b| b.to_ascii_lowercase())
        };
        self.0.iter().any(|r| r.bytes().eq(squashed()))
    }
}

/// Removes every client-sent identity header, and every header a client named in `Connection`
/// (hop-by-hop, RFC 9110 §7.6.1) so that it cannot make a proxy drop ours.
pub fn strip(req: &mut RequestHeader, reserved: &Reserved) {
    let connection_named: Vec<String> = req
        .headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty() && !matches!(t.as_str(), "keep-alive" | "close" | "upgrade"))
        .collect();
    let doomed: Vec<http::HeaderName> = req
        .headers
        .keys()
        .filter(|k| {
            reserved.contains(k.as_str()) || connection_named.iter().any(|c| c == k.as_str())
        })
        .cloned()
        .collect();
    for name in doomed {
        req.remove_header(&name);
    }
    if !connection_named.is_empty() {
        let kept: Vec<String> = req
            .headers
            .get_all(http::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_string())
            .filter(|t| {
                matches!(
                    t.to_ascii_lowercase().as_str(),
                    "keep-alive" | "close" | "upgrade"
                )
            })
            .collect();
        req.remove_header(&http::header::CONNECTION);
        if !kept.is_empty() {
            let _ = req.insert_header(http::header::CONNECTION, kept.join(", "));
        }
    }
}

/// Where an identity is sent: a route (or forward-auth without one), its header names, the
/// assertion's audience and the route's Basic credentials for the upstream.
pub struct Target<'a> {
    pub route: Option<usize>,
    pub names: &'a IdentityHeaders,
    pub audience: &'a Host,
    pub basic: Option<&'a UpstreamBasic>,
}

/// The headers that carry one identity to one target, built once: names parsed, values checked,
/// the assertion signed. Every request of the session reuses them until the assertion is due for
/// renewal, so the hot path copies reference-counted bytes and formats nothing.
pub struct Prepared {
    /// The session or token's cache key.
    owner: String,
    route: Option<usize>,
    audience: Host,
    /// The proxy's set carries the route's Basic credentials; forward-auth's never does.
    basic: bool,
    /// What the headers say: a directory change or a step-up makes them stale at once.
    user: Arc<UserInfo>,
    amr: Vec<String>,
    exp: u64,
    headers: Box<[(Bytes, HeaderValue)]>,
}

impl Prepared {
    /// Header names (as configured, case kept) and values.
    pub fn headers(&self) -> impl Iterator<Item = (&Bytes, &HeaderValue)> {
        self.headers.iter().map(|(n, v)| (n, v))
    }

    /// The same, as text (forward-auth answers with them).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            // Built from strings: UTF-8, which `to_str` would refuse beyond ASCII.
            .filter_map(|(n, v)| {
                Some((
                    std::str::from_utf8(n).ok()?,
                    std::str::from_utf8(v.as_bytes()).ok()?,
                ))
            })
    }

    /// Made for this identity, as the directory and the session see it now, at this target.
    fn serves(&self, who: &Identity, target: &Target<'_>) -> bool {
        self.owner == who.cache_key
            && self.route == target.route
            && self.audience == *target.audience
            && self.basic == target.basic.is_some()
            && (Arc::ptr_eq(&self.user, &who.user) || self.user == who.user)
            && self.amr == who.amr
    }

    fn build(
        target: &Target<'_>,
        who: &Identity,
        assertion: String,
        exp: u64,
    ) -> Result<Prepared, IdentityError> {
        let u = &who.user;
        let names = target.names;
        let mut pairs = vec![
            (&names.user, u.username.clone()),
            (&names.preferred_username, u.username.clone()),
            (&names.groups, u.groups.join(",")),
            (&names.assertion, assertion),
        ];
        if let Some(e) = &u.email {
            pairs.push((&names.email, e.clone()));
        }
        let authorization = target
            .basic
            .map(|b| b.header(&u.username, u.email.as_deref()));
        let mut headers = Vec::with_capacity(pairs.len() + 1);
        for (name, value) in pairs {
            let value =
                HeaderValue::try_from(value).map_err(|_| IdentityError::Value(name.clone()))?;
            headers.push((Bytes::from(name.clone()), value));
        }
        if let Some(value) = authorization {
            let value = HeaderValue::try_from(value)
                .map_err(|_| IdentityError::Value("Authorization".into()))?;
            headers.push((Bytes::from_static(b"Authorization"), value));
        }
        Ok(Prepared {
            owner: who.cache_key.clone(),
            route: target.route,
            audience: target.audience.clone(),
            basic: target.basic.is_some(),
            user: Arc::clone(&who.user),
            amr: who.amr.clone(),
            exp,
            headers: headers.into_boxed_slice(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("signing an assertion failed: {0}")]
    Signing(#[from] KeyError),
    #[error("the user's {0} cannot be sent in a header")]
    Value(String),
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    groups: &'a [String],
    iat: u64,
    exp: u64,
    jti: String,
    #[serde(flatten)]
    authentication: serde_json::Map<String, serde_json::Value>,
}

/// Prepared identity headers, one per (session or token, target), each with an assertion
/// reused until shortly before it expires.
pub struct Identities {
    /// Keyed by a hash of the owner, which the entry keeps and a hit compares, so that a lookup
    /// allocates nothing and a hash collision is a miss, never someone else's headers.
    cache: Cache<u64, Arc<Prepared>>,
}

impl Default for Identities {
    fn default() -> Self {
        Identities {
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(ASSERTION_TTL - ASSERTION_RENEW_BEFORE))
                .build(),
        }
    }
}

impl Identities {
    /// The headers for `who` at `target`, from the cache or freshly signed.
    pub fn get(
        &self,
        keys: &KeySet,
        issuer: &str,
        target: &Target<'_>,
        who: &Identity,
        now: u64,
    ) -> Result<Arc<Prepared>, IdentityError> {
        let slot = {
            let mut h = std::hash::DefaultHasher::new();
            let basic = target.basic.is_some();
            (&who.cache_key, target.route, target.audience, basic).hash(&mut h);
            h.finish()
        };
        if let Some(hit) = self.cache.get(&slot) {
            if hit.serves(who, target) && hit.exp > now + ASSERTION_RENEW_BEFORE {
                return Ok(hit);
            }
        }
        let exp = now + ASSERTION_TTL;
        let audience = target.audience.authority();
        let claims = AssertionClaims {
            iss: issuer,
            aud: &audience,
            sub: &who.user.username,
            email: who.user.email.as_deref(),
            name: who.user.name.as_deref(),
            groups: &who.user.groups,
            iat: now,
            exp,
            jti: crate::secret::new_id(),
            authentication: crate::oidc::tokens::authentication_claims(&who.amr),
        };
        let jwt = keys.sign(&claims, "JWT")?;
        let prepared = Arc::new(Prepared::build(target, who, jwt, exp)?);
        self.cache.insert(slot, Arc::clone(&prepared));
        Ok(prepared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_case_and_underscore_variants_and_connection_named_headers() {
        let reserved = Reserved::new([]);
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        for (k, v) in [
            ("X-Forwarded-User", "mallory"),
            ("x_forwarded_user", "mallory"),
            ("X-FORWARDED-EMAIL", "m@evil"),
            ("X-Forwarded_Groups", "admin"),
            ("x-authgate-assertion", "forged"),
            ("X-Custom", "keep"),
            ("Connection", "keep-alive, X-Custom"),
        ] {
            req.append_header(k, v).unwrap();
        }
        strip(&mut req, &reserved);
        let names: Vec<&str> = req.headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["connection"], "{names:?}");
        assert_eq!(req.headers["connection"], "keep-alive");
    }

    use crate::keys::{generate, Alg};

    fn alice(cache_key: &str) -> Identity {
        let user = UserInfo {
            source: crate::directory::Source::Local,
            email_verified: true,
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            name: None,
            groups: vec!["staff".into(), "ops".into()],
            disabled: false,
        };
        Identity::of(
            Arc::new(user),
            cache_key.into(),
            vec!["pwd".into()],
            Credential::Session,
        )
    }

    fn names(v: &Prepared) -> Vec<(&str, &str)> {
        v.pairs().collect()
    }

    #[test]
    fn prepared_once_per_identity_and_target_and_renewed_before_expiry() {
        let keys = KeySet::from_pem(&generate(Alg::ES256).unwrap()).unwrap();
        let cache = Identities::default();
        let host = Host::parse("app.test").unwrap();
        let defaults = IdentityHeaders::default();
        let target = |route| Target {
            route: Some(route),
            names: &defaults,
            audience: &host,
            basic: None,
        };
        let now = 1_700_000_000;
        let first = cache
            .get(&keys, "https://id", &target(0), &alice("s1"), now)
            .unwrap();
        let pairs = names(&first);
        assert_eq!(pairs[0], ("X-Forwarded-User", "alice"));
        assert_eq!(pairs[2], ("X-Forwarded-Groups", "staff,ops"));
        assert_eq!(pairs[4], ("X-Forwarded-Email", "alice@example.com"));
        let again = cache
            .get(&keys, "https://id", &target(0), &alice("s1"), now + 10)
            .unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "reused within the assertion's life"
        );
        let other_route = cache
            .get(&keys, "https://id", &target(1), &alice("s1"), now)
            .unwrap();
        let other_session = cache
            .get(&keys, "https://id", &target(0), &alice("s2"), now)
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &other_route) && !Arc::ptr_eq(&first, &other_session));
        let mut regrouped = alice("s1");
        regrouped.user = Arc::new(UserInfo {
            groups: vec!["staff".into()],
            ..(*regrouped.user).clone()
        });
        let fresh = cache
            .get(&keys, "https://id", &target(0), &regrouped, now)
            .unwrap();
        assert_eq!(
            names(&fresh)[2],
            ("X-Forwarded-Groups", "staff"),
            "directory change seen"
        );
        let mut stepped_up = alice("s1");
        stepped_up.amr.push("mfa".into());
        let mfa = cache
            .get(&keys, "https://id", &target(0), &stepped_up, now)
            .unwrap();
        assert!(
            !Arc::ptr_eq(&fresh, &mfa),
            "a step-up signs a new assertion"
        );
        let first = cache
            .get(&keys, "https://id", &target(0), &alice("s1"), now)
            .unwrap();
        let late = now + ASSERTION_TTL - ASSERTION_RENEW_BEFORE;
        let renewed = cache
            .get(&keys, "https://id", &target(0), &alice("s1"), late)
            .unwrap();
        assert!(
            !Arc::ptr_eq(&first, &renewed),
            "signed again before the old one expires"
        );
    }

    #[test]
    fn forward_auth_never_gets_the_proxys_basic_credentials() {
        let keys = KeySet::from_pem(&generate(Alg::ES256).unwrap()).unwrap();
        let cache = Identities::default();
        let host = Host::parse("legacy.test").unwrap();
        let defaults = IdentityHeaders::default();
        let basic = UpstreamBasic {
            user_template: "{username}".into(),
            password: crate::secret::Secret::new("shared"),
        };
        let proxy = Target {
            route: Some(0),
            names: &defaults,
            audience: &host,
            basic: Some(&basic),
        };
        let forward = Target {
            basic: None,
            ..proxy
        };
        let who = alice("s1");
        let with = cache.get(&keys, "https://id", &proxy, &who, 1).unwrap();
        assert!(with.pairs().any(|(n, _)| n == "Authorization"));
        let without = cache.get(&keys, "https://id", &forward, &who, 1).unwrap();
        assert!(!without.pairs().any(|(n, _)| n == "Authorization"));
        let again = cache.get(&keys, "https://id", &proxy, &who, 1).unwrap();
        assert!(again.pairs().any(|(n, _)| n == "Authorization"));
    }

    #[test]
    fn a_value_that_cannot_be_a_header_is_an_error_not_a_panic() {
        let keys = KeySet::from_pem(&generate(Alg::ES256).unwrap()).unwrap();
        let host = Host::parse("app.test").unwrap();
        let defaults = IdentityHeaders::default();
        let target = Target {
            route: None,
            names: &defaults,
            audience: &host,
            basic: None,
        };
        let mut who = alice("s1");
        who.user = Arc::new(UserInfo {
            username: "bad\nname".into(),
            ..(*who.user).clone()
        });
        let e = Identities::default()
            .get(&keys, "https://id", &target, &who, 1)
            .err();
        assert!(matches!(e, Some(IdentityError::Value(_))), "{e:?}");
    }
}
