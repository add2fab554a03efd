//! What automatic HTTPS asks of the proxy: on plain HTTP, http-01 validations are answered
//! and everything else is redirected to https; https answers carry Strict-Transport-Security.

use pingora::http::RequestHeader;

use crate::acme::{Acme, HTTP01_PREFIX};
use crate::http::facts::{Facts, Scheme};
use crate::http::Reply;

/// The answer to a plain-HTTP request, when automatic HTTPS takes it.
pub async fn plain(
    acme: &Acme,
    req: &RequestHeader,
    facts: &Facts,
    tls_port: Option<u16>,
) -> Option<Reply> {
    if facts.scheme == Scheme::Https {
        return None;
    }
    if let Some(token) = facts.path.strip_prefix(HTTP01_PREFIX) {
        return Some(match acme.http01(token).await {
            Some(key_authorization) => Reply::new(200)
                .header("Content-Type", "application/octet-stream")
                .header("Cache-Control", "no-store")
                .body(key_authorization),
            None => Reply::new(404)
                .header("Content-Type", "text/plain; charset=utf-8")
                .body("No such challenge.\n"),
        });
    }
    let ours =
        acme.config().domains.contains(&facts.host.name) || acme.certs_cover(&facts.host.name);
    if !acme.config().redirect_http || !ours {
        return None;
    }
    let port = tls_port
        .filter(|p| *p != 443)
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let target = req.uri.path_and_query().map_or("/", |p| p.as_str());
    Some(Reply::redirect(
        308,
        &format!("https://{}{port}{target}", facts.host.name),
    ))
}

/// The Strict-Transport-Security value for an answer to `facts`' request, if any.
pub fn hsts(acme: Option<&Acme>, facts: &Facts) -> Option<http::HeaderValue> {
    let value = acme?.hsts()?;
    (facts.scheme == Scheme::Https).then(|| value.clone())
}
