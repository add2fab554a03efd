//! A certificate chain and key as rustls serves them, with what authgate needs to know about
//! them: the names they cover and when they expire.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub String);

/// A certificate ready to serve.
pub struct Served {
    pub key: Arc<CertifiedKey>,
    /// The DNS names of the leaf (lowercase; wildcards as written).
    pub names: Vec<String>,
    pub not_before: u64,
    pub not_after: u64,
}

impl Served {
    /// From a PEM chain (leaf first) and a PEM private key.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Served, TlsError> {
        let certs = CertificateDer::pem_slice_iter(chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError(format!("certificate chain: {e}")))?;
        let leaf = certs
            .first()
            .ok_or_else(|| TlsError("no certificate in the chain".into()))?;
        let (names, not_before, not_after) = describe(leaf)?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| TlsError(format!("private key: {e}")))?;
        let signer = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| TlsError(format!("private key: {e}")))?;
        let key = Arc::new(CertifiedKey::new(certs, signer));
        key.keys_match()
            .map_err(|e| TlsError(format!("the key is not the certificate's: {e}")))?;
        Ok(Served {
            key,
            names,
            not_before,
            not_after,
        })
    }

    pub fn from_files(chain: &std::path::Path, key: &std::path::Path) -> Result<Served, TlsError> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| TlsError(format!("cannot read {}: {e}", p.display())))
        };
        Served::from_pem(&read(chain)?, &read(key)?)
    }

    /// The leaf names `host`, directly or by a one-label wildcard.
    pub fn covers(&self, host: &str) -> bool {
        self.names.iter().any(|n| match n.strip_prefix("*.") {
            Some(parent) => host
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
            None => n == host,
        })
    }

    /// The leaf certificate (DER).
    pub fn leaf(&self) -> Option<&CertificateDer<'static>> {
        self.key.cert.first()
    }
}

/// The DNS names and validity of a certificate.
fn describe(der: &CertificateDer<'_>) -> Result<(Vec<String>, u64, u64), TlsError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| TlsError(format!("certificate: {e}")))?;
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => {
                        Some(d.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let secs = |t: x509_parser::time::ASN1Time| u64::try_from(t.timestamp()).unwrap_or(0);
    Ok((
        names,
        secs(cert.validity().not_before),
        secs(cert.validity().not_after),
    ))
}

/// The self-signed certificate that proves control of `host` to a tls-alpn-01 validation:
/// `host` as its only name and the SHA-256 of the key authorization in the acmeIdentifier
/// extension (RFC 8737 §3).
pub fn challenge_certificate(host: &str, digest: &[u8]) -> Result<Arc<CertifiedKey>, TlsError> {
    if digest.len() != 32 {
        return Err(TlsError("tls-alpn-01: the digest is not SHA-256".into()));
    }
    let fail = |e: rcgen::Error| TlsError(format!("tls-alpn-01 certificate: {e}"));
    let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).map_err(fail)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let cert = params.self_signed(&key).map_err(fail)?;
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signer = rustls::crypto::ring::sign::any_supported_type(&der)
        .map_err(|e| TlsError(format!("tls-alpn-01 key: {e}")))?;
    Ok(Arc::new(CertifiedKey::new(
        vec![cert.der().clone()],
        signer,
    )))
}
