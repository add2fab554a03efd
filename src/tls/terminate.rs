//! TLS termination in front of the HTTP application: the listener accepts TCP, this app runs
//! the handshake with `Certificates`' configuration and hands the stream on. (Pingora's own
//! TLS listener offers one ALPN list, which cannot hold `acme-tls/1` next to h2 and
//! HTTP/1.1.)

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::apps::ServerApp;
use pingora::listeners::tls::Acceptor;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::tls::server::handshake;
use pingora::protocols::{Ssl, Stream, ALPN};
use pingora::server::ShutdownWatch;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Terminate<A> {
    inner: Arc<A>,
    acceptor: Acceptor,
}

impl<A> Terminate<A> {
    pub fn new(inner: A, config: Arc<rustls::ServerConfig>) -> Terminate<A> {
        Terminate {
            inner: Arc::new(inner),
            acceptor: Acceptor::from_server_config(config),
        }
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServerApp for Terminate<A> {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        // The listener is plain TCP, so the stream is Pingora's L4 stream.
        let Ok(l4) = stream.into_any().downcast::<L4Stream>() else {
            log::error!("TLS termination: the listener handed over a stream that is not TCP");
            return None;
        };
        let tls =
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&self.acceptor, *l4)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    log::debug!("TLS handshake failed: {e}");
                    return None;
                }
                Err(_) => {
                    log::debug!("TLS handshake timed out");
                    return None;
                }
            };
        if is_validation(tls.selected_alpn_proto()) {
            // A tls-alpn-01 validation ends with the handshake (RFC 8737 §3).
            return None;
        }
        let mut next: Option<Stream> = Some(Box::new(tls));
        while let Some(stream) = next {
            next = self.inner.process_new(stream, shutdown).await;
        }
        None
    }

    async fn cleanup(&self) {
        self.inner.cleanup().await;
    }
}

fn is_validation(alpn: Option<ALPN>) -> bool {
    matches!(alpn, Some(ALPN::Custom(c)) if c.protocol() == super::ACME_TLS_1)
}
