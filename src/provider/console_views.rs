//! What the admin console's views list, read from `[storage]`, the session store, the clients
//! and the audit file. Never a secret: no hash, token, link or key.

use super::account::date;
use crate::app::{revocation, App};
use crate::config::ClientKind;
use crate::http::pages::{AdminAppPassword, AdminAuditLine, AdminClient, AdminSession, AdminUser};
use crate::http::GatewayError;

/// Lines of the audit file the console reads at most (its end).
const AUDIT_LINES: usize = 200;

pub async fn users(app: &App, search: &str) -> Result<Vec<AdminUser>, GatewayError> {
    let users = app.factors()?.store.users(search).await?;
    Ok(users
        .into_iter()
        .map(|u| AdminUser {
            status: match (u.disabled, u.has_password) {
                (true, _) => "admin-status-disabled",
                (false, false) => "admin-status-invited",
                (false, true) => "admin-status-active",
            },
            disabled: u.disabled,
            email: u.email.unwrap_or_default(),
            groups: u.groups.join(", "),
            username: u.username,
        })
        .collect())
}

pub async fn sessions(app: &App) -> Result<Vec<AdminSession>, GatewayError> {
    let rows = revocation::list(app, None).await?;
    Ok(rows
        .into_iter()
        .map(|r| AdminSession {
            id: r.session,
            user: r.user,
            started: crate::clock::rfc3339(r.started),
            last_seen: crate::clock::rfc3339(r.last_seen),
            address: r.address.unwrap_or_default(),
            clients: r.clients.join(", "),
        })
        .collect())
}

pub async fn app_passwords(app: &App) -> Result<Vec<AdminAppPassword>, GatewayError> {
    let all = app.factors()?.store.app_passwords(None).await?;
    Ok(all
        .into_iter()
        .map(|a| AdminAppPassword {
            id: a.id,
            user: a.username,
            name: a.name,
            added: date(a.created_at),
        })
        .collect())
}

pub fn clients(app: &App) -> Vec<AdminClient> {
    let mut rows: Vec<AdminClient> = app
        .clients
        .configured()
        .map(|k| AdminClient {
            id: k.client_id.clone(),
            name: format!(
                "{}{}",
                k.name,
                match k.kind {
                    ClientKind::Public => " (public)",
                    _ => "",
                }
            ),
            redirects: k.redirect_uris.join(" "),
            grants: k
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}

/// The last lines of the audit file about `user` (actor or subject) and of `event` (a prefix),
/// newest first. With the trail on standard output there is nothing to read here.
pub fn audit(app: &App, user: &str, event: &str) -> Vec<AdminAuditLine> {
    let Some(file) = &app.cfg.audit.file else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let field = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| {
            let who = [field(v, "actor"), field(v, "subject")];
            (user.is_empty() || who.iter().any(|w| w == user))
                && field(v, "event").starts_with(event)
        })
        .take(AUDIT_LINES)
        .map(|v| AdminAuditLine {
            time: field(&v, "time"),
            event: field(&v, "event"),
            who: match (field(&v, "actor"), field(&v, "subject")) {
                (a, s) if a == s || s.is_empty() => a,
                (a, s) => format!("{a} → {s}"),
            },
            from: field(&v, "client_ip"),
            outcome: field(&v, "outcome"),
        })
        .collect()
}
