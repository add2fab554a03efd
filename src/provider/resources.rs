//! The provider's other endpoints: userinfo, introspection (RFC 7662), revocation (RFC 7009),
//! RP-initiated logout, discovery and readiness.

use super::sign_in::provider_session;
use super::Request;
use crate::app::auth;
use crate::app::auth::{access_token, live_access_token, LiveToken, TokenScheme};
use crate::app::grants::revoke_grant;
use crate::app::{respond, App};
use crate::config::Client;
use crate::http::{cookies, pages, GatewayError, Reply};
use crate::oidc::authorize::{build_url, ResponseMode, SCOPES};
use crate::oidc::errors::{ResourceCode, ResourceError, TokenCode, TokenError};
use crate::oidc::grant::{GrantRecord, RefreshRecord};
use crate::oidc::tokens;
use crate::oidc::{dpop, request_object};
use crate::session::{Key, Kind, Records};

pub async fn userinfo(app: &App, req: &Request<'_>) -> Reply {
    match user_claims(app, req).await {
        Ok(Some(claims)) => Reply::json(200, &claims),
        Ok(None) => respond::no_token(),
        Err(e) => respond::resource(&e),
    }
}

/// The claims for the access token of `req`; `None` when it carries no token at all. A token
/// comes in `Authorization` (as `Bearer`, or as `DPoP` with a proof) or, on POST, in the form.
async fn user_claims(
    app: &App,
    req: &Request<'_>,
) -> Result<Option<serde_json::Value>, ResourceError> {
    let invalid = |why: &str| ResourceError::new(ResourceCode::InvalidToken, why);
    // RFC 6750 §2.2: the form body may carry the token on POST.
    let form_token = req
        .form()
        .ok()
        .and_then(|f| f.get("access_token").map(str::to_string));
    let presented = match (access_token(req.header), form_token.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ResourceError::new(
                ResourceCode::InvalidRequest,
                "more than one access token",
            ))
        }
        (Some(p), None) => p,
        (None, Some(t)) => (TokenScheme::Bearer, t),
        (None, None) => return Ok(None),
    };
    let live = live_access_token(app, presented.1)
        .await?
        .ok_or_else(|| invalid("the access token is invalid, expired or revoked"))?;
    let claims = &live.claims;
    let htm_htu = || {
        let htu = format!("{}{}", app.cfg.server.issuer, req.facts.path);
        (req.method(), htu)
    };
    auth::check_presented(app, req.header, presented, claims, htm_htu).await?;
    if claims.gty.is_some() {
        return Err(invalid("a client's own token has no user"));
    }
    let user = app
        .directory
        .active(live.user())
        .await?
        .filter(|u| claims.is_for(u))
        .ok_or_else(|| invalid("the user account is not available"))?;
    let scope: Vec<String> = claims.scope.split(' ').map(str::to_string).collect();
    let mut body = tokens::identity_claims(&user, &claims.sub, &scope);
    body.extend(tokens::authentication_claims(&claims.amr));
    Ok(Some(serde_json::Value::Object(body)))
}

pub async fn introspect(app: &App, req: &Request<'_>) -> Reply {
    match introspection(app, req).await {
        Ok(v) => Reply::json(200, &v),
        Err(e) => respond::token(&e),
    }
}

/// RFC 7662. Public clients may not introspect; a confidential client sees only its own
/// tokens, unless it is a resource server (`introspect_any`): anything else is inactive.
async fn introspection(app: &App, req: &Request<'_>) -> Result<serde_json::Value, TokenError> {
    let p = req.token_form()?;
    let client = auth::client(app, req.header_str("authorization"), &p).await?;
    if !client.is_confidential() {
        return Err(TokenError::new(
            TokenCode::InvalidClient,
            "public clients may not introspect",
        ));
    }
    let token = p
        .get("token")
        .ok_or_else(|| TokenError::new(TokenCode::InvalidRequest, "token is required"))?;
    if let Some(live) = live_access_token(app, token).await? {
        let c = &live.claims;
        let visible =
            client.introspect_any || client.client_id == c.client_id || client.client_id == c.aud;
        if visible {
            return Ok(access_introspection(&live));
        }
    }
    if let Some(v) = refresh_introspection(app, client, token).await? {
        return Ok(v);
    }
    Ok(serde_json::json!({ "active": false }))
}

/// RFC 7662 §2.2 for a live access token, with its binding (RFC 9449 §6.2 `cnf`) and actor
/// (RFC 8693 `act`). The user's name is given only where it is the subject (not pairwise).
fn access_introspection(live: &LiveToken) -> serde_json::Value {
    let c = &live.claims;
    let mut v = serde_json::Map::new();
    v.insert("active".into(), true.into());
    v.insert("token_type".into(), c.token_type().into());
    for (name, value) in [
        ("scope", &c.scope),
        ("client_id", &c.client_id),
        ("sub", &c.sub),
        ("aud", &c.aud),
        ("iss", &c.iss),
        ("jti", &c.jti),
        ("sid", &c.sid),
    ] {
        v.insert(name.into(), value.clone().into());
    }
    v.insert("exp".into(), c.exp.into());
    v.insert("iat".into(), c.iat.into());
    if live.user() == c.sub {
        v.insert("username".into(), c.sub.clone().into());
    }
    if let Some(cnf) = &c.cnf {
        v.insert("cnf".into(), serde_json::json!({ "jkt": cnf.jkt }));
    }
    if let Some(act) = c.act.as_ref().and_then(|a| serde_json::to_value(a).ok()) {
        v.insert("act".into(), act);
    }
    serde_json::Value::Object(v)
}

async fn refresh_introspection(
    app: &App,
    client: &Client,
    token: &str,
) -> Result<Option<serde_json::Value>, TokenError> {
    let records = Records(app.stores.records.as_ref());
    let Some(rt) = records
        .get::<RefreshRecord>(&Key::secret(Kind::Refresh, token))
        .await?
    else {
        return Ok(None);
    };
    if !(client.introspect_any || rt.client_id == client.client_id) || app.now() >= rt.expires {
        return Ok(None);
    }
    let grant = records
        .get::<GrantRecord>(&Key::id(Kind::Grant, &rt.grant))
        .await?;
    Ok(grant.map(|g| {
        let source = g.source.clone().unwrap_or_default();
        let sub = app.subject_for(&rt.client_id, &source, &g.user);
        let mut v = serde_json::json!({
            "active": true, "token_type": "refresh_token", "scope": rt.scope.join(" "), "client_id": rt.client_id,
            "sub": sub, "exp": rt.expires, "iss": app.cfg.server.issuer,
        });
        if let (true, Some(m)) = (sub == g.user, v.as_object_mut()) {
            m.insert("username".into(), g.user.clone().into());
        }
        v
    }))
}

pub async fn revoke(app: &App, req: &Request<'_>) -> Reply {
    match revocation(app, req).await {
        Ok(()) => Reply::new(200).header("Cache-Control", "no-store"),
        Err(e) => respond::token(&e),
    }
}

async fn revocation(app: &App, req: &Request<'_>) -> Result<(), TokenError> {
    let p = req.token_form()?;
    let client = auth::client(app, req.header_str("authorization"), &p).await?;
    let token = p
        .get("token")
        .ok_or_else(|| TokenError::new(TokenCode::InvalidRequest, "token is required"))?;
    // RFC 7009 §2.1: revoking either token of a grant revokes the grant; a token of another
    // client, or an unknown one, is answered 200 all the same (§2.2).
    let rt_key = Key::secret(Kind::Refresh, token);
    if let Some(rt) = Records(app.stores.records.as_ref())
        .get::<RefreshRecord>(&rt_key)
        .await?
    {
        if rt.client_id == client.client_id {
            app.stores.records.delete(&rt_key).await?;
            revoke_grant(app, &rt.grant).await?;
        }
    } else if let Some(c) = tokens::verify_access(&app.keys, &app.cfg.server.issuer, token) {
        if c.client_id == client.client_id {
            revoke_grant(app, &c.gid).await?;
        }
    }
    let e = crate::audit::Event {
        event: "token.revoked",
        actor: Some(&client.client_id),
        client_id: Some(&client.client_id),
        outcome: "ok",
        ..Default::default()
    };
    app.record(Some((req.header, req.facts)), e);
    Ok(())
}

/// OpenID Connect RP-Initiated Logout 1.0. A store error is a 503, never "signed out".
pub async fn logout(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let secure = app.cfg.server.secure_cookies();
    let clear = cookies::clear(&app.provider_cookies().session, secure);
    Ok(sign_out(app, req).await?.header("Set-Cookie", clear))
}

async fn sign_out(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let p = req.params()?;
    let target = logout_target(app, &p)?;
    let mut upstream = None;
    if let Some(s) = provider_session(app, req, app.now()).await? {
        crate::app::revocation::end_session(app, &s.key).await?;
        super::audit(app, req, "session.ended", &s.record.user, "signed_out");
        if target.is_none() {
            upstream = crate::app::federation::logout_url(app, &s.record.user).await;
        }
    }
    if let Some(url) = upstream {
        return Ok(Reply::redirect(302, &url));
    }
    Ok(match target {
        Some(uri) => {
            let state: Vec<(&str, &str)> = p
                .get("state")
                .map(|s| vec![("state", s)])
                .unwrap_or_default();
            Reply::redirect(302, &build_url(&uri, ResponseMode::Query, &state))
        }
        None => match &app.cfg.server.after_logout_url {
            Some(u) => Reply::redirect(302, u.as_str()),
            None => {
                let c = req.chrome(app);
                pages::message(&c, 200, &c.t("signed-out-title"), &c.t("signed-out"), None)
            }
        },
    })
}

/// RP-Initiated Logout §2–3: `id_token_hint` must be ours, `client_id` must agree with it, and
/// `post_logout_redirect_uri` must be registered for that client, exactly.
fn logout_target(
    app: &App,
    p: &crate::http::params::Params,
) -> Result<Option<String>, GatewayError> {
    let issuer = &app.cfg.server.issuer;
    let hint = match p.get("id_token_hint") {
        None => None,
        Some(t) => Some(
            tokens::verify_id_token_hint(&app.keys, issuer, t)
                .ok_or(GatewayError::LogoutRejected("logout-foreign-hint"))?,
        ),
    };
    let hint_client = match hint {
        None => None,
        Some(claims) => Some(
            claims
                .get("aud")
                .and_then(|a| a.as_str())
                .filter(|aud| app.clients.get(aud).is_some())
                .map(str::to_string)
                .ok_or(GatewayError::LogoutRejected("logout-hint-not-id-token"))?,
        ),
    };
    let client_id = match (hint_client, p.get("client_id")) {
        (Some(h), Some(c)) if h != c => {
            return Err(GatewayError::LogoutRejected("logout-client-mismatch"))
        }
        (Some(h), _) => Some(h),
        (None, c) => c.map(str::to_string),
    };
    let Some(uri) = p.get("post_logout_redirect_uri") else {
        return Ok(None);
    };
    let registered = client_id
        .as_deref()
        .and_then(|c| app.clients.get(c))
        .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
    if !registered {
        return Err(GatewayError::LogoutRejected("logout-uri-unregistered"));
    }
    Ok(Some(uri.to_string()))
}

pub fn discovery(app: &App) -> Reply {
    let i = &app.cfg.server.issuer;
    let subject_types: &[&str] = if app.clients.any_pairwise() {
        &["public", "pairwise"]
    } else {
        &["public"]
    };
    Reply::json(
        200,
        &serde_json::json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/oauth2/authorize"),
            "pushed_authorization_request_endpoint": format!("{i}/oauth2/par"),
            "token_endpoint": format!("{i}/oauth2/token"),
            "userinfo_endpoint": format!("{i}/oauth2/userinfo"),
            "jwks_uri": format!("{i}/oauth2/jwks"),
            "revocation_endpoint": format!("{i}/oauth2/revoke"),
            "introspection_endpoint": format!("{i}/oauth2/introspect"),
            "end_session_endpoint": format!("{i}/oauth2/logout"),
            "device_authorization_endpoint": format!("{i}/oauth2/device_authorization"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code", "id_token", "code id_token"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": app.clients.grant_types_in_use(),
            "subject_types_supported": subject_types,
            "id_token_signing_alg_values_supported": [app.keys.active.alg.name()],
            "token_endpoint_auth_methods_supported": app.clients.auth_methods_in_use(),
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
            "revocation_endpoint_auth_methods_supported": app.clients.auth_methods_in_use(),
            "introspection_endpoint_auth_methods_supported": app.clients.auth_methods_in_use(),
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "c_hash", "azp", "name", "preferred_username", "email", "email_verified", "groups", "amr", "acr"],
            "acr_values_supported": ["mfa"],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "authorization_response_iss_parameter_supported": true,
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "require_pushed_authorization_requests": app.clients.all_must_push(),
            "request_parameter_supported": true,
            "request_uri_parameter_supported": false,
            "request_object_signing_alg_values_supported": request_object::ALGS,
            "dpop_signing_alg_values_supported": dpop::ALGS,
            "claims_parameter_supported": false,
        }),
    )
    .header("Cache-Control", "public, max-age=300")
}

/// Ready: the store answers and every route has a healthy upstream.
pub async fn readyz(app: &App) -> Reply {
    let store_ok = app
        .stores
        .records
        .get(&Key::id(Kind::Probe, "readyz"))
        .await
        .is_ok();
    let routes_down: Vec<String> = app
        .routes
        .iter()
        .filter(|r| r.balancer.select(b"", 256).is_none())
        .map(|r| r.label.to_string())
        .collect();
    let directory_ok = app.directory.ready().await;
    let ok = store_ok && directory_ok && routes_down.is_empty();
    Reply::json(
        if ok { 200 } else { 503 },
        &serde_json::json!({
            "status": if ok { "ready" } else { "not ready" },
            "store": store_ok,
            "redis_master": app.stores.records.master(),
            "directory": directory_ok,
            "routes_down": routes_down,
        }),
    )
}
