//! Validation of `[[clients]]`: ids, secrets, redirect URIs, response types; and the routes'
//! `bearer_clients`, which must name them.

use std::collections::HashMap;

use super::{absolute_url, Problems};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};

use crate::config::file::ClientFile;
use crate::config::model::{Client, ClientKind, GrantType, ResponseType, Route, SecretHash};

/// `clients[i].grant_types`, authorization code and refresh token when absent.
fn grant_types(p: &mut Problems, path: &str, given: Option<&[String]>) -> Vec<GrantType> {
    let Some(given) = given else {
        return vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    };
    given
        .iter()
        .enumerate()
        .filter_map(|(j, g)| {
            let parsed = GrantType::parse(g);
            if parsed.is_none() {
                let known: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
                p.add(
                    format!("{path}.grant_types[{j}]"),
                    format!("{g:?}: expected one of {}", known.join(", ")),
                );
            }
            parsed
        })
        .collect()
}

/// `clients[i].response_types`, `["code"]` when absent.
fn response_types(p: &mut Problems, path: &str, given: Option<&[String]>) -> Vec<ResponseType> {
    let code = ["code".to_string()];
    given
        .unwrap_or(&code)
        .iter()
        .enumerate()
        .filter_map(|(j, rt)| {
            let parsed = ResponseType::parse(rt);
            if parsed.is_none() {
                p.add(
                    format!("{path}.response_types[{j}]"),
                    format!("{rt:?}: expected \"code\", \"id_token\" or \"code id_token\""),
                );
            }
            parsed
        })
        .collect()
}

pub(super) fn build_clients(
    p: &mut Problems,
    clients: Vec<(usize, ClientFile)>,
) -> HashMap<String, Client> {
    let mut out = HashMap::new();
    for (i, c) in clients {
        let path = format!("clients[{i}]");
        let client = build_client(p, &path, c);
        if out.contains_key(&client.client_id) {
            p.add(
                format!("{path}.client_id"),
                format!("{:?} is defined twice", client.client_id),
            );
            continue;
        }
        out.insert(client.client_id.clone(), client);
    }
    out
}

/// `clients[i]` at `path`, every problem reported.
fn build_client(p: &mut Problems, path: &str, c: ClientFile) -> Client {
    check_id(p, path, &c.client_id);
    let jwks = jwks(p, path, &c);
    let kind = kind(p, path, &c, jwks.is_some());
    let grants = grant_types(p, path, c.grant_types.as_deref());
    if c.redirect_uris.is_empty() && grants.contains(&GrantType::AuthorizationCode) {
        p.add(
            format!("{path}.redirect_uris"),
            "at least one redirect URI is required",
        );
    }
    for (j, u) in c.redirect_uris.iter().enumerate() {
        absolute_url(p, &format!("{path}.redirect_uris[{j}]"), u);
    }
    for (j, u) in c.post_logout_redirect_uris.iter().enumerate() {
        absolute_url(p, &format!("{path}.post_logout_redirect_uris[{j}]"), u);
    }
    let public = kind == ClientKind::Public;
    let profile = super::profile::build_profile(p, path, &c, &kind);
    let public_may_not = [
        (c.introspect_any, "introspect_any", "may not introspect"),
        (
            c.require_pkce == Some(false),
            "require_pkce",
            "always requires PKCE",
        ),
        (
            grants.contains(&GrantType::ClientCredentials),
            "grant_types",
            "may not use client_credentials",
        ),
        (
            grants.contains(&GrantType::TokenExchange),
            "grant_types",
            "may not exchange tokens",
        ),
    ];
    for (set, key, why) in public_may_not {
        if public && set {
            p.add(
                format!("{path}.{key}"),
                format!("a public client (no secret or keys) {why}"),
            );
        }
    }
    Client {
        response_types: response_types(p, path, c.response_types.as_deref()),
        backchannel_logout_uri: c
            .backchannel_logout_uri
            .as_deref()
            .and_then(|u| absolute_url(p, &format!("{path}.backchannel_logout_uri"), u)),
        name: c
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| c.client_id.clone()),
        client_id: c.client_id,
        kind,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        require_pkce: public || c.require_pkce.unwrap_or(false),
        refresh_tokens: c.refresh_tokens,
        introspect_any: c.introspect_any,
        require_second_factor: c.require_second_factor,
        grant_types: grants,
        groups: c.groups,
        jwks,
        backchannel_logout_session_required: c.backchannel_logout_session_required.unwrap_or(true),
        profile,
    }
}

fn check_id(p: &mut Problems, path: &str, id: &str) {
    if id.is_empty() || id.chars().any(|ch| ch.is_control() || ch == ' ') {
        p.add(
            format!("{path}.client_id"),
            "must be non-empty, without spaces",
        );
    }
    if id == crate::PROXY_CLIENT_ID {
        p.add(
            format!("{path}.client_id"),
            format!("{id:?} is reserved for the built-in proxy"),
        );
    }
}

/// How the client authenticates: no secret and no keys, a secret, or keys.
fn kind(p: &mut Problems, path: &str, c: &ClientFile, has_keys: bool) -> ClientKind {
    match (&c.client_secret_sha256, has_keys) {
        (None, false) => ClientKind::Public,
        (Some(h), false) => secret_hash(p, &format!("{path}.client_secret_sha256"), h),
        (None, true) => ClientKind::KeyPair,
        (Some(_), true) => {
            p.add(
                format!("{path}.jwks"),
                "a client authenticates with a secret or with keys, not both",
            );
            ClientKind::KeyPair
        }
    }
}

/// `jwks` or `jwks_file`: a JSON Web Key Set of public keys authgate can verify with.
fn jwks(p: &mut Problems, path: &str, c: &ClientFile) -> Option<JwkSet> {
    let (key, text) = match (&c.jwks, &c.jwks_file) {
        (None, None) => return None,
        (Some(_), Some(_)) => {
            p.add(format!("{path}.jwks"), "set jwks or jwks_file, not both");
            return None;
        }
        (Some(inline), None) => (format!("{path}.jwks"), inline.clone()),
        (None, Some(file)) => match std::fs::read_to_string(file) {
            Ok(t) => (format!("{path}.jwks_file"), t),
            Err(e) => {
                p.add(
                    format!("{path}.jwks_file"),
                    format!("cannot read {file:?}: {e}"),
                );
                return None;
            }
        },
    };
    let set: JwkSet = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            p.add(key, format!("not a JSON Web Key Set: {e}"));
            return None;
        }
    };
    // Public keys only: a shared (`oct`) key would be a secret in the config.
    let public = |k: &jsonwebtoken::jwk::Jwk| {
        !matches!(k.algorithm, AlgorithmParameters::OctetKey(_))
            && jsonwebtoken::DecodingKey::from_jwk(k).is_ok()
    };
    let usable = !set.keys.is_empty() && set.keys.iter().all(public);
    if !usable {
        p.add(
            key,
            "needs at least one key, each an RSA, EC or OKP public key",
        );
        return None;
    }
    Some(set)
}

/// `client_secret_sha256`: 64 lowercase hex digits. A malformed one is reported and the client
/// is kept as confidential with a hash nothing matches, so it can never authenticate.
fn secret_hash(p: &mut Problems, path: &str, h: &str) -> ClientKind {
    let mut buf = [0u8; 32];
    let ok = h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && hex::decode_to_slice(h, &mut buf).is_ok();
    if !ok {
        p.add(
            path,
            "must be 64 lowercase hex digits (`authgate hash-secret`)",
        );
    }
    ClientKind::Confidential(SecretHash(buf))
}

/// `routes[i].bearer_clients[j]` must name a registered client.
pub(super) fn check_bearer_clients(
    p: &mut Problems,
    routes: &[Route],
    clients: &HashMap<String, Client>,
) {
    for r in routes {
        for (j, c) in r.bearer_clients.iter().enumerate() {
            if !clients.contains_key(c) {
                p.add(
                    format!("routes[{}].bearer_clients[{j}]", r.index),
                    format!("{c:?} is not a registered client_id"),
                );
            }
        }
    }
}
