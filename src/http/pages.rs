//! The HTML pages authgate draws itself. Templates escape every value; the headers sent with a
//! page (CSP without inline script, no framing, no referrer, no caching) come from `page_headers`.

use std::sync::LazyLock;

pub use super::look::Chrome;

use askama::Template;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::response::Reply;

/// The one script authgate serves (`/assets/webauthn.js`): the WebAuthn ceremonies.
pub const WEBAUTHN_JS: &str = include_str!("assets/webauthn.js");

static SCRIPT_HASH: LazyLock<String> = LazyLock::new(|| {
    let hash =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(WEBAUTHN_JS.as_bytes()));
    format!("sha256-{hash}")
});

/// The `integrity` of the script tag: the CSP allows that script by this hash and nothing else.
pub fn script_integrity() -> &'static str {
    SCRIPT_HASH.as_str()
}

/// A page that runs `/assets/webauthn.js`: its CSP allows that script, and no other.
pub fn allow_script(c: &Chrome, mut reply: Reply) -> Reply {
    for (name, value) in &mut reply.headers {
        if name.eq_ignore_ascii_case("Content-Security-Policy") {
            *value = c.look.csp(true).to_string();
        }
    }
    reply
}

/// Headers every page of ours carries (hardening: XSS / clickjacking on own pages).
pub fn page_headers(c: &Chrome, reply: Reply) -> Reply {
    reply
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Content-Security-Policy", c.look.csp(false))
        .header("Content-Language", c.lang.code())
        .header("X-Frame-Options", "DENY")
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer")
        .header("Cache-Control", "no-store")
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: &'a Chrome,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// A full error page with its status.
pub fn error(c: &Chrome, status: u16, title: &str, message: &str) -> Reply {
    render(
        c,
        status,
        &ErrorPage {
            c,
            status,
            title,
            message,
        },
    )
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub c: &'a Chrome,
    /// The application the person signs in for (a route's or a client's name).
    pub app: Option<&'a str>,
    /// The same, when it was configured: the title carries it too.
    pub title_app: Option<&'a str>,
    pub password_form: bool,
    pub providers: &'a [ProviderLink],
    pub auth: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// "Sign in with a passkey", and passkeys offered in the username's autofill.
    pub passkey: bool,
    /// "Forgot your password?" (authgate's own users, or a directory that lets them).
    pub forgot: bool,
}

/// Choosing a password through an invitation or a reset link.
#[derive(Template)]
#[template(path = "set_password.html")]
pub struct SetPasswordPage<'a> {
    pub c: &'a Chrome,
    pub username: &'a str,
    /// `/invite` or `/login/reset`.
    pub action: &'a str,
    pub token: &'a str,
    pub min: usize,
    pub min_text: String,
    pub error: Option<&'a str>,
}

/// "Forgot your password?": the form, or the answer that is the same for everyone.
#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    pub sent: bool,
}

/// A "Sign in with …" button of the login page.
pub struct ProviderLink {
    pub id: String,
    pub name: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "second_factor.html")]
pub struct SecondFactorPage<'a> {
    pub c: &'a Chrome,
    pub username: &'a str,
    pub mfa: &'a str,
    pub csrf: &'a str,
    pub passkey: bool,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "enrol.html")]
pub struct EnrolPage<'a> {
    pub c: &'a Chrome,
    pub username: &'a str,
    pub qr: Option<&'a str>,
    pub secret: &'a str,
    pub uri: &'a str,
    pub enrol: &'a str,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "recovery.html")]
pub struct RecoveryPage<'a> {
    pub c: &'a Chrome,
    pub codes: &'a [String],
    pub cont: &'a str,
    pub csrf: &'a str,
}

/// One line of the account page's factor list.
pub struct FactorRow {
    /// A passkey made before passkeys could sign in on their own.
    pub second_factor_only: bool,
    pub id: String,
    /// For scripts and tests: `totp`, `passkey`, `app-password`.
    pub kind: &'static str,
    /// The catalogue key of the kind's name.
    pub label: &'static str,
    pub name: String,
    pub added: String,
    /// When last used; `None`: never.
    pub last_used: Option<String>,
}

impl FactorRow {
    pub fn used(&self, c: &Chrome) -> String {
        self.last_used
            .clone()
            .unwrap_or_else(|| c.t("factor-never"))
    }
}

/// A session of the user, on the account page.
pub struct SessionItem {
    pub id: String,
    pub started: String,
    pub last_seen: String,
    pub address: String,
    pub clients: String,
    /// The session this page is seen in.
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub c: &'a Chrome,
    pub username: &'a str,
    pub csrf: &'a str,
    pub enabled: bool,
    pub passkeys: bool,
    pub has_totp: bool,
    pub factors: &'a [FactorRow],
    pub codes_left: i64,
    pub app_passwords_enabled: bool,
    pub app_passwords: &'a [FactorRow],
    pub new_app_password: Option<&'a str>,
    pub sessions: &'a [SessionItem],
    /// Clients the user allowed (consent), when `[storage]` keeps them.
    pub connected: Option<&'a [ConnectedApp]>,
    /// The password form (`Ok`), or who keeps the password (a catalogue key).
    pub password: Result<(), &'static str>,
    /// The smallest length a new password may have.
    pub min_password: usize,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// A client the user allowed, on the account page.
pub struct ConnectedApp {
    pub client_id: String,
    pub name: String,
    /// What it may do, in the page's language.
    pub scopes: String,
}

/// What a device asks for, on the device page.
pub struct DeviceRequest {
    pub client: String,
    pub scopes: String,
    pub user_code: String,
}

/// Asks the user whether a client may use their account (OIDC Core §3.1.2.4).
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub c: &'a Chrome,
    pub username: &'a str,
    pub client: &'a str,
    /// What each scope lets the client do, in the page's language.
    pub scopes: &'a [String],
    /// The sealed request waiting for the answer.
    pub consent: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage<'a> {
    pub c: &'a Chrome,
    pub username: &'a str,
    pub csrf: &'a str,
    pub request: Option<DeviceRequest>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub c: &'a Chrome,
    pub title: &'a str,
    pub message: &'a str,
    pub link: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "redirect.html")]
struct RedirectPage<'a> {
    c: &'a Chrome,
    url: &'a str,
}

/// A redirect whose body also leads the browser on (a refresh and a link): for front proxies
/// that serve it under another status, like Traefik's `errors` middleware turning it into
/// the body of a 401.
pub fn redirect(c: &Chrome, status: u16, url: &str) -> Reply {
    render(c, status, &RedirectPage { c, url }).header("Location", url)
}

/// A short page with a title and a message (signed in, signed out).
pub fn message(c: &Chrome, status: u16, title: &str, message: &str, link: Option<&str>) -> Reply {
    render(
        c,
        status,
        &MessagePage {
            c,
            title,
            message,
            link,
        },
    )
}

/// Renders a template into a page reply; a template that fails to render (it cannot, short of a
/// bug) becomes a plain 500 rather than a panic.
pub fn render(c: &Chrome, status: u16, t: &impl Template) -> Reply {
    match t.render() {
        Ok(body) => page_headers(c, Reply::new(status).body(body)),
        Err(e) => {
            log::error!("template failed to render: {e}");
            page_headers(c, Reply::new(500).body("internal error"))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_page_escapes() {
        let c = super::Chrome::plain(std::sync::Arc::default());
        let r = super::error(&c, 400, "Bad <b>", "<script>alert(1)</script>");
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(!body.contains("<script>alert"));
        assert!(body.contains("alert(1)") && !body.contains("<b>"));
    }
}

/// The admin console: one page, one of its views.
#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage<'a> {
    pub c: &'a Chrome,
    pub csrf: &'a str,
    /// The sections, and which one this is.
    pub nav: &'a [(&'static str, &'static str)],
    pub here: &'a str,
    pub view: AdminView,
    /// The users' search, or the trail's user filter.
    pub search: &'a str,
    pub event: &'a str,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// What a view of the admin console lists. Nothing in it is a secret.
pub enum AdminView {
    Users(Vec<AdminUser>),
    Sessions(Vec<AdminSession>),
    AppPasswords(Vec<AdminAppPassword>),
    Clients(Vec<AdminClient>),
    Audit(Vec<AdminAuditLine>),
}

pub struct AdminUser {
    pub username: String,
    pub email: String,
    /// A catalogue key: active, invited, disabled.
    pub status: &'static str,
    pub disabled: bool,
    pub groups: String,
}

pub struct AdminSession {
    pub id: String,
    pub user: String,
    pub started: String,
    pub last_seen: String,
    pub address: String,
    pub clients: String,
}

pub struct AdminAppPassword {
    pub id: String,
    pub user: String,
    pub name: String,
    pub added: String,
}

pub struct AdminClient {
    pub id: String,
    pub name: String,
    pub redirects: String,
    pub grants: String,
}

pub struct AdminAuditLine {
    pub time: String,
    pub event: String,
    pub who: String,
    pub from: String,
    pub outcome: String,
}
