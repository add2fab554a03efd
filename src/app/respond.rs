//! The one place that turns an error into a response: status, headers, and a page or JSON.
//!
//! - `gateway`: authgate's own errors, a page for browsers and `{"error": …}` for API clients;
//! - `authorize`: a page, or a redirect to the client (RFC 6749 §4.1.2.1, RFC 9207 `iss`);
//! - `token`: RFC 6749 §5.2 JSON (also introspection and revocation);
//! - `resource`: RFC 6750 §3 for userinfo and bearer tokens on routes.

use crate::http::{pages, GatewayError, Reply};
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

/// The page title and the JSON `error` code.
fn gateway_names(e: &GatewayError) -> (&'static str, &'static str) {
    match e {
        GatewayError::BadRequest(_) => ("Bad request", "bad_request"),
        GatewayError::Unauthenticated | GatewayError::BasicRequired => {
            ("Sign-in required", "unauthenticated")
        }
        GatewayError::SecondFactorRequired => ("Second factor required", "second_factor_required"),
        GatewayError::Forbidden => ("Access denied", "forbidden"),
        GatewayError::NoRoute | GatewayError::NotConfigured(_) => ("Not found", "not_found"),
        GatewayError::MethodNotAllowed(_) => ("Method not allowed", "method_not_allowed"),
        GatewayError::PayloadTooLarge => ("Request too large", "payload_too_large"),
        GatewayError::UriTooLong => ("Address too long", "uri_too_long"),
        GatewayError::RateLimited { .. } => ("Too many attempts", "rate_limited"),
        GatewayError::SignInExpired => ("Sign-in expired", "sign_in_expired"),
        GatewayError::FormExpired => ("Sign-in form expired", "form_expired"),
        GatewayError::SignInFailed(_) => ("Sign-in failed", "sign_in_failed"),
        GatewayError::SignInDenied(_) => ("Sign-in failed", "access_denied"),
        GatewayError::LogoutRejected(_) => ("Sign-out rejected", "logout_rejected"),
        GatewayError::Busy => ("Busy", "busy"),
        GatewayError::Internal => ("Internal error", "internal_error"),
        GatewayError::BadGateway => ("Bad gateway", "bad_gateway"),
        GatewayError::BadGatewayNamed(_) => ("Identity provider unavailable", "bad_gateway"),
        GatewayError::Unavailable(_) => ("Service unavailable", "unavailable"),
        GatewayError::GatewayTimeout => ("Gateway timeout", "gateway_timeout"),
    }
}

/// `e` as a page for browsers or JSON for API clients, with the headers its status needs.
pub fn gateway(e: &GatewayError, json: bool) -> Reply {
    let status = status(e);
    let (title, code) = gateway_names(e);
    let reply = if json {
        Reply::json(
            status,
            &serde_json::json!({ "error": code, "error_description": e.to_string() }),
        )
    } else {
        pages::error(status, title, &sentence(&e.to_string()))
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
pub fn authorize(e: &AuthorizeError, issuer: &str) -> Reply {
    match (e, e.redirect_url(issuer)) {
        (_, Some(url)) => Reply::redirect(302, &url),
        (AuthorizeError::Page { status, message }, None) => {
            pages::error(*status, "Sign-in request rejected", message)
        }
        (AuthorizeError::Redirect { .. }, None) => gateway(&GatewayError::Internal, false),
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
    let reply = json_error(status, e.error.as_str(), &e.description);
    match e.error {
        TokenCode::InvalidClient => reply.header("WWW-Authenticate", "Basic realm=\"authgate\""),
        _ => reply,
    }
}

/// RFC 6750 §3: the error also in `WWW-Authenticate: Bearer`; `invalid_token` is 401.
pub fn resource(e: &ResourceError) -> Reply {
    let status = match e.error {
        ResourceCode::InvalidRequest => 400,
        ResourceCode::InvalidToken | ResourceCode::InsufficientUserAuthentication => 401,
        ResourceCode::TemporarilyUnavailable => 503,
    };
    let reply = json_error(status, e.error.as_str(), &e.description);
    match e.error {
        ResourceCode::TemporarilyUnavailable => reply,
        code => reply.header(
            "WWW-Authenticate",
            format!(
                "Bearer realm=\"authgate\", error=\"{}\", error_description=\"{}\"",
                code.as_str(),
                e.description.replace(['"', '\\'], "'")
            ),
        ),
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
        let r = gateway(&GatewayError::RateLimited { retry_after: 30 }, true);
        assert_eq!((r.status, header(&r, "retry-after")), (429, Some("30")));
        let r = gateway(&GatewayError::MethodNotAllowed(&["GET", "POST"]), false);
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
