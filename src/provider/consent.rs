//! Consent (OIDC Core §3.1.2.4): for clients with `consent = true`, the page that asks whether
//! the client may use the account, and its answer (`POST /login/consent`), remembered per
//! user, client and scopes in `[storage]`. The decision is `oidc::consent`'s. The form is
//! bound to the session that sees it: its CSRF token is derived from the session's key.

use serde::{Deserialize, Serialize};

use super::issue::issue;
use super::sign_in::{self, provider_session, seal, source_of};
use super::Request;
use crate::app::{respond, App};
use crate::config::Client;
use crate::http::pages::{self, ConsentPage};
use crate::http::{GatewayError, Reply};
use crate::oidc::authorize::{AuthRequest, AuthorizeError};
use crate::oidc::consent::{self, Consent};
use crate::oidc::errors::AuthorizeCode;
use crate::secret::Purpose;
use crate::session::Found;
use crate::storage::Owner;

/// A request waiting for its user's answer: sealed into the consent form.
#[derive(Debug, Serialize, Deserialize)]
struct Asking {
    request: AuthRequest,
    /// Whose answer it waits for: the session answering must still be theirs.
    user: String,
}

/// The consent page, when `auth`'s client wants consent that `session`'s user has not given
/// (or `prompt=consent` asks again); `consent_required` for `prompt=none`.
pub(super) async fn ask_if_needed(
    app: &App,
    req: &Request<'_>,
    auth: &AuthRequest,
    session: &Found,
) -> Result<Option<Reply>, GatewayError> {
    let Some(client) = app
        .clients
        .get(&auth.client_id)
        .filter(|c| c.profile.consent)
    else {
        return Ok(None);
    };
    let source = source_of(app, &session.record.user, session.record.source.as_ref()).await?;
    let owner = Owner {
        name: &session.record.user,
        source: &source,
    };
    let allowed = app
        .factors()?
        .store
        .consent(&owner, &client.client_id)
        .await?;
    match consent::decide(true, auth, allowed.as_deref()) {
        Ok(Consent::Given) => Ok(None),
        Ok(Consent::Ask) => page(app, req, auth, session, client).map(Some),
        Err(e) => {
            let c = req.chrome(app);
            Ok(Some(respond::authorize(&e, &app.cfg.server.issuer, &c)))
        }
    }
}

fn page(
    app: &App,
    req: &Request<'_>,
    auth: &AuthRequest,
    session: &Found,
    client: &Client,
) -> Result<Reply, GatewayError> {
    let c = req.chrome(app);
    let asking = Asking {
        request: auth.clone(),
        user: session.record.user.clone(),
    };
    let token = sign_in::session_csrf(session, "consent");
    let sealed = seal(app, Purpose::Consent, &asking)?;
    let scopes: Vec<String> = auth
        .scope
        .iter()
        .map(|s| c.t(&format!("consent-scope-{s}")))
        .collect();
    let view = ConsentPage {
        c: &c,
        username: &session.record.user,
        client: &client.name,
        scopes: &scopes,
        consent: &sealed,
        csrf: &token,
    };
    Ok(pages::render(&c, 200, &view))
}

/// `POST /login/consent`: allowed, the answer is remembered and the client gets its code;
/// denied, the client gets `access_denied`.
pub async fn answer(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let form = req.form()?;
    let now = app.now();
    let asking: Asking = app
        .sealer
        .open(Purpose::Consent, form.get("consent").unwrap_or(""), now)
        .ok_or(GatewayError::SignInExpired)?;
    let session = provider_session(app, req, now)
        .await?
        .filter(|s| s.record.user == asking.user)
        .ok_or(GatewayError::SignInExpired)?;
    sign_in::check_session_csrf(&session, "consent", &form)?;
    let auth = &asking.request;
    let issuer = &app.cfg.server.issuer;
    let c = req.chrome(app);
    let answer = form.get("answer");
    let e = crate::audit::Event {
        event: if answer == Some("allow") {
            "consent.granted"
        } else {
            "consent.denied"
        },
        actor: Some(&asking.user),
        subject: Some(&asking.user),
        client_id: Some(&auth.client_id),
        outcome: "ok",
        ..Default::default()
    };
    app.record(Some((req.header, req.facts)), e);
    let reply = match answer {
        Some("allow") => {
            let source =
                source_of(app, &session.record.user, session.record.source.as_ref()).await?;
            let owner = Owner {
                name: &session.record.user,
                source: &source,
            };
            let at = i64::try_from(now).unwrap_or(i64::MAX);
            app.factors()?
                .store
                .grant_consent(&owner, &auth.client_id, &auth.scope, at)
                .await?;
            match issue(app, auth, &session, now).await {
                Ok(url) => Reply::redirect(302, &url),
                Err(e) => respond::authorize(&e, issuer, &c),
            }
        }
        Some("deny") => {
            let denied = AuthorizeError::Redirect {
                redirect_uri: auth.redirect_uri.clone(),
                mode: auth.response_mode,
                state: auth.state.clone(),
                error: AuthorizeCode::AccessDenied,
                description: "the user did not allow this application".into(),
            };
            respond::authorize(&denied, issuer, &c)
        }
        _ => {
            return Err(GatewayError::BadRequest(
                "answer must be allow or deny".into(),
            ))
        }
    };
    Ok(reply)
}
