//! The pages of people's own passwords: `/invite` (an invitation's first password),
//! `/login/forgot` (a reset link by mail) and `/login/reset` (the new password). A link is
//! used up only by the form's POST: opening it (a mail scanner's GET) changes nothing. A link's
//! token never reaches a log line: the access log records paths without queries.

use super::Request;
use crate::app::people::{self, SetError, RESET_PATH, RESET_SECONDS};
use crate::app::App;
use crate::audit::Event;
use crate::directory::{Source, UserInfo};
use crate::http::pages::{self, Chrome, ForgotPage, SetPasswordPage};
use crate::http::{GatewayError, Reply};
use crate::login::policy::Weakness;
use crate::storage::{LinkOwner, LinkPurpose};

/// `GET,POST /invite` and `/login/reset`.
pub async fn link_page(
    app: &App,
    req: &Request<'_>,
    purpose: LinkPurpose,
) -> Result<Reply, GatewayError> {
    let c = req.chrome(app);
    let params = req.params()?;
    let token = params.get("token").unwrap_or("");
    let store = &app.factors()?.store;
    let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
    let Some(owner) = store.peek_link(token, purpose, now).await? else {
        return Ok(invalid(&c));
    };
    let Some(user) = user_of(app, &owner).await? else {
        return Ok(invalid(&c));
    };
    if purpose == LinkPurpose::Invite && has_password(app, &user).await? {
        return Ok(invalid(&c));
    }
    let link = Link {
        token,
        purpose,
        user: &user,
        now,
    };
    if req.method() != "POST" {
        return Ok(form(app, &c, &link, None, 200));
    }
    set_from_link(app, req, &c, &link, &params).await
}

/// A link being followed: its token and purpose, whose it is, and when.
struct Link<'a> {
    token: &'a str,
    purpose: LinkPurpose,
    user: &'a UserInfo,
    now: i64,
}

/// The set-password form of `link`, with `error` when the last try was refused.
fn form(app: &App, c: &Chrome, link: &Link<'_>, error: Option<String>, status: u16) -> Reply {
    let min = app.cfg.login.min_password_length;
    let view = SetPasswordPage {
        c,
        username: &link.user.username,
        action: match link.purpose {
            LinkPurpose::Invite => people::INVITE_PATH,
            LinkPurpose::Reset => RESET_PATH,
        },
        token: link.token,
        min,
        min_text: min.to_string(),
        error: error.as_deref(),
    };
    pages::render(c, status, &view)
}

/// The form's POST: the policy first, then the link used up (one UPDATE: of two tabs, or two
/// requests at once, only one goes on), then the password set.
async fn set_from_link(
    app: &App,
    req: &Request<'_>,
    c: &Chrome,
    link: &Link<'_>,
    params: &crate::http::params::Params,
) -> Result<Reply, GatewayError> {
    let user = link.user;
    let refused = |w| Ok(form(app, c, link, Some(weakness(app, c, w)), 400));
    let (new, again) = (
        params.get("password").unwrap_or(""),
        params.get("again").unwrap_or(""),
    );
    if new != again {
        return refused(Weakness::Mismatch);
    }
    if let Err(w) = people::check_new(app, user, new) {
        return refused(w);
    }
    let store = &app.factors()?.store;
    if store
        .use_link(link.token, link.purpose, link.now)
        .await?
        .is_none()
    {
        return Ok(invalid(c));
    }
    match people::set_password(app, user, people::Proof::Link, new).await {
        Ok(()) => {}
        Err(SetError::Weak(w)) => return refused(w),
        Err(SetError::Managed(key)) => {
            let title = c.t("link-invalid-title");
            return Ok(pages::message(c, 400, &title, &c.t(key), None));
        }
        Err(SetError::WrongCurrent) => return Ok(invalid(c)),
        Err(SetError::Failed(e)) => return Err(e),
    }
    people::after_password_set(app, user, None, c.lang).await?;
    let event = match link.purpose {
        LinkPurpose::Invite => "password.set",
        LinkPurpose::Reset => "password.reset",
    };
    super::audit(app, req, event, &user.username, "ok");
    let (title, text) = (c.t("password-set-title"), c.t("password-set"));
    Ok(pages::message(c, 200, &title, &text, Some("/account")))
}

fn invalid(c: &Chrome) -> Reply {
    pages::message(
        c,
        410,
        &c.t("link-invalid-title"),
        &c.t("link-invalid"),
        Some("/login/forgot"),
    )
}

/// The message for `w`, in the page's language.
pub fn weakness(app: &App, c: &Chrome, w: Weakness) -> String {
    match w {
        Weakness::TooShort => {
            let min = app.cfg.login.min_password_length.to_string();
            c.t_with(w.key(), &[("min", min.as_str())])
        }
        other => c.t(other.key()),
    }
}

/// Whether `user` (of authgate's own) has set a password: an invitation is for the first one.
async fn has_password(app: &App, user: &UserInfo) -> Result<bool, GatewayError> {
    let stored = app.factors()?.store.user(&user.username).await?;
    Ok(stored.is_some_and(|(u, _)| u.has_password))
}

/// The user a link was made for, as the directory knows them now (from the same source).
async fn user_of(
    app: &App,
    owner: &LinkOwner,
) -> Result<Option<std::sync::Arc<UserInfo>>, GatewayError> {
    let source = Source::from(owner.source.clone());
    Ok(app
        .directory
        .active(&owner.username)
        .await?
        .filter(|u| u.source == source))
}

/// `GET,POST /login/forgot`: the same answer whether or not the name or address is known;
/// rate-limited per address (as sign-ins are) and per user (one mail a minute).
pub async fn forgot(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let c = req.chrome(app);
    if !people::resets_offered(app) {
        return Err(GatewayError::NotConfigured("[smtp]"));
    }
    let csrf = forgot_csrf(app);
    if req.method() != "POST" {
        return Ok(pages::render(
            &c,
            200,
            &ForgotPage {
                c: &c,
                csrf: &csrf,
                sent: false,
            },
        ));
    }
    app.admit(req.facts.client_ip).await?;
    let form = req.form()?;
    if form.get("csrf") != Some(csrf.as_str()) {
        return Err(GatewayError::FormExpired);
    }
    let who = form.get("who").unwrap_or("").trim();
    if let Some(user) = find(app, who).await? {
        send_reset(app, req, &user, c.lang).await?;
    }
    Ok(pages::render(
        &c,
        200,
        &ForgotPage {
            c: &c,
            csrf: "",
            sent: true,
        },
    ))
}

/// A token the form carries back; the form changes nothing but sending a mail, so a fixed one
/// per configuration is enough to keep other sites from filling it.
fn forgot_csrf(app: &App) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        format!("forgot {}", app.cfg.server.issuer).as_bytes(),
    ))
}

/// The user called `who`, or the one user of authgate's own whose address it is, when their
/// password is authgate's to reset and they have an address.
async fn find(app: &App, who: &str) -> Result<Option<std::sync::Arc<UserInfo>>, GatewayError> {
    if who.is_empty() || who.len() > 256 {
        return Ok(None);
    }
    let mut user = app.directory.active(who).await?;
    if user.is_none() && who.contains('@') {
        if let Some(s) = app.factors.as_ref().map(|f| &f.store) {
            if let Some(stored) = s.user_by_email(who).await? {
                user = app
                    .directory
                    .active(&stored.username)
                    .await?
                    .filter(|u| u.source == Source::Db);
            }
        }
    }
    Ok(user.filter(|u| u.email.is_some() && people::password_settable(app, u).is_ok()))
}

/// A reset link to `user`, at most one a minute.
async fn send_reset(
    app: &App,
    req: &Request<'_>,
    user: &UserInfo,
    lang: crate::http::i18n::Lang,
) -> Result<(), GatewayError> {
    let key = crate::session::Key::id(
        crate::session::Kind::Rate,
        &format!("reset {}", user.username),
    );
    let n = app
        .stores
        .counters
        .incr(&key, std::time::Duration::from_secs(60))
        .await?;
    let from = Some((req.header, req.facts));
    if n > 1 {
        app.record(
            from,
            Event {
                event: "password.reset_requested",
                subject: Some(&user.username),
                outcome: "rate_limited",
                ..Event::default()
            },
        );
        return Ok(());
    }
    let link = people::new_link(app, LinkPurpose::Reset, user, RESET_SECONDS).await?;
    app.mail(crate::mail::Kind::Reset { link: &link }, user, lang);
    app.record(
        from,
        Event {
            event: "password.reset_requested",
            subject: Some(&user.username),
            outcome: "ok",
            ..Event::default()
        },
    );
    Ok(())
}
