//! The proxy as an OpenID client of the built-in provider, in-process: it starts the sign-in,
//! takes the code at `/.authgate/callback`, sets the host-only app-session cookie, and ends
//! sessions at `/.authgate/logout`.
//!
//! Nothing is stored before sign-in: `state`, the PKCE verifier and the return URL ride in a
//! sealed, short-lived cookie on the application's host, named after the state (hardening:
//! state flooding). The browser is only ever sent back to the URL sealed there — never to one
//! from the query (hardening: open redirect after login).

use serde::{Deserialize, Serialize};

use crate::app::grants::{redeem_code, CodeProof};
use crate::app::respond::{self, Audience};
use crate::app::App;
use crate::http::facts::{Facts, Scheme};
use crate::http::params::Params;
use crate::http::{cookies, pages, GatewayError, Reply};
use crate::oidc::authorize::{build_url, ResponseMode};
use crate::oidc::clients::CALLBACK_PATH;
use crate::oidc::pkce;
use crate::secret::{ct_eq, new_secret, Purpose};
use crate::session::{Key, Kind};
use crate::PROXY_CLIENT_ID;

pub const LOGOUT_PATH: &str = "/.authgate/logout";
/// Starts a sign-in and returns to a path on this host (for forward-auth setups).
pub const START_PATH: &str = "/.authgate/start";

const STATE_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// What the proxy remembers between sending the browser off and its return.
#[derive(Debug, Serialize, Deserialize)]
struct PendingState {
    state: String,
    return_url: String,
    redirect_uri: String,
    verifier: String,
    host: String,
}

/// The cookie holding the sign-in started with `state`: one per sign-in, so that two tabs
/// signing in at once do not overwrite each other.
fn state_cookie(app: &App, facts: &Facts, state: &str) -> String {
    let tag = state.get(..12).unwrap_or(state);
    let prefix = &app.cookies.on(facts.scheme == Scheme::Https).state;
    format!("{prefix}{tag}")
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
/// With `mfa`, the provider is asked for a second factor (`acr_values=mfa`): a step-up.
pub async fn start_sign_in(
    app: &App,
    (header, facts): (&pingora::http::RequestHeader, &Facts),
    return_url: String,
    see_other: bool,
    mfa: bool,
) -> Reply {
    let to = || Audience::Browser(app, header, facts);
    if let Err(e) = app.admit(facts.client_ip).await {
        return respond::gateway(&e, to());
    }
    let pending = PendingState {
        state: new_secret(),
        return_url,
        redirect_uri: format!("{}{CALLBACK_PATH}", origin(facts)),
        verifier: new_secret(),
        host: facts.host.authority(),
    };
    let exp = app.now() + STATE_TTL.as_secs();
    let sealed = match app.sealer.seal(Purpose::ProxyState, &pending, exp) {
        Ok(s) => s,
        Err(e) => return respond::gateway(&e.into(), to()),
    };
    let challenge = pkce::challenge(&pending.verifier);
    let mut params = vec![
        ("client_id", PROXY_CLIENT_ID),
        ("response_type", "code"),
        ("scope", "openid"),
        ("redirect_uri", pending.redirect_uri.as_str()),
        ("state", pending.state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if mfa {
        params.push(("acr_values", "mfa"));
    }
    let authorize = build_url(
        &format!("{}/oauth2/authorize", app.cfg.server.issuer),
        ResponseMode::Query,
        &params,
    );
    let secure = facts.scheme == Scheme::Https;
    let cookie = cookies::set(
        &state_cookie(app, facts, &pending.state),
        &sealed,
        secure,
        Some(STATE_TTL),
    );
    let c = app.chrome(header, &facts.path, facts.query.as_deref());
    pages::redirect(&c, if see_other { 303 } else { 302 }, &authorize).header("Set-Cookie", cookie)
}

/// `/.authgate/callback`: exchange the code in-process and set the app session.
pub async fn callback(app: &App, req: &pingora::http::RequestHeader, facts: &Facts) -> Reply {
    let p = match Params::parse(facts.query.as_deref().unwrap_or("")) {
        Ok(p) => p,
        Err(_) => {
            return respond::gateway(
                &GatewayError::SignInFailed("sign-in-malformed"),
                Audience::Browser(app, req, facts),
            )
        }
    };
    let state = p.get("state").unwrap_or("");
    let cookie = state_cookie(app, facts, state);
    let secure = facts.scheme == Scheme::Https;
    let reply = match complete(app, req, facts, &p, &cookie).await {
        Ok(reply) => reply,
        Err(e) => respond::gateway(&e, Audience::Browser(app, req, facts)),
    };
    reply.header("Set-Cookie", cookies::clear(&cookie, secure))
}

async fn complete(
    app: &App,
    req: &pingora::http::RequestHeader,
    facts: &Facts,
    p: &Params,
    cookie: &str,
) -> Result<Reply, GatewayError> {
    let expired = GatewayError::SignInFailed("sign-in-completed");
    let now = app.now();
    let pending: PendingState = cookies::get(req, cookie)
        .and_then(|sealed| app.sealer.open(Purpose::ProxyState, sealed, now))
        .filter(|s: &PendingState| {
            ct_eq(s.state.as_bytes(), p.get("state").unwrap_or("").as_bytes())
                && s.host == facts.host.authority()
        })
        .ok_or(expired)?;
    if let Some(error) = p.get("error") {
        return Err(GatewayError::SignInDenied(match error {
            "access_denied" => "sign-in-access-denied",
            _ => "sign-in-incomplete",
        }));
    }
    let code = p
        .get("code")
        .ok_or(GatewayError::SignInFailed("sign-in-no-code"))?;
    let proof = CodeProof {
        redirect_uri: Some(&pending.redirect_uri),
        verifier: Some(&pending.verifier),
    };
    let (record, _) = redeem_code(app, code, app.clients.proxy(), &proof, now)
        .await
        .map_err(|e| match e.error {
            crate::oidc::errors::TokenCode::TemporarilyUnavailable => {
                log::error!("the proxy's sign-in: {}", e.description);
                GatewayError::Unavailable("error-unavailable")
            }
            _ => GatewayError::SignInFailed("sign-in-code-expired"),
        })?;
    let reply = Reply::redirect(302, &pending.return_url);
    if facts.host.name == app.cfg.server.public_host.name {
        // Same host as the provider: its session cookie already serves the app.
        return Ok(reply);
    }
    match app.sessions().create_child(&record.session, now).await? {
        Some((id, _)) => {
            let secure = facts.scheme == Scheme::Https;
            Ok(reply.header("Set-Cookie", app.session_cookie(&id, secure)))
        }
        None => Err(GatewayError::SignInFailed("sign-in-session-ended")),
    }
}

/// `/.authgate/logout`: ends the session everywhere, then shows the login page (or the
/// route's configured page). A store error is a 503, never "signed out".
pub async fn logout(
    app: &App,
    facts: &Facts,
    req: &pingora::http::RequestHeader,
    logout_redirect: Option<&str>,
) -> Reply {
    let names = app.cookies.on(facts.scheme == Scheme::Https);
    if let Some(id) = cookies::get(req, &names.session) {
        let key = Key::secret(Kind::Session, id);
        if let Err(e) = crate::app::revocation::end_session(app, &key).await {
            return respond::gateway(&e.into(), Audience::Browser(app, req, facts));
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
        cookies::clear(&names.session, facts.scheme == Scheme::Https),
    )
}

/// `/.authgate/start?rd=…`: for forward-auth setups, where the front proxy turns a 401 into a
/// visit here. `rd` may only name a place on this very host.
pub async fn start(app: &App, header: &pingora::http::RequestHeader, facts: &Facts) -> Reply {
    let rd = Params::parse(facts.query.as_deref().unwrap_or(""))
        .ok()
        .and_then(|p| p.get("rd").map(str::to_string));
    let return_url = match rd.as_deref().and_then(|rd| same_host_target(facts, rd)) {
        Some(u) => u,
        None => format!("{}/", origin(facts)),
    };
    // The route the user is going to decides whether a second factor is needed.
    let path =
        url::Url::parse(&return_url).map_or_else(|_| "/".to_string(), |u| u.path().to_string());
    let mfa = app
        .route_table
        .find(&app.cfg.routes, &facts.host, &path)
        .and_then(|i| app.route(i))
        .is_some_and(|r| app.needs_second_factor(r));
    start_sign_in(app, (header, facts), return_url, false, mfa).await
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
    let host = crate::http::host::Host::from_url(&url)?;
    (url.scheme() == facts.scheme.as_str()
        && host == facts.host
        && url.username().is_empty()
        && url.password().is_none())
    .then(|| url.to_string())
}
