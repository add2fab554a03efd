//! `[smtp]`, `[admin]`, `[audit]` and the password policy of `[login]`: what running people
//! from a browser needs.

use super::values::{readable, secret_file};
use super::Problems;
use crate::config::file::{AdminFile, AuditFile, SmtpFile};
use crate::config::model::{Admin, Audit, Smtp};

/// The admin console's groups by default.
pub const ADMIN_GROUP: &str = "authgate-admins";

/// `[smtp]`, `[admin]` and `[audit]` of the file's `table`.
pub(super) fn build(p: &mut Problems, table: &toml::Table) -> (Option<Smtp>, Admin, Audit) {
    let smtp: Option<SmtpFile> = super::opt_section(p, table, "smtp");
    let admin: AdminFile = super::opt_section(p, table, "admin").unwrap_or_default();
    let audit: AuditFile = super::opt_section(p, table, "audit").unwrap_or_default();
    (
        smtp.and_then(|s| build_smtp(p, s)),
        build_admin(p, admin),
        build_audit(p, audit),
    )
}

fn build_smtp(p: &mut Problems, s: SmtpFile) -> Option<Smtp> {
    let url = match url::Url::parse(&s.url) {
        Ok(u) => u,
        Err(e) => {
            p.add("smtp.url", format!("{:?} is not a URL: {e}", s.url));
            return None;
        }
    };
    let implicit_tls = match url.scheme() {
        "smtps" => true,
        "smtp" => false,
        other => {
            p.add(
                "smtp.url",
                format!("{other:?}: expected smtps:// (TLS) or smtp:// (STARTTLS, required)"),
            );
            return None;
        }
    };
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        p.add("smtp.url", "has no host");
        return None;
    };
    let user = match url.username() {
        "" => None,
        u => crate::http::params::decode(u).ok(),
    };
    if url.password().is_some() {
        p.add(
            "smtp.url",
            "a password belongs in password_file, not in the URL",
        );
    }
    let password = s
        .password_file
        .as_deref()
        .map(|f| secret_file(p, "smtp.password_file", f));
    if user.is_some() != password.is_some() {
        p.add(
            "smtp.password_file",
            "set a user in the URL and password_file together, or neither",
        );
    }
    if s.from.parse::<lettre::message::Mailbox>().is_err() {
        p.add(
            "smtp.from",
            format!("{:?}: expected an address or \"Name <address>\"", s.from),
        );
    }
    Some(Smtp {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port: url.port().unwrap_or(if implicit_tls { 465 } else { 587 }),
        implicit_tls,
        user,
        password,
        from: s.from,
        ca_file: s.ca_file.as_deref().map(|f| readable(p, "smtp.ca_file", f)),
    })
}

fn build_admin(p: &mut Problems, a: AdminFile) -> Admin {
    let groups = a.groups.unwrap_or_else(|| vec![ADMIN_GROUP.to_string()]);
    if groups.is_empty() || groups.iter().any(|g| g.trim().is_empty()) {
        p.add("admin.groups", "name at least one group, none empty");
    }
    Admin { groups }
}

fn build_audit(p: &mut Problems, a: AuditFile) -> Audit {
    let file = a.file.map(std::path::PathBuf::from);
    if let Some(dir) = file.as_ref().and_then(|f| f.parent()) {
        if !dir.as_os_str().is_empty() && !dir.is_dir() {
            p.add(
                "audit.file",
                format!("the directory {} does not exist", dir.display()),
            );
        }
    }
    Audit { file }
}
