//! The Pingora `ProxyHttp` implementation. Its phases only classify, route and delegate:
//! decisions live in `routes`, `access` (policy and identity), `client` (the sign-in),
//! `forwarded` and the provider. Every `Ok(true)` from `request_filter` means the response
//! is written.

pub mod access;
pub mod client;
pub mod forwarded;
mod https;
pub mod upstream;

use std::sync::Arc;

use async_trait::async_trait;
use pingora::http::RequestHeader;
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorSource, ErrorType};

use bytes::Bytes;

use crate::app::live::Live;
use crate::app::respond::{self, Audience};
use crate::app::App;
use crate::directory::UserInfo;
use crate::http::cookies::Without;
use crate::http::facts::{self, Facts};
use crate::http::{self, GatewayError};
use crate::identity::Prepared;
use crate::provider;

pub struct Gateway {
    pub live: Arc<Live>,
    /// The certificate manager, when `[server.acme]` is set: it answers http-01 validations.
    pub acme: Option<Arc<crate::acme::Acme>>,
}

/// Facts about one request, computed once in `request_filter`.
pub struct Ctx {
    /// The configuration this request started with; it keeps it to the end, reload or not.
    app: Arc<App>,
    facts: Option<Facts>,
    route: Option<usize>,
    connect_attempts: usize,
    json: bool,
    /// Identity headers for the upstream, decided in `request_filter`.
    identity: Option<Arc<Prepared>>,
    /// Who the request was from, for the access log.
    user: Option<Arc<UserInfo>>,
    /// The client's `Authorization` is not for the upstream.
    strip_authorization: bool,
    /// The client's address (from trusted `X-Forwarded-For`), for the access log.
    client_ip: Option<std::net::IpAddr>,
    /// What answered: a route's label, or authgate itself.
    label: Option<std::sync::Arc<str>>,
    started: Option<std::time::Instant>,
    upstream_started: Option<std::time::Instant>,
    /// Request body bytes passed upstream so far (for `max_body_size`).
    body_seen: u64,
    /// `Strict-Transport-Security` for this answer (an https request, and configured).
    hsts: Option<::http::HeaderValue>,
}

impl Gateway {
    /// Writes an error reply; `Ok(true)` means the response is written.
    async fn fail(&self, session: &mut Session, ctx: &Ctx, e: GatewayError) -> Result<bool> {
        let reply = error_reply(session, ctx, &e);
        respond_to(session, ctx, reply).await?;
        Ok(true)
    }
}

impl Gateway {
    /// The proxy client's own endpoints, on every host.
    async fn client_endpoint(
        &self,
        app: &App,
        session: &Session,
        facts: &Facts,
    ) -> Option<http::Reply> {
        let req = session.req_header();
        let path = facts.path.as_str();
        let writes = matches!(
            path,
            crate::oidc::clients::CALLBACK_PATH | client::LOGOUT_PATH
        );
        if writes && req.method == ::http::Method::HEAD {
            // HEAD never changes state: it neither completes a sign-in nor ends a session.
            let e = GatewayError::MethodNotAllowed(&["GET", "POST"]);
            return Some(respond::gateway(&e, Audience::Browser(app, req, facts)));
        }
        Some(match path {
            crate::oidc::clients::CALLBACK_PATH => client::callback(app, req, facts).await,
            client::START_PATH => client::start(app, req, facts).await,
            client::LOGOUT_PATH => {
                let route = app
                    .route_table
                    .find(&app.cfg.routes, &facts.host, "/")
                    .and_then(|i| app.route(i));
                let target = route
                    .and_then(|r| r.logout_redirect.as_ref())
                    .map(|u| u.as_str());
                client::logout(app, facts, req, target).await
            }
            _ => return None,
        })
    }

    /// Serves one of the provider's endpoints; the response is always written.
    async fn provider(
        &self,
        session: &mut Session,
        ctx: &Ctx,
        endpoint: provider::Endpoint,
        facts: &Facts,
    ) -> Result<bool> {
        let body = if endpoint.reads_body() {
            match read_body(session, provider::MAX_BODY).await {
                Ok(b) => b,
                Err(e) => return self.fail(session, ctx, e).await,
            }
        } else {
            Bytes::new()
        };
        let reply = {
            let req = provider::Request {
                header: session.req_header(),
                facts,
                body,
            };
            provider::handle(&ctx.app, endpoint, &req).await
        };
        send(session, ctx, reply).await?;
        Ok(true)
    }
}

/// `e` as JSON for an API client, or as a page in the language of the person asking.
fn error_reply(session: &Session, ctx: &Ctx, e: &GatewayError) -> http::Reply {
    if ctx.json {
        return respond::gateway(e, Audience::Api);
    }
    let (path, query) = ctx
        .facts
        .as_ref()
        .map_or(("/", None), |f| (f.path.as_str(), f.query.as_deref()));
    let c = ctx.app.chrome(session.req_header(), path, query);
    respond::gateway(e, Audience::People(&c))
}

/// Writes authgate's own answer to a proxied request: as a gRPC status to a gRPC call.
async fn respond_to(session: &mut Session, ctx: &Ctx, reply: http::Reply) -> Result<()> {
    if http::response::is_grpc(session.req_header()) {
        return send(session, ctx, http::response::grpc(reply)).await;
    }
    send(session, ctx, reply).await
}

/// Writes authgate's own answer (with Strict-Transport-Security when the request asks it).
async fn send(session: &mut Session, ctx: &Ctx, mut reply: http::Reply) -> Result<()> {
    if let Some(hsts) = ctx.hsts.as_ref().and_then(|v| v.to_str().ok()) {
        reply = reply.header("Strict-Transport-Security", hsts);
    }
    http::send(session, reply).await
}

/// Reads a request body of at most `limit` bytes (413 beyond).
async fn read_body(
    session: &mut Session,
    limit: usize,
) -> std::result::Result<Bytes, GatewayError> {
    if content_length(session.req_header()).is_some_and(|n| n > limit as u64) {
        return Err(GatewayError::PayloadTooLarge);
    }
    let mut body = bytes::BytesMut::new();
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(GatewayError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body.freeze()),
            Err(_) => {
                return Err(GatewayError::BadRequest(
                    "the request body could not be read".into(),
                ))
            }
        }
    }
}

/// The request target as sent is exactly `path` and `query`: nothing to rewrite.
/// (Compared as sent, not with the parsed URI, which maps targets that are not origin-form to
/// `/`.)
fn is_target(raw: &[u8], path: &str, query: Option<&str>) -> bool {
    let Some(rest) = raw.strip_prefix(path.as_bytes()) else {
        return false;
    };
    match (query, rest.split_first()) {
        (None, None) => true,
        (Some(q), Some((b'?', query))) => query == q.as_bytes(),
        _ => false,
    }
}

/// An upstream whose TLS did not verify: a 502 that names the route, and one log line with
/// the reason. There is no fallback to an unverified connection.
fn tls_refused(ctx: &Ctx, e: &Error) -> GatewayError {
    let label = ctx.label.as_deref().unwrap_or("none");
    log::warn!("route {label}: the upstream's TLS was refused: {e}");
    GatewayError::BadGatewayNamed(format!(
        "route {label}: the application's certificate could not be verified"
    ))
}

/// A declared body larger than the route's `max_body_size`.
fn declared_over(req: &RequestHeader, route: Option<&crate::config::Route>) -> bool {
    let Some(max) = route.and_then(|r| r.upstream.max_body_size) else {
        return false;
    };
    content_length(req).is_some_and(|n| n > max)
}

/// The body length the request declares.
fn content_length(req: &RequestHeader) -> Option<u64> {
    req.headers
        .get(::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn peer_ip(session: &Session) -> Option<std::net::IpAddr> {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
}

fn is_tls(session: &Session) -> bool {
    session.digest().is_some_and(|d| d.ssl_digest.is_some())
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = Ctx;

    /// No downstream modules: Pingora's default adds a disabled compression module, which
    /// still runs on every request.
    fn init_downstream_modules(&self, _modules: &mut pingora::modules::http::HttpModules) {}

    fn new_ctx(&self) -> Ctx {
        Ctx {
            app: self.live.load(),
            facts: None,
            route: None,
            connect_attempts: 0,
            json: false,
            identity: None,
            user: None,
            strip_authorization: false,
            client_ip: None,
            label: None,
            started: None,
            upstream_started: None,
            body_seen: 0,
            hsts: None,
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        let app = Arc::clone(&ctx.app);
        ctx.started = Some(std::time::Instant::now());
        ctx.json = http::wants_json(session.req_header());
        let facts = match facts::classify(
            session.req_header(),
            peer_ip(session),
            is_tls(session),
            &app.cfg.server.trusted_proxies,
        ) {
            Ok(f) => f,
            Err(e) => return self.fail(session, ctx, e).await,
        };
        ctx.label = Some(Arc::clone(&app.authgate_label));
        ctx.client_ip = facts.client_ip;
        if let Some(acme) = self.acme.as_deref() {
            ctx.hsts = https::hsts(Some(acme), &facts);
            let tls_port = app.cfg.server.tls_listen.first().map(|a| a.port());
            if let Some(reply) = https::plain(acme, session.req_header(), &facts, tls_port).await {
                send(session, ctx, reply).await?;
                return Ok(true);
            }
        }
        if let Some(reply) = self.client_endpoint(&app, session, &facts).await {
            send(session, ctx, reply).await?;
            return Ok(true);
        }
        if facts.host.name == app.cfg.server.public_host.name {
            if let Some(endpoint) = provider::Endpoint::from_path(&facts.path) {
                return self.provider(session, ctx, endpoint, &facts).await;
            }
        }
        let Some(route) = app
            .route_table
            .find(&app.cfg.routes, &facts.host, &facts.path)
        else {
            return self.fail(session, ctx, GatewayError::NoRoute).await;
        };
        ctx.label = app.routes.get(route).map(|r| Arc::clone(&r.label));
        match access::check(&app, session.req_header(), &facts, route, ctx.json).await {
            access::Outcome::Pass {
                headers,
                user,
                strip_authorization,
            } => {
                ctx.identity = headers;
                ctx.user = user;
                ctx.strip_authorization = strip_authorization;
            }
            access::Outcome::Respond(reply) => {
                respond_to(session, ctx, reply).await?;
                return Ok(true);
            }
        }
        if declared_over(session.req_header(), app.route(route)) {
            return self.fail(session, ctx, GatewayError::PayloadTooLarge).await;
        }
        ctx.route = Some(route);
        ctx.facts = Some(facts);
        Ok(false)
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let (Some(route), Some(live)) = (
            ctx.route.and_then(|i| ctx.app.route(i)),
            ctx.route.and_then(|i| ctx.app.routes.get(i)),
        ) else {
            return Err(Error::explain(
                ErrorType::InternalError,
                "no route in context",
            ));
        };
        let backend = live.balancer.select(b"", 256).ok_or_else(|| {
            Error::explain(
                ErrorType::HTTPStatus(502),
                "every upstream of this route is down",
            )
        })?;
        ctx.connect_attempts += 1;
        ctx.upstream_started = Some(std::time::Instant::now());
        let peer = live.peer(route, &backend).ok_or_else(|| {
            Error::explain(ErrorType::InternalError, "upstream is not the route's")
        })?;
        Ok(Box::new(peer))
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut Ctx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        // Another upstream of the same route may be up: let round robin pick the next one.
        let upstreams = ctx
            .route
            .and_then(|i| ctx.app.route(i))
            .map_or(0, |r| r.upstream.backends.len());
        if ctx.connect_attempts < upstreams {
            e.set_retry(true);
        }
        e
    }

    async fn connected_to_upstream(
        &self,
        _session: &mut Session,
        reused: bool,
        _peer: &HttpPeer,
        _fd: std::os::unix::io::RawFd,
        _digest: Option<&pingora::protocols::Digest>,
        _ctx: &mut Ctx,
    ) -> Result<()> {
        crate::metrics::upstream_connection(reused);
        Ok(())
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        req: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        // Only authgate speaks for the user: strip what the client claimed, on every request.
        crate::identity::strip(req, &ctx.app.reserved);
        let (Some(facts), Some(route)) = (&ctx.facts, ctx.route.and_then(|i| ctx.app.route(i)))
        else {
            return Ok(());
        };
        // The upstream receives the path the decision was made on (hardening: path confusion),
        // without the route's strip_prefix.
        let path = upstream::path(route, facts);
        if !is_target(req.raw_path(), path, facts.query.as_deref()) {
            let uri = match &facts.query {
                Some(q) => format!("{path}?{q}"),
                None => path.to_string(),
            };
            req.set_uri(uri.parse().map_err(|_| {
                Error::explain(ErrorType::InternalError, "normalised URI does not parse")
            })?);
        }
        forwarded::apply(req, facts)?;
        if ctx.strip_authorization || route.upstream.basic.is_some() {
            // Only authgate's credentials reach an upstream that takes Basic auth from us.
            req.remove_header(&::http::header::AUTHORIZATION);
        }
        match crate::http::cookies::without(req, &ctx.app.cfg.session.cookie_name) {
            Without::Unchanged => {}
            Without::Nothing => {
                req.remove_header(&::http::header::COOKIE);
            }
            Without::Rest(rest) => req.insert_header(::http::header::COOKIE, rest)?,
        }
        // Not taken: a retried request comes through here again.
        if let Some(prepared) = ctx.identity.as_deref() {
            for (name, value) in prepared.headers() {
                req.insert_header(name.clone(), value.clone())?;
            }
        }
        upstream::request(req, route)
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        _end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<()> {
        match (body, ctx.route.and_then(|i| ctx.app.route(i))) {
            (Some(chunk), Some(route)) => {
                upstream::count_body(route, &mut ctx.body_seen, chunk.len())
            }
            _ => Ok(()),
        }
    }

    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        resp: &mut pingora::http::ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        if let (Some(t), Some(label)) = (ctx.upstream_started, &ctx.label) {
            crate::metrics::upstream_latency(label, t.elapsed().as_secs_f64());
        }
        crate::http::cookies::strip_ours(resp, &ctx.app.cfg.session.cookie_name)?;
        if let Some(hsts) = &ctx.hsts {
            resp.insert_header(::http::header::STRICT_TRANSPORT_SECURITY, hsts)?;
        }
        let route = ctx
            .route
            .and_then(|i| Some((ctx.app.route(i)?, ctx.app.routes.get(i)?)));
        match (route, &ctx.facts) {
            (Some((route, live)), Some(facts)) => upstream::response(resp, route, live, facts),
            _ => Ok(()),
        }
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut Ctx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let label = ctx.label.as_deref().unwrap_or("none");
        crate::metrics::request(label, status);
        if ctx.app.cfg.server.access_log {
            let req = session.req_header();
            log::info!(
                target: "access",
                "{} {} {} route={} status={} ms={:.1} user={}",
                ctx.client_ip
                    .or_else(|| peer_ip(session))
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                req.method,
                ctx.facts.as_ref().map_or(req.uri.path(), |f| f.path.as_str()),
                label,
                status,
                ctx.started.map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0),
                ctx.user.as_ref().map_or("-", |u| u.username.as_str()),
            );
        }
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        let error = match (e.etype(), e.esource()) {
            (ErrorType::HTTPStatus(502), _) => Some(GatewayError::BadGateway),
            (
                ErrorType::TLSHandshakeFailure | ErrorType::InvalidCert | ErrorType::HandshakeError,
                ErrorSource::Upstream,
            ) => Some(tls_refused(ctx, e)),
            (ErrorType::HTTPStatus(code), _) => Some(match code {
                400 => GatewayError::BadRequest("the request could not be read".into()),
                413 => GatewayError::PayloadTooLarge,
                503 => GatewayError::Unavailable("error-service-unavailable"),
                504 => GatewayError::GatewayTimeout,
                _ => GatewayError::Internal,
            }),
            (
                ErrorType::ConnectTimedout | ErrorType::ReadTimedout | ErrorType::WriteTimedout,
                ErrorSource::Upstream,
            ) => Some(GatewayError::GatewayTimeout),
            (_, ErrorSource::Upstream) => Some(GatewayError::BadGateway),
            (
                ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed,
                ErrorSource::Downstream,
            ) => None,
            (_, ErrorSource::Downstream) => Some(GatewayError::BadRequest(
                "the request could not be read".into(),
            )),
            _ => Some(GatewayError::Internal),
        };
        let code = match error {
            Some(err) => {
                let status = respond::status(&err);
                if session.response_written().is_none() {
                    // This connection is not reused: say so, so that clients do not send the
                    // next request into a socket about to close.
                    session.set_keepalive(None);
                    if let Err(write) = send(session, ctx, error_reply(session, ctx, &err)).await {
                        log::debug!("could not write the error page: {write}");
                    }
                }
                status
            }
            None => 0,
        };
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(target: &[u8]) -> (RequestHeader, Facts) {
        let mut req = RequestHeader::build("GET", target, None).unwrap();
        req.insert_header("Host", "app.test").unwrap();
        let facts = facts::classify(&req, None, false, &[]).unwrap();
        (req, facts)
    }

    #[test]
    fn the_target_is_kept_only_when_it_is_exactly_what_was_decided_on() {
        for kept in [&b"/a/b"[..], b"/a/b?x=1", b"/a?"] {
            let (req, f) = facts(kept);
            assert!(
                is_target(req.raw_path(), &f.path, f.query.as_deref()),
                "{}",
                String::from_utf8_lossy(kept)
            );
        }
        for rewritten in [&b"/a/../b"[..], b"/a//b?x=1", b"admin", b"/%61dmin"] {
            let (req, f) = facts(rewritten);
            assert!(
                !is_target(req.raw_path(), &f.path, f.query.as_deref()),
                "{}",
                String::from_utf8_lossy(rewritten)
            );
        }
    }
}
