//! `GET /oauth2/authorize` (and the seed vendors' paths): validate, then either send the user
//! to the login form or answer the client with a code and/or an ID token.

use serde::{Deserialize, Serialize};

use super::sessions::{self, Found};
use super::Request;
use crate::app::App;
use crate::config::ResponseType;
use crate::http::{pages, Reply};
use crate::oidc::authorize::{
    decide, success_url, validate, AuthRequest, AuthorizeError, Decision,
};
use crate::oidc::errors::OAuthError;
use crate::oidc::grant::CodeRecord;
use crate::oidc::tokens::{self, IdTokenInput, Subject};
use crate::session::{key, new_secret, now, Records, StoreError};

/// How long a user has to complete the login form.
pub const PENDING_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// A sign-in in progress (stored under `pend:` + hash of its id, which rides in the login URL).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    /// The authorization request to resume; `None` for a plain visit to `/login`.
    pub request: Option<AuthRequest>,
    /// The form's CSRF token, also set as a cookie: both must come back.
    pub csrf: String,
}

pub fn unavailable(e: &StoreError) -> Reply {
    log::error!("{e}");
    pages::error(
        503,
        "Service unavailable",
        "Sign-in is unavailable right now. Please try again shortly.",
    )
}

pub async fn handle(app: &App, req: &Request<'_>) -> Reply {
    let params = match req.params() {
        Ok(p) => p,
        Err(e) => return e.reply(false),
    };
    let auth = match validate(&params, &app.clients) {
        Ok(a) => a,
        Err(e) => return e.reply(&app.cfg.server.issuer),
    };
    let t = now();
    let session = match provider_session(app, req, t).await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    resume(app, &auth, session.as_ref(), false, t).await
}

/// The provider session of the browser making `req`, if it has a live one.
pub async fn provider_session(
    app: &App,
    req: &Request<'_>,
    now: u64,
) -> Result<Option<Found>, StoreError> {
    let Some(id) = req.cookie(&app.cfg.session.cookie_name) else {
        return Ok(None);
    };
    Ok(sessions::lookup(app, &id, now)
        .await?
        .filter(|f| f.record.parent.is_none()))
}

/// Decides and answers an authorization request; `fresh` when the user just signed in for it.
pub async fn resume(
    app: &App,
    auth: &AuthRequest,
    session: Option<&Found>,
    fresh: bool,
    now: u64,
) -> Reply {
    let issuer = &app.cfg.server.issuer;
    match decide(auth, session.map(|s| s.record.auth_time), fresh, now) {
        Err(e) => e.reply(issuer),
        Ok(Decision::Login) => start_login(app, Some(auth.clone())).await,
        Ok(Decision::Issue) => match session {
            Some(s) => match issue(app, auth, s, now).await {
                Ok(url) => Reply::redirect(302, &url),
                Err(e) => e.reply(issuer),
            },
            None => start_login(app, Some(auth.clone())).await,
        },
    }
}

/// Stores a pending sign-in and sends the browser to the login form.
pub async fn start_login(app: &App, request: Option<AuthRequest>) -> Reply {
    let id = new_secret();
    let pending = Pending {
        request,
        csrf: new_secret(),
    };
    match Records(app.store.as_ref())
        .put(&key("pend", &id), &pending, PENDING_TTL)
        .await
    {
        Ok(()) => Reply::redirect(302, &format!("{}/login?auth={id}", app.cfg.server.issuer)),
        Err(e) => unavailable(&e),
    }
}

fn redirect_error(auth: &AuthRequest, error: OAuthError, description: &str) -> AuthorizeError {
    AuthorizeError::Redirect {
        redirect_uri: auth.redirect_uri.clone(),
        mode: auth.response_mode,
        state: auth.state.clone(),
        error,
        description: description.into(),
    }
}

/// Issues what the request asked for and returns the redirect URL.
async fn issue(
    app: &App,
    auth: &AuthRequest,
    session: &Found,
    now: u64,
) -> Result<String, AuthorizeError> {
    let server_error = |why: &str| redirect_error(auth, OAuthError::ServerError, why);
    let user = app
        .cfg
        .users
        .get(&session.record.user)
        .filter(|u| !u.disabled)
        .ok_or_else(|| {
            redirect_error(
                auth,
                OAuthError::AccessDenied,
                "the user account is not available",
            )
        })?;
    let response_type = auth.response_type();
    let code = if matches!(
        response_type,
        ResponseType::Code | ResponseType::CodeIdToken
    ) {
        let code = new_secret();
        let ttl = app.cfg.tokens.code_ttl;
        let record = CodeRecord {
            client_id: auth.client_id.clone(),
            redirect_uri: auth.redirect_uri.clone(),
            redirect_uri_given: auth.redirect_uri_given,
            code_challenge: auth.code_challenge.clone(),
            nonce: auth.nonce.clone(),
            scope: auth.scope.clone(),
            user: user.username.clone(),
            sid: session.record.sid.clone(),
            session: session.key.clone(),
            auth_time: session.record.auth_time,
            expires: now + ttl.as_secs(),
        };
        Records(app.store.as_ref())
            .put(&key("code", &code), &record, ttl)
            .await
            .map_err(|e| {
                redirect_error(auth, OAuthError::TemporarilyUnavailable, &e.to_string())
            })?;
        Some(code)
    } else {
        None
    };
    let id_token = if matches!(
        response_type,
        ResponseType::IdToken | ResponseType::CodeIdToken
    ) {
        let subject = Subject {
            user,
            client_id: &auth.client_id,
            scope: &auth.scope,
            sid: &session.record.sid,
            auth_time: session.record.auth_time,
            grant: "",
        };
        let input = IdTokenInput {
            nonce: auth.nonce.as_deref(),
            access_token: None,
            code: code.as_deref(),
        };
        let token = tokens::id_token(
            &app.keys,
            &app.cfg.server.issuer,
            &subject,
            &input,
            app.cfg.tokens.id_token_ttl.as_secs(),
            now,
        )
        .map_err(|e| server_error(&e.to_string()))?;
        Some(token)
    } else {
        None
    };
    Ok(success_url(
        auth,
        code.as_deref(),
        id_token.as_deref(),
        &app.cfg.server.issuer,
    ))
}
