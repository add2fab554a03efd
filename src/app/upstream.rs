//! One round-robin load balancer per route, with an active HTTP health check when the route
//! names a `health_check` path. The checks of the live configuration run in `checks`, which
//! the server restarts whenever a reload replaces the balancers.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::FutureExt;

use pingora::lb::{
    discovery, health_check::HttpHealthCheck, selection::RoundRobin, Backend, Backends,
    LoadBalancer,
};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use crate::config::Route;

pub type Balancer = Arc<LoadBalancer<RoundRobin>>;

/// The balancer for `route`, with its health check set up (but not running) if it has one.
pub fn build(route: &Route) -> Balancer {
    let backends: BTreeSet<Backend> = route
        .upstreams
        .iter()
        .map(|addr| Backend {
            addr: pingora::protocols::l4::socket::SocketAddr::Inet(*addr),
            weight: 1,
            ext: Default::default(),
        })
        .collect();
    let mut lb =
        LoadBalancer::<RoundRobin>::from_backends(Backends::new(discovery::Static::new(backends)));
    // Static discovery cannot fail or block, so polling it once fills the selector.
    // Static discovery resolves on its first poll and cannot fail.
    if !matches!(lb.update().now_or_never(), Some(Ok(()))) {
        log::error!(
            "route {}: loading the static upstream list failed",
            route.label()
        );
    }
    if let Some(path) = &route.health_check {
        let host = route
            .host
            .as_ref()
            .map(|h| h.authority())
            .unwrap_or_else(|| "localhost".into());
        let mut hc = HttpHealthCheck::new(&host, false);
        if let Ok(req) = pingora::http::RequestHeader::build("GET", path.as_bytes(), None) {
            let mut req = req;
            let _ = req.insert_header("Host", host.as_str());
            let _ = req.insert_header("User-Agent", "authgate-health-check");
            hc.req = req;
        }
        hc.peer_template.options.connection_timeout = Some(route.connect_timeout);
        lb.set_health_check(Box::new(hc));
        lb.health_check_frequency = Some(route.health_check_interval);
        lb.parallel_health_check = true;
    }
    Arc::new(lb)
}

/// Runs the health checks of `balancers` until `shutdown` fires (or the future is dropped).
pub async fn checks(balancers: &[Balancer], mut shutdown: ShutdownWatch) {
    let running: Vec<_> = balancers
        .iter()
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
