//! The sign-in hub: everything a sign-in passes through between an authorization request (or a
//! visit to `/login`) and the session it ends with. The pending request sealed into the login
//! URL, the forms' sealed state and their CSRF checks, the decision to ask for a second factor
//! (or make the user enrol one), the step-up of a password-only session, and the completion:
//! the session made (or given a new id), then the authorization request answered.
//!
//! Nothing is stored before a user has signed in: the pending request rides, sealed, in the
//! login URL and the forms (hardening: state flooding). The forms' handlers live beside it
//! (`login`, `second_factor`, `passkeys`, `upstream_login`); the answer to a client is
//! `issue`'s.

use serde::{Deserialize, Serialize};

use super::issue::issue;
use super::Request;
use crate::app::{respond, revocation, App};
use crate::config::SecondFactor;
use crate::directory::{Source, UserInfo};
use crate::http::pages::{self, Chrome, EnrolPage, SecondFactorPage};
use crate::http::{cookies, GatewayError, Reply};
use crate::login::{regulation, totp};
use crate::oidc::authorize::{decide, validate, AuthRequest, Decision};
use crate::secret::{ct_eq, new_secret, Purpose};
use crate::session::{Found, Key};
use crate::storage::{Factor, FactorKind, Owner};

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

/// `GET /oauth2/authorize` (and the seed vendors' paths): validate, then answer the client, or
/// send the user through the sign-in first.
pub async fn authorize(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let issuer = &app.cfg.server.issuer;
    let resolved = super::pushed::resolve(app, req.params()?).await;
    let auth = match resolved.and_then(|(p, came)| validate(&p, &app.clients, came)) {
        Ok(a) => a,
        Err(e) => return Ok(respond::authorize(&e, issuer, &req.chrome(app))),
    };
    let session = provider_session(app, req, app.now()).await?;
    resume(app, req, &auth, session.as_ref(), false).await
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
) -> Result<Reply, GatewayError> {
    let issuer = &app.cfg.server.issuer;
    let now = app.now();
    match (
        decide(auth, session.map(|s| s.record.auth_time), fresh, now),
        session,
    ) {
        (Err(e), _) => Ok(respond::authorize(&e, issuer, &req.chrome(app))),
        (Ok(Decision::Issue), Some(s)) => {
            if let Some(reply) = step_up_if_needed(app, req, auth, s).await? {
                return Ok(reply);
            }
            if let Some(reply) = super::consent::ask_if_needed(app, req, auth, s).await? {
                return Ok(reply);
            }
            Ok(match issue(app, auth, s, now).await {
                Ok(url) => Reply::redirect(302, &url),
                Err(e) => respond::authorize(&e, issuer, &req.chrome(app)),
            })
        }
        (Ok(Decision::Login | Decision::Issue), _) => {
            start_login(app, req, Some(auth.clone())).await
        }
    }
}

/// The second factor (or enrolment) a password-only session must pass before this request is
/// answered: the client's rule, `acr_values=mfa`, or `second_factor = "required"`.
async fn step_up_if_needed(
    app: &App,
    req: &Request<'_>,
    auth: &AuthRequest,
    session: &Found,
) -> Result<Option<Reply>, GatewayError> {
    if session.record.mfa() {
        return Ok(None);
    }
    let wanted = request_wants_mfa(app, Some(auth));
    if !wanted && app.cfg.login.second_factor != crate::config::SecondFactor::Required {
        return Ok(None);
    }
    let pending = pending_for(Some(auth.clone()), None);
    step_up(app, session, pending, wanted, &req.chrome(app)).await
}

/// Sends the browser to the login form, the pending request sealed into its URL.
pub async fn start_login(
    app: &App,
    req: &Request<'_>,
    request: Option<AuthRequest>,
) -> Result<Reply, GatewayError> {
    let pending = Pending {
        request,
        csrf: new_secret(),
        return_to: None,
    };
    send_to_login(app, req, pending).await
}

/// Sends the browser to the login form for `pending`.
pub async fn send_to_login(
    app: &App,
    req: &Request<'_>,
    pending: Pending,
) -> Result<Reply, GatewayError> {
    app.admit(req.facts.client_ip).await?;
    let sealed = seal(app, Purpose::PendingLogin, &pending)?;
    let login = format!("{}/login?auth={sealed}", app.cfg.server.issuer);
    Ok(Reply::redirect(302, &login))
}

/// A sign-in whose first factor is done, waiting for its second.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Waiting {
    pub username: String,
    /// Which source the first factor found the user in (absent in forms of earlier versions).
    #[serde(default)]
    pub source: Option<Source>,
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

impl Waiting {
    /// The source of the waiting user's name (for forms of earlier versions, which did not
    /// carry it, the one the directory gives it now).
    pub async fn source(&self, app: &App) -> Result<Source, GatewayError> {
        source_of(app, &self.username, self.source.as_ref()).await
    }
}

/// The source of `username`'s name: `known` (from the sign-in or the session), else — for
/// records of earlier versions — the one the directory gives the name now.
pub async fn source_of(
    app: &App,
    username: &str,
    known: Option<&Source>,
) -> Result<Source, GatewayError> {
    if let Some(s) = known {
        return Ok(s.clone());
    }
    Ok(app
        .directory
        .find(username)
        .await?
        .map(|u| u.source.clone())
        .unwrap_or_default())
}

/// An authenticator app being enrolled: the seed is shown on the page until confirmed.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Enrolment {
    pub waiting: Waiting,
    pub seed: Vec<u8>,
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

/// What a user with `factors` must do before a session is theirs, under `[login]
/// second_factor = policy`, when the request or route `required` one, and with passkeys usable
/// here (`passkeys_on`: WebAuthn is configured).
pub fn need(policy: SecondFactor, factors: &[Factor], required: bool, passkeys_on: bool) -> Need {
    if policy == SecondFactor::Off {
        return Need::Nothing;
    }
    let has_passkey = factors.iter().any(|f| f.kind == FactorKind::Passkey);
    match (
        factors.is_empty(),
        required || policy == SecondFactor::Required,
    ) {
        (false, _) => Need::Ask {
            passkey: has_passkey && passkeys_on,
        },
        (true, true) => Need::Enrol,
        (true, false) => Need::Nothing,
    }
}

/// `need` for `owner`, their factors read from `[storage]` (none without it).
pub async fn need_of(app: &App, owner: Owner<'_>, required: bool) -> Result<Need, GatewayError> {
    let policy = app.cfg.login.second_factor;
    let Some(stored) = app.factors.as_ref().filter(|_| policy != SecondFactor::Off) else {
        return Ok(Need::Nothing);
    };
    let factors = stored.store.factors(&owner).await?;
    Ok(need(policy, &factors, required, stored.passkeys.is_some()))
}

/// Seals `waiting` for the next form.
pub(super) fn seal<T: Serialize>(
    app: &App,
    purpose: Purpose,
    value: &T,
) -> Result<String, GatewayError> {
    let exp = app.now() + PENDING_TTL.as_secs();
    Ok(app.sealer.seal(purpose, value, exp)?)
}

/// The second-factor page for `waiting`.
pub fn ask(
    app: &App,
    waiting: &Waiting,
    (passkey, error): (bool, Option<&str>),
    status: u16,
    c: &Chrome,
) -> Result<Reply, GatewayError> {
    let mfa = seal(app, Purpose::SecondFactor, waiting)?;
    let page = SecondFactorPage {
        c,
        username: &waiting.username,
        mfa: &mfa,
        csrf: &waiting.pending.csrf,
        passkey,
        error,
    };
    let reply = pages::render(c, status, &page);
    let reply = if passkey {
        pages::allow_script(c, reply)
    } else {
        reply
    };
    Ok(with_csrf_cookie(app, reply, &waiting.pending.csrf))
}

/// The enrolment page: a new seed (or the one being confirmed) for `waiting`.
pub fn enrol_page(
    app: &App,
    waiting: Waiting,
    seed: Vec<u8>,
    error: Option<&str>,
    c: &Chrome,
) -> Result<Reply, GatewayError> {
    let issuer = &app.cfg.login.totp_issuer;
    let uri = totp::uri(&seed, issuer, &waiting.username);
    let secret = totp::base32(&seed);
    let csrf = waiting.pending.csrf.clone();
    let username = waiting.username.clone();
    let sealed = seal(app, Purpose::Enrolment, &Enrolment { waiting, seed })?;
    let qr = totp::qr_data_url(&uri);
    let page = EnrolPage {
        c,
        username: &username,
        qr: qr.as_deref(),
        secret: &secret,
        uri: &uri,
        enrol: &sealed,
        csrf: &csrf,
        error,
    };
    let status = if error.is_some() { 401 } else { 200 };
    Ok(with_csrf_cookie(
        app,
        pages::render(c, status, &page),
        &csrf,
    ))
}

pub(super) fn with_csrf_cookie(app: &App, reply: Reply, csrf: &str) -> Reply {
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
) -> Result<Reply, GatewayError> {
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
) -> Result<Reply, GatewayError> {
    let required = request_wants_mfa(app, pending.request.as_ref());
    let done = first.iter().any(|m| m == "mfa");
    let waiting = Waiting {
        username: user.username.clone(),
        source: Some(user.source.clone()),
        pending,
        session: None,
        first,
    };
    if done {
        return complete(app, req, waiting, None).await;
    }
    let owner = Owner {
        name: &user.username,
        source: &user.source,
    };
    match need_of(app, owner, required).await? {
        Need::Nothing => complete(app, req, waiting, None).await,
        Need::Ask { passkey } => ask(app, &waiting, (passkey, None), 200, &req.chrome(app)),
        Need::Enrol => enrol_page(app, waiting, totp::new_seed(), None, &req.chrome(app)),
    }
}

/// The CSRF token of `form` (`"account"`, `"admin"`…) for the forms of `session`: derived from
/// the session's store key, which the browser never sees, so a page elsewhere cannot know it.
pub(super) fn session_csrf(session: &Found, form: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        format!("{form} {}", session.key.as_str()).as_bytes(),
    ))
}

/// The `csrf` field of `params` is `session`'s token for `form`; else the form has expired.
pub(super) fn check_session_csrf(
    session: &Found,
    form: &str,
    params: &crate::http::params::Params,
) -> Result<(), GatewayError> {
    let token = session_csrf(session, form);
    let ok = params
        .get("csrf")
        .is_some_and(|c| ct_eq(c.as_bytes(), token.as_bytes()));
    ok.then_some(()).ok_or(GatewayError::FormExpired)
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

/// Makes (or upgrades) the session of `waiting` with `amr`; with the cookie to set when a
/// new session was made.
pub(super) async fn complete_session(
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
    super::audit(app, req, "sign_in.succeeded", &waiting.username, "ok");
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
    let source = waiting.source(app).await?;
    let (id, found) = sessions
        .create((&waiting.username, &source), amr, address, now)
        .await?;
    if let Some(storage) = app.factors.as_ref().map(|f| &f.store) {
        // Signed in: factors and app passwords of this name from before sources were kept
        // are this source's from now on.
        let owner = Owner {
            name: &waiting.username,
            source: &source,
        };
        storage.claim(&owner).await?;
    }
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
) -> Result<Reply, GatewayError> {
    let (session, cookie) = complete_session(app, req, &waiting, second).await?;
    let reply = proceed(app, req, &waiting.pending, &session).await?;
    let secure = app.cfg.server.secure_cookies();
    let reply = reply.header(
        "Set-Cookie",
        cookies::clear(&app.provider_cookies().csrf, secure),
    );
    Ok(match cookie {
        Some(c) => reply.header("Set-Cookie", c),
        None => reply,
    })
}

/// On to where the sign-in was going: the authorization request, a page, or a message.
pub(super) async fn proceed(
    app: &App,
    req: &Request<'_>,
    pending: &Pending,
    session: &Found,
) -> Result<Reply, GatewayError> {
    Ok(match (&pending.request, &pending.return_to) {
        (Some(request), _) => return resume(app, req, request, Some(session), true).await,
        (None, Some(path)) => Reply::redirect(303, &format!("{}{path}", app.cfg.server.issuer)),
        (None, None) => {
            let c = req.chrome(app);
            let user = session.record.user.as_str();
            pages::message(
                &c,
                200,
                &c.t("signed-in-title"),
                &c.t_with("signed-in", &[("user", user)]),
                Some("/account"),
            )
        }
    })
}

/// A step-up on a live password-only session: the second-factor page (or enrolment) for its
/// user, continuing to `pending` afterwards.
pub async fn step_up(
    app: &App,
    session: &Found,
    pending: Pending,
    required: bool,
    c: &Chrome,
) -> Result<Option<Reply>, GatewayError> {
    let waiting = Waiting {
        username: session.record.user.clone(),
        source: session.record.source.clone(),
        pending,
        session: Some(session.key.clone()),
        first: session.record.amr.clone(),
    };
    let source = source_of(app, &session.record.user, session.record.source.as_ref()).await?;
    let owner = Owner {
        name: &session.record.user,
        source: &source,
    };
    Ok(Some(match need_of(app, owner, required).await? {
        Need::Nothing => return Ok(None),
        Need::Ask { passkey } => ask(app, &waiting, (passkey, None), 200, c)?,
        Need::Enrol => enrol_page(app, waiting, totp::new_seed(), None, c)?,
    }))
}

/// A new pending state for a step-up of `request`.
pub fn pending_for(request: Option<AuthRequest>, return_to: Option<String>) -> Pending {
    Pending {
        request,
        csrf: new_secret(),
        return_to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factor(kind: FactorKind) -> Factor {
        Factor {
            id: "f".into(),
            username: "alice".into(),
            kind,
            name: "phone".into(),
            created_at: 0,
            last_used_at: None,
            credential_id: None,
        }
    }

    #[test]
    fn who_must_do_what_before_a_session() {
        use SecondFactor::{Off, Optional, Required};
        let none: &[Factor] = &[];
        let totp = [factor(FactorKind::Totp)];
        let both = [factor(FactorKind::Totp), factor(FactorKind::Passkey)];
        let nothing = |n: Need| matches!(n, Need::Nothing);
        let enrol = |n: Need| matches!(n, Need::Enrol);
        let ask = |n: Need, p: bool| matches!(n, Need::Ask { passkey } if passkey == p);
        assert!(nothing(need(Off, &both, true, true)), "off: never");
        assert!(nothing(need(Optional, none, false, true)));
        assert!(
            enrol(need(Optional, none, true, true)),
            "a step-up makes them enrol"
        );
        assert!(enrol(need(Required, none, false, true)));
        assert!(
            ask(need(Optional, &totp, false, true), false),
            "a factor is always asked"
        );
        assert!(ask(need(Required, &both, false, true), true));
        assert!(
            ask(need(Required, &both, false, false), false),
            "no WebAuthn here"
        );
    }
}
