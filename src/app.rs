//! Everything a running authgate shares between requests, built once from the validated config.

use crate::config::{Config, Route};
use crate::proxy::routes::RouteTable;
use crate::proxy::upstream::Balancer;

pub struct App {
    pub cfg: Config,
    pub routes: RouteTable,
    /// One balancer per route, same index as `cfg.routes`.
    pub balancers: Vec<Balancer>,
}

impl App {
    pub fn route(&self, i: usize) -> Option<&Route> {
        self.cfg.routes.get(i)
    }
}
