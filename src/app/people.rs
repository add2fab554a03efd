//! Running people: invitations and password resets through single-use links kept in
//! `[storage]`, password changes (authgate's own users, or the directory's through RFC 3062),
//! the mails that go with them, and the audit trail every step writes to.

use pingora::http::RequestHeader;

use super::App;
use crate::audit::Event;
use crate::directory::{Source, UserInfo};
use crate::http::facts::Facts;
use crate::http::i18n::Lang;
use crate::http::GatewayError;
use crate::login::policy::{self, Weakness};
use crate::mail::Kind;
use crate::secret::new_secret;
use crate::storage::{LinkOwner, LinkPurpose};

/// How long an invitation works.
pub const INVITATION_SECONDS: u64 = 72 * 3600;
/// How long a reset link works.
pub const RESET_SECONDS: u64 = 15 * 60;
/// Where the links lead.
pub const INVITE_PATH: &str = "/invite";
pub const RESET_PATH: &str = "/login/reset";

/// A user name authgate's other parts can carry: no spaces, commas, colons, slashes or control
/// characters (it travels in headers and Basic credentials), at most 128 bytes.
pub fn valid_username(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 128
        && !n
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, ',' | ':' | '/'))
}

/// A group name that reaches apps whole (`X-Forwarded-Groups` joins them with commas).
pub fn valid_group(g: &str) -> bool {
    !g.is_empty() && g.trim() == g && !g.contains(',') && !g.chars().any(char::is_control)
}

/// Why a password could not be set.
#[derive(Debug)]
pub enum SetError {
    /// The new password is refused: say why.
    Weak(Weakness),
    /// The current password given is wrong.
    WrongCurrent,
    /// The operator (the configuration) or a directory that does not allow it keeps it.
    Managed(&'static str),
    Failed(GatewayError),
}

impl From<GatewayError> for SetError {
    fn from(e: GatewayError) -> SetError {
        SetError::Failed(e)
    }
}

impl App {
    /// Writes `event` to the audit trail, with the address and user agent of `from`.
    pub fn record<'a>(&self, from: Option<(&'a RequestHeader, &Facts)>, mut event: Event<'a>) {
        if let Some((header, facts)) = from {
            event.client_ip = facts.client_ip.map(|ip| ip.to_string());
            event.user_agent = header
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
        }
        self.audit.record(&event, self.now());
    }

    /// Opens the audit file again (log rotation: SIGHUP, SIGUSR1).
    pub fn reopen_audit(&self) {
        self.audit.reopen();
    }

    /// Queues the mail `kind` to `user` (nothing without `[smtp]` or an address).
    pub fn mail(&self, kind: Kind<'_>, user: &UserInfo, lang: Lang) {
        let (Some(outbox), Some(to)) = (&self.outbox, &user.email) else {
            return;
        };
        let b = &self.cfg.branding;
        let mail = crate::mail::compose(
            kind,
            (&user.username, to),
            lang,
            (&b.name, &b.primary_color),
        );
        outbox.send(mail);
    }

    /// The password policy of `[login]`.
    pub fn password_policy(&self) -> policy::Policy<'_> {
        let l = &self.cfg.login;
        policy::Policy {
            min_length: l.min_password_length,
            min_score: l.min_password_score,
            breached: l.breached_passwords_file.as_deref(),
        }
    }
}

/// A new single-use link for `purpose` to `user`, good for `seconds`: its URL.
pub async fn new_link(
    app: &App,
    purpose: LinkPurpose,
    user: &UserInfo,
    seconds: u64,
) -> Result<String, GatewayError> {
    let token = new_secret();
    let owner = LinkOwner {
        username: user.username.clone(),
        source: String::from(user.source.clone()),
    };
    let now = app.now();
    let at = |t: u64| i64::try_from(t).unwrap_or(i64::MAX);
    app.factors()?
        .store
        .add_link(&token, purpose, &owner, at(now + seconds), at(now))
        .await?;
    let path = match purpose {
        LinkPurpose::Invite => INVITE_PATH,
        LinkPurpose::Reset => RESET_PATH,
    };
    Ok(format!("{}{path}?token={token}", app.cfg.server.issuer))
}

/// Ends every link still out for `user` (a password set, the account disabled).
pub async fn void_links(app: &App, user: &UserInfo) -> Result<(), GatewayError> {
    if let Some(f) = &app.factors {
        let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
        let source = String::from(user.source.clone());
        f.store.void_links(&user.username, &source, now).await?;
    }
    Ok(())
}

/// Whether "Forgot your password?" is offered: mail can go out, and `[storage]` keeps the
/// links (and authgate's own users; the directory's when it lets them change passwords).
pub fn resets_offered(app: &App) -> bool {
    app.cfg.login.password_form && app.outbox.is_some() && app.factors.is_some()
}

/// Whether `user`'s password can be set through authgate: authgate's own users, and the
/// directory's when `[ldap] allow_password_change` says so.
pub fn password_settable(app: &App, user: &UserInfo) -> Result<(), &'static str> {
    settable_from(app, &user.source)
}

/// `password_settable` for a user from `source`.
pub fn settable_from(app: &App, source: &Source) -> Result<(), &'static str> {
    match source {
        Source::Db => Ok(()),
        Source::Ldap if app.ldap_passwords.is_some() => Ok(()),
        Source::Ldap => Err("password-managed-by-directory"),
        _ => Err("password-managed-by-operator"),
    }
}

/// Whether `new` may be `user`'s password (the policy of `[login]`, which knows their name,
/// address and display name).
pub fn check_new(app: &App, user: &UserInfo, new: &str) -> Result<(), Weakness> {
    let mut hints = vec![user.username.as_str()];
    hints.extend(user.email.as_deref());
    hints.extend(user.name.as_deref());
    policy::check(&app.password_policy(), new, &hints)
}

/// What proves a password change: the current password (typed at `/account`, from this
/// address: wrong ones count towards the lockout like a sign-in's), or a link already used up.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    Current(&'a str, Option<std::net::IpAddr>),
    Link,
}

/// Sets `user`'s password to `new` (after checking it against the policy), with `proof`.
pub async fn set_password(
    app: &App,
    user: &UserInfo,
    proof: Proof<'_>,
    new: &str,
) -> Result<(), SetError> {
    password_settable(app, user).map_err(SetError::Managed)?;
    check_new(app, user, new).map_err(SetError::Weak)?;
    if user.source == Source::Ldap {
        let ldap = app
            .ldap_passwords
            .as_ref()
            .ok_or(SetError::Managed("password-managed-by-directory"))?;
        return match proof {
            Proof::Current(old, ip) => {
                let check = || async move {
                    let done = ldap.change_password(&user.username, Some(old), new).await?;
                    Ok(done.then_some(()))
                };
                attempted(app, user, ip, check).await
            }
            Proof::Link => match ldap.change_password(&user.username, None, new).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(SetError::WrongCurrent),
                Err(e) => Err(SetError::Failed(e.into())),
            },
        };
    }
    if let Proof::Current(old, ip) = proof {
        let check = || async move {
            let found = app.directory.verify_password(&user.username, old).await?;
            Ok(found.filter(|u| u.source == Source::Db).map(|_| ()))
        };
        attempted(app, user, ip, check).await?;
    }
    let new = new.to_string();
    let hash = tokio::task::spawn_blocking(move || crate::login::password::hash(&new))
        .await
        .map_err(|_| GatewayError::Internal)?
        .map_err(|_| GatewayError::Internal)?;
    let store = &app.factors()?.store;
    if !store
        .set_password_hash(&user.username, &hash)
        .await
        .map_err(GatewayError::from)?
    {
        return Err(SetError::Failed(GatewayError::NoRoute));
    }
    Ok(())
}

/// `check` of the current password, counted like a sign-in (lockout, rate of failures).
async fn attempted<F, Fut>(
    app: &App,
    user: &UserInfo,
    ip: Option<std::net::IpAddr>,
    check: F,
) -> Result<(), SetError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Option<()>, GatewayError>>,
{
    use super::attempts::{Attempted, Credential};
    match app
        .attempt(&user.username, ip, Credential::Form, check)
        .await?
    {
        Attempted::Right(()) => Ok(()),
        Attempted::Wrong | Attempted::Locked => Err(SetError::WrongCurrent),
    }
}

/// After a password was set: every session of the user ends but `keep` (their refresh tokens
/// with them), every link still out for them stops working, and they are told by mail.
pub async fn after_password_set(
    app: &App,
    user: &UserInfo,
    keep: Option<&crate::session::Key>,
    lang: Lang,
) -> Result<(), GatewayError> {
    super::revocation::end_others(app, &user.username, keep).await?;
    void_links(app, user).await?;
    app.mail(Kind::PasswordChanged, user, lang);
    Ok(())
}
