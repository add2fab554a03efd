//! Validation of `[ldap]`: URLs, filters with their placeholders, the bind password file, TLS.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::{duration, secret_file, Problems};
use crate::config::file::LdapFile;
use crate::config::model::{Ldap, LdapAttributes};

const USER_FILTER: &str = "(&(objectClass=inetOrgPerson)(uid={username}))";
const GROUP_FILTER: &str = "(&(objectClass=groupOfNames)(member={dn}))";

fn ldap_url(p: &mut Problems, path: &str, s: &str, starttls: bool) -> Option<Url> {
    match Url::parse(s) {
        Ok(u) if u.scheme() == "ldaps" && starttls => {
            p.add(
                path,
                format!("{s:?}: starttls upgrades ldap://, not ldaps://"),
            );
            None
        }
        Ok(u) if matches!(u.scheme(), "ldap" | "ldaps") && u.host().is_some() => Some(u),
        _ => {
            p.add(path, format!("{s:?} is not an ldap:// or ldaps:// URL"));
            None
        }
    }
}

fn filter(
    p: &mut Problems,
    path: &str,
    given: Option<String>,
    default: &str,
    needs: &str,
) -> String {
    let f = given.unwrap_or_else(|| default.to_string());
    if !f.contains(needs) {
        p.add(path, format!("{f:?} must contain {needs}"));
    }
    if !(f.starts_with('(') && f.ends_with(')')) {
        p.add(path, format!("{f:?} is not an LDAP filter in parentheses"));
    }
    f
}

pub(super) fn build_ldap(p: &mut Problems, l: LdapFile) -> Option<Ldap> {
    let given: Vec<(String, &String)> = match &l.url {
        Some(u) => vec![("ldap.url".to_string(), u)],
        None => Vec::new(),
    };
    let listed = l
        .urls
        .iter()
        .enumerate()
        .map(|(i, u)| (format!("ldap.urls[{i}]"), u));
    let urls: Vec<Url> = given
        .into_iter()
        .chain(listed)
        .filter_map(|(path, u)| ldap_url(p, &path, u, l.starttls))
        .collect();
    if l.url.is_none() && l.urls.is_empty() {
        p.add(
            "ldap.url",
            "an ldap:// or ldaps:// URL is required (url or urls)",
        );
    }
    let ca_file = l.ca_file.as_deref().map(|f| {
        if let Err(e) = std::fs::File::open(f) {
            p.add("ldap.ca_file", format!("cannot read {f:?}: {e}"));
        }
        PathBuf::from(f)
    });
    if l.pool_size == Some(0) {
        p.add("ldap.pool_size", "must be at least 1");
    }
    if l.max_connections == Some(0) {
        p.add("ldap.max_connections", "must be at least 1");
    }
    let a = l.attributes;
    Some(Ldap {
        allow_password_change: l.allow_password_change,
        urls,
        starttls: l.starttls,
        bind_dn: l.bind_dn,
        bind_password: secret_file(p, "ldap.bind_password_file", &l.bind_password_file),
        base_dn: l.base_dn,
        user_filter: filter(
            p,
            "ldap.user_filter",
            l.user_filter,
            USER_FILTER,
            "{username}",
        ),
        group_base_dn: l.group_base_dn,
        group_filter: filter(p, "ldap.group_filter", l.group_filter, GROUP_FILTER, "{dn}"),
        ca_file,
        timeout: duration(
            p,
            "ldap.timeout",
            l.timeout.as_deref(),
            Duration::from_secs(5),
        ),
        pool_size: l.pool_size.unwrap_or(4).max(1),
        max_connections: l.max_connections.unwrap_or(16).max(1),
        recheck: duration(
            p,
            "ldap.recheck",
            l.recheck.as_deref(),
            Duration::from_secs(900),
        ),
        attributes: LdapAttributes {
            username: a.username.unwrap_or_else(|| "uid".into()),
            email: a.email.unwrap_or_else(|| "mail".into()),
            name: a.name.unwrap_or_else(|| "cn".into()),
            group_name: a.group_name.unwrap_or_else(|| "cn".into()),
            member_of: a.member_of,
        },
    })
}
