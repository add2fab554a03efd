//! Forward-auth for nginx `auth_request`, Traefik ForwardAuth and Caddy `forward_auth`: 202
//! with the identity headers, 401, or 403, by the same decision the proxy makes
//! (`app::access`).
//!
//! The original request is read from exactly one convention per endpoint, and only from a
//! trusted proxy (hardening: forward-auth target chosen by the client):
//! - `/oauth2/auth`: `X-Forwarded-Method`, `-Host` and `-Uri` (Traefik, Caddy, nginx with the
//!   documented snippet). `X-Original-*` are ignored.
//! - `/oauth2/auth/original`: `X-Original-URL` and `X-Original-Method` (the nginx convention
//!   other gateways document). `X-Forwarded-Method/-Host/-Uri` are ignored.
//!
//! Each header must appear once. A target that is missing, repeated, unparsable, cannot be
//! normalised, or matches no route gets 403 whoever asks: there is no policy to apply to it.

use http::HeaderMap;

use super::Request;
use crate::app::respond::{self, Audience};
use crate::app::{access, App};
use crate::config::Route;
use crate::http::host::Host;
use crate::http::{path, GatewayError, Reply};
use crate::identity::{Identity, Target};
use crate::policy::{self, Decision};

/// Where the front proxy puts the original request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// `X-Forwarded-Method`, `X-Forwarded-Host`, `X-Forwarded-Uri`.
    Forwarded,
    /// `X-Original-URL`, `X-Original-Method`.
    OriginalUrl,
}

/// The original request as the front proxy reports it.
#[derive(Debug, PartialEq, Eq)]
pub struct Original {
    pub host: Host,
    /// Normalised, as the proxy would decide on it.
    pub path: String,
    /// The query as sent, for rules that test it.
    pub query: Option<String>,
    pub method: http::Method,
    /// The scheme in `X-Original-URL`; with `X-Forwarded-*`, the caller's `X-Forwarded-Proto`
    /// (what `Facts::scheme` reads from a trusted peer) says it.
    pub scheme: Option<String>,
}

/// Why the original request cannot be known; every one of them is a 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the caller is not a trusted proxy")]
    Untrusted,
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{0} is sent more than once")]
    Repeated(&'static str),
    #[error("{0} is not valid")]
    Invalid(&'static str),
    #[error("the path cannot be normalised")]
    Unnormalisable,
}

/// The one value of header `name`.
fn one<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, TargetError> {
    let mut values = headers.get_all(name).iter();
    let value = values.next().ok_or(TargetError::Missing(name))?;
    if values.next().is_some() {
        return Err(TargetError::Repeated(name));
    }
    value.to_str().map_err(|_| TargetError::Invalid(name))
}

fn method(headers: &HeaderMap, name: &'static str) -> Result<http::Method, TargetError> {
    http::Method::from_bytes(one(headers, name)?.as_bytes()).map_err(|_| TargetError::Invalid(name))
}

/// The original request in `convention`, from a trusted proxy only. The headers of the other
/// convention are never read.
pub fn original(
    headers: &HeaderMap,
    trusted: bool,
    convention: Convention,
) -> Result<Original, TargetError> {
    if !trusted {
        return Err(TargetError::Untrusted);
    }
    let (host, uri, method, scheme) = match convention {
        Convention::Forwarded => {
            const HOST: &str = "x-forwarded-host";
            const URI: &str = "x-forwarded-uri";
            let host = Host::parse(one(headers, HOST)?).ok_or(TargetError::Invalid(HOST))?;
            let uri = one(headers, URI)?;
            if !uri.starts_with('/') {
                return Err(TargetError::Invalid(URI));
            }
            let method = method(headers, "x-forwarded-method")?;
            (host, uri.to_string(), method, None)
        }
        Convention::OriginalUrl => {
            const URL: &str = "x-original-url";
            // `http::Uri` keeps the path as sent; it is normalised below like any other.
            let url: http::Uri = one(headers, URL)?
                .parse()
                .map_err(|_| TargetError::Invalid(URL))?;
            let authority = url.authority().ok_or(TargetError::Invalid(URL))?;
            if url.scheme().is_none() || !authority.as_str().starts_with(authority.host()) {
                // No scheme, or user information before the host.
                return Err(TargetError::Invalid(URL));
            }
            let host = Host::parse(authority.as_str()).ok_or(TargetError::Invalid(URL))?;
            let method = method(headers, "x-original-method")?;
            let target = url.path_and_query().map_or("/", |pq| pq.as_str());
            let scheme = url.scheme_str().map(str::to_ascii_lowercase);
            (host, target.to_string(), method, scheme)
        }
    };
    let without_fragment = uri.split('#').next().unwrap_or("/");
    let (raw_path, query) = match without_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (without_fragment, None),
    };
    let path = path::normalize(raw_path).map_err(|_| TargetError::Unnormalisable)?;
    Ok(Original {
        host,
        path,
        query,
        method,
        scheme,
    })
}

pub async fn handle(app: &App, req: &Request<'_>, convention: Convention) -> Reply {
    let forbidden = |why: &dyn std::fmt::Display| {
        log::info!("forward-auth: 403: {why}");
        respond::gateway(&GatewayError::Forbidden, Audience::Api)
    };
    let o = match original(&req.header.headers, req.facts.trusted, convention) {
        Ok(o) => o,
        Err(e) => return forbidden(&e),
    };
    let Some((index, route)) = app
        .route_table
        .find(&app.cfg.routes, &o.host, &o.path)
        .and_then(|i| Some((i, app.route(i)?)))
    else {
        return forbidden(&format_args!("no route for {}{}", o.host.name, o.path));
    };
    let request = policy::Request {
        path: &o.path,
        method: o.method.as_str(),
        client_ip: req.facts.client_ip,
        query: o.query.as_deref(),
    };
    let scheme = o.scheme.as_deref().unwrap_or(req.facts.scheme.as_str());
    let to = (scheme, &o.host);
    let verdict =
        match access::decide(app, req.header, (req.facts, to), route, &request, true).await {
            Ok(v) => v,
            Err(reply) => return reply,
        };
    let credential = verdict.who.as_ref().map(|w| w.credential);
    match (verdict.decision, verdict.who) {
        (Decision::Public, _) => Reply::new(202),
        (Decision::Allow, Some(who)) => allow(app, (index, route), &o, &who),
        (decision, _) => access::refusal(decision, credential, Audience::Api),
    }
}

/// 202 with the route's identity headers and the assertion.
fn allow(app: &App, (index, route): (usize, &Route), o: &Original, who: &Identity) -> Reply {
    let to = Target {
        route: Some(index),
        names: &route.headers,
        audience: route.host.as_ref().unwrap_or(&o.host),
        basic: None,
    };
    match app
        .identities
        .get(&app.keys, &app.cfg.server.issuer, &to, who, app.now())
    {
        Ok(prepared) => prepared.pairs().fold(
            Reply::new(202).header("Cache-Control", "no-store"),
            |r, (k, v)| r.header(k, v),
        ),
        Err(e) => {
            log::error!("{e}");
            respond::gateway(&GatewayError::Internal, Audience::Api)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    const FORWARDED: [(&str, &str); 3] = [
        ("X-Forwarded-Host", "App.Test"),
        ("X-Forwarded-Uri", "/a/../admin?x=1"),
        ("X-Forwarded-Method", "POST"),
    ];

    #[test]
    fn forwarded_convention_reads_only_its_own_headers() {
        let mut pairs = FORWARDED.to_vec();
        pairs.push(("X-Original-URL", "http://app.test/static/x"));
        pairs.push(("X-Original-Method", "GET"));
        let o = original(&headers(&pairs), true, Convention::Forwarded).unwrap();
        assert_eq!(o.host.name, "app.test");
        assert_eq!(o.path, "/admin");
        assert_eq!(o.method, http::Method::POST);
    }

    #[test]
    fn original_url_convention_reads_only_its_own_headers() {
        let h = headers(&[
            ("X-Original-URL", "https://app.test:8443/x/./admin?q"),
            ("X-Original-Method", "DELETE"),
            ("X-Forwarded-Host", "other.test"),
            ("X-Forwarded-Uri", "/static/x"),
        ]);
        let o = original(&h, true, Convention::OriginalUrl).unwrap();
        assert_eq!(
            (o.host.name.as_str(), o.host.port),
            ("app.test", Some(8443))
        );
        assert_eq!(o.path, "/x/admin");
        assert_eq!(o.method, http::Method::DELETE);
        // And the forwarded endpoint does not read X-Original-URL at all.
        assert_eq!(
            original(&h, true, Convention::Forwarded),
            Err(TargetError::Missing("x-forwarded-method"))
        );
    }

    #[test]
    fn untrusted_callers_have_no_target() {
        let h = headers(&FORWARDED);
        assert_eq!(
            original(&h, false, Convention::Forwarded),
            Err(TargetError::Untrusted)
        );
    }

    #[test]
    fn missing_repeated_or_unnormalisable_targets_are_refused() {
        let mut repeated = FORWARDED.to_vec();
        repeated.push(("X-Forwarded-Uri", "/static/x"));
        type Case<'a> = (Vec<(&'a str, &'a str)>, Convention, TargetError);
        let cases: Vec<Case> = vec![
            (
                FORWARDED[..2].to_vec(),
                Convention::Forwarded,
                TargetError::Missing("x-forwarded-method"),
            ),
            (
                repeated,
                Convention::Forwarded,
                TargetError::Repeated("x-forwarded-uri"),
            ),
            (
                vec![
                    ("X-Forwarded-Host", "app.test"),
                    ("X-Forwarded-Uri", "/x%2Fy"),
                    ("X-Forwarded-Method", "GET"),
                ],
                Convention::Forwarded,
                TargetError::Unnormalisable,
            ),
            (
                vec![
                    ("X-Forwarded-Host", "app.test"),
                    ("X-Forwarded-Uri", "http://app.test/"),
                    ("X-Forwarded-Method", "GET"),
                ],
                Convention::Forwarded,
                TargetError::Invalid("x-forwarded-uri"),
            ),
            (
                vec![("X-Original-URL", "/admin"), ("X-Original-Method", "GET")],
                Convention::OriginalUrl,
                TargetError::Invalid("x-original-url"),
            ),
            (
                vec![
                    ("X-Original-URL", "http://evil@app.test/"),
                    ("X-Original-Method", "GET"),
                ],
                Convention::OriginalUrl,
                TargetError::Invalid("x-original-url"),
            ),
        ];
        for (pairs, convention, want) in cases {
            assert_eq!(
                original(&headers(&pairs), true, convention),
                Err(want.clone()),
                "{pairs:?}"
            );
        }
    }
}
