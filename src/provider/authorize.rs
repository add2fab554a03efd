//! `GET /oauth2/authorize` (and the seed vendors' paths): validate, then either send the user
//! to the login form or answer the client with a code and/or an ID token.
//!
//! Nothing is stored before a user has signed in: the pending request rides, sealed, in the
//! login URL (security.md: state flooding).

use serde::{Deserialize, Serialize};

use super::{second_factor, Request};
use crate::app::{respond, revocation, App};
use crate::config::ResponseType;
use crate::directory::UserInfo;
use crate::http::{GatewayError, Reply};
use crate::oidc::authorize::{
    decide, success_url, validate, AuthRequest, AuthorizeError, Decision,
};
use crate::oidc::errors::AuthorizeCode;
use crate::oidc::grant::CodeRecord;
use crate::oidc::tokens::{self, IdTokenInput, Subject};
use crate::secret::{new_secret, Purpose};
use crate::session::{Found, Key, Kind, Records};

/// How long a user has to complete the login form.
pub const PENDING_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// A sign-in in progress: sealed into the `auth` parameter of the login URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    /// The authorization request to resume; `None` for a plain visit to `/login`.
    pub request: Option<AuthRequest>,
    /// The form's CSRF token, also set as a cookie: both must come back.
    pub csrf: String,
    /// Where to go after signing in without an authorization request (a path on this host).
    #[serde(default)]
    pub return_to: Option<String>,
}

pub async fn handle(app: &App, req: &Request<'_>) -> Reply {
    let params = match req.params() {
        Ok(p) => p,
        Err(e) => return respond::gateway(&e, false),
    };
    let auth = match validate(&params, &app.clients) {
        Ok(a) => a,
        Err(e) => return respond::authorize(&e, &app.cfg.server.issuer),
    };
    let now = app.now();
    match provider_session(app, req, now).await {
        Ok(session) => resume(app, req, &auth, session.as_ref(), false).await,
        Err(e) => respond::gateway(&e, false),
    }
}

/// The provider session of the browser making `req`, if it has a live one.
pub async fn provider_session(
    app: &App,
    req: &Request<'_>,
    now: u64,
) -> Result<Option<Found>, GatewayError> {
    let Some(id) = req.cookie(&app.provider_cookies().session) else {
        return Ok(None);
    };
    Ok(app
        .sessions()
        .lookup(&id, now)
        .await?
        .filter(|f| f.record.parent.is_none()))
}

/// Decides and answers an authorization request; `fresh` when the user just signed in for it.
pub async fn resume(
    app: &App,
    req: &Request<'_>,
    auth: &AuthRequest,
    session: Option<&Found>,
    fresh: bool,
) -> Reply {
    let issuer = &app.cfg.server.issuer;
    let now = app.now();
    match (
        decide(auth, session.map(|s| s.record.auth_time), fresh, now),
        session,
    ) {
        (Err(e), _) => respond::authorize(&e, issuer),
        (Ok(Decision::Issue), Some(s)) => {
            if let Some(reply) = step_up_if_needed(app, auth, s).await {
                return reply;
            }
            match issue(app, auth, s, now).await {
                Ok(url) => Reply::redirect(302, &url),
                Err(e) => respond::authorize(&e, issuer),
            }
        }
        (Ok(Decision::Login | Decision::Issue), _) => {
            start_login(app, req, Some(auth.clone())).await
        }
    }
}

/// The second factor (or enrolment) a password-only session must pass before this request is
/// answered: the client's rule, `acr_values=mfa`, or `second_factor = "required"`.
async fn step_up_if_needed(app: &App, auth: &AuthRequest, session: &Found) -> Option<Reply> {
    if session.record.mfa() {
        return None;
    }
    let wanted = second_factor::request_wants_mfa(app, Some(auth));
    if !wanted && app.cfg.login.second_factor != crate::config::SecondFactor::Required {
        return None;
    }
    let pending = second_factor::pending_for(Some(auth.clone()), None);
    second_factor::step_up(app, session, pending, wanted).await
}

/// Sends the browser to the login form, the pending request sealed into its URL.
pub async fn start_login(app: &App, req: &Request<'_>, request: Option<AuthRequest>) -> Reply {
    let pending = Pending {
        request,
        csrf: new_secret(),
        return_to: None,
    };
    send_to_login(app, req, pending).await
}

/// Sends the browser to the login form for `pending`.
pub async fn send_to_login(app: &App, req: &Request<'_>, pending: Pending) -> Reply {
    if let Err(e) = app.admit(req.facts.client_ip).await {
        return respond::gateway(&e, false);
    }
    let exp = app.now() + PENDING_TTL.as_secs();
    match app.sealer.seal(Purpose::PendingLogin, &pending, exp) {
        Some(sealed) => Reply::redirect(
            302,
            &format!("{}/login?auth={sealed}", app.cfg.server.issuer),
        ),
        None => respond::gateway(&GatewayError::Internal, false),
    }
}

fn redirect_error(auth: &AuthRequest, error: AuthorizeCode, description: &str) -> AuthorizeError {
    AuthorizeError::Redirect {
        redirect_uri: auth.redirect_uri.clone(),
        mode: auth.response_mode,
        state: auth.state.clone(),
        error,
        description: description.into(),
    }
}

/// A store or directory failure as the relying party sees it: its text stays in the log, never
/// in `error_description`.
fn unavailable(auth: &AuthRequest, e: &dyn std::fmt::Display) -> AuthorizeError {
    log::error!("{e}");
    redirect_error(
        auth,
        AuthorizeCode::TemporarilyUnavailable,
        "the service is unavailable right now",
    )
}

/// Issues what the request asked for and returns the redirect URL.
async fn issue(
    app: &App,
    auth: &AuthRequest,
    session: &Found,
    now: u64,
) -> Result<String, AuthorizeError> {
    let user = match app.directory.active(&session.record.user).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return Err(redirect_error(
                auth,
                AuthorizeCode::AccessDenied,
                "the user account is not available",
            ))
        }
        Err(e) => return Err(unavailable(auth, &e)),
    };
    let response_type = auth.response_type();
    let code = match response_type {
        ResponseType::Code | ResponseType::CodeIdToken => {
            Some(store_code(app, auth, session, &user, now).await?)
        }
        ResponseType::IdToken => None,
    };
    let id_token = match response_type {
        ResponseType::IdToken | ResponseType::CodeIdToken => Some(front_id_token(
            app,
            auth,
            session,
            &user,
            code.as_deref(),
            now,
        )?),
        ResponseType::Code => None,
    };
    if id_token.is_some() {
        // An ID token from this endpoint has no grant, but the relying party holds it: a
        // back-channel logout must reach it when the session ends.
        let (user, sid) = (&session.record.user, &session.record.sid);
        revocation::remember_grant(app, user, sid, &auth.client_id, "")
            .await
            .map_err(|e| unavailable(auth, &e))?;
    }
    Ok(success_url(
        auth,
        code.as_deref(),
        id_token.as_deref(),
        &app.cfg.server.issuer,
    ))
}

/// A new authorization code, bound to the request and the session (RFC 6749 §4.1.2).
async fn store_code(
    app: &App,
    auth: &AuthRequest,
    session: &Found,
    user: &UserInfo,
    now: u64,
) -> Result<String, AuthorizeError> {
    let code = new_secret();
    let ttl = Kind::Code.ttl(&app.cfg);
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
        amr: session.record.amr.clone(),
    };
    Records(app.stores.records.as_ref())
        .put(&Key::secret(Kind::Code, &code), &record, ttl)
        .await
        .map_err(|e| unavailable(auth, &e))?;
    Ok(code)
}

/// The ID token of an implicit or hybrid response (OIDC Core §3.2.2.10, §3.3.2.11).
fn front_id_token(
    app: &App,
    auth: &AuthRequest,
    session: &Found,
    user: &UserInfo,
    code: Option<&str>,
    now: u64,
) -> Result<String, AuthorizeError> {
    let subject = Subject {
        user,
        client_id: &auth.client_id,
        scope: &auth.scope,
        sid: &session.record.sid,
        auth_time: session.record.auth_time,
        grant: "",
        amr: &session.record.amr,
        machine: false,
    };
    let input = IdTokenInput {
        nonce: auth.nonce.as_deref(),
        access_token: None,
        code,
    };
    tokens::id_token(
        &app.keys,
        &app.cfg.server.issuer,
        &subject,
        &input,
        app.cfg.tokens.id_token_ttl.as_secs(),
        now,
    )
    .map_err(|e| {
        log::error!("{e}");
        redirect_error(
            auth,
            AuthorizeCode::ServerError,
            "the ID token could not be made",
        )
    })
}
