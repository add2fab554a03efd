//! The demo's echo upstream: answers every request with the request line and headers it got,
//! as plain text. Only a config with a `[demo]` table starts it.

use async_trait::async_trait;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

pub struct Echo;

#[async_trait]
impl ServeHttp for Echo {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        // Drain the body so that the connection can be reused.
        while let Ok(Some(_)) = session.read_request_body().await {}
        let req = session.req_header();
        let mut text = format!("authgate demo echo app\n\n{} {}\n\n", req.method, req.uri);
        let mut headers: Vec<_> = req.headers.iter().collect();
        headers.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        for (name, value) in headers {
            text.push_str(&format!(
                "{}: {}\n",
                name,
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        http::Response::builder()
            .status(200)
            .header("Content-Type", "text/plain; charset=utf-8")
            .header("X-Content-Type-Options", "nosniff")
            .header("Content-Length", text.len())
            .body(text.into_bytes())
            .unwrap_or_default()
    }
}
