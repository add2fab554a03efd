//! TLS on `tls_listen`: one rustls configuration whose certificate is chosen per handshake by
//! SNI. A name with an ACME certificate gets it, any other name the manual `tls_cert`; a name
//! with neither fails its handshake cleanly while every other name is served. A tls-alpn-01
//! validation (ALPN `acme-tls/1` only) gets the challenge certificate of its name.

mod certificate;
pub mod terminate;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

pub use certificate::{challenge_certificate, Served, TlsError};

/// The ALPN protocol of tls-alpn-01 (RFC 8737).
pub const ACME_TLS_1: &[u8] = b"acme-tls/1";

/// Every certificate `tls_listen` serves, swapped in place (no restart, no dropped connection).
pub struct Certificates {
    manual: Option<Arc<Served>>,
    issued: ArcSwap<HashMap<String, Arc<Served>>>,
    challenges: ArcSwap<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("issued", &self.issued.load().keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Certificates {
    pub fn new(manual: Option<Served>) -> Certificates {
        if let Some(m) = &manual {
            for name in &m.names {
                crate::metrics::certificate_expiry(name, m.not_after);
            }
        }
        Certificates {
            manual: manual.map(Arc::new),
            issued: ArcSwap::default(),
            challenges: ArcSwap::default(),
        }
    }

    /// From now on, handshakes for `host` get `served`.
    pub fn install(&self, host: &str, served: Served) {
        crate::metrics::certificate_expiry(host, served.not_after);
        let served = Arc::new(served);
        self.issued.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.insert(host.to_string(), Arc::clone(&served));
            map
        });
    }

    pub fn issued(&self, host: &str) -> Option<Arc<Served>> {
        self.issued.load().get(host).cloned()
    }

    /// The manual certificate names `host` (ACME leaves such a host alone).
    pub fn manual_covers(&self, host: &str) -> bool {
        self.manual.as_ref().is_some_and(|m| m.covers(host))
    }

    /// Answers tls-alpn-01 validations of `host` with `key`, until cleared.
    pub fn set_challenge(&self, host: &str, key: Arc<CertifiedKey>) {
        self.challenges.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.insert(host.to_string(), Arc::clone(&key));
            map
        });
    }

    pub fn clear_challenge(&self, host: &str) {
        self.challenges.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.remove(host);
            map
        });
    }

    /// The configuration of every TLS listener: TLS 1.2 and 1.3, h2 and HTTP/1.1 by ALPN (and
    /// `acme-tls/1` for validations), certificates from `self`.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), ACME_TLS_1.to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name().map(str::to_ascii_lowercase);
        let validation = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.all(|p| p == ACME_TLS_1));
        if validation {
            return self.challenges.load().get(name.as_deref()?).cloned();
        }
        if let Some(served) = name
            .as_deref()
            .and_then(|n| self.issued.load().get(n).cloned())
        {
            return Some(Arc::clone(&served.key));
        }
        self.manual.as_ref().map(|m| Arc::clone(&m.key))
    }
}

#[cfg(test)]
mod tests;
