//! The answer to an authorization request once its user has signed in: a code and/or an ID
//! token, in a redirect to the client (RFC 6749 §4.1.2, OIDC Core §3.2.2.5, §3.3.2.5). Whether
//! the user has signed in enough is decided before, in `sign_in`.

use crate::app::{revocation, App};
use crate::config::ResponseType;
use crate::directory::UserInfo;
use crate::oidc::authorize::{success_url, AuthRequest, AuthorizeError};
use crate::oidc::errors::AuthorizeCode;
use crate::oidc::grant::CodeRecord;
use crate::oidc::tokens::{self, IdTokenInput, Subject};
use crate::secret::new_secret;
use crate::session::{Found, Key, Kind, Records};

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
pub(super) async fn issue(
    app: &App,
    auth: &AuthRequest,
    session: &Found,
    now: u64,
) -> Result<String, AuthorizeError> {
    let user = match app.directory.active(&session.record.user).await {
        Ok(Some(u)) if session.record.belongs_to(&u) => u,
        Ok(_) => {
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
        source: session.record.source.clone(),
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
    let sub = app.subject_for(&auth.client_id, &user.source, &user.username);
    let subject = Subject {
        user,
        sub: &sub,
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
