//! Upstream host names, resolved again as their DNS answers expire: a route whose upstreams
//! name hosts discovers its backends through the resolver on every balancer update, and
//! hickory's cache keeps each answer for its TTL, so an address changes when its record does.
//! A name that stops resolving keeps its last address, disabled, so it takes no requests.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;
use pingora::lb::discovery::ServiceDiscovery;
use pingora::lb::Backend;

use crate::config;

/// Which of the route's configured backends a discovered address stands for.
#[derive(Debug, Clone, Copy)]
pub struct Slot(pub usize);

/// The process's resolver: the system's configuration, or for the tests the one name server
/// in `AUTHGATE_TEST_RESOLVER` (`ip:port`).
fn resolver() -> Option<&'static TokioResolver> {
    static RESOLVER: OnceLock<Option<TokioResolver>> = OnceLock::new();
    RESOLVER
        .get_or_init(|| {
            let built = match std::env::var("AUTHGATE_TEST_RESOLVER")
                .ok()
                .and_then(|s| s.parse::<SocketAddr>().ok())
            {
                Some(at) => {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = at.port();
                    let server = NameServerConfig::new(at.ip(), true, vec![udp]);
                    let config = ResolverConfig::from_parts(None, vec![], vec![server]);
                    TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
                        .build()
                }
                None => TokioResolver::builder_tokio().and_then(|b| b.build()),
            };
            built
                .map_err(|e| log::error!("upstream names will not be resolved again: {e}"))
                .ok()
        })
        .as_ref()
}

/// A route's backends: addresses as written, names as they resolve now.
pub struct Names {
    backends: Vec<config::Backend>,
    /// The first discovery answers with the addresses found at start, without waiting on DNS.
    started: AtomicBool,
    /// The last addresses of each name, kept (disabled) when it stops resolving.
    last: Mutex<HashMap<usize, Vec<SocketAddr>>>,
}

impl Names {
    pub fn new(backends: &[config::Backend]) -> Names {
        Names {
            backends: backends.to_vec(),
            started: AtomicBool::new(false),
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether any backend is a name (and so worth discovering again).
    pub fn any(backends: &[config::Backend]) -> bool {
        backends.iter().any(|b| b.host.parse::<IpAddr>().is_err())
    }

    async fn addresses(&self, i: usize, b: &config::Backend) -> (Vec<SocketAddr>, bool) {
        if b.host.parse::<IpAddr>().is_ok() || !self.started.load(Ordering::Relaxed) {
            return (vec![b.addr], b.resolved());
        }
        let found = match resolver() {
            Some(r) => r.lookup_ip(b.host.as_str()).await.map(|ips| {
                ips.iter()
                    .map(|ip| SocketAddr::new(ip, b.addr.port()))
                    .collect::<Vec<_>>()
            }),
            None => Ok(vec![b.addr]),
        };
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match found {
            Ok(addrs) if !addrs.is_empty() => {
                last.insert(i, addrs.clone());
                (addrs, true)
            }
            other => {
                log::warn!(
                    "upstream {}: the name does not resolve ({}); marked unhealthy",
                    b.host,
                    other.err().map_or("no address".into(), |e| e.to_string())
                );
                (last.get(&i).cloned().unwrap_or_else(|| vec![b.addr]), false)
            }
        }
    }
}

#[async_trait::async_trait]
impl ServiceDiscovery for Names {
    async fn discover(&self) -> pingora::Result<(BTreeSet<Backend>, HashMap<u64, bool>)> {
        let mut found = BTreeSet::new();
        let mut enabled = HashMap::new();
        for (i, b) in self.backends.iter().enumerate() {
            let (addrs, resolves) = self.addresses(i, b).await;
            for addr in addrs {
                let mut backend = Backend {
                    addr: pingora::protocols::l4::socket::SocketAddr::Inet(addr),
                    weight: 1,
                    ext: Default::default(),
                };
                backend.ext.insert(Slot(i));
                if !resolves {
                    // The key Pingora gives a backend: its hash with the default hasher.
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    std::hash::Hash::hash(&backend, &mut h);
                    enabled.insert(std::hash::Hasher::finish(&h), false);
                }
                found.insert(backend);
            }
        }
        self.started.store(true, Ordering::Relaxed);
        Ok((found, enabled))
    }
}
