//! `POST /oauth2/token`: the `authorization_code` and `refresh_token` grants (RFC 6749 §4.1.3,
//! §6), with single-use codes and rotating refresh tokens, and `client_credentials` (§4.4) for
//! clients that act for themselves.

use std::sync::Arc;

use super::device;
use super::Request;
use crate::app::auth;
use crate::app::dpop;
use crate::app::grants::{redeem_code, revoke_grant, take_once, CodeProof};
use crate::app::{respond, revocation, App};
use crate::config::{Client, GrantType};
use crate::directory::UserInfo;
use crate::http::params::Params;
use crate::http::Reply;
use crate::oidc::device::{self as oidc_device, Decision, DeviceRecord, Poll, Polling};
use crate::oidc::errors::{TokenCode, TokenError};
use crate::oidc::grant::{check_refresh, GrantRecord, RefreshRecord};
use crate::oidc::tokens::{self, Binding, IdTokenInput, Subject};
use crate::secret::{new_id, new_secret};
use crate::session::{Key, Kind, Records};

pub async fn handle(app: &App, req: &Request<'_>) -> Reply {
    match token(app, req).await {
        Ok(body) => Reply::json(200, &body).header("Pragma", "no-cache"),
        Err(e) => respond::token(&e),
    }
}

async fn token(app: &App, req: &Request<'_>) -> Result<serde_json::Value, TokenError> {
    let p = req.token_form()?;
    let client = auth::client(app, req.header_str("authorization"), &p).await?;
    if let Some(name) = p.repeated(&[
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "device_code",
        "scope",
    ]) {
        return Err(TokenError::new(
            TokenCode::InvalidRequest,
            format!("the parameter {name} is repeated"),
        ));
    }
    let grant = p.get("grant_type");
    let now = app.now();
    // Checked before any code or refresh token is used: a request asked for a nonce is sent again.
    let jkt = proof(app, req, client).await?;
    let jkt = jkt.as_deref();
    let body = match grant.map(|g| (g, GrantType::parse(g))) {
        Some((_, Some(g))) if !client.allows(g) => Err(TokenError::new(
            TokenCode::UnauthorizedClient,
            format!("this client may not use the {} grant", g.as_str()),
        )),
        Some((_, Some(GrantType::AuthorizationCode))) => {
            authorization_code(app, client, &p, now, jkt).await
        }
        Some((_, Some(GrantType::RefreshToken))) => refresh(app, client, &p, now, jkt).await,
        Some((_, Some(GrantType::ClientCredentials))) => {
            client_credentials(app, client, &p, now, jkt).await
        }
        Some((_, Some(GrantType::DeviceCode))) => device_code(app, client, &p, now, jkt).await,
        Some((_, Some(GrantType::TokenExchange))) => {
            super::exchange::exchange(app, client, &p, now, jkt).await
        }
        Some((other, None)) => Err(TokenError::new(
            TokenCode::UnsupportedGrantType,
            format!("grant_type {other:?} is not supported"),
        )),
        None => Err(TokenError::new(
            TokenCode::InvalidRequest,
            "grant_type is required",
        )),
    };
    if let (Ok(_), Some(g)) = (&body, grant) {
        crate::metrics::token_issued(g);
        let e = crate::audit::Event {
            event: "token.issued",
            actor: Some(&client.client_id),
            client_id: Some(&client.client_id),
            outcome: g,
            ..Default::default()
        };
        app.record(Some((req.header, req.facts)), e);
    }
    body
}

/// The grant's user, asked of the directory itself (not a cache): a refresh re-checks that the
/// user still exists, is enabled, and still comes from the source the grant was given to.
async fn user(app: &App, grant: &GrantRecord) -> Result<Arc<UserInfo>, TokenError> {
    app.directory
        .recheck(&grant.user)
        .await?
        .filter(|u| grant.source.as_ref().is_none_or(|s| *s == u.source))
        .ok_or_else(|| {
            TokenError::new(TokenCode::InvalidGrant, "the user account is not available")
        })
}

/// RFC 9449 §5: the thumbprint of the request's DPoP proof, if it has one (a client with
/// `require_dpop` must). A proof without the nonce asked for is answered `use_dpop_nonce`.
async fn proof(
    app: &App,
    req: &Request<'_>,
    client: &Client,
) -> Result<Option<String>, TokenError> {
    let refused = |e| dpop::refused(e).into_token_error();
    let header = dpop::proof_header(req.header).map_err(refused)?;
    if header.is_some() && !client.is_confidential() {
        // Each proof is remembered for minutes, and anyone can be a public client: proofs of
        // public clients count like sign-in starts per address.
        app.admit(req.facts.client_ip).await.map_err(|_| {
            TokenError::new(
                TokenCode::TemporarilyUnavailable,
                "too many requests from this address; try again later",
            )
        })?;
    }
    let Some(jws) = header else {
        if client.profile.require_dpop {
            return Err(TokenError::new(
                TokenCode::InvalidDpopProof,
                "this client must send a DPoP proof",
            ));
        }
        return Ok(None);
    };
    let htu = format!("{}{}", app.cfg.server.issuer, req.facts.path);
    let expected = dpop::Expected {
        htu: &htu,
        htm: "POST",
        token: None,
        nonce_for: client
            .profile
            .dpop_nonce
            .then_some(client.client_id.as_str()),
    };
    dpop::verify(app, jws, &expected)
        .await
        .map(Some)
        .map_err(refused)
}

async fn authorization_code(
    app: &App,
    client: &Client,
    p: &Params,
    now: u64,
    jkt: Option<&str>,
) -> Result<serde_json::Value, TokenError> {
    let code = p
        .get("code")
        .ok_or_else(|| TokenError::new(TokenCode::InvalidRequest, "code is required"))?;
    let proof = CodeProof {
        redirect_uri: p.get("redirect_uri"),
        verifier: p.get("code_verifier"),
    };
    let (rec, grant_id) = redeem_code(app, code, client, &proof, now).await?;
    let grant = GrantRecord {
        client_id: client.client_id.clone(),
        user: rec.user.clone(),
        scope: rec.scope.clone(),
        sid: rec.sid.clone(),
        auth_time: rec.auth_time,
        amr: rec.amr.clone(),
        source: rec.source.clone(),
    };
    store_grant(app, &grant_id, &grant).await?;
    let issued = Issued {
        id: &grant_id,
        grant: &grant,
        scope: &rec.scope,
        nonce: rec.nonce.as_deref(),
        jkt,
    };
    issue(app, client, &issued, now).await
}

async fn refresh(
    app: &App,
    client: &Client,
    p: &Params,
    now: u64,
    jkt: Option<&str>,
) -> Result<serde_json::Value, TokenError> {
    let token = p
        .get("refresh_token")
        .ok_or_else(|| TokenError::new(TokenCode::InvalidRequest, "refresh_token is required"))?;
    let records = Records(app.stores.records.as_ref());
    // Checked before it is used up: another client, or a request without the key it is bound
    // to, cannot burn it (and so revoke the grant when its holder uses it next).
    let held: Option<RefreshRecord> = records.get(&Key::secret(Kind::Refresh, token)).await?;
    if let Some(rec) = &held {
        check_refresh(rec, client, p, jkt, now)?;
    }
    let (rec, _): (RefreshRecord, _) =
        take_once(app, Kind::Refresh, token, "refresh token").await?;
    let scope = check_refresh(&rec, client, p, jkt, now)?;
    let revoked = || TokenError::new(TokenCode::InvalidGrant, "the grant was revoked");
    let key = Key::id(Kind::Grant, &rec.grant);
    let grant = records
        .get::<GrantRecord>(&key)
        .await?
        .ok_or_else(revoked)?;
    // Renewed only while it stands: reuse detection may have revoked it since it was read.
    if !records
        .replace(&key, &grant, Kind::Grant.ttl(&app.cfg))
        .await?
    {
        return Err(revoked());
    }
    let issued = Issued {
        id: &rec.grant,
        grant: &grant,
        scope: &scope,
        nonce: None,
        jkt,
    };
    issue(app, client, &issued, now).await
}

/// RFC 6749 §4.4: a confidential client's token for itself: `sub` is the client id; no
/// refresh token (§4.4.3) and no ID token (there is no user). Its grant can be revoked.
async fn client_credentials(
    app: &App,
    client: &Client,
    p: &Params,
    now: u64,
    jkt: Option<&str>,
) -> Result<serde_json::Value, TokenError> {
    let machine = match app.clients.machine(&client.client_id) {
        Some(m) if client.is_confidential() => Arc::clone(m),
        _ => {
            return Err(TokenError::new(
                TokenCode::UnauthorizedClient,
                "client_credentials needs a confidential client",
            ))
        }
    };
    let scope = crate::oidc::scopes(p.get("scope").unwrap_or_default());
    if let Some(s) = scope
        .iter()
        .find(|s| *s == "openid" || *s == "offline_access")
    {
        return Err(TokenError::new(
            TokenCode::InvalidScope,
            format!("{s} has no meaning without a user"),
        ));
    }
    let grant_id = new_id();
    let grant = GrantRecord {
        client_id: client.client_id.clone(),
        user: client.client_id.clone(),
        scope: scope.clone(),
        sid: String::new(),
        auth_time: now,
        amr: Vec::new(),
        source: None,
    };
    Records(app.stores.records.as_ref())
        .put(
            &Key::id(Kind::Grant, &grant_id),
            &grant,
            Kind::Grant.ttl(&app.cfg),
        )
        .await?;
    let subject = Subject {
        user: &machine,
        sub: &machine.username,
        client_id: &client.client_id,
        scope: &scope,
        sid: "",
        auth_time: now,
        grant: &grant_id,
        amr: &[],
        machine: true,
    };
    let ttl = app.cfg.tokens.access_token_ttl.as_secs();
    let binding = Binding {
        jkt,
        ..Binding::default()
    };
    let (access, claims) = tokens::access_token(
        &app.keys,
        &app.cfg.server.issuer,
        &subject,
        (ttl, now),
        binding,
    )
    .map_err(server_error)?;
    Ok(serde_json::json!({
        "access_token": access,
        "token_type": claims.token_type(),
        "expires_in": ttl,
        "scope": scope.join(" "),
    }))
}

/// RFC 8628 §3.4, §3.5: a poll of a device authorization; once approved, its tokens, once.
async fn device_code(
    app: &App,
    client: &Client,
    p: &Params,
    now: u64,
    jkt: Option<&str>,
) -> Result<serde_json::Value, TokenError> {
    let invalid = |why: &str| TokenError::new(TokenCode::InvalidGrant, why);
    let code = p
        .get("device_code")
        .ok_or_else(|| TokenError::new(TokenCode::InvalidRequest, "device_code is required"))?;
    let (key, rec) = device::by_device_code(app, code)
        .await?
        .ok_or_else(|| invalid("unknown or used device_code"))?;
    if rec.client_id != client.client_id {
        return Err(invalid("the device_code was issued to another client"));
    }
    let records = Records(app.stores.records.as_ref());
    let ttl = Kind::Device.ttl(&app.cfg);
    let polling_key = device::polling_key(&rec.user_code);
    let polling: Polling = records.get(&polling_key).await?.unwrap_or_default();
    let (code, why) = match oidc_device::poll(&rec, &polling, now) {
        Poll::Pending(next) => {
            records.put(&polling_key, &next, ttl).await?;
            (
                TokenCode::AuthorizationPending,
                "the user has not decided yet",
            )
        }
        Poll::SlowDown(next) => {
            records.put(&polling_key, &next, ttl).await?;
            (
                TokenCode::SlowDown,
                "polling too fast: wait 5 s more between polls",
            )
        }
        Poll::Denied => (TokenCode::AccessDenied, "the user denied the request"),
        Poll::Expired => (TokenCode::ExpiredToken, "the device_code has expired"),
        Poll::Approved => return device_tokens(app, client, &key, (now, jkt)).await,
    };
    Err(TokenError::new(code, why))
}

/// The tokens of an approved device authorization: the record is taken, so this happens once.
async fn device_tokens(
    app: &App,
    client: &Client,
    key: &Key,
    (now, jkt): (u64, Option<&str>),
) -> Result<serde_json::Value, TokenError> {
    let used = || TokenError::new(TokenCode::InvalidGrant, "the device_code was used");
    let rec: DeviceRecord = Records(app.stores.records.as_ref())
        .take(key)
        .await?
        .ok_or_else(used)?;
    let Decision::Approved {
        user,
        sid,
        auth_time,
        amr,
        source,
    } = rec.decision
    else {
        return Err(used());
    };
    let grant_id = new_id();
    let grant = GrantRecord {
        client_id: client.client_id.clone(),
        user,
        scope: rec.scope.clone(),
        sid,
        auth_time,
        amr,
        source,
    };
    store_grant(app, &grant_id, &grant).await?;
    let issued = Issued {
        id: &grant_id,
        grant: &grant,
        scope: &rec.scope,
        nonce: None,
        jkt,
    };
    issue(app, client, &issued, now).await
}

/// Stores a user's grant, remembered with the session it was given in (which ending revokes it).
async fn store_grant(app: &App, id: &str, grant: &GrantRecord) -> Result<(), TokenError> {
    Records(app.stores.records.as_ref())
        .put(&Key::id(Kind::Grant, id), grant, Kind::Grant.ttl(&app.cfg))
        .await?;
    revocation::remember_grant(app, &grant.user, &grant.sid, &grant.client_id, id).await?;
    // Remembered first, then checked: a sign-out either sees this grant or ended the session
    // before this look, so no grant outlives the session it was given in.
    if !revocation::session_alive(app, &grant.user, &grant.sid).await? {
        revoke_grant(app, id).await?;
        return Err(TokenError::new(
            TokenCode::InvalidGrant,
            "the session this was granted in has ended",
        ));
    }
    Ok(())
}

/// A grant being answered: its id and record, the scope of these tokens, the nonce of the
/// authorization request (code exchange only), the DPoP key they are bound to.
struct Issued<'a> {
    id: &'a str,
    grant: &'a GrantRecord,
    scope: &'a [String],
    nonce: Option<&'a str>,
    jkt: Option<&'a str>,
}

/// The token response for a grant that stands (RFC 6749 §5.1, OIDC Core §3.1.3.3).
async fn issue(
    app: &App,
    client: &Client,
    issued: &Issued<'_>,
    now: u64,
) -> Result<serde_json::Value, TokenError> {
    let t = &app.cfg.tokens;
    let issuer = &app.cfg.server.issuer;
    let user = user(app, issued.grant).await?;
    let sub = app.subject_for(&client.client_id, &user.source, &user.username);
    let subject = Subject {
        user: &user,
        sub: &sub,
        client_id: &client.client_id,
        scope: issued.scope,
        sid: &issued.grant.sid,
        auth_time: issued.grant.auth_time,
        grant: issued.id,
        amr: &issued.grant.amr,
        machine: false,
    };
    let ttl = t.access_token_ttl.as_secs();
    let binding = Binding {
        jkt: issued.jkt,
        ..Binding::default()
    };
    let (access, claims) = tokens::access_token(&app.keys, issuer, &subject, (ttl, now), binding)
        .map_err(server_error)?;
    let mut body = serde_json::Map::new();
    body.insert("access_token".into(), access.clone().into());
    body.insert("token_type".into(), claims.token_type().into());
    body.insert("expires_in".into(), ttl.into());
    body.insert("scope".into(), issued.scope.join(" ").into());
    let wants_refresh = issued.scope.iter().any(|s| s == "offline_access") || client.refresh_tokens;
    if wants_refresh {
        let refresh = new_refresh_token(app, client, issued, now).await?;
        body.insert("refresh_token".into(), refresh.into());
    }
    if issued.scope.iter().any(|s| s == "openid") {
        let input = IdTokenInput {
            nonce: issued.nonce,
            access_token: Some(&access),
            code: None,
        };
        let ttl = t.id_token_ttl.as_secs();
        let id_token = tokens::id_token(&app.keys, issuer, &subject, &input, ttl, now)
            .map_err(server_error)?;
        body.insert("id_token".into(), id_token.into());
    }
    Ok(serde_json::Value::Object(body))
}

/// A new refresh token of the grant (the one it replaces was taken: RFC 9700 §4.14.2).
async fn new_refresh_token(
    app: &App,
    client: &Client,
    issued: &Issued<'_>,
    now: u64,
) -> Result<String, TokenError> {
    let refresh = new_secret();
    let ttl = Kind::Refresh.ttl(&app.cfg);
    let rec = RefreshRecord {
        grant: issued.id.to_string(),
        client_id: client.client_id.clone(),
        scope: issued.scope.to_vec(),
        expires: now + ttl.as_secs(),
        // RFC 9449 §5: a public client's refresh token is bound to its DPoP key.
        jkt: issued
            .jkt
            .filter(|_| !client.is_confidential())
            .map(str::to_string),
    };
    Records(app.stores.records.as_ref())
        .put(&Key::secret(Kind::Refresh, &refresh), &rec, ttl)
        .await?;
    Ok(refresh)
}

/// A signing failure as the client sees it: the cause stays in the log.
pub(super) fn server_error(e: crate::keys::KeyError) -> TokenError {
    log::error!("{e}");
    TokenError::new(TokenCode::ServerError, "the token could not be signed")
}
