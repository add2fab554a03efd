//! The one place that turns an error into a response: status, headers, and a page or JSON.
//!
//! - `gateway`: authgate's own errors, a page for browsers and `{"error": …}` for API clients;
//! - `authorize`: a page, or a redirect to the client (RFC 6749 §4.1.2.1, RFC 9207 `iss`);
//! - `token`: RFC 6749 §5.2 JSON (also introspection and revocation);
//! - `resource`: RFC 6750 §3 for userinfo and bearer tokens on routes.

use crate::http::pages::{self, Chrome};
use crate::http::{GatewayError, Reply};
use crate::oidc::authorize::AuthorizeError;
use crate::oidc::errors::{ResourceCode, ResourceError, TokenCode, TokenError};

/// The status `e` is answered with.
pub fn status(e: &GatewayError) -> u16 {
    match e {
        GatewayError::BadRequest(_)
        | GatewayError::SignInExpired
        | GatewayError::SignInFailed(_)
        | GatewayError::LogoutRejected(_) => 400,
        GatewayError::Unauthenticated
        | GatewayError::SecondFactorRequired
        | GatewayError::BasicRequired => 401,
        GatewayError::Forbidden | GatewayError::FormExpired | GatewayError::SignInDenied(_) => 403,
        GatewayError::NoRoute | GatewayError::NotConfigured(_) => 404,
        GatewayError::MethodNotAllowed(_) => 405,
        GatewayError::PayloadTooLarge => 413,
        GatewayError::UriTooLong => 414,
        GatewayError::RateLimited { .. } => 429,
        GatewayError::Internal => 500,
        GatewayError::BadGateway | GatewayError::BadGatewayNamed(_) => 502,
        GatewayError::Unavailable(_) | GatewayError::Busy => 503,
        GatewayError::GatewayTimeout => 504,
    }
}

/// The JSON `error` code (and the key of the page's title: `error-title-CODE`).
fn code(e: &GatewayError) -> &'static str {
    match e {
        GatewayError::BadRequest(_) => "bad_request",
        GatewayError::Unauthenticated | GatewayError::BasicRequired => "unauthenticated",
        GatewayError::SecondFactorRequired => "second_factor_required",
        GatewayError::Forbidden => "forbidden",
        GatewayError::NoRoute | GatewayError::NotConfigured(_) => "not_found",
        GatewayError::MethodNotAllowed(_) => "method_not_allowed",
        GatewayError::PayloadTooLarge => "payload_too_large",
        GatewayError::UriTooLong => "uri_too_long",
        GatewayError::RateLimited { .. } => "rate_limited",
        GatewayError::SignInExpired => "sign_in_expired",
        GatewayError::FormExpired => "form_expired",
        GatewayError::SignInFailed(_) => "sign_in_failed",
        GatewayError::SignInDenied(_) => "access_denied",
        GatewayError::LogoutRejected(_) => "logout_rejected",
        GatewayError::Busy => "busy",
        GatewayError::Internal => "internal_error",
        GatewayError::BadGateway => "bad_gateway",
        GatewayError::BadGatewayNamed(_) => "bad_gateway",
        GatewayError::Unavailable(_) => "unavailable",
        GatewayError::GatewayTimeout => "gateway_timeout",
    }
}

/// Who an error answer is for: an API client (JSON) or a person (a page in their language).
pub enum Audience<'a> {
    Api,
    People(&'a Chrome),
    /// A person making this request: the page's chrome is made only if a page is.
    Browser(
        &'a super::App,
        &'a pingora::http::RequestHeader,
        &'a crate::http::facts::Facts,
    ),
}

impl<'a> Audience<'a> {
    /// JSON for an API client, else a page for the person making the request.
    pub fn of(
        json: bool,
        app: &'a super::App,
        header: &'a pingora::http::RequestHeader,
        facts: &'a crate::http::facts::Facts,
    ) -> Audience<'a> {
        if json {
            Audience::Api
        } else {
            Audience::Browser(app, header, facts)
        }
    }
}

/// `e` as a page for browsers or JSON for API clients, with the headers its status needs.
pub fn gateway(e: &GatewayError, to: Audience<'_>) -> Reply {
    let status = status(e);
    let code = code(e);
    let reply = match to {
        Audience::Api => Reply::json(
            status,
            &serde_json::json!({ "error": code, "error_description": e.to_string() }),
        ),
        Audience::People(c) => error_page(c, status, code, e),
        Audience::Browser(app, header, facts) => {
            let c = app.chrome(header, &facts.path, facts.query.as_deref());
            error_page(&c, status, code, e)
        }
    };
    match e {
        GatewayError::Unauthenticated | GatewayError::SecondFactorRequired => {
            reply.header("WWW-Authenticate", "Bearer realm=\"authgate\"")
        }
        GatewayError::BasicRequired => reply.header(
            "WWW-Authenticate",
            "Basic realm=\"authgate\", charset=\"UTF-8\"",
        ),
        GatewayError::MethodNotAllowed(allowed) => reply.header("Allow", allowed.join(", ")),
        GatewayError::RateLimited { retry_after } => {
            reply.header("Retry-After", retry_after.to_string())
        }
        GatewayError::Busy => reply.header("Retry-After", "1"),
        _ => reply,
    }
}

fn error_page(c: &Chrome, status: u16, code: &str, e: &GatewayError) -> Reply {
    pages::error(
        c,
        status,
        &c.t(&format!("error-title-{code}")),
        &message(c, e),
    )
}

/// What a page says about `e`, in the page's language; messages that carry their own text
/// (a detail, a name) are shown as they are.
fn message(c: &Chrome, e: &GatewayError) -> String {
    let key = match e {
        GatewayError::NoRoute => "error-no-route",
        GatewayError::MethodNotAllowed(_) => "error-method",
        GatewayError::PayloadTooLarge => "error-too-large",
        GatewayError::UriTooLong => "error-uri-too-long",
        GatewayError::Unauthenticated => "error-sign-in-required",
        GatewayError::SecondFactorRequired => "error-second-factor",
        GatewayError::BasicRequired => "error-basic",
        GatewayError::Forbidden => "error-forbidden",
        GatewayError::SignInExpired => "error-sign-in-expired",
        GatewayError::FormExpired => "error-form-expired",
        GatewayError::Busy => "error-busy",
        GatewayError::BadGateway => "error-bad-gateway",
        GatewayError::GatewayTimeout => "error-gateway-timeout",
        GatewayError::Internal => "error-internal",
        GatewayError::RateLimited { retry_after } => {
            return c.t_with(
                "error-rate-limited",
                &[("seconds", &retry_after.to_string())],
            )
        }
        GatewayError::SignInFailed(key)
        | GatewayError::SignInDenied(key)
        | GatewayError::LogoutRejected(key) => key,
        GatewayError::Unavailable(key) => key,
        GatewayError::BadGatewayNamed(provider) => {
            return c.t_with("error-upstream-unreachable", &[("provider", provider)])
        }
        GatewayError::NotConfigured(what) => {
            return c.t_with("error-not-configured", &[("what", what)])
        }
        other => return sentence(&other.to_string()),
    };
    c.t(key)
}

/// A message as a sentence for a page: capitalised, with a full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut s: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// An authorization error: a page when the client cannot be trusted, else a redirect to it.
pub fn authorize(e: &AuthorizeError, issuer: &str, c: &Chrome) -> Reply {
    match (e, e.redirect_url(issuer)) {
        (_, Some(url)) => Reply::redirect(302, &url),
        (AuthorizeError::Page { status, message }, None) => {
            pages::error(c, *status, &c.t("error-title-authorize"), message)
        }
        (AuthorizeError::Redirect { .. }, None) => {
            gateway(&GatewayError::Internal, Audience::People(c))
        }
    }
}

/// RFC 6749 §5.2: JSON, 400; `invalid_client` 401 with `WWW-Authenticate: Basic`.
pub fn token(e: &TokenError) -> Reply {
    let status = match e.error {
        TokenCode::InvalidClient => 401,
        TokenCode::ServerError => 500,
        TokenCode::TemporarilyUnavailable => 503,
        _ => 400,
    };
    let reply = with_nonce(json_error(status, e.error.as_str(), &e.description), e);
    match e.error {
        TokenCode::InvalidClient => reply.header("WWW-Authenticate", "Basic realm=\"authgate\""),
        _ => reply,
    }
}

/// RFC 9449 §8: the nonce the client's next proof must carry.
fn with_nonce<C>(reply: Reply, e: &crate::oidc::errors::EndpointError<C>) -> Reply {
    match &e.dpop_nonce {
        Some(n) => reply
            .header("DPoP-Nonce", n.as_str())
            .header("Cache-Control", "no-store"),
        None => reply,
    }
}

/// RFC 6750 §3: the error also in `WWW-Authenticate: Bearer` (RFC 9449 §7.1: `DPoP`, with the
/// proof algorithms, when the request used DPoP or the token is bound); `invalid_token` is 401.
pub fn resource(e: &ResourceError) -> Reply {
    let status = match e.error {
        ResourceCode::InvalidRequest => 400,
        ResourceCode::InvalidToken
        | ResourceCode::InsufficientUserAuthentication
        | ResourceCode::InvalidDpopProof => 401,
        ResourceCode::TemporarilyUnavailable => 503,
    };
    let reply = with_nonce(json_error(status, e.error.as_str(), &e.description), e);
    match e.error {
        ResourceCode::TemporarilyUnavailable => reply,
        code => reply.header(
            "WWW-Authenticate",
            challenge(e.dpop, code.as_str(), &e.description),
        ),
    }
}

/// A `WWW-Authenticate` value: `Bearer` (RFC 6750 §3) or `DPoP` (RFC 9449 §7.1).
pub fn challenge(dpop: bool, code: &str, description: &str) -> String {
    let description = description.replace(['"', '\\'], "'");
    if dpop {
        format!(
            "DPoP realm=\"authgate\", error=\"{code}\", error_description=\"{description}\", algs=\"{}\"",
            crate::oidc::dpop::ALGS.join(" ")
        )
    } else {
        format!("Bearer realm=\"authgate\", error=\"{code}\", error_description=\"{description}\"")
    }
}

/// A request to a resource that carried no token at all (RFC 6750 §3.1: no error code).
pub fn no_token() -> Reply {
    json_error(401, "invalid_token", "no access token")
        .header("WWW-Authenticate", "Bearer realm=\"authgate\"")
}

fn json_error(status: u16, code: &str, description: &str) -> Reply {
    Reply::json(
        status,
        &serde_json::json!({ "error": code, "error_description": description }),
    )
    .header("Pragma", "no-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn statuses_and_headers() {
        let r = gateway(
            &GatewayError::RateLimited { retry_after: 30 },
            Audience::Api,
        );
        assert_eq!((r.status, header(&r, "retry-after")), (429, Some("30")));
        let c = Chrome::plain(std::sync::Arc::default());
        let r = gateway(
            &GatewayError::MethodNotAllowed(&["GET", "POST"]),
            Audience::People(&c),
        );
        assert_eq!((r.status, header(&r, "allow")), (405, Some("GET, POST")));
        let r = resource(&ResourceError::new(ResourceCode::InvalidToken, "x"));
        assert_eq!(r.status, 401);
        assert!(header(&r, "www-authenticate")
            .unwrap()
            .starts_with("Bearer realm=\"authgate\", error=\"invalid_token\""));
        let r = token(&TokenError::new(TokenCode::InvalidClient, "x"));
        assert_eq!(r.status, 401);
    }
}
