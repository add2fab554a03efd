//! `[server]`: listeners, the public URL, TLS files and trusted proxies.

use super::*;

/// Idle upstream connections kept per worker thread when `[server] upstream_keepalive` is not
/// set: enough that a few thousand concurrent clients reuse connections instead of opening one
/// per request (Pingora's own default, 128, is a tenth of that).
const UPSTREAM_KEEPALIVE: usize = 1024;

/// `server.tls_cert` and `tls_key`: both or neither, and only with `tls_listen`.
pub(super) fn tls_files(
    p: &mut Problems,
    s: &ServerFile,
    no_tls_listener: bool,
) -> (Option<PathBuf>, Option<PathBuf>) {
    match (&s.tls_cert, &s.tls_key, no_tls_listener) {
        (None, None, false) if s.acme.is_some() => (None, None),
        (Some(c), Some(k), false) => (
            Some(readable(p, "server.tls_cert", c)),
            Some(readable(p, "server.tls_key", k)),
        ),
        (_, _, false) => {
            p.add(
                "server.tls_listen",
                "needs both tls_cert and tls_key, or [server.acme]",
            );
            (None, None)
        }
        (None, None, true) => (None, None),
        (_, _, true) => {
            p.add(
                "server.tls_cert",
                "tls_cert/tls_key given but no tls_listen",
            );
            (None, None)
        }
    }
}

/// `server.trusted_proxies`: addresses or CIDR networks.
pub(super) fn trusted_proxies(p: &mut Problems, nets: &[String]) -> Vec<ipnet::IpNet> {
    nets.iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let parsed = n
                .parse::<ipnet::IpNet>()
                .ok()
                .or_else(|| n.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from));
            if parsed.is_none() {
                p.add(
                    format!("server.trusted_proxies[{i}]"),
                    format!("{n:?} is not an IP address or CIDR network"),
                );
            }
            parsed
        })
        .collect()
}

pub(super) fn build_server(p: &mut Problems, mut s: ServerFile) -> Option<Server> {
    let listen: Vec<SocketAddr> = s
        .listen
        .iter()
        .enumerate()
        .filter_map(|(i, a)| socket_addr(p, &format!("server.listen[{i}]"), a))
        .collect();
    let tls_listen: Vec<SocketAddr> = s
        .tls_listen
        .iter()
        .enumerate()
        .filter_map(|(i, a)| socket_addr(p, &format!("server.tls_listen[{i}]"), a))
        .collect();
    if s.listen.is_empty() && s.tls_listen.is_empty() {
        p.add("server.listen", "no listener: set listen or tls_listen");
    }
    let (tls_cert, tls_key) = tls_files(p, &s, tls_listen.is_empty());
    let trusted_proxies = trusted_proxies(p, &s.trusted_proxies);
    let acme = s
        .acme
        .take()
        .and_then(|a| super::acme::build_acme(p, a, &tls_listen));
    let metrics_listen = s
        .metrics_listen
        .as_deref()
        .and_then(|a| socket_addr(p, "server.metrics_listen", a));
    let threads = match s.threads {
        Some(0) => {
            p.add("server.threads", "must be at least 1");
            1
        }
        Some(n) => n,
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    let after_logout_url = s
        .after_logout_url
        .as_deref()
        .and_then(|u| absolute_url(p, "server.after_logout_url", u));
    let public_url = absolute_url(p, "server.public_url", &s.public_url)?;
    if public_url.path() != "/" || public_url.query().is_some() {
        p.add(
            "server.public_url",
            format!(
                "{:?} must be scheme://host[:port] with no path or query",
                s.public_url
            ),
        );
        return None;
    }
    let Some(public_host) = Host::from_url(&public_url) else {
        p.add(
            "server.public_url",
            format!("{:?} has a host authgate cannot match", s.public_url),
        );
        return None;
    };
    let issuer = public_url.as_str().trim_end_matches('/').to_string();
    Some(Server {
        listen,
        issuer,
        public_url,
        public_host,
        tls_listen,
        tls_cert,
        tls_key,
        trusted_proxies,
        metrics_listen,
        threads,
        upstream_keepalive: s.upstream_keepalive.unwrap_or(UPSTREAM_KEEPALIVE),
        access_log: s.access_log.unwrap_or(true),
        after_logout_url,
        admin_socket: match s.admin_socket.as_deref() {
            Some("") => None,
            other => Some(PathBuf::from(other.unwrap_or("authgate.sock"))),
        },
        acme,
    })
}
