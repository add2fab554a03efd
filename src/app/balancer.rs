//! A route's upstream, live: one round-robin load balancer per route, with an active HTTP
//! health check when the route names a `health_check` path, and the one function that builds
//! the Pingora peer for a backend — for proxying and for the health check alike, so a transport
//! is set up in one place. The checks of the live configuration run in `checks`, which the
//! server restarts whenever a reload replaces the balancers.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use pingora::lb::{
    discovery, health_check::HttpHealthCheck, selection::RoundRobin, Backend, Backends,
    LoadBalancer,
};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use pingora::upstreams::peer::HttpPeer;

use crate::config::{Route, Transport, Upstream};

pub type Balancer = Arc<LoadBalancer<RoundRobin>>;

/// What a request needs of its route at run time, beside the route's configuration.
pub struct LiveRoute {
    /// For logs and metrics.
    pub label: Arc<str>,
    pub balancer: Balancer,
}

impl LiveRoute {
    pub fn new(route: &Route) -> LiveRoute {
        LiveRoute {
            label: Arc::from(route.label()),
            balancer: build(route),
        }
    }
}

/// The peer for `addr`, a backend of `upstream`: how it is reached (its transport and
/// timeouts). Proxying and the health check both use it.
pub fn peer(addr: SocketAddr, upstream: &Upstream) -> HttpPeer {
    let transport = upstream
        .backends
        .iter()
        .find(|b| b.addr == addr)
        .map_or(Transport::Http, |b| b.transport);
    let mut peer = match transport {
        Transport::Http => HttpPeer::new(addr, false, String::new()),
    };
    peer.options.connection_timeout = Some(upstream.connect_timeout);
    peer.options.read_timeout = Some(upstream.read_timeout);
    peer.options.idle_timeout = Some(Duration::from_secs(60));
    peer
}

/// The balancer for `route`, with its health check set up (but not running) if it has one.
fn build(route: &Route) -> Balancer {
    let upstream = &route.upstream;
    let backends: BTreeSet<Backend> = upstream
        .backends
        .iter()
        .map(|b| Backend {
            addr: pingora::protocols::l4::socket::SocketAddr::Inet(b.addr),
            weight: 1,
            ext: Default::default(),
        })
        .collect();
    let mut lb =
        LoadBalancer::<RoundRobin>::from_backends(Backends::new(discovery::Static::new(backends)));
    // Static discovery resolves on its first poll and cannot fail.
    if !matches!(lb.update().now_or_never(), Some(Ok(()))) {
        log::error!(
            "route {}: loading the static upstream list failed",
            route.label()
        );
    }
    if let (Some(health), Some(first)) = (&upstream.health, upstream.backends.first()) {
        let host = route
            .host
            .as_ref()
            .map(|h| h.authority())
            .unwrap_or_else(|| "localhost".into());
        let mut hc = HttpHealthCheck::new(&host, false);
        if let Ok(mut req) =
            pingora::http::RequestHeader::build("GET", health.path.as_bytes(), None)
        {
            let _ = req.insert_header("Host", host.as_str());
            let _ = req.insert_header("User-Agent", "authgate-health-check");
            hc.req = req;
        }
        // The checker puts each backend's address into this template; a check gives up sooner
        // than a request does.
        hc.peer_template = peer(first.addr, upstream);
        hc.peer_template.options.read_timeout = Some(Duration::from_secs(1));
        lb.set_health_check(Box::new(hc));
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
        .filter(|b| b.health_check_frequency.is_some())
        .map(|b| b.start(shutdown.clone()))
        .collect();
    if running.is_empty() {
        // Nothing to check: wait for the end all the same.
        let _ = shutdown.changed().await;
    } else {
        futures::future::join_all(running).await;
    }
}
