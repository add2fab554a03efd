//! `/login`: the form (GET) and the sign-in (POST). One message for every failure, a fresh
//! session id at every success, and a CSRF token tied to the pending request and a cookie.

use super::authorize::{provider_session, resume, start_login, unavailable, Pending, PENDING_TTL};
use super::sessions;
use super::Request;
use crate::app::App;
use crate::http::pages::{self, LoginPage};
use crate::http::{cookies, Reply};
use crate::login::password::VerifyError;
use crate::login::regulation;
use crate::secret::ct_eq;
use crate::session::{key, now, Records};

/// The one message for an unknown user, a wrong password, a disabled account or a lockout.
pub const FAILED: &str = "Invalid username or password.";

fn csrf_cookie(app: &App) -> String {
    format!("{}_csrf", app.cfg.session.cookie_name)
}

pub async fn handle(app: &App, req: &Request<'_>) -> Reply {
    if req.method() == "POST" {
        sign_in(app, req).await
    } else {
        form(app, req).await
    }
}

async fn form(app: &App, req: &Request<'_>) -> Reply {
    let query = match req.query() {
        Ok(q) => q,
        Err(e) => return e.reply(false),
    };
    let Some(auth) = query.get("auth") else {
        // A plain visit: make a pending sign-in without an application to return to.
        return start_login(app, None).await;
    };
    match Records(app.store.as_ref())
        .get::<Pending>(&key("pend", auth))
        .await
    {
        Ok(Some(pending)) => render(app, auth, &pending, "", None, 200),
        Ok(None) => expired(),
        Err(e) => unavailable(&e),
    }
}

fn expired() -> Reply {
    pages::error(400, "Sign-in expired", "This sign-in request has expired or was already used. Go back to the application and try again.")
}

fn render(
    app: &App,
    auth: &str,
    pending: &Pending,
    username: &str,
    error: Option<&str>,
    status: u16,
) -> Reply {
    let hint = pending
        .request
        .as_ref()
        .and_then(|r| r.login_hint.as_deref());
    let client = pending
        .request
        .as_ref()
        .map(|r| r.client_id.as_str())
        .filter(|c| *c != crate::PROXY_CLIENT_ID);
    let page = LoginPage {
        auth,
        csrf: &pending.csrf,
        username: if username.is_empty() {
            hint.unwrap_or("")
        } else {
            username
        },
        client,
        error,
    };
    pages::render(status, &page).header(
        "Set-Cookie",
        cookies::set(
            &csrf_cookie(app),
            &pending.csrf,
            app.cfg.server.secure_cookies(),
            Some(PENDING_TTL),
        ),
    )
}

async fn sign_in(app: &App, req: &Request<'_>) -> Reply {
    let form = match req.form() {
        Ok(f) => f,
        Err(e) => return e.reply(false),
    };
    let Some(auth) = form.get("auth") else {
        return expired();
    };
    let pending_key = key("pend", auth);
    let records = Records(app.store.as_ref());
    let pending = match records.get::<Pending>(&pending_key).await {
        Ok(Some(p)) => p,
        Ok(None) => return expired(),
        Err(e) => return unavailable(&e),
    };
    let csrf_ok = |v: Option<&str>| v.is_some_and(|v| ct_eq(v.as_bytes(), pending.csrf.as_bytes()));
    if !csrf_ok(form.get("csrf")) || !csrf_ok(req.cookie(&csrf_cookie(app)).as_deref()) {
        return pages::error(403, "Sign-in form expired", "The sign-in form was not submitted from this site or has expired. Go back and try again.");
    }
    let username = form.get("username").unwrap_or("");
    let password = form.get("password").unwrap_or("");
    if username.is_empty() || password.is_empty() {
        return render(app, auth, &pending, username, Some(FAILED), 400);
    }
    let ip = req.facts.client_ip;
    match regulation::locked(app.store.as_ref(), username, ip).await {
        Ok(false) => {}
        Ok(true) => {
            crate::metrics::sign_in("locked");
            return render(app, auth, &pending, username, Some(FAILED), 429);
        }
        Err(e) => return unavailable(&e),
    }
    let user = app.cfg.users.get(username);
    let ok = match app
        .passwords
        .verify(user.map(|u| &u.password_hash), password)
        .await
    {
        Ok(ok) => ok && user.is_some_and(|u| !u.disabled),
        Err(VerifyError::Busy) => {
            return pages::error(
                503,
                "Busy",
                "Too many sign-ins are in progress. Please try again in a moment.",
            )
            .header("Retry-After", "1")
        }
    };
    crate::metrics::sign_in(if ok { "ok" } else { "failed" });
    if !ok {
        if let Err(e) = regulation::failed(app.store.as_ref(), &app.cfg.login, username, ip).await {
            return unavailable(&e);
        }
        log::info!(
            "sign-in failed for a user from {}",
            ip.map(|i| i.to_string()).unwrap_or_default()
        );
        return render(app, auth, &pending, username, Some(FAILED), 401);
    }
    let t = now();
    // Session fixation: whatever session the browser had is ended, and a new id is issued.
    if let Ok(Some(old)) = provider_session(app, req, t).await {
        let _ = sessions::end(app, &old.key).await;
    }
    let created = async {
        regulation::succeeded(app.store.as_ref(), username).await?;
        app.store.delete(&pending_key).await?;
        sessions::create(app, username, t).await
    };
    let (id, session) = match created.await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let secure = app.cfg.server.secure_cookies();
    let reply = match &pending.request {
        Some(request) => resume(app, request, Some(&session), true, t).await,
        None => pages::message(
            200,
            "Signed in",
            &format!("You are signed in as {username}."),
            None,
        ),
    };
    reply
        .header("Set-Cookie", sessions::cookie(app, &id, secure))
        .header("Set-Cookie", cookies::clear(&csrf_cookie(app), secure))
}
