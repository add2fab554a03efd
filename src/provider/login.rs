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
pub const FAILED: &str = "Invalid username or password.";

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
            None => render(app, auth, &pending, "", None, 200),
        },
    )
}

/// Where a "Sign in with …" button of the login page leads, with the pending sign-in.
fn upstream_href(provider: &str, auth: &str) -> String {
    format!("/login/upstream/{provider}?auth={auth}")
}

fn render(
    app: &App,
    auth: &str,
    pending: &Pending,
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
    let page = LoginPage {
        password_form: app.cfg.login.password_form,
        providers: &providers,
        auth,
        csrf: &pending.csrf,
        username: if username.is_empty() {
            hint.unwrap_or("")
        } else {
            username
        },
        client: request
            .map(|r| r.client_id.as_str())
            .filter(|c| *c != crate::PROXY_CLIENT_ID),
        error,
        passkey: super::passkey_sign_in::offered(app),
    };
    let reply = pages::render(status, &page);
    let reply = if page.passkey {
        pages::allow_script(reply)
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
    let failed = |status| render(app, auth, &pending, username, Some(FAILED), status);
    let password = form.get("password").unwrap_or("");
    if username.is_empty() || password.is_empty() || !app.cfg.login.password_form {
        return Ok(failed(400));
    }
    Ok(match check_password(app, req, username, password).await? {
        Attempted::Right(user) => return sign_in::after_password(app, req, pending, &user).await,
        Attempted::Locked => failed(429),
        Attempted::Wrong => failed(401),
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
