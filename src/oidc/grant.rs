//! Codes, grants and refresh tokens: the records, and the checks the token endpoint makes on
//! them (RFC 6749 §4.1.3, §6; RFC 7636 §4.6), as pure functions of the record and `now`.
//!
//! Every token issued from one code belongs to one grant; deleting the grant revokes them all
//! (code replay, refresh-token reuse, RFC 7009 revocation).

use serde::{Deserialize, Serialize};

use super::errors::{TokenCode, TokenError};
use super::pkce;
use crate::config::Client;
use crate::http::params::Params;

/// An authorization code's binding (stored under `code:` + hash of the code).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeRecord {
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scope: Vec<String>,
    pub user: String,
    pub sid: String,
    /// Store key of the session the code was issued in.
    pub session: crate::session::Key,
    pub auth_time: u64,
    pub expires: u64,
    /// How the user authenticated in the session the code was issued in (RFC 8176).
    #[serde(default)]
    pub amr: Vec<String>,
    /// The source of the user's name, from the session (`None` from earlier versions).
    #[serde(default)]
    pub source: Option<crate::directory::Source>,
}

/// Tokens issued from one code (stored under `grant:` + id).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GrantRecord {
    pub client_id: String,
    pub user: String,
    pub scope: Vec<String>,
    pub sid: String,
    pub auth_time: u64,
    #[serde(default)]
    pub amr: Vec<String>,
    /// The source of the user's name: the grant is theirs only while the name comes from
    /// there (`None` from earlier versions, and for a client's own grant).
    #[serde(default)]
    pub source: Option<crate::directory::Source>,
}

/// One refresh token (stored under `rt:` + hash of the token; taken on use).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefreshRecord {
    pub grant: String,
    pub client_id: String,
    pub scope: Vec<String>,
    pub expires: u64,
    /// The DPoP key a public client's refresh token is bound to (RFC 9449 §5).
    #[serde(default)]
    pub jkt: Option<String>,
}

fn invalid_grant(why: &str) -> TokenError {
    TokenError::new(TokenCode::InvalidGrant, why)
}

/// RFC 6749 §4.1.3 and RFC 7636 §4.6: the code was issued to this client, for this redirect
/// URI, with this PKCE challenge, and has not expired. `redirect_uri` and `verifier` are the
/// token request's `redirect_uri` and `code_verifier`.
pub fn check_code(
    rec: &CodeRecord,
    client: &Client,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: u64,
) -> Result<(), TokenError> {
    if now >= rec.expires {
        return Err(invalid_grant("the authorization code has expired"));
    }
    if rec.client_id != client.client_id {
        return Err(invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    match redirect_uri {
        Some(uri) if uri != rec.redirect_uri => {
            return Err(invalid_grant(
                "redirect_uri does not match the authorization request",
            ))
        }
        None if rec.redirect_uri_given => {
            return Err(invalid_grant(
                "redirect_uri is required: the authorization request had one",
            ))
        }
        _ => {}
    }
    match (&rec.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(invalid_grant(
            "code_verifier is required: the code was issued with a code_challenge",
        )),
        // RFC 9700 §2.1.1: a verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(invalid_grant(
            "code_verifier sent, but the code was issued without a code_challenge",
        )),
        (None, None) => Ok(()),
    }
}

/// RFC 6749 §6: the refresh token belongs to this client and has not expired; a requested
/// scope may only narrow the original one. Returns the scope of the new tokens.
pub fn check_refresh(
    rec: &RefreshRecord,
    client: &Client,
    p: &Params,
    jkt: Option<&str>,
    now: u64,
) -> Result<Vec<String>, TokenError> {
    if now >= rec.expires {
        return Err(invalid_grant("the refresh token has expired"));
    }
    if rec.jkt.is_some() && rec.jkt.as_deref() != jkt {
        return Err(invalid_grant(
            "the refresh token is bound to a DPoP key: send a proof of that key",
        ));
    }
    if rec.client_id != client.client_id {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    match p.get("scope") {
        None => Ok(rec.scope.clone()),
        Some(s) => {
            let asked = super::scopes(s);
            if asked.iter().all(|x| rec.scope.contains(x)) {
                Ok(asked)
            } else {
                Err(TokenError::new(
                    TokenCode::InvalidScope,
                    "the requested scope exceeds the original grant",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ResponseType;

    const NOW: u64 = 1_700_000_000;
    const CB: &str = "https://rp.test/cb";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn client(id: &str) -> Client {
        Client {
            client_id: id.into(),
            name: "app".into(),
            kind: crate::config::ClientKind::Public,
            redirect_uris: vec!["https://rp.test/cb".into()],
            post_logout_redirect_uris: vec![],
            response_types: vec![ResponseType::Code],
            require_pkce: true,
            refresh_tokens: false,
            introspect_any: false,
            require_second_factor: false,
            grant_types: vec![crate::config::GrantType::AuthorizationCode],
            groups: vec![],
            jwks: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: true,
            profile: Default::default(),
        }
    }

    fn code(challenge: Option<&str>) -> CodeRecord {
        CodeRecord {
            client_id: "rp".into(),
            redirect_uri: "https://rp.test/cb".into(),
            redirect_uri_given: true,
            code_challenge: challenge.map(str::to_string),
            nonce: None,
            scope: vec!["openid".into()],
            user: "alice".into(),
            sid: "s".into(),
            session: crate::session::Key::id(crate::session::Kind::Session, "x"),
            auth_time: NOW - 5,
            expires: NOW + 60,
            amr: vec!["pwd".into()],
            source: None,
        }
    }

    fn params(s: &str) -> Params {
        Params::parse(s).unwrap()
    }

    fn err(r: Result<(), TokenError>) -> TokenCode {
        r.unwrap_err().error
    }

    #[test]
    fn valid_code_exchange() {
        let rec = code(Some(&pkce::challenge(VERIFIER)));
        assert_eq!(
            check_code(&rec, &client("rp"), Some(CB), Some(VERIFIER), NOW),
            Ok(())
        );
    }

    #[test]
    fn expired_code_is_invalid_grant() {
        let rec = code(None);
        assert_eq!(
            err(check_code(&rec, &client("rp"), Some(CB), None, NOW + 60)),
            TokenCode::InvalidGrant
        );
        assert_eq!(
            check_code(&rec, &client("rp"), Some(CB), None, NOW + 59),
            Ok(())
        );
    }

    #[test]
    fn code_of_another_client_is_invalid_grant() {
        assert_eq!(
            err(check_code(
                &code(None),
                &client("other"),
                Some(CB),
                None,
                NOW
            )),
            TokenCode::InvalidGrant
        );
    }

    #[test]
    fn redirect_uri_mismatch_or_missing_is_invalid_grant() {
        let c = client("rp");
        assert_eq!(
            err(check_code(
                &code(None),
                &c,
                Some("https://rp.test/cb2"),
                None,
                NOW
            )),
            TokenCode::InvalidGrant
        );
        assert_eq!(
            err(check_code(&code(None), &c, None, None, NOW)),
            TokenCode::InvalidGrant
        );
    }

    #[test]
    fn pkce_wrong_missing_or_downgraded_verifier_is_invalid_grant() {
        let c = client("rp");
        let with = code(Some(&pkce::challenge(VERIFIER)));
        let wrong = "a".repeat(43);
        assert_eq!(
            err(check_code(&with, &c, Some(CB), Some(&wrong), NOW)),
            TokenCode::InvalidGrant
        );
        assert_eq!(
            err(check_code(&with, &c, Some(CB), None, NOW)),
            TokenCode::InvalidGrant
        );
        assert_eq!(
            err(check_code(&code(None), &c, Some(CB), Some(VERIFIER), NOW)),
            TokenCode::InvalidGrant
        );
    }

    #[test]
    fn expired_refresh_token_is_invalid_grant() {
        let rec = RefreshRecord {
            grant: "g".into(),
            client_id: "rp".into(),
            scope: vec!["openid".into()],
            expires: NOW + 10,
            jkt: None,
        };
        assert_eq!(
            check_refresh(&rec, &client("rp"), &params(""), None, NOW + 10)
                .unwrap_err()
                .error,
            TokenCode::InvalidGrant
        );
        assert!(check_refresh(&rec, &client("rp"), &params(""), None, NOW + 9).is_ok());
        assert_eq!(
            check_refresh(&rec, &client("x"), &params(""), None, NOW)
                .unwrap_err()
                .error,
            TokenCode::InvalidGrant
        );
        assert_eq!(
            check_refresh(
                &rec,
                &client("rp"),
                &params("scope=openid+email"),
                None,
                NOW
            )
            .unwrap_err()
            .error,
            TokenCode::InvalidScope
        );
    }

    #[test]
    fn a_bound_refresh_token_needs_its_dpop_key() {
        let rec = RefreshRecord {
            grant: "g".into(),
            client_id: "rp".into(),
            scope: vec!["openid".into()],
            expires: NOW + 10,
            jkt: Some("k1".into()),
        };
        let c = client("rp");
        assert!(check_refresh(&rec, &c, &params(""), Some("k1"), NOW).is_ok());
        for jkt in [None, Some("k2")] {
            let e = check_refresh(&rec, &c, &params(""), jkt, NOW).unwrap_err();
            assert_eq!(e.error, TokenCode::InvalidGrant, "{jkt:?}");
        }
    }
}
