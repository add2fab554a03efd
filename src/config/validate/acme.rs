//! `[server.acme]`: the CA, the names it certifies and how they are proven.

use super::*;
use crate::config::file::AcmeFile;
use crate::config::model::{Acme, Challenge};

/// Thirty days: a Let's Encrypt certificate (90 days) is renewed with a month to spare.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);

pub(super) fn build_acme(p: &mut Problems, a: AcmeFile, tls_listen: &[SocketAddr]) -> Option<Acme> {
    let directory_url = absolute_url(p, "server.acme.directory_url", &a.directory_url)?;
    if directory_url.scheme() != "https" {
        p.add("server.acme.directory_url", "must be an https URL");
    }
    if let Some(c) = a.contact.as_deref().filter(|c| !c.starts_with("mailto:")) {
        p.add(
            "server.acme.contact",
            format!("{c:?} must be a mailto: URL"),
        );
    }
    let challenge = match a.challenge.as_deref() {
        None | Some("tls-alpn-01") => Challenge::TlsAlpn01,
        Some("http-01") => Challenge::Http01,
        Some(other) => {
            p.add(
                "server.acme.challenge",
                format!("{other:?} is not \"tls-alpn-01\" or \"http-01\""),
            );
            Challenge::TlsAlpn01
        }
    };
    if tls_listen.is_empty() {
        p.add(
            "server.acme",
            "needs tls_listen: the certificates are served there",
        );
    }
    let domains = a
        .domains
        .map(|d| explicit_domains(p, d))
        .unwrap_or_default();
    Some(Acme {
        directory_url,
        contact: a.contact,
        domains,
        challenge,
        state_dir: PathBuf::from(a.state_dir.as_deref().unwrap_or("acme")),
        ca_file: a.ca_file.map(|f| readable(p, "server.acme.ca_file", &f)),
        renew_before: duration(
            p,
            "server.acme.renew_before",
            a.renew_before.as_deref(),
            RENEW_BEFORE,
        ),
        redirect_http: a.redirect_http.unwrap_or(true),
        hsts: match a.hsts.as_deref() {
            Some("") => None,
            Some(v) if http::HeaderValue::from_str(v).is_err() => {
                p.add("server.acme.hsts", format!("{v:?} is not a header value"));
                None
            }
            other => Some(other.unwrap_or("max-age=31536000").to_string()),
        },
    })
}

fn explicit_domains(p: &mut Problems, domains: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, d) in domains.iter().enumerate() {
        match Host::parse(d) {
            Some(h) if h.port.is_none() && is_dns_name(&h.name) => out.push(h.name),
            _ => p.add(
                format!("server.acme.domains[{i}]"),
                format!("{d:?} is not a DNS name (no address, port or wildcard)"),
            ),
        }
    }
    if out.is_empty() {
        p.add(
            "server.acme.domains",
            "is empty: leave it out to use public_url's host and the route hosts",
        );
    }
    out
}

/// With the routes known: the default names, and the names a public CA will not certify.
pub(super) fn finish(p: &mut Problems, server: &mut Server, routes: &[Route]) {
    let public_host = server.public_host.name.clone();
    let Some(acme) = server.acme.as_mut() else {
        return;
    };
    if acme.domains.is_empty() {
        let hosts = std::iter::once(public_host.as_str()).chain(
            routes
                .iter()
                .filter_map(|r| r.host.as_ref().map(|h| h.name.as_str())),
        );
        for h in hosts.filter(|h| is_dns_name(h)) {
            if !acme.domains.iter().any(|d| d == h) {
                acme.domains.push(h.to_string());
            }
        }
    }
    if acme.ca_file.is_none() {
        for d in acme
            .domains
            .iter()
            .filter(|d| !is_dns_name(d) || is_local(d))
        {
            p.add(
                "server.acme.domains",
                format!("{d:?} cannot get a certificate from a public CA (set ca_file for an internal one)"),
            );
        }
    }
    if acme.challenge == Challenge::Http01 && server.listen.is_empty() {
        p.add(
            "server.acme.challenge",
            "http-01 needs a plain listener (server.listen)",
        );
    }
}

/// A name ACME can prove: not an address, not a wildcard.
fn is_dns_name(h: &str) -> bool {
    !h.contains('*') && !h.starts_with('[') && h.parse::<std::net::Ipv4Addr>().is_err()
}

fn is_local(h: &str) -> bool {
    h == "localhost" || h.ends_with(".localhost") || h.ends_with(".local") || !h.contains('.')
}
