//! Everything a running authgate shares between requests, built once from the validated config.

use std::sync::Arc;

use crate::config::{Config, Route, StoreKind};
use crate::identity::{Assertions, Reserved};
use crate::keys::{KeyError, KeySet};
use crate::login::password::Verifier;
use crate::oidc::clients::Clients;
use crate::proxy::routes::RouteTable;
use crate::proxy::upstream::Balancer;
use crate::session::memory::MemoryStore;
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
                return Err(StartError::Store(
                    "the redis store is not available in this build yet".into(),
                ))
            }
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(App {
            assertions: Assertions::default(),
            reserved: Reserved::new(cfg.routes.iter().map(|r| &r.headers)),
            routes: RouteTable::new(&cfg.routes),
            clients: Clients::new(&cfg),
            passwords: Verifier::new(cores, cores * 16),
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
