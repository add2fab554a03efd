//! `/login`: the form (GET) and the sign-in (POST). One message for every failure, a fresh
//! session id at every success, and a CSRF token sealed with the pending request and set as a
//! cookie: both must come back.

use super::sign_in::{self, start_login, Pending, PENDING_TTL};
use super::Request;
use crate::app::attempts::{Attempted, Credential};
use crate::app::App;
use crate::directory::UserInfo;
use crate::http::pages::{self, LoginPage, ProviderLink};
use crate::http::{cookies, GatewayError, Reply};
use crate::secret::Purpose;

/// The one message for an unknown user, a wrong password, a disabled account or a lockout.
pub const FAILED: &str = "login-failed";

pub async fn handle(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    if req.method() == "POST" {
        sign_in(app, req).await
    } else {
        form(app, req).await
    }
}

/// The pending sign-in sealed in `auth`, if it is ours and not expired.
fn open(app: &App, auth: &str) -> Result<Pending, GatewayError> {
    app.sealer
        .open(Purpose::PendingLogin, auth, app.now())
        .ok_or(GatewayError::SignInExpired)
}

async fn form(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let query = req.query()?;
    let Some(auth) = query.get("auth") else {
        // A plain visit: a pending sign-in without an application to return to.
        return start_login(app, req, None).await;
    };
    let pending = open(app, auth)?;
    Ok(
        match app.federation.iter().next().filter(|p| p.cfg.auto_redirect) {
            // The only provider, set to skip the page: straight there.
            Some(p) => Reply::redirect(
                302,
                &format!(
                    "{}{}",
                    app.cfg.server.issuer,
                    upstream_href(&p.cfg.id, auth)
                ),
            ),
            None => render(app, req, (auth, &pending), "", None, 200),
        },
    )
}

/// Where a "Sign in with …" button of the login page leads, with the pending sign-in.
fn upstream_href(provider: &str, auth: &str) -> String {
    format!("/login/upstream/{provider}?auth={auth}")
}

fn render(
    app: &App,
    req: &Request<'_>,
    (auth, pending): (&str, &Pending),
    username: &str,
    error: Option<&str>,
    status: u16,
) -> Reply {
    let request = pending.request.as_ref();
    let hint = request.and_then(|r| r.login_hint.as_deref());
    let providers: Vec<ProviderLink> = app
        .federation
        .iter()
        .map(|p| ProviderLink {
            id: p.cfg.id.clone(),
            name: p.cfg.name.clone(),
            href: upstream_href(&p.cfg.id, auth),
        })
        .collect();
    let c = &req.chrome(app);
    let app_name = app_name(app, request);
    let error = error.map(|key| c.t(key));
    let page = LoginPage {
        c,
        app: app_name.as_ref().map(|(name, _)| name.as_str()),
        title_app: app_name
            .as_ref()
            .filter(|(_, named)| *named)
            .map(|(name, _)| name.as_str()),
        password_form: app.cfg.login.password_form,
        providers: &providers,
        auth,
        csrf: &pending.csrf,
        username: if username.is_empty() {
            hint.unwrap_or("")
        } else {
            username
        },
        error: error.as_deref(),
        passkey: super::passkey_sign_in::offered(app),
        forgot: crate::app::people::resets_offered(app),
    };
    let reply = pages::render(c, status, &page);
    let reply = if page.passkey {
        pages::allow_script(c, reply)
    } else {
        reply
    };
    reply.header(
        "Set-Cookie",
        cookies::set(
            &app.provider_cookies().csrf,
            &pending.csrf,
            app.cfg.server.secure_cookies(),
            Some(PENDING_TTL),
        ),
    )
}

async fn sign_in(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let form = req.form()?;
    let auth = form.get("auth").unwrap_or("");
    let pending = sign_in::opened(
        app,
        req,
        &form,
        "auth",
        Purpose::PendingLogin,
        |p: &Pending| &p.csrf,
    )?;
    let username = form.get("username").unwrap_or("");
    let failed = |status| render(app, req, (auth, &pending), username, Some(FAILED), status);
    let password = form.get("password").unwrap_or("");
    if username.is_empty() || password.is_empty() || !app.cfg.login.password_form {
        return Ok(failed(400));
    }
    Ok(match check_password(app, req, username, password).await? {
        Attempted::Right(user) => return sign_in::after_password(app, req, pending, &user).await,
        Attempted::Locked => {
            super::audit(app, req, "sign_in.locked_out", username, "locked_out");
            failed(429)
        }
        Attempted::Wrong => {
            super::audit(app, req, "sign_in.failed", username, "wrong_password");
            failed(401)
        }
    })
}

/// Rate limit, then one attempt (`App::attempt`): lockout, count, the password. Every store
/// or directory error on the way fails closed.
async fn check_password(
    app: &App,
    req: &Request<'_>,
    username: &str,
    password: &str,
) -> Result<Attempted<std::sync::Arc<UserInfo>>, GatewayError> {
    let ip = req.facts.client_ip;
    app.admit(ip).await?;
    // The failure count is reset when the whole sign-in succeeds, second factor included:
    // a right password alone must not wipe the count of wrong codes.
    app.attempt(username, ip, Credential::Form, || async {
        Ok(app.directory.verify_password(username, password).await?)
    })
    .await
}

/// The application the person signs in for: the client's name, or for the proxy's own
/// sign-in the name of a route on the host it returns to (the host itself if none has one).
/// `true` when the name was configured (the page's title then carries it too).
fn app_name(
    app: &App,
    request: Option<&crate::oidc::authorize::AuthRequest>,
) -> Option<(String, bool)> {
    let r = request?;
    if r.client_id != crate::PROXY_CLIENT_ID {
        let client = app.clients.get(&r.client_id);
        return Some(match client {
            Some(c) => (c.name.clone(), c.name != c.client_id),
            None => (r.client_id.clone(), false),
        });
    }
    let url = url::Url::parse(&r.redirect_uri).ok()?;
    let host = crate::http::host::Host::from_url(&url)?;
    let on_host = app
        .cfg
        .routes
        .iter()
        .filter(|route| route.host.as_ref().is_some_and(|h| h.name == host.name));
    let named = on_host.clone().find_map(|route| route.name.clone());
    match named {
        Some(name) => Some((name, true)),
        None => on_host.clone().next().map(|_| (host.name.clone(), false)),
    }
}
