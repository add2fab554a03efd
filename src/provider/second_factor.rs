//! The second factor on the built-in login: after the password (or, for a step-up, on a
//! password-only session), whoever must or may use one is asked for a TOTP code, a recovery
//! code or a passkey, or is made to enrol. Only then is the session made (or upgraded) with
//! `amr` `["pwd","otp"|"hwk","mfa"]`, and the sign-in resumes.
//!
//! Between the steps nothing is stored: the state rides sealed in the form (`mfa`, `enrol`,
//! `cont`), bound to the CSRF cookie of the login form. Wrong codes count towards the lockout.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::authorize::{provider_session, resume, Pending, PENDING_TTL};
use super::Request;
use crate::app::attempts::{Attempted, Credential};
use crate::app::{respond, revocation, App};
use crate::config::SecondFactor;
use crate::directory::UserInfo;
use crate::http::pages::{self, EnrolPage, RecoveryPage, SecondFactorPage};
use crate::http::{cookies, GatewayError, Reply};
use crate::login::{regulation, totp};
use crate::oidc::authorize::AuthRequest;
use crate::secret::{ct_eq, new_secret, Purpose};
use crate::session::{Found, Key};
use crate::storage::{FactorKind, Storage};

/// A sign-in whose first factor is done, waiting for its second.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Waiting {
    pub username: String,
    /// What to do once done.
    pub pending: Pending,
    /// The provider session to upgrade (a step-up); `None` makes a new one.
    pub session: Option<Key>,
    /// How the first factor was passed (RFC 8176 `amr`): `pwd`, or `fed` for an upstream
    /// provider's sign-in.
    #[serde(default = "password_amr")]
    pub first: Vec<String>,
}

fn password_amr() -> Vec<String> {
    vec!["pwd".to_string()]
}

/// An authenticator app being enrolled: the seed is shown on the page until confirmed.
#[derive(Debug, Serialize, Deserialize)]
struct Enrolment {
    waiting: Waiting,
    seed: Vec<u8>,
}

/// What a user must do next.
pub enum Need {
    /// Nothing: a password is enough here.
    Nothing,
    /// Use one of their factors.
    Ask { passkey: bool },
    /// Enrol a factor first.
    Enrol,
}

pub const INVALID_CODE: &str = "That code is not valid. Try the current one, or a recovery code.";

fn storage(app: &App) -> Result<&Arc<Storage>, GatewayError> {
    app.storage.as_ref().ok_or(GatewayError::Internal)
}

/// Whether this authorization request needs a second factor (the client's rule, or
/// `acr_values=mfa`), beyond what `[login] second_factor` says for everyone.
pub fn request_wants_mfa(app: &App, request: Option<&AuthRequest>) -> bool {
    request.is_some_and(|r| {
        r.mfa
            || app
                .clients
                .get(&r.client_id)
                .is_some_and(|c| c.require_second_factor)
    })
}

/// What `username` must do before a session with `required` (a step-up or the client's rule)
/// is theirs.
pub async fn need(app: &App, username: &str, required: bool) -> Result<Need, GatewayError> {
    let policy = app.cfg.login.second_factor;
    let Some(storage) = app.storage.as_ref().filter(|_| policy != SecondFactor::Off) else {
        return Ok(Need::Nothing);
    };
    let factors = storage.factors(username).await?;
    let has_passkey = factors.iter().any(|f| f.kind == FactorKind::Passkey);
    Ok(
        match (
            factors.is_empty(),
            required || policy == SecondFactor::Required,
        ) {
            (false, _) => Need::Ask {
                passkey: has_passkey && app.webauthn.is_some(),
            },
            (true, true) => Need::Enrol,
            (true, false) => Need::Nothing,
        },
    )
}

/// Seals `waiting` for the next form.
fn seal<T: Serialize>(app: &App, purpose: Purpose, value: &T) -> Result<String, GatewayError> {
    let exp = app.now() + PENDING_TTL.as_secs();
    app.sealer
        .seal(purpose, value, exp)
        .ok_or(GatewayError::Internal)
}

/// The second-factor page for `waiting`.
pub fn ask(app: &App, waiting: &Waiting, passkey: bool, error: Option<&str>, status: u16) -> Reply {
    let mfa = match seal(app, Purpose::SecondFactor, waiting) {
        Ok(s) => s,
        Err(e) => return respond::gateway(&e, false),
    };
    let page = SecondFactorPage {
        username: &waiting.username,
        mfa: &mfa,
        csrf: &waiting.pending.csrf,
        passkey,
        error,
    };
    let reply = pages::render(status, &page);
    let reply = if passkey {
        pages::allow_script(reply)
    } else {
        reply
    };
    with_csrf_cookie(app, reply, &waiting.pending.csrf)
}

/// The enrolment page: a new seed (or the one being confirmed) for `waiting`.
pub fn enrol_page(app: &App, waiting: Waiting, seed: Vec<u8>, error: Option<&str>) -> Reply {
    let issuer = &app.cfg.login.totp_issuer;
    let uri = totp::uri(&seed, issuer, &waiting.username);
    let secret = totp::base32(&seed);
    let csrf = waiting.pending.csrf.clone();
    let username = waiting.username.clone();
    let sealed = match seal(app, Purpose::Enrolment, &Enrolment { waiting, seed }) {
        Ok(s) => s,
        Err(e) => return respond::gateway(&e, false),
    };
    let qr = totp::qr_data_url(&uri);
    let page = EnrolPage {
        username: &username,
        qr: qr.as_deref(),
        secret: &secret,
        uri: &uri,
        enrol: &sealed,
        csrf: &csrf,
        error,
    };
    let status = if error.is_some() { 401 } else { 200 };
    with_csrf_cookie(app, pages::render(status, &page), &csrf)
}

fn with_csrf_cookie(app: &App, reply: Reply, csrf: &str) -> Reply {
    let cookie = cookies::set(
        &app.provider_cookies().csrf,
        csrf,
        app.cfg.server.secure_cookies(),
        Some(PENDING_TTL),
    );
    reply.header("Set-Cookie", cookie)
}

/// After a right password: ask for the second factor, make the user enrol, or sign them in.
pub async fn after_password(
    app: &App,
    req: &Request<'_>,
    pending: Pending,
    user: &UserInfo,
) -> Reply {
    after_first_factor(app, req, pending, user, password_amr()).await
}

/// After a first factor (`first`, as `amr`): the second factor, enrolment, or the session. A
/// first factor that already shows `mfa` (a trusted upstream's) needs no second.
pub async fn after_first_factor(
    app: &App,
    req: &Request<'_>,
    pending: Pending,
    user: &UserInfo,
    first: Vec<String>,
) -> Reply {
    let required = request_wants_mfa(app, pending.request.as_ref());
    let done = first.iter().any(|m| m == "mfa");
    let waiting = Waiting {
        username: user.username.clone(),
        pending,
        session: None,
        first,
    };
    if done {
        return complete(app, req, waiting, None).await;
    }
    match need(app, &user.username, required).await {
        Ok(Need::Nothing) => complete(app, req, waiting, None).await,
        Ok(Need::Ask { passkey }) => ask(app, &waiting, passkey, None, 200),
        Ok(Need::Enrol) => enrol_page(app, waiting, totp::new_seed(), None),
        Err(e) => respond::gateway(&e, false),
    }
}

/// The sealed state of a second-factor form, checked against its CSRF token and cookie.
pub(super) fn opened<T: serde::de::DeserializeOwned>(
    app: &App,
    req: &Request<'_>,
    form: &crate::http::params::Params,
    field: &str,
    purpose: Purpose,
    csrf_of: impl Fn(&T) -> &str,
) -> Result<T, GatewayError> {
    let state: T = app
        .sealer
        .open(purpose, form.get(field).unwrap_or(""), app.now())
        .ok_or(GatewayError::SignInExpired)?;
    let expected = csrf_of(&state).as_bytes().to_vec();
    let ok = |v: Option<&str>| v.is_some_and(|v| ct_eq(v.as_bytes(), &expected));
    if !ok(form.get("csrf")) || !ok(req.cookie(&app.provider_cookies().csrf).as_deref()) {
        return Err(GatewayError::FormExpired);
    }
    Ok(state)
}

/// `POST /login/second-factor`: a TOTP code or a recovery code.
pub async fn verify(app: &App, req: &Request<'_>) -> Reply {
    let form = match req.form() {
        Ok(f) => f,
        Err(e) => return respond::gateway(&e, false),
    };
    let waiting: Waiting = match opened(
        app,
        req,
        &form,
        "mfa",
        Purpose::SecondFactor,
        |w: &Waiting| &w.pending.csrf,
    ) {
        Ok(w) => w,
        Err(e) => return respond::gateway(&e, false),
    };
    let code = form.get("otp").unwrap_or("");
    let status = match check_code(app, req, &waiting.username, code).await {
        Ok(Attempted::Right(())) => return complete(app, req, waiting, Some("otp")).await,
        Ok(Attempted::Wrong) => 401,
        Ok(Attempted::Locked) => 429,
        Err(e) => return respond::gateway(&e, false),
    };
    let passkey = matches!(
        need(app, &waiting.username, true).await,
        Ok(Need::Ask { passkey: true })
    );
    ask(app, &waiting, passkey, Some(INVALID_CODE), status)
}

/// Rate limit, then one attempt (`App::attempt`) at the code: a TOTP step used once, or an
/// unused recovery code. The attempt is counted before the code is checked.
async fn check_code(
    app: &App,
    req: &Request<'_>,
    username: &str,
    code: &str,
) -> Result<Attempted<()>, GatewayError> {
    let ip = req.facts.client_ip;
    app.admit(ip).await?;
    let store = storage(app)?;
    app.attempt(username, ip, Credential::Form, || async {
        let now = app.now();
        let seconds = i64::try_from(now).unwrap_or(i64::MAX);
        for f in store.opened(username, FactorKind::Totp).await? {
            if let Some(step) = totp::matching_step(&f.secret, code, now) {
                let step = i64::try_from(step).unwrap_or(i64::MAX);
                return Ok(store
                    .use_step(&f.factor.id, step, seconds)
                    .await?
                    .then_some(()));
            }
        }
        let code = code.trim();
        if !code.is_empty() && !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(store
                .use_recovery_code(username, code, seconds)
                .await?
                .then_some(()));
        }
        Ok(None)
    })
    .await
}

/// `POST /login/enrol`: the first code from the new authenticator confirms it; then the
/// recovery codes are shown once.
pub async fn confirm_enrolment(app: &App, req: &Request<'_>) -> Reply {
    let form = match req.form() {
        Ok(f) => f,
        Err(e) => return respond::gateway(&e, false),
    };
    let enrolment: Enrolment = match opened(
        app,
        req,
        &form,
        "enrol",
        Purpose::Enrolment,
        |e: &Enrolment| &e.waiting.pending.csrf,
    ) {
        Ok(e) => e,
        Err(e) => return respond::gateway(&e, false),
    };
    let now = app.now();
    let Some(step) = totp::matching_step(&enrolment.seed, form.get("otp").unwrap_or(""), now)
    else {
        return enrol_page(app, enrolment.waiting, enrolment.seed, Some(INVALID_CODE));
    };
    match enrolled(app, &enrolment, step, now).await {
        Ok(codes) => {
            let done = complete_session(app, req, &enrolment.waiting, Some("otp")).await;
            match done {
                Ok((_, cookie)) => recovery_page(app, &enrolment.waiting.pending, &codes, cookie),
                Err(e) => respond::gateway(&e, false),
            }
        }
        Err(e) => respond::gateway(&e, false),
    }
}

/// Stores the confirmed seed (its first step already used) and new recovery codes.
async fn enrolled(
    app: &App,
    e: &Enrolment,
    step: u64,
    now: u64,
) -> Result<Vec<String>, GatewayError> {
    let store = storage(app)?;
    let seconds = i64::try_from(now).unwrap_or(i64::MAX);
    let user = &e.waiting.username;
    let id = store
        .add(
            user,
            FactorKind::Totp,
            "Authenticator app",
            &e.seed,
            seconds,
        )
        .await?;
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    store.use_step(&id, step, seconds).await?;
    // A factor added from /account: sessions opened before it (perhaps by someone who had
    // only the password) end.
    if let Some(keep) = &e.waiting.session {
        revocation::end_others(app, user, Some(keep)).await?;
    }
    new_recovery_codes(store, user, seconds).await
}

/// Ten new recovery codes for `user` (the old ones stop working).
pub async fn new_recovery_codes(
    store: &Storage,
    user: &str,
    now: i64,
) -> Result<Vec<String>, GatewayError> {
    let codes = totp::new_recovery_codes();
    store.set_recovery_codes(user, &codes, now).await?;
    Ok(codes)
}

/// The page listing new recovery codes, with a button that continues where the user was going.
pub fn recovery_page(
    app: &App,
    pending: &Pending,
    codes: &[String],
    cookie: Option<String>,
) -> Reply {
    let cont = match seal(app, Purpose::Continue, pending) {
        Ok(c) => c,
        Err(e) => return respond::gateway(&e, false),
    };
    let page = RecoveryPage {
        codes,
        cont: &cont,
        csrf: &pending.csrf,
    };
    let reply = with_csrf_cookie(app, pages::render(200, &page), &pending.csrf);
    match cookie {
        Some(c) => reply.header("Set-Cookie", c),
        None => reply,
    }
}

/// `POST /login/continue`: on from the recovery codes to where the sign-in was going.
pub async fn continue_after_codes(app: &App, req: &Request<'_>) -> Reply {
    let form = match req.form() {
        Ok(f) => f,
        Err(e) => return respond::gateway(&e, false),
    };
    let pending: Pending =
        match opened(app, req, &form, "cont", Purpose::Continue, |p: &Pending| {
            &p.csrf
        }) {
            Ok(p) => p,
            Err(e) => return respond::gateway(&e, false),
        };
    match provider_session(app, req, app.now()).await {
        Ok(Some(session)) => proceed(app, req, &pending, &session).await,
        Ok(None) => respond::gateway(&GatewayError::SignInExpired, false),
        Err(e) => respond::gateway(&e, false),
    }
}

/// Makes (or upgrades) the session of `waiting` with `amr`; with the cookie to set when a
/// new session was made.
async fn complete_session(
    app: &App,
    req: &Request<'_>,
    waiting: &Waiting,
    second: Option<&str>,
) -> Result<(Found, Option<String>), GatewayError> {
    let now = app.now();
    let mut amr = waiting.first.clone();
    if let Some(method) = second {
        amr.extend([method.to_string(), "mfa".to_string()]);
    }
    // Signed in, every factor done: the failure count starts again.
    crate::metrics::sign_in("ok");
    regulation::succeeded(app.stores.counters.as_ref(), &waiting.username).await?;
    let sessions = app.sessions();
    if let Some(key) = &waiting.session {
        let (id, upgraded) = sessions
            .rekey(key, amr, now)
            .await?
            .ok_or(GatewayError::SignInExpired)?;
        let cookie = app.session_cookie(&id, app.cfg.server.secure_cookies());
        return Ok((upgraded, Some(cookie)));
    }
    // Session fixation: whatever session the browser had is ended, and a new id is issued.
    if let Some(old) = provider_session(app, req, now).await? {
        revocation::end_session(app, &old.key).await?;
    }
    let address = req.facts.client_ip;
    let (id, found) = sessions
        .create(&waiting.username, amr, address, now)
        .await?;
    let cookie = app.session_cookie(&id, app.cfg.server.secure_cookies());
    Ok((found, Some(cookie)))
}

/// Signs `waiting` in with `amr` and goes on to where the sign-in was going.
/// With the `second` factor's `amr` when one was used.
pub async fn complete(
    app: &App,
    req: &Request<'_>,
    waiting: Waiting,
    second: Option<&str>,
) -> Reply {
    let (session, cookie) = match complete_session(app, req, &waiting, second).await {
        Ok(done) => done,
        Err(e) => return respond::gateway(&e, false),
    };
    let reply = proceed(app, req, &waiting.pending, &session).await;
    let secure = app.cfg.server.secure_cookies();
    let reply = reply.header(
        "Set-Cookie",
        cookies::clear(&app.provider_cookies().csrf, secure),
    );
    match cookie {
        Some(c) => reply.header("Set-Cookie", c),
        None => reply,
    }
}

/// On to where the sign-in was going: the authorization request, a page, or a message.
async fn proceed(app: &App, req: &Request<'_>, pending: &Pending, session: &Found) -> Reply {
    match (&pending.request, &pending.return_to) {
        (Some(request), _) => resume(app, req, request, Some(session), true).await,
        (None, Some(path)) => Reply::redirect(303, &format!("{}{path}", app.cfg.server.issuer)),
        (None, None) => pages::message(
            200,
            "Signed in",
            &format!("You are signed in as {}.", session.record.user),
            Some("/account"),
        ),
    }
}

/// A step-up on a live password-only session: the second-factor page (or enrolment) for its
/// user, continuing to `pending` afterwards.
pub async fn step_up(
    app: &App,
    session: &Found,
    pending: Pending,
    required: bool,
) -> Option<Reply> {
    let waiting = Waiting {
        username: session.record.user.clone(),
        pending,
        session: Some(session.key.clone()),
        first: session.record.amr.clone(),
    };
    match need(app, &session.record.user, required).await {
        Ok(Need::Nothing) => None,
        Ok(Need::Ask { passkey }) => Some(ask(app, &waiting, passkey, None, 200)),
        Ok(Need::Enrol) => Some(enrol_page(app, waiting, totp::new_seed(), None)),
        Err(e) => Some(respond::gateway(&e, false)),
    }
}

/// A new pending state for a step-up of `request`.
pub fn pending_for(request: Option<AuthRequest>, return_to: Option<String>) -> Pending {
    Pending {
        request,
        csrf: new_secret(),
        return_to,
    }
}
