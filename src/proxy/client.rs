//! The proxy as an OpenID client of the built-in provider, in-process: it starts the sign-in
//! (state and PKCE kept server-side), takes the code at `/.authgate/callback`, sets the
//! host-only app-session cookie, and ends sessions at `/.authgate/logout`.
//!
//! The browser is only ever sent back to the URL saved under `state` — never to one from the
//! query (security.md: open redirect after login).

use serde::{Deserialize, Serialize};

use super::routes::Facts;
use crate::app::App;
use crate::http::params::Params;
use crate::http::{cookies, pages, GatewayError, Reply};
use crate::oidc::authorize::{build_url, ResponseMode};
use crate::oidc::clients::CALLBACK_PATH;
use crate::oidc::grant::{check_code, CodeRecord};
use crate::oidc::pkce;
use crate::provider::sessions;
use crate::session::{key, new_secret, now, Records, StoreError};
use crate::PROXY_CLIENT_ID;

pub const LOGOUT_PATH: &str = "/.authgate/logout";
/// Starts a sign-in and returns to a path on this host (for forward-auth setups).
pub const START_PATH: &str = "/.authgate/start";

const STATE_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// What the proxy remembers between sending the browser off and its return.
#[derive(Debug, Serialize, Deserialize)]
struct PendingState {
    return_url: String,
    redirect_uri: String,
    verifier: String,
    host: String,
}

fn unavailable(e: &StoreError) -> Reply {
    log::error!("{e}");
    GatewayError::Unavailable("sign-in is unavailable right now".into()).reply(false)
}

/// The origin (`scheme://host[:port]`) the browser used.
fn origin(facts: &Facts) -> String {
    format!("{}://{}", facts.scheme.as_str(), facts.host.authority())
}

/// The URL of the request, rebuilt from the normalised path.
pub fn request_url(facts: &Facts) -> String {
    match &facts.query {
        Some(q) => format!("{}{}?{q}", origin(facts), facts.path),
        None => format!("{}{}", origin(facts), facts.path),
    }
}

/// Sends the browser to the provider's authorize endpoint, to come back to `return_url`.
/// `see_other` answers non-GET requests with 303 so that the browser follows with GET.
pub async fn start_sign_in(app: &App, facts: &Facts, return_url: String, see_other: bool) -> Reply {
    let state = new_secret();
    let verifier = new_secret();
    let redirect_uri = format!("{}{CALLBACK_PATH}", origin(facts));
    let pending = PendingState {
        return_url,
        redirect_uri: redirect_uri.clone(),
        verifier: verifier.clone(),
        host: facts.host.authority(),
    };
    if let Err(e) = Records(app.store.as_ref())
        .put(&key("pstate", &state), &pending, STATE_TTL)
        .await
    {
        return unavailable(&e);
    }
    let challenge = pkce::challenge(&verifier);
    let authorize = build_url(
        &format!("{}/oauth2/authorize", app.cfg.server.issuer),
        ResponseMode::Query,
        &[
            ("client_id", PROXY_CLIENT_ID),
            ("response_type", "code"),
            ("scope", "openid"),
            ("redirect_uri", &redirect_uri),
            ("state", &state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    pages::redirect(if see_other { 303 } else { 302 }, &authorize)
}

/// `/.authgate/callback`: exchange the code in-process and set the app session.
pub async fn callback(app: &App, facts: &Facts) -> Reply {
    let bad = |msg: &str| pages::error(400, "Sign-in failed", msg);
    let Ok(p) = Params::parse(facts.query.as_deref().unwrap_or("")) else {
        return bad("The sign-in response is malformed.");
    };
    let Some(state) = p.get("state") else {
        return bad("The sign-in response has no state.");
    };
    let records = Records(app.store.as_ref());
    let pending = match records.take::<PendingState>(&key("pstate", state)).await {
        Ok(Some(s)) if s.host == facts.host.authority() => s,
        Ok(_) => return bad("This sign-in has expired or was already completed. Go back to the application and try again."),
        Err(e) => return unavailable(&e),
    };
    if let Some(error) = p.get("error") {
        let message = match error {
            "access_denied" => "Access was denied.",
            _ => "The sign-in did not complete.",
        };
        return pages::error(403, "Sign-in failed", message);
    }
    let Some(code) = p.get("code") else {
        return bad("The sign-in response has no code.");
    };
    let t = now();
    let record = match records.take::<CodeRecord>(&key("code", code)).await {
        Ok(Some(r)) => r,
        Ok(None) => return bad("The sign-in code has expired or was already used."),
        Err(e) => return unavailable(&e),
    };
    let Some(proxy_client) = app.clients.get(PROXY_CLIENT_ID) else {
        return GatewayError::Internal.reply(false);
    };
    if check_code(
        &record,
        proxy_client,
        Some(&pending.redirect_uri),
        Some(&pending.verifier),
        t,
    )
    .is_err()
    {
        return bad("The sign-in code does not belong to this sign-in.");
    }
    let secure = facts.scheme == super::routes::Scheme::Https;
    let reply = Reply::redirect(302, &pending.return_url);
    if facts.host.name == app.cfg.server.public_host.name {
        // Same host as the provider: its session cookie already serves the app.
        return reply;
    }
    match sessions::create_child(app, &record.session, t).await {
        Ok(Some((id, _))) => reply.header("Set-Cookie", sessions::cookie(app, &id, secure)),
        Ok(None) => bad("Your session ended during sign-in. Please try again."),
        Err(e) => unavailable(&e),
    }
}

/// `/.authgate/logout`: ends the session everywhere, then shows the login page (or the
/// route's configured page).
pub async fn logout(
    app: &App,
    facts: &Facts,
    req: &pingora::http::RequestHeader,
    logout_redirect: Option<&str>,
) -> Reply {
    if let Some(id) = cookies::get(req, &app.cfg.session.cookie_name) {
        if let Err(e) = sessions::end(app, &key("sess", &id)).await {
            return unavailable(&e);
        }
    }
    let target = logout_redirect
        .map(str::to_string)
        .or_else(|| {
            app.cfg
                .server
                .after_logout_url
                .as_ref()
                .map(|u| u.to_string())
        })
        .unwrap_or_else(|| format!("{}/login", app.cfg.server.issuer));
    Reply::redirect(302, &target).header(
        "Set-Cookie",
        cookies::clear(
            &app.cfg.session.cookie_name,
            facts.scheme == super::routes::Scheme::Https,
        ),
    )
}

/// `/.authgate/start?rd=…`: for forward-auth setups, where the front proxy turns a 401 into a
/// visit here. `rd` may only name a place on this very host.
pub async fn start(app: &App, facts: &Facts) -> Reply {
    let rd = Params::parse(facts.query.as_deref().unwrap_or(""))
        .ok()
        .and_then(|p| p.get("rd").map(str::to_string));
    let return_url = match rd.as_deref().and_then(|rd| same_host_target(facts, rd)) {
        Some(u) => u,
        None => format!("{}/", origin(facts)),
    };
    start_sign_in(app, facts, return_url, false).await
}

/// `rd` as an absolute URL on the request's own origin, or `None`. Accepts a path
/// (`/x?y`) or an absolute URL whose scheme and host are the request's.
fn same_host_target(facts: &Facts, rd: &str) -> Option<String> {
    if rd.starts_with('/') && !rd.starts_with("//") && !rd.contains('\\') {
        let (path, query) = rd.split_once('?').map_or((rd, None), |(p, q)| (p, Some(q)));
        let path = crate::http::path::normalize(path).ok()?;
        return Some(match query {
            Some(q) => format!("{}{path}?{q}", origin(facts)),
            None => format!("{}{path}", origin(facts)),
        });
    }
    let url = url::Url::parse(rd).ok()?;
    let host = crate::http::host::Host::parse(&match url.port() {
        Some(p) => format!("{}:{p}", url.host_str()?),
        None => url.host_str()?.to_string(),
    })?;
    (url.scheme() == facts.scheme.as_str()
        && host == facts.host
        && url.username().is_empty()
        && url.password().is_none())
    .then(|| url.to_string())
}
