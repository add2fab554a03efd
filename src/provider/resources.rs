//! The provider's other endpoints: userinfo, introspection (RFC 7662), revocation (RFC 7009),
//! RP-initiated logout, discovery and readiness.

use std::sync::Arc;

use super::authorize::provider_session;
use super::sessions;
use super::token::{key_grant, revoke_grant};
use super::Request;
use crate::app::App;
use crate::http::{cookies, pages, Reply};
use crate::oidc::authorize::{build_url, ResponseMode, SCOPES};
use crate::oidc::client_auth;
use crate::oidc::errors::{EndpointError, OAuthError};
use crate::oidc::grant::{GrantRecord, RefreshRecord};
use crate::oidc::tokens::{self, AccessClaims};
use crate::session::{key, now, Records, StoreError};

/// An access token that verifies and whose grant is still alive.
/// A verified signature is remembered (`App::verified_tokens`) so that bearer traffic does not
/// pay an ECDSA/RSA verification per request; expiry and revocation are checked every time.
pub async fn live_access_token(
    app: &App,
    token: &str,
) -> Result<Option<Arc<AccessClaims>>, StoreError> {
    let claims = match app.verified_tokens.get(token) {
        Some(c) => c,
        None => {
            let Some(c) = tokens::verify_access(&app.keys, &app.cfg.server.issuer, token) else {
                return Ok(None);
            };
            let c = Arc::new(c);
            app.verified_tokens
                .insert(token.to_string(), Arc::clone(&c));
            c
        }
    };
    if claims.exp <= now() {
        return Ok(None);
    }
    let alive = app.store.get(&key_grant(&claims.gid)).await?.is_some();
    Ok(alive.then_some(claims))
}

/// The bearer token of a request: `Authorization: Bearer` (RFC 6750 §2.1).
pub fn bearer(req: &Request<'_>) -> Option<String> {
    let h = req.header_str("authorization")?;
    let (scheme, token) = h.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

pub async fn userinfo(app: &App, req: &Request<'_>) -> Reply {
    let invalid = |why: &str| EndpointError::new(OAuthError::InvalidToken, why).reply();
    // RFC 6750 §2.2: the form body may carry the token on POST.
    let form_token = req
        .form()
        .ok()
        .and_then(|f| f.get("access_token").map(str::to_string));
    let token = match (bearer(req), form_token) {
        (Some(_), Some(_)) => return EndpointError::new(OAuthError::InvalidRequest, "more than one access token").reply(),
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            return Reply::json(401, &serde_json::json!({ "error": "invalid_token", "error_description": "no access token" }))
                .header("WWW-Authenticate", "Bearer realm=\"authgate\"")
        }
    };
    let claims = match live_access_token(app, &token).await {
        Ok(Some(c)) => c,
        Ok(None) => return invalid("the access token is invalid, expired or revoked"),
        Err(e) => return EndpointError::from(e).reply(),
    };
    let Some(user) = app.cfg.users.get(&claims.sub).filter(|u| !u.disabled) else {
        return invalid("the user account is not available");
    };
    let scope: Vec<String> = claims.scope.split(' ').map(str::to_string).collect();
    Reply::json(
        200,
        &serde_json::Value::Object(tokens::identity_claims(user, &scope)),
    )
}

pub async fn introspect(app: &App, req: &Request<'_>) -> Reply {
    match introspection(app, req).await {
        Ok(v) => Reply::json(200, &v),
        Err(e) => e.reply(),
    }
}

async fn introspection(app: &App, req: &Request<'_>) -> Result<serde_json::Value, EndpointError> {
    let p = req
        .form()
        .map_err(|e| EndpointError::new(OAuthError::InvalidRequest, e.to_string()))?;
    client_auth::authenticate(req.header_str("authorization"), &p, &app.clients)?;
    let token = p
        .get("token")
        .ok_or_else(|| EndpointError::new(OAuthError::InvalidRequest, "token is required"))?;
    if let Some(c) = live_access_token(app, token).await? {
        return Ok(serde_json::json!({
            "active": true, "token_type": "Bearer", "scope": c.scope, "client_id": c.client_id, "username": c.sub,
            "sub": c.sub, "aud": c.aud, "iss": c.iss, "exp": c.exp, "iat": c.iat, "jti": c.jti, "sid": c.sid,
        }));
    }
    let records = Records(app.store.as_ref());
    if let Some(rt) = records.get::<RefreshRecord>(&key("rt", token)).await? {
        if let Some(g) = records.get::<GrantRecord>(&key_grant(&rt.grant)).await? {
            if now() < rt.expires {
                return Ok(serde_json::json!({
                    "active": true, "token_type": "refresh_token", "scope": rt.scope.join(" "), "client_id": rt.client_id,
                    "username": g.user, "sub": g.user, "exp": rt.expires, "iss": app.cfg.server.issuer,
                }));
            }
        }
    }
    Ok(serde_json::json!({ "active": false }))
}

pub async fn revoke(app: &App, req: &Request<'_>) -> Reply {
    match revocation(app, req).await {
        Ok(()) => Reply::new(200).header("Cache-Control", "no-store"),
        Err(e) => e.reply(),
    }
}

async fn revocation(app: &App, req: &Request<'_>) -> Result<(), EndpointError> {
    let p = req
        .form()
        .map_err(|e| EndpointError::new(OAuthError::InvalidRequest, e.to_string()))?;
    let client = client_auth::authenticate(req.header_str("authorization"), &p, &app.clients)?;
    let token = p
        .get("token")
        .ok_or_else(|| EndpointError::new(OAuthError::InvalidRequest, "token is required"))?;
    // RFC 7009 §2.1: revoking either token of a grant revokes the grant; a token of another
    // client, or an unknown one, is answered 200 all the same (§2.2).
    if let Some(rt) = Records(app.store.as_ref())
        .get::<RefreshRecord>(&key("rt", token))
        .await?
    {
        if rt.client_id == client.client_id {
            app.store.delete(&key("rt", token)).await?;
            revoke_grant(app, &rt.grant).await?;
        }
    } else if let Some(c) = tokens::verify_access(&app.keys, &app.cfg.server.issuer, token) {
        if c.client_id == client.client_id {
            revoke_grant(app, &c.gid).await?;
        }
    }
    Ok(())
}

/// OpenID Connect RP-Initiated Logout 1.0.
pub async fn logout(app: &App, req: &Request<'_>) -> Reply {
    let p = match req.params() {
        Ok(p) => p,
        Err(e) => return e.reply(false),
    };
    let issuer = &app.cfg.server.issuer;
    let hint = p
        .get("id_token_hint")
        .map(|t| tokens::verify_id_token_hint(&app.keys, issuer, t));
    if matches!(hint, Some(None)) {
        return pages::error(
            400,
            "Sign-out rejected",
            "The id_token_hint was not issued by this provider.",
        );
    }
    let hint_client = hint
        .flatten()
        .and_then(|c| c.get("aud").and_then(|a| a.as_str()).map(str::to_string));
    let client_id = match (hint_client, p.get("client_id")) {
        (Some(h), Some(c)) if h != c => {
            return pages::error(
                400,
                "Sign-out rejected",
                "client_id does not match the id_token_hint.",
            )
        }
        (Some(h), _) => Some(h),
        (None, c) => c.map(str::to_string),
    };
    let target = match p.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let registered = client_id
                .as_deref()
                .and_then(|c| app.clients.get(c))
                .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return pages::error(
                    400,
                    "Sign-out rejected",
                    "The post_logout_redirect_uri is not registered for this application.",
                );
            }
            Some(uri.to_string())
        }
    };
    if let Ok(Some(s)) = provider_session(app, req, now()).await {
        if let Err(e) = sessions::end(app, &s.key).await {
            return super::authorize::unavailable(&e);
        }
    }
    let clear = cookies::clear(
        &app.cfg.session.cookie_name,
        app.cfg.server.secure_cookies(),
    );
    let reply = match target {
        Some(uri) => {
            let state: Vec<(&str, &str)> = p
                .get("state")
                .map(|s| vec![("state", s)])
                .unwrap_or_default();
            Reply::redirect(302, &build_url(&uri, ResponseMode::Query, &state))
        }
        None => match &app.cfg.server.after_logout_url {
            Some(u) => Reply::redirect(302, u.as_str()),
            None => pages::message(200, "Signed out", "You are signed out.", None),
        },
    };
    reply.header("Set-Cookie", clear)
}

pub fn discovery(app: &App) -> Reply {
    let i = &app.cfg.server.issuer;
    Reply::json(
        200,
        &serde_json::json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/oauth2/authorize"),
            "token_endpoint": format!("{i}/oauth2/token"),
            "userinfo_endpoint": format!("{i}/oauth2/userinfo"),
            "jwks_uri": format!("{i}/oauth2/jwks"),
            "revocation_endpoint": format!("{i}/oauth2/revoke"),
            "introspection_endpoint": format!("{i}/oauth2/introspect"),
            "end_session_endpoint": format!("{i}/oauth2/logout"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code", "id_token", "code id_token"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": ["authorization_code", "refresh_token", "implicit"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [app.keys.active.alg.name()],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "c_hash", "azp", "name", "preferred_username", "email", "groups"],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "authorization_response_iss_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "claims_parameter_supported": false,
        }),
    )
    .header("Cache-Control", "public, max-age=300")
}

/// Ready: the store answers and every route has a healthy upstream.
pub async fn readyz(app: &App) -> Reply {
    let store_ok = app.store.get("readyz").await.is_ok();
    let routes_down: Vec<String> = app
        .cfg
        .routes
        .iter()
        .zip(&app.balancers)
        .filter(|(_, b)| b.select(b"", 256).is_none())
        .map(|(r, _)| r.label())
        .collect();
    let ok = store_ok && routes_down.is_empty();
    Reply::json(
        if ok { 200 } else { 503 },
        &serde_json::json!({ "status": if ok { "ready" } else { "not ready" }, "store": store_ok, "routes_down": routes_down }),
    )
}
