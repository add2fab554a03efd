//! Single-use records and grants in the store: codes and refresh tokens are taken at most
//! once, a second use revokes what the first one issued, and revocation leaves a tombstone that
//! outlives every token of the grant. Shared by the token endpoint and the proxy's callback.

use crate::config::Client;
use crate::oidc::errors::{TokenCode, TokenError};
use crate::oidc::grant::{check_code, CodeRecord, RefreshRecord};
use crate::secret::new_id;
use crate::session::{Key, Kind, Records};

use super::App;

/// What a token request proves about a code: its `redirect_uri` and `code_verifier`.
pub struct CodeProof<'a> {
    pub redirect_uri: Option<&'a str>,
    pub verifier: Option<&'a str>,
}

/// Takes the code and checks it against `client` and `proof` (RFC 6749 §4.1.3, RFC 7636 §4.6);
/// returns its record and the id of the grant it now creates.
pub async fn redeem_code(
    app: &App,
    code: &str,
    client: &Client,
    proof: &CodeProof<'_>,
    now: u64,
) -> Result<(CodeRecord, String), TokenError> {
    let (rec, grant): (CodeRecord, _) =
        take_once(app, Kind::Code, code, "authorization code").await?;
    check_code(&rec, client, proof.redirect_uri, proof.verifier, now)?;
    Ok((rec, grant))
}

/// Takes a single-use record — an authorization code or a refresh token — and marks it used,
/// remembering the grant it belongs to. When it is already gone but was used before, that grant
/// is revoked: RFC 6749 §4.1.2 (a code used twice) and RFC 9700 §4.14.2 (a rotated refresh
/// token reused).
pub async fn take_once<T: serde::de::DeserializeOwned + Grant>(
    app: &App,
    kind: Kind,
    secret: &str,
    what: &str,
) -> Result<(T, String), TokenError> {
    let records = Records(app.stores.records.as_ref());
    let used_kind = if kind == Kind::Code {
        Kind::CodeUsed
    } else {
        Kind::RefreshUsed
    };
    let used_key = Key::secret(used_kind, secret);
    match records.take::<T>(&Key::secret(kind, secret)).await? {
        Some(rec) => {
            let grant = rec.grant_id();
            records
                .put(&used_key, &grant, used_kind.ttl(&app.cfg))
                .await?;
            Ok((rec, grant))
        }
        None => match records.get::<String>(&used_key).await? {
            Some(grant) => {
                revoke_grant(app, &grant).await?;
                log::warn!("{what} used twice: its grant is revoked");
                Err(TokenError::new(
                    TokenCode::InvalidGrant,
                    format!("the {what} was already used; tokens issued from it are revoked"),
                ))
            }
            None => Err(TokenError::new(
                TokenCode::InvalidGrant,
                format!("unknown, expired or revoked {what}"),
            )),
        },
    }
}

/// The grant a single-use record belongs to (a code creates its grant when it is taken).
pub trait Grant {
    fn grant_id(&self) -> String;
}

impl Grant for CodeRecord {
    fn grant_id(&self) -> String {
        new_id()
    }
}

impl Grant for RefreshRecord {
    fn grant_id(&self) -> String {
        self.grant.clone()
    }
}

/// Revokes a grant: every access token that names it stops being accepted, and its refresh
/// token cannot be exchanged any more. The tombstone outlives every token of the grant, so a
/// concurrent refresh cannot bring it back.
pub async fn revoke_grant(app: &App, id: &str) -> Result<(), crate::session::StoreError> {
    app.stores
        .records
        .revoke(&Key::id(Kind::Grant, id), Kind::Grant.ttl(&app.cfg))
        .await
}
