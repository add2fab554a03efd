//! A route's upstream, live: one round-robin load balancer per route, with an active HTTP
//! health check when the route names a `health_check` path, and the one function that builds
//! the Pingora peer for a backend — for proxying and for the health check alike, so a transport
//! is set up in one place. The checks of the live configuration run in `checks`, which the
//! server restarts whenever a reload replaces the balancers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use pingora::lb::health_check::{HealthCheck, HttpHealthCheck};
use pingora::lb::{selection::RoundRobin, Backend, Backends, LoadBalancer};
use pingora::protocols::ALPN;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use pingora::upstreams::peer::HttpPeer;

use crate::app::resolve::{Names, Slot};
use crate::app::tls::PreparedTls;
use crate::config::{self, Protocol, Route, Transport, Upstream};

pub type Balancer = Arc<LoadBalancer<RoundRobin>>;

/// How often a route whose upstreams are names asks the resolver again (which answers from its
/// cache until a record's TTL runs out).
const RESOLVE_EVERY: Duration = Duration::from_secs(1);

/// What a request needs of its route at run time, beside the route's configuration.
pub struct LiveRoute {
    /// For logs and metrics.
    pub label: Arc<str>,
    pub balancer: Balancer,
    /// The route's TLS towards its https backends, parsed once.
    pub tls: PreparedTls,
    /// The upstream's own host names, lowercase, for `rewrite_redirects`.
    pub upstream_hosts: Vec<String>,
}

impl LiveRoute {
    pub fn new(route: &Route) -> LiveRoute {
        let tls = PreparedTls::new(&route.upstream);
        let upstream = &route.upstream;
        let written = upstream.backends.iter().map(|b| b.host.as_str());
        let sent = upstream
            .rewrite
            .host
            .iter()
            .map(|h| h.split(':').next().unwrap_or(h));
        LiveRoute {
            label: Arc::from(route.label()),
            balancer: build(route, &tls),
            tls,
            upstream_hosts: written.chain(sent).map(str::to_ascii_lowercase).collect(),
        }
    }

    /// The peer for `selected`, one of `route`'s backends at the address it resolves to now.
    pub fn peer(&self, route: &Route, selected: &Backend) -> Option<HttpPeer> {
        let Slot(i) = *selected.ext.get::<Slot>()?;
        let backend = route.upstream.backends.get(i)?;
        Some(peer(
            backend,
            *selected.addr.as_inet()?,
            &route.upstream,
            &self.tls,
        ))
    }
}

/// The peer for `backend` of `upstream` at `addr` (where its name resolves now): its transport
/// (TLS verified against the route's settings, in a connection pool of their own), protocol
/// and timeouts. Proxying and the health check both use it.
pub fn peer(
    backend: &config::Backend,
    addr: SocketAddr,
    upstream: &Upstream,
    tls: &PreparedTls,
) -> HttpPeer {
    let mut peer = match backend.transport {
        Transport::Http => HttpPeer::new(addr, false, String::new()),
        Transport::Https => {
            let sni = upstream.tls.server_name.as_deref().unwrap_or(&backend.host);
            let mut p = HttpPeer::new(addr, true, sni.to_string());
            tls.apply(&mut p, upstream.tls.insecure_skip_verify);
            p
        }
    };
    peer.options.alpn = match upstream.protocol {
        Protocol::Http1 => ALPN::H1,
        Protocol::H2 | Protocol::H2c => ALPN::H2,
    };
    peer.options.connection_timeout = Some(upstream.connect_timeout);
    peer.options.read_timeout = Some(upstream.read_timeout);
    // An idle pooled connection is closed after a minute, also when the upstream never closes
    // it. (Without this timer the bench measured no difference: BENCHMARKS.md.)
    peer.options.idle_timeout = Some(Duration::from_secs(60));
    peer
}

/// The balancer for `route`, with its health check set up (but not running) if it has one.
fn build(route: &Route, tls: &PreparedTls) -> Balancer {
    let upstream = &route.upstream;
    let names = Names::new(&upstream.backends);
    let mut lb = LoadBalancer::<RoundRobin>::from_backends(Backends::new(Box::new(names)));
    // The first discovery answers with the addresses found at start, without waiting.
    if !matches!(lb.update().now_or_never(), Some(Ok(()))) {
        log::error!("route {}: loading the upstream list failed", route.label());
    }
    if Names::any(&upstream.backends) {
        lb.update_frequency = Some(RESOLVE_EVERY);
    }
    if let Some(health) = &upstream.health {
        let host = route
            .host
            .as_ref()
            .map(|h| h.authority())
            .unwrap_or_else(|| "localhost".into());
        lb.set_health_check(Box::new(RouteCheck::new(
            &host,
            &health.path,
            upstream,
            tls,
        )));
        lb.health_check_frequency = Some(health.interval);
        lb.parallel_health_check = true;
    }
    Arc::new(lb)
}

/// Runs the health checks of `routes` until `shutdown` fires (or the future is dropped).
pub async fn checks(routes: &[LiveRoute], mut shutdown: ShutdownWatch) {
    let running: Vec<_> = routes
        .iter()
        .map(|r| &r.balancer)
        .filter(|b| b.health_check_frequency.is_some() || b.update_frequency.is_some())
        .map(|b| b.start(shutdown.clone()))
        .collect();
    if running.is_empty() {
        // Nothing to check: wait for the end all the same.
        let _ = shutdown.changed().await;
    } else {
        futures::future::join_all(running).await;
    }
}

/// The active health check of a route: `GET path` on each backend, through that backend's own
/// peer (so an https backend is checked over TLS with the route's settings).
struct RouteCheck {
    /// One check per configured backend, in order.
    each: Vec<HttpHealthCheck>,
}

impl RouteCheck {
    fn new(host: &str, path: &str, upstream: &Upstream, tls: &PreparedTls) -> RouteCheck {
        let each = upstream
            .backends
            .iter()
            .map(|b| {
                let mut hc = HttpHealthCheck::new(host, b.transport == Transport::Https);
                if let Ok(mut req) =
                    pingora::http::RequestHeader::build("GET", path.as_bytes(), None)
                {
                    let _ = req.insert_header("Host", host);
                    let _ = req.insert_header("User-Agent", "authgate-health-check");
                    hc.req = req;
                }
                // A check gives up sooner than a request does.
                hc.peer_template = peer(b, b.addr, upstream, tls);
                hc.peer_template.options.read_timeout = Some(Duration::from_secs(1));
                hc
            })
            .collect();
        RouteCheck { each }
    }
}

#[async_trait::async_trait]
impl HealthCheck for RouteCheck {
    async fn check(&self, target: &Backend) -> pingora::Result<()> {
        let slot = target.ext.get::<Slot>().map(|s| s.0);
        match slot.and_then(|i| self.each.get(i)) {
            Some(hc) => hc.check(target).await,
            None => pingora::Error::e_explain(
                pingora::ErrorType::InternalError,
                "a backend this route does not have",
            ),
        }
    }

    fn health_threshold(&self, success: bool) -> usize {
        self.each
            .first()
            .map_or(1, |hc| hc.health_threshold(success))
    }
}
