//! The device authorization grant (RFC 8628): `POST /oauth2/device_authorization` gives a
//! device code and a user code; on `/device` a signed-in user enters the user code, sees which
//! client asks for what, and approves or denies; the token endpoint's `device_code` grant
//! answers the polls (`token.rs`).
//!
//! The record lives under its user code (what the page finds it by); the device code's hash
//! points to that user code. Approval is written over the live record only, and the tokens are
//! issued once: the approved record is taken.

use super::sign_in::{self, pending_for, provider_session, send_to_login};
use super::Request;
use crate::app::auth;
use crate::app::respond::{self, Audience};
use crate::app::App;
use crate::config::{GrantType, SecondFactor};
use crate::http::pages::{self, Chrome, DevicePage, DeviceRequest};
use crate::http::params::Params;
use crate::http::{GatewayError, Reply};
use crate::oidc::authorize::SCOPES;
use crate::oidc::device::{self, Decision, DeviceRecord};
use crate::oidc::errors::{TokenCode, TokenError};
use crate::secret::new_secret;
use crate::session::{Found, Key, Kind, Records};

pub const PAGE: &str = "/device";

/// `POST /oauth2/device_authorization` (§3.1, §3.2).
pub async fn authorization(app: &App, req: &Request<'_>) -> Reply {
    // Unauthenticated callers can make codes: each counts towards the address's rate limit.
    if let Err(e) = app.admit(req.facts.client_ip).await {
        return respond::gateway(&e, Audience::Api);
    }
    match start(app, req).await {
        Ok(body) => Reply::json(200, &body).header("Cache-Control", "no-store"),
        Err(e) => respond::token(&e),
    }
}

async fn start(app: &App, req: &Request<'_>) -> Result<serde_json::Value, TokenError> {
    let p = req.token_form()?;
    let client = auth::client(app, req.header_str("authorization"), &p).await?;
    if !client.allows(GrantType::DeviceCode) {
        return Err(TokenError::new(
            TokenCode::UnauthorizedClient,
            "this client may not use the device authorization grant",
        ));
    }
    let scope = crate::oidc::scopes(p.get("scope").unwrap_or("openid"));
    if let Some(unknown) = scope.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(TokenError::new(
            TokenCode::InvalidScope,
            format!("unknown scope {unknown:?}"),
        ));
    }
    let pending = Key::id(Kind::DevicePending, &client.client_id);
    let issued = app
        .stores
        .counters
        .incr(&pending, Kind::DevicePending.ttl(&app.cfg))
        .await?;
    if issued > u64::from(app.cfg.tokens.max_pending_device_codes) {
        return Err(TokenError::new(
            TokenCode::SlowDown,
            "this client has too many device codes waiting; try again later",
        ));
    }
    let now = app.now();
    let (device_code, user_code) = (new_secret(), device::new_user_code());
    let rec = DeviceRecord {
        client_id: client.client_id.clone(),
        scope,
        user_code: user_code.clone(),
        expires: now + device::LIFETIME,
        decision: Decision::Pending,
    };
    let records = Records(app.stores.records.as_ref());
    let ttl = Kind::Device.ttl(&app.cfg);
    records
        .put(&Key::id(Kind::UserCode, &user_code), &rec, ttl)
        .await?;
    records
        .put(&Key::secret(Kind::Device, &device_code), &user_code, ttl)
        .await?;
    let page = format!("{}{PAGE}", app.cfg.server.issuer);
    Ok(serde_json::json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": page,
        "verification_uri_complete": format!("{page}?user_code={user_code}"),
        "expires_in": device::LIFETIME,
        "interval": device::INTERVAL,
    }))
}

/// Where the polling of the device authorization `user_code` is kept.
pub fn polling_key(user_code: &str) -> Key {
    Key::id(Kind::Device, &format!("polling {user_code}"))
}

/// The record a device code stands for, and its key.
pub async fn by_device_code(
    app: &App,
    device_code: &str,
) -> Result<Option<(Key, DeviceRecord)>, TokenError> {
    let records = Records(app.stores.records.as_ref());
    let Some(user_code) = records
        .get::<String>(&Key::secret(Kind::Device, device_code))
        .await?
    else {
        return Ok(None);
    };
    let key = Key::id(Kind::UserCode, &user_code);
    Ok(records.get(&key).await?.map(|rec| (key, rec)))
}

/// `GET,POST /device`: the page where a signed-in user approves a device.
pub async fn page(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let params = req.params()?;
    let typed = params.get("user_code").unwrap_or("");
    let user_code = device::normalise_user_code(typed);
    let here = match &user_code {
        Some(c) => format!("{PAGE}?user_code={c}"),
        None => PAGE.to_string(),
    };
    let Some(session) = provider_session(app, req, app.now()).await? else {
        return send_to_login(app, req, pending_for(None, Some(here))).await;
    };
    let c = &req.chrome(app);
    let shown = |request, error: Option<&str>| DeviceView {
        c,
        session: &session,
        request,
        error: error.map(|key| c.t(key)),
    };
    let Some(user_code) = user_code else {
        let error = (!typed.is_empty()).then_some("device-code-malformed");
        return Ok(shown(None, error).render());
    };
    app.admit(req.facts.client_ip).await?;
    let key = Key::id(Kind::UserCode, &user_code);
    let rec = match Records(app.stores.records.as_ref())
        .get::<DeviceRecord>(&key)
        .await?
    {
        Some(r) if r.decision == Decision::Pending && app.now() < r.expires => r,
        _ => return Ok(shown(None, Some("device-code-unknown")).render()),
    };
    if let Some(reply) = step_up_if_needed(app, &session, &rec, here, c).await? {
        return Ok(reply);
    }
    if req.method() != "POST" {
        return Ok(shown(Some(request_of(app, &rec)), None).render());
    }
    decide(app, (&session, c), &key, rec, &params).await
}

/// The second factor first, when the policy or the client asks for it.
async fn step_up_if_needed(
    app: &App,
    session: &Found,
    rec: &DeviceRecord,
    here: String,
    c: &Chrome,
) -> Result<Option<Reply>, GatewayError> {
    let client_wants = app
        .clients
        .get(&rec.client_id)
        .is_some_and(|c| c.require_second_factor);
    let required = client_wants || app.cfg.login.second_factor == SecondFactor::Required;
    if !required || session.record.mfa() {
        return Ok(None);
    }
    sign_in::step_up(app, session, pending_for(None, Some(here)), true, c).await
}

/// The approval or denial of `rec` by the session's user.
async fn decide(
    app: &App,
    (session, c): (&Found, &Chrome),
    key: &Key,
    mut rec: DeviceRecord,
    form: &Params,
) -> Result<Reply, GatewayError> {
    sign_in::check_session_csrf(session, "device", form)?;
    let approve = match form.get("action") {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return Err(GatewayError::BadRequest(
                "action must be approve or deny".into(),
            ))
        }
    };
    rec.decision = if approve {
        Decision::Approved {
            user: session.record.user.clone(),
            sid: session.record.sid.clone(),
            auth_time: session.record.auth_time,
            amr: session.record.amr.clone(),
            source: session.record.source.clone(),
        }
    } else {
        Decision::Denied
    };
    let stored = Records(app.stores.records.as_ref())
        .replace(key, &rec, Kind::Device.ttl(&app.cfg))
        .await?;
    if !stored {
        return Err(GatewayError::BadRequest(
            "this code is no longer valid".into(),
        ));
    }
    let (title, message) = if approve {
        ("device-connected-title", "device-connected")
    } else {
        ("device-refused-title", "device-refused")
    };
    Ok(pages::message(
        c,
        200,
        &c.t(title),
        &c.t(message),
        Some("/account"),
    ))
}

fn request_of(app: &App, rec: &DeviceRecord) -> DeviceRequest {
    DeviceRequest {
        client: app
            .clients
            .get(&rec.client_id)
            .map_or_else(|| rec.client_id.clone(), |c| c.name.clone()),
        scopes: rec.scope.join(" "),
        user_code: rec.user_code.clone(),
    }
}

struct DeviceView<'a> {
    c: &'a Chrome,
    session: &'a Found,
    request: Option<DeviceRequest>,
    error: Option<String>,
}

impl DeviceView<'_> {
    fn render(self) -> Reply {
        let csrf = sign_in::session_csrf(self.session, "device");
        pages::render(
            self.c,
            if self.error.is_some() { 400 } else { 200 },
            &DevicePage {
                c: self.c,
                username: &self.session.record.user,
                csrf: &csrf,
                request: self.request,
                error: self.error.as_deref(),
            },
        )
    }
}
