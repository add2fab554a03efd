//! `/account` on the public host: the signed-in user's factors and sessions. Add or replace the
//! authenticator app, add a passkey, remove a factor (never the last one while a second factor
//! is required), new recovery codes, sign out the other sessions.
//!
//! Every form carries a CSRF token derived from the session's store key, which the browser
//! never sees: a page on another site cannot know it.

use super::second_factor::{new_recovery_codes, recovery_page};
use super::sign_in::{self, pending_for, provider_session, send_to_login, Waiting};
use super::{passkeys, Request};
use crate::app::{revocation, App};
use crate::config::SecondFactor;
use crate::directory::Source;
use crate::http::pages::{self, AccountPage, Chrome, ConnectedApp, FactorRow, SessionItem};
use crate::http::params::Params;
use crate::http::{GatewayError, Reply};
use crate::login::totp;
use crate::mail::Kind;
use crate::session::Found;
use crate::storage::{Factor, FactorKind, Owner};

pub const PATH: &str = "/account";

/// `GET,POST /account`, and the passkey registration steps under it. Errors are a page, or
/// JSON for the passkey steps' scripts (`provider::handle` maps them).
pub async fn handle(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let c = &req.chrome(app);
    let Some(session) = provider_session(app, req, app.now()).await? else {
        let pending = pending_for(None, Some(PATH.to_string()));
        return send_to_login(app, req, pending).await;
    };
    if let Some(reply) = second_factor_first(app, &session, c).await? {
        return Ok(reply);
    }
    if req.method() != "POST" {
        return render(app, &session, c, Note::None).await;
    }
    let form = req.form()?;
    sign_in::check_session_csrf(&session, "account", &form)?;
    if adds_a_credential(&req.facts.path, &form) && !recently_signed_in(app, &session) {
        if req.facts.path.ends_with("/start") {
            return Err(GatewayError::Unauthenticated);
        }
        let pending = pending_for(None, Some(PATH.to_string()));
        return send_to_login(app, req, pending).await;
    }
    act(app, (&session, c), req, &form).await
}

/// A password-only session of someone who has a factor goes through it first: /account
/// changes the factors themselves. (When the factors cannot be read, it goes through too.)
async fn second_factor_first(
    app: &App,
    session: &Found,
    c: &Chrome,
) -> Result<Option<Reply>, GatewayError> {
    if session.record.mfa() {
        return Ok(None);
    }
    let has_factors = match owner_of(app, session).await {
        Ok(source) => {
            let owner = Owner {
                name: &session.record.user,
                source: &source,
            };
            sign_in::need_of(app, owner, false).await
        }
        Err(e) => Err(e),
    };
    if let Ok(sign_in::Need::Nothing | sign_in::Need::Enrol) = has_factors {
        return Ok(None);
    }
    let pending = pending_for(None, Some(PATH.to_string()));
    sign_in::step_up(app, session, pending, true, c).await
}

/// The source of the signed-in user's name.
async fn owner_of(app: &App, session: &Found) -> Result<Source, GatewayError> {
    sign_in::source_of(app, &session.record.user, session.record.source.as_ref()).await
}

async fn act(
    app: &App,
    (session, c): (&Found, &Chrome),
    req: &Request<'_>,
    form: &Params,
) -> Result<Reply, GatewayError> {
    let path = req.facts.path.as_str();
    let user = session.record.user.as_str();
    let source = owner_of(app, session).await?;
    let owner = Owner {
        name: user,
        source: &source,
    };
    let store = app
        .factors
        .as_ref()
        .filter(|_| enabled(app))
        .map(|f| &f.store);
    let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
    match (path, form.get("action"), store) {
        ("/account/passkey/start", _, Some(_)) => passkeys::start_registration(app, owner).await,
        ("/account/passkey/finish", _, Some(_)) => {
            passkeys::finish_registration(app, owner, form).await?;
            // As for a new authenticator app: sessions opened before it (perhaps by someone
            // who had only the password) end.
            revocation::end_others(app, user, Some(&session.key)).await?;
            let factor = c.t("factor-passkey");
            told(
                app,
                req,
                (session, c),
                "second_factor.added",
                Kind::FactorAdded { factor: &factor },
            )
            .await?;
            render(app, session, c, Note::Notice("notice-passkey-added")).await
        }
        (PATH, Some("add-totp"), Some(_)) => {
            let waiting = Waiting {
                username: user.to_string(),
                source: session.record.source.clone(),
                pending: pending_for(None, Some(PATH.to_string())),
                session: Some(session.key.clone()),
                first: session.record.amr.clone(),
            };
            sign_in::enrol_page(app, waiting, totp::new_seed(), None, c)
        }
        (PATH, Some("remove"), Some(s)) => {
            let factors = s.factors(&owner).await?;
            let last = factors.len() <= 1;
            if last && app.cfg.login.second_factor == SecondFactor::Required {
                return render(app, session, c, Note::Error("error-last-factor")).await;
            }
            let id = form.get("id").unwrap_or("");
            let kind = factors
                .iter()
                .find(|f| f.id == id)
                .map(|f| row(f.clone()).label);
            s.remove(&owner, id).await?;
            if let Some(label) = kind {
                let factor = c.t(label);
                told(
                    app,
                    req,
                    (session, c),
                    "second_factor.removed",
                    Kind::FactorRemoved { factor: &factor },
                )
                .await?;
            }
            render(app, session, c, Note::Notice("notice-factor-removed")).await
        }
        (PATH, Some("recovery-codes"), Some(s)) => {
            let codes = new_recovery_codes(s, &owner, now).await?;
            let pending = pending_for(None, Some(PATH.to_string()));
            recovery_page(app, &pending, &codes, None, c)
        }
        (PATH, Some(action), _) => others(app, (session, c), (req, owner), action, form).await,
        _ => Err(GatewayError::BadRequest("unknown account action".into())),
    }
}

/// The account's actions on app passwords and sessions, which need no second factor set up.
async fn others(
    app: &App,
    (session, c): (&Found, &Chrome),
    (req, owner): (&Request<'_>, Owner<'_>),
    action: &str,
    form: &Params,
) -> Result<Reply, GatewayError> {
    let user = owner.name;
    let store = || app.factors().map(|f| &f.store);
    match action {
        "new-app-password" => {
            let name = form.get("name").map(str::trim).filter(|n| !n.is_empty());
            let password = new_app_password();
            let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
            store()?
                .add_app_password(&owner, name.unwrap_or("app"), &password, now)
                .await?;
            super::audit(app, req, "app_password.created", user, "ok");
            render(app, session, c, Note::NewAppPassword(&password)).await
        }
        "revoke-app-password" => {
            store()?
                .revoke_app_passwords(user, Some(form.get("id").unwrap_or("")))
                .await?;
            super::audit(app, req, "app_password.revoked", user, "ok");
            render(app, session, c, Note::Notice("notice-app-password-revoked")).await
        }
        "end-session" => {
            let sid = form.get("session").unwrap_or("");
            let n = revocation::end_sid(app, sid, Some(user)).await?;
            super::audit(
                app,
                req,
                "session.ended",
                user,
                if n == 1 { "ok" } else { "gone" },
            );
            let key = if n == 1 {
                "notice-session-ended"
            } else {
                "notice-session-gone"
            };
            render(app, session, c, Note::Notice(key)).await
        }
        "change-password" => change_password(app, (session, c), (req, &owner), form).await,
        "withdraw-consent" => {
            let client_id = form.get("client_id").unwrap_or("");
            store()?.withdraw_consent(&owner, client_id).await?;
            revocation::revoke_client_grants(app, user, client_id).await?;
            let e = crate::audit::Event {
                event: "consent.withdrawn",
                actor: Some(user),
                subject: Some(user),
                client_id: Some(client_id),
                outcome: "ok",
                ..Default::default()
            };
            app.record(Some((req.header, req.facts)), e);
            let name = app
                .clients
                .get(client_id)
                .map_or(client_id, |c| c.name.as_str());
            let notice = c.t_with("account-apps-withdrawn", &[("client", name)]);
            render(app, session, c, Note::Text(notice)).await
        }
        "end-others" => {
            let n = revocation::end_others(app, user, Some(&session.key)).await?;
            super::audit(app, req, "session.ended", user, "others");
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            render(app, session, c, Note::Others(n)).await
        }
        _ => Err(GatewayError::BadRequest("unknown account action".into())),
    }
}

/// "Change password": the current one proves it is the user; the others sessions end.
async fn change_password(
    app: &App,
    (session, c): (&Found, &Chrome),
    (req, owner): (&Request<'_>, &Owner<'_>),
    form: &Params,
) -> Result<Reply, GatewayError> {
    use crate::app::people::{after_password_set, set_password, Proof, SetError};
    let (new, again) = (
        form.get("password").unwrap_or(""),
        form.get("again").unwrap_or(""),
    );
    let user = app
        .directory
        .active(owner.name)
        .await?
        .filter(|u| u.source == *owner.source)
        .ok_or(GatewayError::Unauthenticated)?;
    let weak = |w| super::people::weakness(app, c, w);
    let refused = if new == again {
        let proof = Proof::Current(form.get("current").unwrap_or(""), req.facts.client_ip);
        match set_password(app, &user, proof, new).await {
            Ok(()) => None,
            Err(SetError::Weak(w)) => Some(weak(w)),
            Err(SetError::WrongCurrent) => Some(c.t("password-wrong-current")),
            Err(SetError::Managed(key)) => Some(c.t(key)),
            Err(SetError::Failed(e)) => return Err(e),
        }
    } else {
        Some(weak(crate::login::policy::Weakness::Mismatch))
    };
    let event = crate::audit::Event {
        event: "password.changed",
        actor: Some(&user.username),
        subject: Some(&user.username),
        outcome: if refused.is_none() { "ok" } else { "refused" },
        ..Default::default()
    };
    app.record(Some((req.header, req.facts)), event);
    match refused {
        Some(why) => render(app, session, c, Note::ErrorText(why)).await,
        None => {
            after_password_set(app, &user, Some(&session.key), c.lang).await?;
            render(app, session, c, Note::Notice("password-changed")).await
        }
    }
}

/// A change to the user's factors: in the audit trail, and told to them by mail.
async fn told(
    app: &App,
    req: &Request<'_>,
    (session, c): (&Found, &Chrome),
    event: &str,
    mail: Kind<'_>,
) -> Result<(), GatewayError> {
    let user = &session.record.user;
    super::audit(app, req, event, user, "ok");
    if let Some(info) = app.directory.active(user).await? {
        app.mail(mail, &info, c.lang);
    }
    Ok(())
}

/// Whether the request adds a way to sign in as the user: a factor or an app password.
fn adds_a_credential(path: &str, form: &Params) -> bool {
    path == "/account/passkey/start"
        || matches!(form.get("action"), Some("add-totp" | "new-app-password"))
}

/// A sign-in within `[login] reauthenticate_after`: someone at an unlocked browser cannot add
/// their own way in without the password.
fn recently_signed_in(app: &App, session: &Found) -> bool {
    let age = app.now().saturating_sub(session.record.auth_time);
    age <= app.cfg.login.reauthenticate_after.as_secs()
}

fn enabled(app: &App) -> bool {
    app.factors.is_some() && app.cfg.login.second_factor != SecondFactor::Off
}

/// A stored time (Unix seconds) as RFC 3339.
pub(super) fn date(seconds: i64) -> String {
    crate::clock::rfc3339(seconds.max(0).unsigned_abs())
}

fn row(f: Factor) -> FactorRow {
    let (kind, label) = match f.kind {
        FactorKind::Totp => ("authenticator app", "factor-totp"),
        FactorKind::Passkey => ("passkey", "factor-passkey"),
    };
    FactorRow {
        second_factor_only: f.kind == FactorKind::Passkey && f.credential_id.is_none(),
        kind,
        label,
        added: date(f.created_at),
        last_used: f.last_used_at.map(date),
        name: f.name,
        id: f.id,
    }
}

/// What the account page says beyond its lists (messages by catalogue key).
enum Note<'a> {
    None,
    Notice(&'static str),
    Error(&'static str),
    Others(i64),
    NewAppPassword(&'a str),
    /// A notice already in the page's language.
    Text(String),
    /// An error already in the page's language.
    ErrorText(String),
}

/// A new app password: 160 random bits, base32 in groups of four.
fn new_app_password() -> String {
    let b32 = totp::base32(&totp::new_seed());
    let chars: Vec<char> = b32.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

async fn lists(
    app: &App,
    session: &Found,
) -> Result<(Vec<Factor>, i64, Vec<FactorRow>), GatewayError> {
    let Some(s) = app.factors.as_ref().map(|f| &f.store) else {
        return Ok((Vec::new(), 0, Vec::new()));
    };
    let source = owner_of(app, session).await?;
    let owner = Owner {
        name: &session.record.user,
        source: &source,
    };
    let apps = s.app_passwords(Some(&owner)).await?;
    let apps = apps
        .into_iter()
        .map(|a| FactorRow {
            second_factor_only: false,
            kind: "app password",
            label: "factor-app-password",
            added: date(a.created_at),
            last_used: a.last_used_at.map(date),
            name: a.name,
            id: a.id,
        })
        .collect();
    if !enabled(app) {
        return Ok((Vec::new(), 0, apps));
    }
    let factors = s.factors(&owner).await?;
    let left = s.recovery_codes_left(&owner).await?;
    Ok((factors, left, apps))
}

/// The user's sessions, this one marked.
async fn sessions(app: &App, session: &Found) -> Result<Vec<SessionItem>, GatewayError> {
    let rows = revocation::list(app, Some(&session.record.user)).await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionItem {
            current: r.session == session.record.sid,
            id: r.session,
            started: crate::clock::rfc3339(r.started),
            last_seen: crate::clock::rfc3339(r.last_seen),
            address: r.address.unwrap_or_default(),
            clients: r.clients.join(", "),
        })
        .collect())
}

/// The clients the user allowed, with what they may do (`None` without `[storage]`).
async fn connected(
    app: &App,
    session: &Found,
    c: &Chrome,
) -> Result<Option<Vec<ConnectedApp>>, GatewayError> {
    let Some(s) = app.factors.as_ref().map(|f| &f.store) else {
        return Ok(None);
    };
    let source = owner_of(app, session).await?;
    let owner = Owner {
        name: &session.record.user,
        source: &source,
    };
    let consents = s.consents(&owner).await?;
    Ok(Some(
        consents
            .into_iter()
            .map(|k| ConnectedApp {
                name: app
                    .clients
                    .get(&k.client_id)
                    .map_or_else(|| k.client_id.clone(), |c| c.name.clone()),
                scopes: k
                    .scopes
                    .iter()
                    .map(|s| c.t(&format!("consent-scope-{s}")))
                    .collect::<Vec<_>>()
                    .join("; "),
                client_id: k.client_id,
            })
            .collect(),
    ))
}

async fn render(
    app: &App,
    session: &Found,
    c: &Chrome,
    note: Note<'_>,
) -> Result<Reply, GatewayError> {
    let (notice, error, new_app_password) = match note {
        Note::None => (None, None, None),
        Note::Notice(key) => (Some(c.t(key)), None, None),
        Note::Error(key) => (None, Some(c.t(key)), None),
        Note::Others(n) => (Some(c.count("notice-others-ended", n)), None, None),
        Note::NewAppPassword(p) => (None, None, Some(p)),
        Note::Text(t) => (Some(t), None, None),
        Note::ErrorText(t) => (None, Some(t), None),
    };
    let user = &session.record.user;
    let lists = (lists(app, session).await?, sessions(app, session).await?);
    let ((factors, codes_left, apps), sessions) = lists;
    let has_totp = factors.iter().any(|f| f.kind == FactorKind::Totp);
    let rows: Vec<FactorRow> = factors.into_iter().map(row).collect();
    let token = sign_in::session_csrf(session, "account");
    let connected = connected(app, session, c).await?;
    let source = owner_of(app, session).await?;
    let view = AccountPage {
        c,
        username: user,
        csrf: &token,
        enabled: enabled(app),
        passkeys: app.factors.as_ref().is_some_and(|f| f.passkeys.is_some()),
        has_totp,
        factors: &rows,
        codes_left,
        app_passwords_enabled: app.factors.is_some(),
        app_passwords: &apps,
        new_app_password,
        sessions: &sessions,
        connected: connected.as_deref(),
        password: crate::app::people::settable_from(app, &source),
        min_password: app.cfg.login.min_password_length,
        notice: notice.as_deref(),
        error: error.as_deref(),
    };
    let reply = pages::render(c, if error.is_some() { 400 } else { 200 }, &view);
    Ok(if view.passkeys && view.enabled {
        pages::allow_script(c, reply)
    } else {
        reply
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passkey(credential_id: Option<&str>) -> Factor {
        Factor {
            id: "f".into(),
            username: "alice".into(),
            kind: FactorKind::Passkey,
            name: "Key".into(),
            created_at: 0,
            last_used_at: None,
            credential_id: credential_id.map(Into::into),
        }
    }

    #[test]
    fn passkeys_from_before_sign_in_are_labelled_second_factor_only() {
        assert!(row(passkey(None)).second_factor_only);
        assert!(!row(passkey(Some("Y3JlZA"))).second_factor_only);
        let c = Chrome::new(
            crate::http::i18n::Lang::from_code("de").unwrap(),
            std::sync::Arc::default(),
            "/account",
            None,
        );
        let rows = [row(passkey(None))];
        let page = AccountPage {
            c: &c,
            username: "alice",
            csrf: "t",
            enabled: true,
            passkeys: true,
            has_totp: false,
            factors: &rows,
            codes_left: 1,
            app_passwords_enabled: false,
            app_passwords: &[],
            new_app_password: None,
            sessions: &[],
            connected: None,
            password: Err("password-managed-by-operator"),
            min_password: 12,
            notice: None,
            error: None,
        };
        let html = String::from_utf8(pages::render(&c, 200, &page).body.to_vec()).unwrap();
        assert!(html.contains("nur als zweiter Faktor"), "{html}");
        assert!(
            html.contains("1 unbenutzter Wiederherstellungscode."),
            "{html}"
        );
        assert!(html.contains("zuletzt verwendet nie"), "{html}");
    }
}
