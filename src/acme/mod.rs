//! Automatic HTTPS: certificates for `[server.acme]`'s names from any RFC 8555 CA, obtained at
//! start when none is stored, renewed in the background, and swapped into `tls::Certificates`
//! without a restart. The ACME protocol (JWS, orders, CSRs) is instant-acme's.
//!
//! Every second the manager looks at what is due: a missing certificate at once, a stored one
//! `renew_before` its expiry (or when the CA's renewal information suggests), a failure after
//! a backoff. With `[storage]`, instances share certificates, the account and challenges, and
//! a lease lets one of them order at a time.

mod answers;
mod order;
mod plan;
pub mod schedule;
mod state;

use std::sync::Arc;

use pingora::server::ShutdownWatch;

pub use answers::Answers;

use crate::clock::Clock;
use crate::config::model;
use crate::storage::{Storage, StorageError};
use crate::tls::{Certificates, TlsError};

/// The path prefix of http-01 validations (RFC 8555 §8.3).
pub const HTTP01_PREFIX: &str = "/.well-known/acme-challenge/";

#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    #[error("ACME: {0}")]
    Protocol(#[from] instant_acme::Error),
    #[error("the CA refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the issued certificate: {0}")]
    Tls(#[from] TlsError),
    #[error("the stored ACME account: {0}")]
    Account(#[from] serde_json::Error),
}

/// The certificate manager; the proxy asks it for http-01 answers.
pub struct Acme {
    cfg: model::Acme,
    certs: Arc<Certificates>,
    answers: Answers,
    store: Option<Arc<Storage>>,
    state: state::StateDir,
    clock: Arc<dyn Clock>,
    /// This process, as a lease holder.
    holder: String,
    hsts: Option<http::HeaderValue>,
}

impl Acme {
    pub fn new(
        cfg: model::Acme,
        certs: Arc<Certificates>,
        store: Option<Arc<Storage>>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Acme> {
        Arc::new(Acme {
            hsts: cfg
                .hsts
                .as_deref()
                .and_then(|v| http::HeaderValue::from_str(v).ok()),
            answers: Answers::new(Arc::clone(&certs), store.clone(), Arc::clone(&clock)),
            state: state::StateDir::new(&cfg.state_dir, cfg.directory_url.as_str()),
            cfg,
            certs,
            store,
            clock,
            holder: crate::secret::new_id(),
        })
    }

    pub fn config(&self) -> &model::Acme {
        &self.cfg
    }

    /// A certificate (ACME or manual) is served for `host`: https works there.
    pub fn certs_cover(&self, host: &str) -> bool {
        self.certs.issued(host).is_some() || self.certs.manual_covers(host)
    }

    /// `Strict-Transport-Security` for https answers, when configured.
    pub fn hsts(&self) -> Option<&http::HeaderValue> {
        self.hsts.as_ref()
    }

    /// The answer to an http-01 validation of `token`.
    pub async fn http01(&self, token: &str) -> Option<String> {
        self.answers.http01(token).await
    }

    /// Keeps every certificate fresh until shutdown.
    pub async fn run(self: Arc<Self>, mut shutdown: ShutdownWatch) {
        let mut plan = plan::Plan::start(&self).await;
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            if self.store.is_some() && self.cfg.challenge == model::Challenge::TlsAlpn01 {
                self.answers.sync().await;
            }
            plan.step(&self).await;
        }
    }
}
