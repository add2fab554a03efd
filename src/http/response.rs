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

/// Writes `reply` downstream. `HEAD` requests get the headers only.
pub async fn send(session: &mut Session, reply: Reply) -> pingora::Result<()> {
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
