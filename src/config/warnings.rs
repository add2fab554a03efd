//! What `check-config` and every start point out: valid, but worth a second look.

use super::Config;

/// What is valid but worth a second look, with its key path.
pub fn warnings(cfg: &Config) -> Vec<String> {
    let mut w = Vec::new();
    w.extend(acme_ports(&cfg.server));
    if cfg.ldap.is_some() && !cfg.users.is_empty() {
        w.push(format!(
            "users and [ldap]: a directory user named like a local user (in any case) is refused ({} local user(s))",
            cfg.users.len()
        ));
    }
    for p in &cfg.upstream_providers {
        if p.trust_email {
            w.push(format!(
                "upstream_providers({}).trust_email: emails this provider has not verified are used as if it had",
                p.id
            ));
        }
        if p.username_claim.as_deref() == Some("email") && p.username_prefix.is_empty() {
            w.push(format!(
                "upstream_providers({}).username_prefix: with username_claim = \"email\" and no prefix, this provider's users share one namespace with every other source",
                p.id
            ));
        }
    }
    for r in cfg
        .routes
        .iter()
        .filter(|r| r.upstream.tls.insecure_skip_verify)
    {
        w.push(format!(
            "routes[{}].upstream_tls_insecure_skip_verify: this route's upstream certificates are not verified (a lab only)",
            r.index
        ));
    }
    w
}

/// A CA connects to port 443 (tls-alpn-01) or 80 (http-01): another port works only behind
/// something that forwards those (a load balancer, a test).
fn acme_ports(s: &crate::config::model::Server) -> Option<String> {
    use crate::config::model::Challenge;
    let acme = s.acme.as_ref()?;
    let (key, listeners, port) = match acme.challenge {
        Challenge::TlsAlpn01 => ("tls_listen", &s.tls_listen, 443),
        Challenge::Http01 => ("listen", &s.listen, 80),
    };
    (!listeners.iter().any(|a| a.port() == port)).then(|| {
        format!(
            "server.acme.challenge: the CA validates on port {port}, and no server.{key} address is on it (fine if a load balancer forwards {port} here)"
        )
    })
}
