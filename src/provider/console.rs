//! `/admin`: the admin console, for members of `[admin] groups`. Every page needs a session
//! that used a second factor and signed in within the last 15 minutes (else a step-up or a
//! new sign-in); every action is a POST bound to the session by its CSRF token, and written to
//! the audit trail as `admin.*`. Nothing the console shows is a secret: invitations go by mail.

use super::sign_in::{self, pending_for, provider_session, send_to_login};
use super::Request;
use crate::app::people::{new_link, INVITATION_SECONDS};
use crate::app::{revocation, App};
use crate::audit::Event;
use crate::directory::db_users::DbUsers;
use crate::http::pages::{self, AdminPage, AdminView, Chrome};
use crate::http::params::Params;
use crate::http::{GatewayError, Reply};
use crate::session::Found;
use crate::storage::{LinkPurpose, StoredUser};

pub const PATH: &str = "/admin";

/// How recent the sign-in of a console session must be.
const FRESH_SECONDS: u64 = 15 * 60;

const NAV: &[(&str, &str)] = &[
    ("/admin", "admin-users"),
    ("/admin/sessions", "admin-sessions"),
    ("/admin/app-passwords", "admin-app-passwords"),
    ("/admin/clients", "admin-clients"),
    ("/admin/audit", "admin-audit"),
];

/// `GET,POST /admin…`.
pub async fn handle(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let c = req.chrome(app);
    let session = match admitted(app, req, &c).await? {
        Ok(s) => s,
        Err(reply) => return Ok(reply),
    };
    let path = req.facts.path.as_str();
    let mut note = Note::default();
    if req.method() == "POST" {
        let form = req.form()?;
        sign_in::check_session_csrf(&session, "admin", &form)?;
        note = act(app, req, (&session, &c), path, &form).await?;
    }
    view(app, req, (&session, &c), path, note).await
}

/// The session of an administrator who used a second factor and signed in recently; else the
/// reply that gets them there (or 403).
async fn admitted(
    app: &App,
    req: &Request<'_>,
    c: &Chrome,
) -> Result<Result<Found, Reply>, GatewayError> {
    let back = || pending_for(None, Some(PATH.to_string()));
    let Some(session) = provider_session(app, req, app.now()).await? else {
        return send_to_login(app, req, back()).await.map(Err);
    };
    let user = app.directory.active(&session.record.user).await?;
    // Groups from an upstream provider never make an administrator: such a group may be one
    // its users can join themselves.
    let admin = user.is_some_and(|u| {
        !matches!(u.source, crate::directory::Source::Upstream(_))
            && u.groups.iter().any(|g| app.cfg.admin.groups.contains(g))
            && session.record.belongs_to(&u)
    });
    if !admin || app.factors.is_none() {
        return Err(GatewayError::Forbidden);
    }
    if !session.record.mfa() {
        return match sign_in::step_up(app, &session, back(), true, c).await? {
            Some(reply) => Ok(Err(reply)),
            None => Err(GatewayError::SecondFactorRequired),
        };
    }
    if app.now().saturating_sub(session.record.auth_time) > FRESH_SECONDS {
        return send_to_login(app, req, back()).await.map(Err);
    }
    Ok(Ok(session))
}

/// What an action says on the page that follows.
#[derive(Default)]
struct Note {
    notice: Option<String>,
    error: Option<String>,
}

async fn act(
    app: &App,
    req: &Request<'_>,
    (session, c): (&Found, &Chrome),
    path: &str,
    form: &Params,
) -> Result<Note, GatewayError> {
    let store = &app.factors()?.store;
    let user = form.get("user").unwrap_or("");
    let admin = session.record.user.as_str();
    let done = |event: &str, found: bool| {
        let e = Event {
            event,
            actor: Some(admin),
            subject: Some(user),
            outcome: if found { "ok" } else { "not_found" },
            ..Event::default()
        };
        app.record(Some((req.header, req.facts)), e);
        let (notice, error) = match found {
            true => (Some(c.t("admin-done")), None),
            // Users of the configuration or the directory are changed there.
            false => (None, Some(c.t("admin-nothing"))),
        };
        Note { notice, error }
    };
    Ok(match (path, form.get("action").unwrap_or("")) {
        (PATH, "create") => return create(app, req, (session, c), form).await,
        (PATH, "disable" | "enable") => {
            let disable = form.get("action") == Some("disable");
            let found = store.set_disabled(user, disable).await?;
            if found && disable {
                revocation::end_user(app, user).await?;
                if let Some((u, _)) = store.user(user).await? {
                    crate::app::people::void_links(app, &DbUsers::info(u)).await?;
                }
            }
            done(
                if disable {
                    "admin.user_disabled"
                } else {
                    "admin.user_enabled"
                },
                found,
            )
        }
        (PATH, "set-groups") => {
            let found = store
                .set_groups(user, &groups(form.get("groups").unwrap_or("")))
                .await?;
            done("admin.groups_set", found)
        }
        (PATH, "reset-factors") => {
            let found = store.reset(user).await? > 0;
            done("admin.factors_reset", found)
        }
        (PATH, "unlock") => {
            crate::login::regulation::unlock(app.stores.counters.as_ref(), user).await?;
            done("admin.user_unlocked", true)
        }
        ("/admin/sessions", "end-session") => {
            let found =
                revocation::end_sid(app, form.get("session").unwrap_or(""), None).await? > 0;
            done("admin.session_ended", found)
        }
        ("/admin/app-passwords", "revoke") => {
            let found = store
                .revoke_app_passwords(user, Some(form.get("id").unwrap_or("")))
                .await?
                > 0;
            done("admin.app_password_revoked", found)
        }
        _ => return Err(GatewayError::BadRequest("unknown admin action".into())),
    })
}

/// The groups of the console's comma-separated field (names that would not reach apps whole
/// are left out).
fn groups(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|g| crate::app::people::valid_group(g))
        .map(str::to_string)
        .collect()
}

/// A new user of authgate's own, invited by mail.
async fn create(
    app: &App,
    req: &Request<'_>,
    (session, c): (&Found, &Chrome),
    form: &Params,
) -> Result<Note, GatewayError> {
    let refused = |key: &str| Note {
        notice: None,
        error: Some(c.t(key)),
    };
    let name = form.get("user").unwrap_or("").trim();
    let email = form.get("email").unwrap_or("").trim();
    let display = form.get("name").unwrap_or("");
    let valid = crate::app::people::valid_username(name)
        && display.len() <= 256
        && !display.chars().any(char::is_control)
        && email.parse::<lettre::Address>().is_ok();
    if !valid || app.outbox.is_none() {
        return Ok(refused(if valid {
            "admin-needs-smtp"
        } else {
            "admin-bad-input"
        }));
    }
    if app.directory.find(name).await?.is_some()
        || app.factors()?.store.user_name_taken(name).await?
    {
        return Ok(refused("admin-name-taken"));
    }
    let user = StoredUser {
        username: name.to_string(),
        email: Some(email.to_string()),
        name: form.get("name").map(str::to_string),
        groups: groups(form.get("groups").unwrap_or("")),
        has_password: false,
        disabled: false,
        created_at: 0,
    };
    let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
    if !app.factors()?.store.add_user(&user, now).await? {
        return Ok(refused("admin-name-taken"));
    }
    let info = DbUsers::info(user);
    let link = new_link(app, LinkPurpose::Invite, &info, INVITATION_SECONDS).await?;
    app.mail(crate::mail::Kind::Invite { link: &link }, &info, c.lang);
    let e = Event {
        event: "admin.user_invited",
        actor: Some(&session.record.user),
        subject: Some(name),
        outcome: "ok",
        ..Event::default()
    };
    app.record(Some((req.header, req.facts)), e);
    Ok(Note {
        notice: Some(c.t_with("admin-invite-sent", &[("user", name)])),
        error: None,
    })
}

async fn view(
    app: &App,
    req: &Request<'_>,
    (session, c): (&Found, &Chrome),
    path: &str,
    note: Note,
) -> Result<Reply, GatewayError> {
    let query = req.query()?;
    let search = query.get("q").or(query.get("user")).unwrap_or("");
    let event = query.get("event").unwrap_or("");
    let view = match path {
        "/admin/sessions" => AdminView::Sessions(super::console_views::sessions(app).await?),
        "/admin/app-passwords" => {
            AdminView::AppPasswords(super::console_views::app_passwords(app).await?)
        }
        "/admin/clients" => AdminView::Clients(super::console_views::clients(app)),
        "/admin/audit" => AdminView::Audit(super::console_views::audit(app, search, event)),
        PATH => AdminView::Users(super::console_views::users(app, search).await?),
        _ => return Err(GatewayError::NoRoute),
    };
    let token = sign_in::session_csrf(session, "admin");
    let page = AdminPage {
        c,
        csrf: &token,
        nav: NAV,
        here: path,
        view,
        search,
        event,
        notice: note.notice.as_deref(),
        error: note.error.as_deref(),
    };
    Ok(pages::render(
        c,
        if note.error.is_some() { 400 } else { 200 },
        &page,
    ))
}
