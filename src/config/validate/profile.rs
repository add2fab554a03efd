//! `[[clients]]` settings of the modern provider profile: PAR, signed request objects, DPoP,
//! consent, pairwise subjects and who may exchange a client's tokens.

use std::collections::HashMap;

use super::Problems;
use crate::config::file::ClientFile;
use crate::config::model::{Client, ClientKind, ClientProfile, Config};

/// The profile of `clients[i]` at `path`.
pub(super) fn build_profile(
    p: &mut Problems,
    path: &str,
    c: &ClientFile,
    kind: &ClientKind,
) -> ClientProfile {
    if c.require_signed_request_object && *kind != ClientKind::KeyPair {
        p.add(
            format!("{path}.require_signed_request_object"),
            "needs the client's keys (jwks or jwks_file) to verify its request objects",
        );
    }
    if c.dpop_nonce && !c.require_dpop {
        p.add(
            format!("{path}.dpop_nonce"),
            "only applies with require_dpop = true",
        );
    }
    ClientProfile {
        consent: c.consent,
        pairwise_sector: pairwise_sector(p, path, c),
        require_par: c.require_pushed_authorization_requests,
        require_request_object: c.require_signed_request_object,
        require_dpop: c.require_dpop,
        dpop_nonce: c.dpop_nonce,
        may_act: c.may_act.clone(),
    }
}

/// `subject_type = "pairwise"`: the sector is `sector_identifier`, else the one host all
/// redirect URIs share (OIDC Core §8.1).
fn pairwise_sector(p: &mut Problems, path: &str, c: &ClientFile) -> Option<String> {
    match c.subject_type.as_deref() {
        None | Some("public") => {
            if c.sector_identifier.is_some() {
                p.add(
                    format!("{path}.sector_identifier"),
                    "only applies with subject_type = \"pairwise\"",
                );
            }
            return None;
        }
        Some("pairwise") => {}
        Some(other) => {
            p.add(
                format!("{path}.subject_type"),
                format!("{other:?}: expected \"public\" or \"pairwise\""),
            );
            return None;
        }
    }
    if let Some(sector) = &c.sector_identifier {
        let plain = !sector.is_empty() && !sector.contains(['/', ':', ' ', '@']);
        if !plain {
            p.add(
                format!("{path}.sector_identifier"),
                format!("{sector:?}: expected a host name, such as \"rp.example.com\""),
            );
        }
        return Some(sector.to_ascii_lowercase());
    }
    let hosts: Vec<String> = c
        .redirect_uris
        .iter()
        .filter_map(|u| url::Url::parse(u).ok()?.host_str().map(str::to_string))
        .collect();
    match hosts.first() {
        Some(first) if hosts.iter().all(|h| h == first) => Some(first.clone()),
        _ => {
            p.add(
                format!("{path}.sector_identifier"),
                "the redirect URIs are on several hosts (or none): name the sector",
            );
            None
        }
    }
}

/// What the profiles need of the rest of the configuration: `[storage]` for consent and
/// pairwise subjects, registered clients in `may_act`.
pub(super) fn check_profiles(p: &mut Problems, cfg: &Config) {
    for c in cfg.clients.values() {
        let needs_storage = [
            (c.profile.consent, "consent", "where answers are kept"),
            (
                c.profile.pairwise_sector.is_some(),
                "subject_type",
                "whose key pairwise subjects are derived from",
            ),
        ];
        for (set, key, why) in needs_storage {
            if set && cfg.storage.is_none() {
                p.add(
                    format!("clients({}).{key}", c.client_id),
                    format!("needs a [storage] table ({why})"),
                );
            }
        }
        check_may_act(p, c, &cfg.clients);
    }
}

fn check_may_act(p: &mut Problems, c: &Client, clients: &HashMap<String, Client>) {
    for (j, actor) in c.profile.may_act.iter().enumerate() {
        let path = format!("clients({}).may_act[{j}]", c.client_id);
        match clients.get(actor) {
            None => p.add(path, format!("{actor:?} is not a registered client_id")),
            Some(a) if !a.allows(crate::config::GrantType::TokenExchange) => p.add(
                path,
                format!("{actor:?} may not use the token-exchange grant (grant_types)"),
            ),
            Some(a) if !a.is_confidential() => p.add(
                path,
                format!("{actor:?} is a public client: only confidential clients exchange tokens"),
            ),
            Some(_) => {}
        }
    }
}
