//! HTTP plumbing shared by the provider and the proxy: canonical host and path, the response
//! type and its writer, our pages, and the gateway error mapping.

pub mod cookies;
pub mod error;
pub mod facts;
pub mod host;
pub mod i18n;
pub mod look;
pub mod pages;
pub mod params;
pub mod path;
pub mod response;
pub mod rewrite;

pub use error::GatewayError;
pub use response::{send, Reply};

/// True when the client prefers JSON to a page: an API call or XHR rather than a browser
/// navigation (no `text/html` in `Accept`, or an `Authorization` / `X-Requested-With` header).
pub fn wants_json(req: &pingora::http::RequestHeader) -> bool {
    let h = &req.headers;
    // An upgrade (WebSocket) cannot follow a redirect to a sign-in page either.
    if h.contains_key("authorization")
        || h.contains_key("x-requested-with")
        || h.contains_key("upgrade")
    {
        return true;
    }
    match h.get("accept").and_then(|v| v.to_str().ok()) {
        Some(accept) => !accept.contains("text/html"),
        None => true,
    }
}
