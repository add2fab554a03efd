//! Everything a running authgate shares between requests, built once from the validated config.

use std::sync::Arc;

use crate::config::{Config, Route, StoreKind};
use crate::identity::{Assertions, Reserved};
use crate::keys::{KeyError, KeySet};
use crate::login::password::Verifier;
use crate::oidc::clients::Clients;
use crate::oidc::tokens::AccessClaims;
use crate::proxy::routes::RouteTable;
use crate::proxy::upstream::Balancer;
use crate::session::memory::MemoryStore;
use crate::session::redis::RedisStore;
use crate::session::Store;

pub struct App {
    pub cfg: Config,
    pub routes: RouteTable,
    /// One balancer per route, same index as `cfg.routes`.
    pub balancers: Vec<Balancer>,
    pub keys: KeySet,
    pub clients: Clients,
    pub store: Arc<dyn Store>,
    pub passwords: Verifier,
    pub assertions: Assertions,
    /// Identity header names clients may never send.
    pub reserved: Reserved,
    /// Access tokens whose signature has been verified, by token (expiry and revocation are
    /// still checked on every use).
    pub verified_tokens: moka::sync::Cache<String, Arc<AccessClaims>>,
    /// Route labels for logs and metrics, same index as `cfg.routes`.
    pub labels: Vec<Arc<str>>,
    /// The label of requests authgate answers itself.
    pub authgate_label: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("session store: {0}")]
    Store(String),
}

impl App {
    pub fn new(cfg: Config, balancers: Vec<Balancer>) -> Result<App, StartError> {
        let keys = KeySet::load(&cfg.tokens)?;
        let store: Arc<dyn Store> = match cfg.session.store {
            StoreKind::Memory => Arc::new(MemoryStore::new(cfg.session.max_entries)),
            StoreKind::Redis => {
                let url = cfg
                    .session
                    .redis_url
                    .as_ref()
                    .map(|u| u.expose())
                    .unwrap_or_default();
                let store = RedisStore::new(url, &cfg.session.key_prefix)
                    .map_err(|e| StartError::Store(e.to_string()))?;
                Arc::new(store)
            }
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(App {
            assertions: Assertions::default(),
            verified_tokens: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(300))
                .build(),
            labels: cfg.routes.iter().map(|r| Arc::from(r.label())).collect(),
            authgate_label: Arc::from("authgate"),
            reserved: Reserved::new(cfg.routes.iter().map(|r| &r.headers)),
            routes: RouteTable::new(&cfg.routes),
            clients: Clients::new(&cfg),
            // Half the cores at most: sign-in floods must leave CPU to proxying.
            passwords: Verifier::new((cores / 2).max(1), cores * 16),
            cfg,
            balancers,
            keys,
            store,
        })
    }

    pub fn route(&self, i: usize) -> Option<&Route> {
        self.cfg.routes.get(i)
    }
}
