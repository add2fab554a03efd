//! Validation of `[[upstream_providers]]`: ids, issuers, secrets, mappings.

use std::collections::HashSet;

use super::{absolute_url, secret_file, Problems};
use crate::config::file::UpstreamProviderFile;
use crate::config::model::UpstreamProvider;

fn one(p: &mut Problems, i: usize, u: UpstreamProviderFile) -> Option<UpstreamProvider> {
    let path = format!("upstream_providers[{i}]");
    let id_ok = !u.id.is_empty()
        && u.id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        p.add(format!("{path}.id"), format!("{:?}: use [a-z0-9-]", u.id));
    }
    let issuer = absolute_url(p, &format!("{path}.issuer"), &u.issuer)?;
    let client_secret = u
        .client_secret_file
        .as_deref()
        .map(|f| secret_file(p, &format!("{path}.client_secret_file"), f));
    Some(UpstreamProvider {
        name: u.name.unwrap_or_else(|| u.id.clone()),
        id: u.id,
        issuer,
        client_id: u.client_id,
        client_secret,
        scopes: u
            .scopes
            .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]),
        username_claim: u.username_claim,
        groups_claim: u.groups_claim,
        username_prefix: u.username_prefix.unwrap_or_default(),
        allowed_groups: u.allowed_groups,
        allowed_email_domains: u.allowed_email_domains,
        group_map: u.group_map,
        auto_redirect: u.auto_redirect,
        trust_upstream_mfa: u.trust_upstream_mfa,
        trust_email: u.trust_email,
        logout_upstream: u.logout_upstream,
    })
}

pub(super) fn build_upstream_providers(
    p: &mut Problems,
    given: Vec<(usize, UpstreamProviderFile)>,
) -> Vec<UpstreamProvider> {
    let count = given.len();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, u) in given {
        if u.auto_redirect && count > 1 {
            p.add(
                format!("upstream_providers[{i}].auto_redirect"),
                "only with a single upstream provider",
            );
        }
        if !seen.insert(u.id.clone()) {
            p.add(
                format!("upstream_providers[{i}].id"),
                format!("{:?} is defined twice", u.id),
            );
        }
        out.extend(one(p, i, u));
    }
    out
}
