//! The JWTs authgate issues: access tokens (RFC 9068 shape), ID tokens (OIDC Core §2), and
//! the identity claims that depend on scope. Signing is `keys::KeySet`'s; this module decides
//! what goes in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Validation;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use crate::directory::UserInfo;
use crate::keys::{Alg, KeySet};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub sid: String,
    /// The grant this token belongs to: revoking the grant revokes the token.
    pub gid: String,
    /// How the user authenticated (RFC 8176).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// `client_credentials` when the client acts for itself (`sub` is then the client id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gty: Option<String>,
    /// Which source the user's name is from (`local`, `ldap`, `upstream:ID`): the token is
    /// theirs only while the name comes from there. Absent for a client's own token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<crate::directory::Source>,
    /// RFC 9449 §6.1: the DPoP key the token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// RFC 8693 §4.1: the party acting for the subject (a token exchange with an actor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
}

/// RFC 7800 confirmation: the SHA-256 thumbprint (RFC 7638) of the DPoP key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Confirmation {
    pub jkt: String,
}

/// RFC 8693 §4.1 `act`: who acts, and who acted for them before (a chain of exchanges).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Actor {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

impl AccessClaims {
    /// Whether `user`, as the directory knows them now, is whom the token was issued to: the
    /// same source (tokens of earlier versions name none).
    pub fn is_for(&self, user: &UserInfo) -> bool {
        self.src.as_ref().is_none_or(|s| *s == user.source)
    }

    /// The thumbprint of the DPoP key the token is bound to, if it is.
    pub fn jkt(&self) -> Option<&str> {
        self.cnf.as_ref().map(|c| c.jkt.as_str())
    }

    /// `DPoP` for a bound token, else `Bearer` (RFC 9449 §5, `token_type`).
    pub fn token_type(&self) -> &'static str {
        if self.cnf.is_some() {
            "DPoP"
        } else {
            "Bearer"
        }
    }
}

/// The `gty` of a token a client obtained for itself.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// `amr` and, when a second factor was used, `acr = "mfa"` (RFC 8176; OIDC Core §2).
pub fn authentication_claims(amr: &[String]) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    if !amr.is_empty() {
        m.insert("amr".into(), amr.to_vec().into());
    }
    if amr.iter().any(|a| a == "mfa") {
        m.insert("acr".into(), "mfa".into());
    }
    m
}

/// What an issued token is about.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub user: &'a UserInfo,
    /// The `sub` the client sees: the user name, or its pairwise identifier.
    pub sub: &'a str,
    pub client_id: &'a str,
    pub scope: &'a [String],
    pub sid: &'a str,
    pub auth_time: u64,
    pub grant: &'a str,
    pub amr: &'a [String],
    /// The client acts for itself (`client_credentials`).
    pub machine: bool,
}

/// What an access token carries beyond its subject.
#[derive(Debug, Clone, Default)]
pub struct Binding<'a> {
    /// The DPoP key it is bound to (RFC 9449).
    pub jkt: Option<&'a str>,
    /// Who acts for the subject (RFC 8693).
    pub act: Option<Actor>,
    /// Its audience when that is not the client (a token exchange's target).
    pub audience: Option<&'a str>,
    /// When it ends, if sooner than its lifetime (an exchange never outlives its subject).
    pub exp: Option<u64>,
}

/// An access token and its claims.
pub fn access_token(
    keys: &KeySet,
    issuer: &str,
    s: &Subject<'_>,
    (ttl, now): (u64, u64),
    binding: Binding<'_>,
) -> Result<(String, AccessClaims), crate::keys::KeyError> {
    let exp = binding.exp.map_or(now + ttl, |e| e.min(now + ttl));
    let claims = AccessClaims {
        iss: issuer.to_string(),
        sub: s.sub.to_string(),
        aud: binding.audience.unwrap_or(s.client_id).to_string(),
        client_id: s.client_id.to_string(),
        scope: s.scope.join(" "),
        exp,
        iat: now,
        jti: crate::secret::new_id(),
        sid: s.sid.to_string(),
        gid: s.grant.to_string(),
        amr: s.amr.to_vec(),
        gty: s.machine.then(|| CLIENT_CREDENTIALS.to_string()),
        src: (!s.machine).then(|| s.user.source.clone()),
        cnf: binding.jkt.map(|jkt| Confirmation {
            jkt: jkt.to_string(),
        }),
        act: binding.act,
    };
    Ok((keys.sign(&claims, ACCESS_TOKEN_TYP)?, claims))
}

/// The claims of a logout token (OIDC Back-Channel Logout 1.0 §2.4): never a `nonce`.
#[derive(Debug, Serialize, Deserialize)]
pub struct LogoutClaims {
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub sub: String,
    pub sid: String,
    pub events: serde_json::Value,
}

/// The `events` member that makes a JWT a logout token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A logout token for `client_id`: the session `sid` of `sub` has ended (valid two minutes).
pub fn logout_token(
    keys: &KeySet,
    issuer: &str,
    client_id: &str,
    sub: &str,
    sid: &str,
    now: u64,
) -> Result<String, crate::keys::KeyError> {
    let claims = LogoutClaims {
        iss: issuer.to_string(),
        aud: client_id.to_string(),
        iat: now,
        exp: now + 120,
        jti: crate::secret::new_id(),
        sub: sub.to_string(),
        sid: sid.to_string(),
        events: serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
    };
    keys.sign(&claims, "logout+jwt")
}

/// The JWT `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Verifies an access token's type, signature and issuer. Expiry and revocation are the
/// caller's to check, against the injected clock and the store. RFC 9068 §4: the `typ` header is
/// checked, so an ID token — also a JWT signed by us — is never taken for an access token.
pub fn verify_access(keys: &KeySet, issuer: &str, token: &str) -> Option<AccessClaims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if !header
        .typ
        .is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP))
    {
        return None;
    }
    let mut v = Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_issuer(&[issuer]);
    v.validate_aud = false;
    v.validate_exp = false;
    v.set_required_spec_claims(&["exp", "iss", "sub"]);
    keys.verify(token, &v).ok()
}

/// OIDC Core §3.1.3.6 / §3.3.2.11: left half of the hash of `value`, the hash matching the
/// signing algorithm (SHA-256 for ES256/RS256, SHA-512 for Ed25519).
pub fn half_hash(alg: Alg, value: &str) -> String {
    let digest: Vec<u8> = match alg {
        Alg::EdDSA => Sha512::digest(value.as_bytes()).to_vec(),
        Alg::ES256 | Alg::RS256 => Sha256::digest(value.as_bytes()).to_vec(),
    };
    let half = digest.get(..digest.len() / 2).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(half)
}

/// Identity claims released for `scope` (OIDC Core §5.4), `sub` (as the client sees it) always.
pub fn identity_claims(
    user: &UserInfo,
    sub: &str,
    scope: &[String],
) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("sub".into(), sub.into());
    let has = |s: &str| scope.iter().any(|x| x == s);
    if has("profile") {
        m.insert("preferred_username".into(), user.username.clone().into());
        if let Some(n) = &user.name {
            m.insert("name".into(), n.clone().into());
        }
    }
    if has("email") {
        if let Some(e) = &user.email {
            m.insert("email".into(), e.clone().into());
            // Vouched for by the administrator (users, directory) unless a user says
            // otherwise, or verified by an upstream provider (unverified ones are dropped).
            m.insert("email_verified".into(), user.email_verified.into());
        }
    }
    if has("groups") || has("profile") {
        m.insert("groups".into(), user.groups.clone().into());
    }
    m
}

/// What goes into an ID token beyond the identity claims.
pub struct IdTokenInput<'a> {
    pub nonce: Option<&'a str>,
    pub access_token: Option<&'a str>,
    pub code: Option<&'a str>,
}

pub fn id_token(
    keys: &KeySet,
    issuer: &str,
    s: &Subject<'_>,
    extra: &IdTokenInput<'_>,
    ttl: u64,
    now: u64,
) -> Result<String, crate::keys::KeyError> {
    let mut claims = identity_claims(s.user, s.sub, s.scope);
    claims.insert("iss".into(), issuer.into());
    claims.insert("aud".into(), s.client_id.into());
    claims.insert("azp".into(), s.client_id.into());
    claims.insert("exp".into(), (now + ttl).into());
    claims.insert("iat".into(), now.into());
    claims.insert("auth_time".into(), s.auth_time.into());
    claims.insert("sid".into(), s.sid.into());
    claims.extend(authentication_claims(s.amr));
    if let Some(n) = extra.nonce {
        claims.insert("nonce".into(), n.into());
    }
    let alg = keys.active.alg;
    if let Some(at) = extra.access_token {
        claims.insert("at_hash".into(), half_hash(alg, at).into());
    }
    if let Some(c) = extra.code {
        claims.insert("c_hash".into(), half_hash(alg, c).into());
    }
    keys.sign(&claims, "JWT")
}

/// Claims of an ID token we issued, for `id_token_hint` (expiry does not matter there:
/// OIDC RP-Initiated Logout §2 accepts expired hints). Only `typ: JWT`: never an access token
/// or a logout token. The caller checks that `aud` is a client: the assertion sent to apps is
/// a `JWT` too, for a host.
pub fn verify_id_token_hint(keys: &KeySet, issuer: &str, token: &str) -> Option<serde_json::Value> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.typ.as_deref() != Some("JWT") {
        return None;
    }
    let mut v = Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_issuer(&[issuer]);
    v.validate_aud = false;
    v.validate_exp = false;
    v.set_required_spec_claims(&["iss", "sub", "aud"]);
    keys.verify(token, &v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_left_half_of_the_hash() {
        // Expected value computed independently with Python's hashlib:
        // base64url(sha256(b"jHkW...").digest()[:16])
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNEBR2p8pNomVQ2IrnuU";
        assert_eq!(half_hash(Alg::RS256, token), "iD_S-jlrmIjudFjOxpLVog");
        assert_eq!(half_hash(Alg::ES256, token), "iD_S-jlrmIjudFjOxpLVog");
        assert_eq!(
            half_hash(Alg::EdDSA, token).len(),
            43,
            "32 bytes of SHA-512"
        );
    }
}
