//! `POST /oauth2/token`: the `authorization_code` and `refresh_token` grants (RFC 6749 §4.1.3,
//! §6), with single-use codes and rotating refresh tokens.

use std::time::Duration;

use super::Request;
use crate::app::App;
use crate::config::{Client, User};
use crate::http::params::Params;
use crate::http::Reply;
use crate::oidc::client_auth;
use crate::oidc::errors::{EndpointError, OAuthError};
use crate::oidc::grant::{check_code, check_refresh, CodeRecord, GrantRecord, RefreshRecord};
use crate::oidc::tokens::{self, IdTokenInput, Subject};
use crate::session::{key, new_id, new_secret, now, Records};

pub async fn handle(app: &App, req: &Request<'_>) -> Reply {
    match token(app, req).await {
        Ok(body) => Reply::json(200, &body).header("Pragma", "no-cache"),
        Err(e) => e.reply(),
    }
}

async fn token(app: &App, req: &Request<'_>) -> Result<serde_json::Value, EndpointError> {
    let p = req
        .form()
        .map_err(|e| EndpointError::new(OAuthError::InvalidRequest, e.to_string()))?;
    let client = client_auth::authenticate(req.header_str("authorization"), &p, &app.clients)?;
    if let Some(name) = p.repeated(&[
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "scope",
    ]) {
        return Err(EndpointError::new(
            OAuthError::InvalidRequest,
            format!("the parameter {name} is repeated"),
        ));
    }
    let grant = p.get("grant_type");
    let body = match grant {
        Some("authorization_code") => authorization_code(app, client, &p, now()).await,
        Some("refresh_token") => refresh(app, client, &p, now()).await,
        Some(other) => Err(EndpointError::new(
            OAuthError::UnsupportedGrantType,
            format!("grant_type {other:?} is not supported"),
        )),
        None => Err(EndpointError::new(
            OAuthError::InvalidRequest,
            "grant_type is required",
        )),
    };
    if let (Ok(_), Some(g)) = (&body, grant) {
        crate::metrics::token_issued(g);
    }
    body
}

fn user<'a>(app: &'a App, name: &str) -> Result<&'a User, EndpointError> {
    app.cfg
        .users
        .get(name)
        .filter(|u| !u.disabled)
        .ok_or_else(|| {
            EndpointError::new(
                OAuthError::InvalidGrant,
                "the user account is not available",
            )
        })
}

async fn authorization_code(
    app: &App,
    client: &Client,
    p: &Params,
    now: u64,
) -> Result<serde_json::Value, EndpointError> {
    let code = p
        .get("code")
        .ok_or_else(|| EndpointError::new(OAuthError::InvalidRequest, "code is required"))?;
    let (rec, grant_id): (CodeRecord, _) =
        take_once(app, "code", code, "authorization code").await?;
    check_code(
        &rec,
        client,
        p.get("redirect_uri"),
        p.get("code_verifier"),
        now,
    )?;
    let grant = GrantRecord {
        client_id: client.client_id.clone(),
        user: rec.user.clone(),
        scope: rec.scope.clone(),
        sid: rec.sid.clone(),
        auth_time: rec.auth_time,
    };
    issue(
        app,
        client,
        &grant_id,
        &grant,
        &rec.scope,
        rec.nonce.as_deref(),
        now,
    )
    .await
}

async fn refresh(
    app: &App,
    client: &Client,
    p: &Params,
    now: u64,
) -> Result<serde_json::Value, EndpointError> {
    let token = p.get("refresh_token").ok_or_else(|| {
        EndpointError::new(OAuthError::InvalidRequest, "refresh_token is required")
    })?;
    let (rec, _): (RefreshRecord, _) = take_once(app, "rt", token, "refresh token").await?;
    let scope = check_refresh(&rec, client, p, now)?;
    let grant = Records(app.store.as_ref())
        .get::<GrantRecord>(&key_grant(&rec.grant))
        .await?
        .ok_or_else(|| EndpointError::new(OAuthError::InvalidGrant, "the grant was revoked"))?;
    issue(app, client, &rec.grant, &grant, &scope, None, now).await
}

/// Takes a single-use record — an authorization code or a refresh token — and marks it used,
/// remembering the grant it belongs to. When it is already gone but was used before, that grant
/// is revoked: RFC 6749 §4.1.2 (a code used twice) and RFC 9700 §4.14.2 (a rotated refresh
/// token reused).
async fn take_once<T: serde::de::DeserializeOwned + Grant>(
    app: &App,
    namespace: &str,
    secret: &str,
    what: &str,
) -> Result<(T, String), EndpointError> {
    let records = Records(app.store.as_ref());
    let used_key = key(&format!("{namespace}-used"), secret);
    match records.take::<T>(&key(namespace, secret)).await? {
        Some(rec) => {
            let grant = rec.grant_id();
            let ttl = app
                .cfg
                .tokens
                .refresh_token_ttl
                .max(app.cfg.tokens.access_token_ttl);
            records.put(&used_key, &grant, ttl).await?;
            Ok((rec, grant))
        }
        None => match records.get::<String>(&used_key).await? {
            Some(grant) => {
                revoke_grant(app, &grant).await?;
                log::warn!("{what} used twice: its grant is revoked");
                Err(EndpointError::new(
                    OAuthError::InvalidGrant,
                    format!("the {what} was already used; tokens issued from it are revoked"),
                ))
            }
            None => Err(EndpointError::new(
                OAuthError::InvalidGrant,
                format!("unknown, expired or revoked {what}"),
            )),
        },
    }
}

/// The grant a single-use record belongs to (a code creates its grant when it is taken).
trait Grant {
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

pub fn key_grant(id: &str) -> String {
    format!("grant:{id}")
}

/// Deletes a grant: every access token that names it stops being accepted, and its refresh
/// token cannot be exchanged any more.
pub async fn revoke_grant(app: &App, id: &str) -> Result<(), crate::session::StoreError> {
    app.store.delete(&key_grant(id)).await
}

async fn issue(
    app: &App,
    client: &Client,
    grant_id: &str,
    grant: &GrantRecord,
    scope: &[String],
    nonce: Option<&str>,
    now: u64,
) -> Result<serde_json::Value, EndpointError> {
    let t = &app.cfg.tokens;
    let issuer = &app.cfg.server.issuer;
    let user = user(app, &grant.user)?;
    let subject = Subject {
        user,
        client_id: &client.client_id,
        scope,
        sid: &grant.sid,
        auth_time: grant.auth_time,
        grant: grant_id,
    };
    let server_error =
        |e: crate::keys::KeyError| EndpointError::new(OAuthError::ServerError, e.to_string());
    let (access, _) = tokens::access_token(
        &app.keys,
        issuer,
        &subject,
        t.access_token_ttl.as_secs(),
        now,
    )
    .map_err(server_error)?;
    let records = Records(app.store.as_ref());
    let wants_refresh = scope.iter().any(|s| s == "offline_access") || client.refresh_tokens;
    let grant_ttl = if wants_refresh {
        t.refresh_token_ttl.max(t.access_token_ttl)
    } else {
        t.access_token_ttl
    };
    records
        .put(
            &key_grant(grant_id),
            grant,
            grant_ttl + Duration::from_secs(60),
        )
        .await?;
    let mut body = serde_json::Map::new();
    body.insert("access_token".into(), access.clone().into());
    body.insert("token_type".into(), "Bearer".into());
    body.insert("expires_in".into(), t.access_token_ttl.as_secs().into());
    body.insert("scope".into(), scope.join(" ").into());
    if wants_refresh {
        let refresh = new_secret();
        let rec = RefreshRecord {
            grant: grant_id.to_string(),
            client_id: client.client_id.clone(),
            scope: scope.to_vec(),
            expires: now + t.refresh_token_ttl.as_secs(),
        };
        records
            .put(&key("rt", &refresh), &rec, t.refresh_token_ttl)
            .await?;
        body.insert("refresh_token".into(), refresh.into());
    }
    if scope.iter().any(|s| s == "openid") {
        let input = IdTokenInput {
            nonce,
            access_token: Some(&access),
            code: None,
        };
        let id_token = tokens::id_token(
            &app.keys,
            issuer,
            &subject,
            &input,
            t.id_token_ttl.as_secs(),
            now,
        )
        .map_err(server_error)?;
        body.insert("id_token".into(), id_token.into());
    }
    Ok(serde_json::Value::Object(body))
}
