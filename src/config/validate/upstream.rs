//! `[[routes]]`, the upstream side: backends (URLs or `host:port`), TLS towards them, the
//! protocol, what is rewritten both ways, and the body limit.

use std::net::SocketAddr;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use url::Url;

use super::{duration, upstream_addr, Problems};
use crate::config::file::RouteFile;
use crate::config::model::{
    Backend, ClientIdentity, HealthCheck, IdentityHeaders, Protocol, Rewrite, Transport, Upstream,
    UpstreamBasic, UpstreamTls,
};
use crate::http::host::Host;
use crate::secret::SecretBytes;

/// The route's upstream, every problem reported under `path`.
pub(super) fn build_upstream(
    p: &mut Problems,
    path: &str,
    r: &RouteFile,
    (path_prefix, headers): (&str, &IdentityHeaders),
    basic: Option<UpstreamBasic>,
) -> Upstream {
    let backends = backends(p, path, &r.upstreams);
    let interval = duration(
        p,
        &format!("{path}.health_check_interval"),
        r.health_check_interval.as_deref(),
        Duration::from_secs(1),
    );
    let timeout = |p: &mut Problems, key: &str, v: &Option<String>, default: u64| {
        duration(
            p,
            &format!("{path}.{key}"),
            v.as_deref(),
            Duration::from_secs(default),
        )
    };
    Upstream {
        tls: tls(p, path, r, &backends),
        protocol: protocol(p, path, r.upstream_protocol.as_deref(), &backends),
        rewrite: rewrite(p, path, r, path_prefix, headers),
        max_body_size: r
            .max_body_size
            .as_deref()
            .and_then(|s| size(p, &format!("{path}.max_body_size"), s)),
        health: r
            .health_check
            .clone()
            .map(|path| HealthCheck { path, interval }),
        connect_timeout: timeout(p, "connect_timeout", &r.connect_timeout, 2),
        read_timeout: timeout(p, "read_timeout", &r.read_timeout, 60),
        backends,
        basic,
    }
}

/// `routes[i].upstreams`: at least one.
fn backends(p: &mut Problems, path: &str, given: &[String]) -> Vec<Backend> {
    if given.is_empty() {
        p.add(
            format!("{path}.upstreams"),
            "at least one upstream (a URL or host:port) is required",
        );
    }
    given
        .iter()
        .enumerate()
        .filter_map(|(j, u)| backend(p, &format!("{path}.upstreams[{j}]"), u))
        .collect()
}

/// `https://name:port`, `http://name:port`, or `host:port` meaning http.
fn backend(p: &mut Problems, path: &str, s: &str) -> Option<Backend> {
    if !s.contains("://") {
        let addr = upstream_addr(p, path, s)?;
        let host = s.rsplit_once(':').map_or(s, |(h, _)| h);
        return Some(backend_at(addr, Transport::Http, host));
    }
    let url = match Url::parse(s) {
        Ok(u) => u,
        Err(e) => {
            p.add(path, format!("{s:?} is not a URL: {e}"));
            return None;
        }
    };
    let transport = match url.scheme() {
        "http" => Transport::Http,
        "https" => Transport::Https,
        other => {
            p.add(
                path,
                format!("{s:?}: the scheme {other:?} is neither http nor https"),
            );
            return None;
        }
    };
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        p.add(
            path,
            format!("{s:?}: an upstream is an origin, without a path (see strip_prefix)"),
        );
        return None;
    }
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        p.add(path, format!("{s:?} names no host"));
        return None;
    };
    let addr = upstream_addr(p, path, &format!("{host}:{port}"))?;
    Some(backend_at(addr, transport, host))
}

fn backend_at(addr: SocketAddr, transport: Transport, host: &str) -> Backend {
    Backend {
        addr,
        transport,
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    }
}

/// `upstream_tls_*`: only for https backends; files read and checked now.
fn tls(p: &mut Problems, path: &str, r: &RouteFile, backends: &[Backend]) -> UpstreamTls {
    let any = r.upstream_tls_ca_file.is_some()
        || r.upstream_tls_server_name.is_some()
        || r.upstream_tls_client_cert.is_some()
        || r.upstream_tls_client_key.is_some()
        || r.upstream_tls_insecure_skip_verify;
    if any && !backends.iter().any(|b| b.transport == Transport::Https) {
        p.add(
            format!("{path}.upstreams"),
            "upstream_tls_* apply to https:// upstreams, and this route has none",
        );
    }
    let ca = r.upstream_tls_ca_file.as_deref().and_then(|f| {
        let certs = certificates(p, &format!("{path}.upstream_tls_ca_file"), f)?;
        Some(certs.into_iter().map(|c| c.to_vec()).collect())
    });
    if let Some(name) = &r.upstream_tls_server_name {
        if rustls::pki_types::ServerName::try_from(name.as_str()).is_err() {
            p.add(
                format!("{path}.upstream_tls_server_name"),
                format!("{name:?} is not a host name or address"),
            );
        }
    }
    UpstreamTls {
        ca,
        server_name: r.upstream_tls_server_name.clone(),
        client: client_identity(p, path, r),
        insecure_skip_verify: r.upstream_tls_insecure_skip_verify,
    }
}

/// The PEM certificates in `file`; `None` (reported) when it cannot be read or holds none.
fn certificates(p: &mut Problems, path: &str, file: &str) -> Option<Vec<CertificateDer<'static>>> {
    let read: Result<Vec<_>, _> = match CertificateDer::pem_file_iter(file) {
        Ok(it) => it.collect(),
        Err(e) => {
            p.add(path, format!("cannot read {file:?}: {e}"));
            return None;
        }
    };
    let parses =
        |c: &CertificateDer<'static>| rustls::RootCertStore::empty().add(c.clone()).is_ok();
    match read {
        Ok(certs) if !certs.is_empty() && certs.iter().all(parses) => Some(certs),
        Ok(certs) if !certs.is_empty() => {
            p.add(
                path,
                format!("{file:?} holds a certificate that does not parse"),
            );
            None
        }
        Ok(_) => {
            p.add(path, format!("{file:?} holds no PEM certificate"));
            None
        }
        Err(e) => {
            p.add(path, format!("{file:?}: {e}"));
            None
        }
    }
}

/// `upstream_tls_client_cert` and `upstream_tls_client_key`: both or neither, and matching.
fn client_identity(p: &mut Problems, path: &str, r: &RouteFile) -> Option<ClientIdentity> {
    let (cert, key) = match (&r.upstream_tls_client_cert, &r.upstream_tls_client_key) {
        (None, None) => return None,
        (Some(c), Some(k)) => (c, k),
        _ => {
            p.add(
                format!("{path}.upstream_tls_client_cert"),
                "set both upstream_tls_client_cert and upstream_tls_client_key",
            );
            return None;
        }
    };
    let chain = certificates(p, &format!("{path}.upstream_tls_client_cert"), cert)?;
    let key_path = format!("{path}.upstream_tls_client_key");
    let key = match PrivateKeyDer::from_pem_file(key) {
        Ok(k) => k,
        Err(e) => {
            p.add(
                key_path,
                format!("{key:?} is not a readable PEM private key: {e}"),
            );
            return None;
        }
    };
    let provider = rustls::crypto::ring::default_provider();
    let matches = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map(|signer| rustls::sign::CertifiedKey::new(chain.clone(), signer).keys_match());
    if !matches!(matches, Ok(Ok(()))) {
        p.add(key_path, "the key does not match upstream_tls_client_cert");
        return None;
    }
    Some(ClientIdentity {
        chain: chain.into_iter().map(|c| c.to_vec()).collect(),
        key: SecretBytes::new(key.secret_der().to_vec()),
    })
}

/// `upstream_protocol`: h2 needs TLS (ALPN), h2c plain TCP.
fn protocol(p: &mut Problems, path: &str, given: Option<&str>, backends: &[Backend]) -> Protocol {
    let key = format!("{path}.upstream_protocol");
    let (protocol, needs) = match given {
        None | Some("http1") => return Protocol::Http1,
        Some("h2") => (Protocol::H2, Transport::Https),
        Some("h2c") => (Protocol::H2c, Transport::Http),
        Some(other) => {
            p.add(
                key,
                format!("{other:?}: expected \"http1\", \"h2\" or \"h2c\""),
            );
            return Protocol::Http1;
        }
    };
    if backends.iter().any(|b| b.transport != needs) {
        let why = match protocol {
            Protocol::H2 => "h2 is negotiated over TLS: every upstream must be https://",
            _ => "h2c is HTTP/2 without TLS: every upstream must be http://",
        };
        p.add(key, why);
    }
    protocol
}

/// `upstream_host`, `strip_prefix`, `rewrite_redirects`, `request_headers` and
/// `response_headers_remove`.
fn rewrite(
    p: &mut Problems,
    path: &str,
    r: &RouteFile,
    path_prefix: &str,
    identity: &IdentityHeaders,
) -> Rewrite {
    if let Some(h) = &r.upstream_host {
        if Host::parse(h).is_none() {
            p.add(
                format!("{path}.upstream_host"),
                format!("{h:?} is not a host name"),
            );
        }
    }
    let strip_prefix = r.strip_prefix.as_deref().and_then(|s| {
        let key = format!("{path}.strip_prefix");
        let covered = s.starts_with('/') && crate::http::path::under(path_prefix, s);
        if !covered || s.len() > 1 && s.ends_with('/') {
            p.add(
                key,
                format!("{s:?} must be the route's path_prefix ({path_prefix:?}) or a prefix of it, without a trailing /"),
            );
            return None;
        }
        (s != "/").then(|| s.to_string())
    });
    let request_headers = r
        .request_headers
        .iter()
        .filter_map(|(name, value)| {
            let key = format!("{path}.request_headers.{name}");
            request_header(p, &key, name, value, identity)
        })
        .collect();
    let response_headers_remove = r
        .response_headers_remove
        .iter()
        .enumerate()
        .filter_map(
            |(j, name)| match http::HeaderName::from_bytes(name.as_bytes()) {
                Ok(n) => Some(n),
                Err(_) => {
                    let key = format!("{path}.response_headers_remove[{j}]");
                    p.add(key, format!("{name:?} is not a header name"));
                    None
                }
            },
        )
        .collect();
    Rewrite {
        host: r.upstream_host.clone(),
        strip_prefix,
        redirects: r.rewrite_redirects,
        request_headers,
        response_headers_remove,
    }
}

/// One `request_headers` entry: a valid header that is not an identity header, nor `Host`.
fn request_header(
    p: &mut Problems,
    key: &str,
    name: &str,
    value: &str,
    identity: &IdentityHeaders,
) -> Option<(http::HeaderName, http::HeaderValue)> {
    let canonical = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    if identity.names().any(|n| canonical(n) == canonical(name)) {
        p.add(key, "an identity header: only authgate sets it");
        return None;
    }
    if canonical(name) == "host" {
        p.add(key, "set upstream_host instead");
        return None;
    }
    match (
        http::HeaderName::from_bytes(name.as_bytes()),
        http::HeaderValue::from_str(value),
    ) {
        (Ok(n), Ok(v)) => Some((n, v)),
        _ => {
            p.add(key, format!("{name:?}: {value:?} is not a valid header"));
            None
        }
    }
}

/// `"100m"`: bytes, or with `k`, `m` or `g` (powers of 1024).
fn size(p: &mut Problems, path: &str, s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let scale: u64 = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => 0,
    };
    match digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
    {
        Some(n) if scale > 0 && n > 0 => Some(n),
        _ => {
            p.add(path, format!("{s:?} is not a size such as \"100m\""));
            None
        }
    }
}
