//! The identity sent upstream: strip whatever the client claimed, then add ours — the
//! configured headers and a short-lived signed assertion, cached per session.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use pingora::http::RequestHeader;
use serde::Serialize;

use crate::config::IdentityHeaders;
use crate::directory::UserInfo;
use crate::keys::{KeyError, KeySet};
use crate::policy::Principal;

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
}

impl Identity {
    pub fn of(user: Arc<UserInfo>, cache_key: String, amr: Vec<String>) -> Identity {
        Identity {
            user,
            cache_key,
            amr,
        }
    }

    /// A second factor was used.
    pub fn mfa(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }

    /// Authenticated by an app password (`amr` `app`).
    pub fn via_app_password(&self) -> bool {
        self.amr.iter().any(|m| m == "app")
    }
}

impl Principal for Identity {
    fn username(&self) -> &str {
        &self.user.username
    }
    fn groups(&self) -> &[String] {
        &self.user.groups
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

/// The headers carrying `who` upstream, with names from the route.
pub fn headers(names: &IdentityHeaders, who: &Identity, assertion: &str) -> Vec<(String, String)> {
    let u = &who.user;
    let mut h = vec![
        (names.user.clone(), u.username.clone()),
        (names.preferred_username.clone(), u.username.clone()),
        (names.groups.clone(), u.groups.join(",")),
        (names.assertion.clone(), assertion.to_string()),
    ];
    if let Some(e) = &u.email {
        h.push((names.email.clone(), e.clone()));
    }
    h
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

/// Signed assertions, one per (session, audience), reused until shortly before they expire.
pub struct Assertions {
    cache: Cache<(String, String), Arc<(String, u64)>>,
}

impl Default for Assertions {
    fn default() -> Self {
        Assertions {
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(ASSERTION_TTL - ASSERTION_RENEW_BEFORE))
                .build(),
        }
    }
}

impl Assertions {
    /// The assertion for `who` at `audience` (the route's host).
    pub fn get(
        &self,
        keys: &KeySet,
        issuer: &str,
        audience: &str,
        who: &Identity,
        now: u64,
    ) -> Result<String, KeyError> {
        let cache_key = (who.cache_key.clone(), audience.to_string());
        if let Some(hit) = self.cache.get(&cache_key) {
            if hit.1 > now + ASSERTION_RENEW_BEFORE {
                return Ok(hit.0.clone());
            }
        }
        let exp = now + ASSERTION_TTL;
        let claims = AssertionClaims {
            iss: issuer,
            aud: audience,
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
        self.cache.insert(cache_key, Arc::new((jwt.clone(), exp)));
        Ok(jwt)
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
}
