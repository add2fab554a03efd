//! A response authgate writes itself (pages, redirects, JSON), and the one function that sends it
//! through Pingora.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Reply {
        self.body = body.into();
        self
    }

    /// A JSON body, never cached (RFC 6749 §5.1 asks this of token responses; it is right for
    /// every JSON answer authgate gives about identities).
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::new(status)
            .header("Content-Type", "application/json")
            .header("Cache-Control", "no-store")
            .body(value.to_string())
    }

    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::new(status)
            .header("Location", location)
            .header("Cache-Control", "no-store")
    }
}

const GRPC_STATUS: &str = "grpc-status";

/// A gRPC call (`content-type: application/grpc…`): its errors are gRPC statuses, never pages
/// or redirects.
pub fn is_grpc(req: &pingora::http::RequestHeader) -> bool {
    req.headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// `reply` as a gRPC client understands it: HTTP 200 with `grpc-status` in a trailers-only
/// response (401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED, and so on). A success passes.
pub fn grpc(reply: Reply) -> Reply {
    let code = match reply.status {
        s if s < 400 => return reply,
        401 => 16,
        403 => 7,
        404 => 12,
        413 => 8,
        429 => 8,
        502..=504 => 14,
        _ => 13,
    };
    let www = reply
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .cloned();
    let reply = Reply::new(200)
        .header("Content-Type", "application/grpc")
        .header(GRPC_STATUS, code.to_string())
        .header("grpc-message", status_text(reply.status));
    match www {
        Some((n, v)) => reply.header(n, v),
        None => reply,
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        401 => "sign-in required",
        403 => "not allowed",
        404 => "no such service",
        413 | 429 => "too much",
        502..=504 => "the service is unavailable",
        _ => "authgate could not answer",
    }
}

/// Writes `reply` downstream. `HEAD` requests get the headers only.
pub async fn send(session: &mut Session, reply: Reply) -> pingora::Result<()> {
    if reply.headers.iter().any(|(n, _)| n == GRPC_STATUS) && session.is_http2() {
        return send_grpc(session, reply).await;
    }
    let head_only = session.req_header().method == http::Method::HEAD;
    let mut resp = ResponseHeader::build(reply.status, Some(reply.headers.len() + 2))?;
    for (name, value) in reply.headers {
        resp.append_header(name, value)?;
    }
    resp.insert_header("Content-Length", reply.body.len().to_string())?;
    session
        .write_response_header(Box::new(resp), head_only || reply.body.is_empty())
        .await?;
    if !head_only && !reply.body.is_empty() {
        session.write_response_body(Some(reply.body), true).await?;
    }
    Ok(())
}

/// A gRPC status over HTTP/2: the headers, then `grpc-status` and `grpc-message` as trailers,
/// which end the stream.
async fn send_grpc(session: &mut Session, reply: Reply) -> pingora::Result<()> {
    let mut resp = ResponseHeader::build(reply.status, Some(reply.headers.len()))?;
    let mut trailers = http::HeaderMap::new();
    for (name, value) in reply.headers {
        if name.starts_with("grpc-") {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(&value),
            ) {
                trailers.insert(n, v);
            }
        } else {
            resp.append_header(name, value)?;
        }
    }
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_trailers(trailers).await
}
