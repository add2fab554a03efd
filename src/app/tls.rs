//! A route's TLS towards its https backends, in Pingora's types, built once per configuration:
//! the trusted CA, the client certificate, and the pool key that keeps connections made under
//! these settings apart from every other route's.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use pingora::protocols::tls::CaType;
use pingora::upstreams::peer::HttpPeer;
use pingora::utils::tls::{parse_x509, CertKey, WrappedX509};

use crate::config::Upstream;

#[derive(Default)]
pub struct PreparedTls {
    ca: Option<Arc<CaType>>,
    client: Option<Arc<CertKey>>,
    /// Pingora's pool key leaves out the CA: this hash of the route's TLS settings goes in
    /// `HttpPeer::group_key`, so no connection verified under one CA serves a route that
    /// trusts another.
    group_key: u64,
}

impl PreparedTls {
    pub fn new(upstream: &Upstream) -> PreparedTls {
        let tls = &upstream.tls;
        let ca = tls.ca.as_ref().map(|certs| {
            let wrapped: Vec<WrappedX509> = certs
                .iter()
                .map(|der| WrappedX509::new(der.clone(), parse_x509))
                .collect();
            Arc::<CaType>::from(wrapped.into_boxed_slice())
        });
        let client = tls
            .client
            .as_ref()
            .map(|c| Arc::new(CertKey::new(c.chain.clone(), c.key.expose().to_vec())));
        let mut h = std::collections::hash_map::DefaultHasher::new();
        tls.ca.hash(&mut h);
        tls.server_name.hash(&mut h);
        tls.client.as_ref().map(|c| &c.chain).hash(&mut h);
        tls.insecure_skip_verify.hash(&mut h);
        PreparedTls {
            ca,
            client,
            group_key: h.finish(),
        }
    }

    /// Sets `peer`'s trust, client certificate, verification and pool key.
    pub fn apply(&self, peer: &mut HttpPeer, insecure_skip_verify: bool) {
        peer.options.ca = self.ca.clone();
        peer.client_cert_key = self.client.clone();
        peer.options.verify_cert = !insecure_skip_verify;
        peer.options.verify_hostname = !insecure_skip_verify;
        peer.group_key = self.group_key;
    }
}
