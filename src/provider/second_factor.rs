//! The second factor on the built-in login: after the password (or, for a step-up, on a
//! password-only session), whoever must or may use one is asked for a TOTP code, a recovery
//! code or a passkey, or is made to enrol. Only then is the session made (or upgraded) with
//! `amr` `["pwd","otp"|"hwk","mfa"]`, and the sign-in resumes.
//!
//! Between the steps nothing is stored: the state rides sealed in the form (`mfa`, `enrol`,
//! `cont`), bound to the CSRF cookie of the login form. Wrong codes count towards the lockout.

use std::sync::Arc;

use super::sign_in::{
    ask, complete, complete_session, enrol_page, need_of, opened, proceed, provider_session, seal,
    with_csrf_cookie, Enrolment, Need, Pending, Waiting,
};
use super::Request;
use crate::app::attempts::{Attempted, Credential};
use crate::app::{revocation, App};
use crate::http::pages::{self, Chrome, RecoveryPage};
use crate::http::{GatewayError, Reply};
use crate::login::totp;
use crate::secret::Purpose;
use crate::storage::{FactorKind, Owner, Storage};

pub const INVALID_CODE: &str = "second-factor-invalid";

fn storage(app: &App) -> Result<&Arc<Storage>, GatewayError> {
    Ok(&app.factors()?.store)
}

/// `POST /login/second-factor`: a TOTP code or a recovery code.
pub async fn verify(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let form = req.form()?;
    let waiting: Waiting = opened(
        app,
        req,
        &form,
        "mfa",
        Purpose::SecondFactor,
        |w: &Waiting| &w.pending.csrf,
    )?;
    let code = form.get("otp").unwrap_or("");
    let source = waiting.source(app).await?;
    let owner = Owner {
        name: &waiting.username,
        source: &source,
    };
    let status = match check_code(app, req, owner, code).await? {
        Attempted::Right(()) => return complete(app, req, waiting, Some("otp")).await,
        Attempted::Wrong => {
            super::audit(
                app,
                req,
                "second_factor.failed",
                &waiting.username,
                "wrong_code",
            );
            401
        }
        Attempted::Locked => {
            super::audit(
                app,
                req,
                "sign_in.locked_out",
                &waiting.username,
                "locked_out",
            );
            429
        }
    };
    let passkey = matches!(
        need_of(app, owner, true).await,
        Ok(Need::Ask { passkey: true })
    );
    let c = &req.chrome(app);
    ask(
        app,
        &waiting,
        (passkey, Some(&c.t(INVALID_CODE))),
        status,
        c,
    )
}

/// Rate limit, then one attempt (`App::attempt`) at the code: a TOTP step used once, or an
/// unused recovery code. The attempt is counted before the code is checked.
async fn check_code(
    app: &App,
    req: &Request<'_>,
    owner: Owner<'_>,
    code: &str,
) -> Result<Attempted<()>, GatewayError> {
    let ip = req.facts.client_ip;
    app.admit(ip).await?;
    let store = storage(app)?;
    app.attempt(owner.name, ip, Credential::Form, || async {
        let now = app.now();
        let seconds = i64::try_from(now).unwrap_or(i64::MAX);
        for f in store.opened(&owner, FactorKind::Totp).await? {
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
                .use_recovery_code(&owner, code, seconds)
                .await?
                .then_some(()));
        }
        Ok(None)
    })
    .await
}

/// `POST /login/enrol`: the first code from the new authenticator confirms it; then the
/// recovery codes are shown once.
pub async fn confirm_enrolment(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let form = req.form()?;
    let enrolment: Enrolment = opened(
        app,
        req,
        &form,
        "enrol",
        Purpose::Enrolment,
        |e: &Enrolment| &e.waiting.pending.csrf,
    )?;
    let now = app.now();
    let Some(step) = totp::matching_step(&enrolment.seed, form.get("otp").unwrap_or(""), now)
    else {
        let c = &req.chrome(app);
        let error = c.t(INVALID_CODE);
        return enrol_page(app, enrolment.waiting, enrolment.seed, Some(&error), c);
    };
    let codes = enrolled(app, &enrolment, step, now).await?;
    let who = &enrolment.waiting.username;
    super::audit(app, req, "second_factor.added", who, "ok");
    if let Some(info) = app.directory.active(who).await? {
        let c = req.chrome(app);
        let factor = c.t("factor-totp");
        app.mail(
            crate::mail::Kind::FactorAdded { factor: &factor },
            &info,
            c.lang,
        );
    }
    let (_, cookie) = complete_session(app, req, &enrolment.waiting, Some("otp")).await?;
    recovery_page(
        app,
        &enrolment.waiting.pending,
        &codes,
        cookie,
        &req.chrome(app),
    )
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
    let source = e.waiting.source(app).await?;
    let owner = Owner {
        name: user,
        source: &source,
    };
    let id = store
        .add(
            &owner,
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
    new_recovery_codes(store, &owner, seconds).await
}

/// Ten new recovery codes for `owner` (the old ones stop working).
pub async fn new_recovery_codes(
    store: &Storage,
    owner: &Owner<'_>,
    now: i64,
) -> Result<Vec<String>, GatewayError> {
    let codes = totp::new_recovery_codes();
    store.set_recovery_codes(owner, &codes, now).await?;
    Ok(codes)
}

/// The page listing new recovery codes, with a button that continues where the user was going.
pub fn recovery_page(
    app: &App,
    pending: &Pending,
    codes: &[String],
    cookie: Option<String>,
    c: &Chrome,
) -> Result<Reply, GatewayError> {
    let cont = seal(app, Purpose::Continue, pending)?;
    let page = RecoveryPage {
        c,
        codes,
        cont: &cont,
        csrf: &pending.csrf,
    };
    let reply = with_csrf_cookie(app, pages::render(c, 200, &page), &pending.csrf);
    Ok(match cookie {
        Some(c) => reply.header("Set-Cookie", c),
        None => reply,
    })
}

/// `POST /login/continue`: on from the recovery codes to where the sign-in was going.
pub async fn continue_after_codes(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let form = req.form()?;
    let pending: Pending = opened(app, req, &form, "cont", Purpose::Continue, |p: &Pending| {
        &p.csrf
    })?;
    let session = provider_session(app, req, app.now())
        .await?
        .ok_or(GatewayError::SignInExpired)?;
    proceed(app, req, &pending, &session).await
}
