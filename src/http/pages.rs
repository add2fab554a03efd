//! The HTML pages authgate draws itself. Templates escape every value; the headers sent with a
//! page (CSP without inline script, no framing, no referrer, no caching) come from `page_headers`.

use std::sync::LazyLock;

use askama::Template;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::response::Reply;

/// The one stylesheet, inlined and allowed by its hash in the CSP.
pub const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;color:#1c1e21;margin:0}\
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem 2.25rem;border-radius:10px;box-shadow:0 1px 4px rgba(0,0,0,.12)}\
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.9rem 0 .3rem;font-weight:600}\
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #8a8f98;border-radius:6px;font-size:1rem}\
input:focus,button:focus{outline:3px solid #7aa7ff;outline-offset:1px}\
button{margin-top:1.4rem;width:100%;padding:.7rem;border:0;border-radius:6px;background:#1f5eff;color:#fff;font-size:1rem;font-weight:600;cursor:pointer}\
.error{background:#fdecea;color:#8a1c12;border:1px solid #f5c2bd;padding:.6rem .8rem;border-radius:6px}\
.status{color:#5f6368;font-size:.9rem}.muted{color:#5f6368;font-size:.9rem}\
h2{font-size:1.1rem;margin:1.6rem 0 .5rem}code{word-break:break-all;font-size:.85rem}ol,ul{padding-left:1.2rem}\
.button{display:block;box-sizing:border-box;margin-top:1rem;padding:.7rem;border-radius:6px;background:#24292f;color:#fff;text-align:center;text-decoration:none;font-weight:600}\
.factor form{display:inline}.factor button{width:auto;margin:.3rem 0 0;padding:.3rem .7rem;font-size:.85rem;background:#8a1c12}";

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

fn csp(script: bool) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    let script = if script {
        format!(" script-src '{}'; connect-src 'self';", script_integrity())
    } else {
        String::new()
    };
    format!(
        "default-src 'none'; style-src 'sha256-{hash}';{script} img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// The CSP of every page: no script at all.
static CSP: LazyLock<String> = LazyLock::new(|| csp(false));
/// The CSP of the pages with a WebAuthn ceremony: authgate's one script, by its hash.
static CSP_WITH_SCRIPT: LazyLock<String> = LazyLock::new(|| csp(true));

/// A page that runs `/assets/webauthn.js`: its CSP allows that script, and no other.
pub fn allow_script(mut reply: Reply) -> Reply {
    for (name, value) in &mut reply.headers {
        if name.eq_ignore_ascii_case("Content-Security-Policy") {
            *value = CSP_WITH_SCRIPT.clone();
        }
    }
    reply
}

/// Headers every page of ours carries (hardening: XSS / clickjacking on own pages).
pub fn page_headers(reply: Reply) -> Reply {
    reply
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Content-Security-Policy", CSP.as_str())
        .header("X-Frame-Options", "DENY")
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer")
        .header("Cache-Control", "no-store")
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// A full error page with its status.
pub fn error(status: u16, title: &str, message: &str) -> Reply {
    render(
        status,
        &ErrorPage {
            status,
            title,
            message,
        },
    )
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub password_form: bool,
    pub providers: &'a [ProviderLink],
    pub auth: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub client: Option<&'a str>,
    pub error: Option<&'a str>,
    /// "Sign in with a passkey", and passkeys offered in the username's autofill.
    pub passkey: bool,
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
    pub username: &'a str,
    pub mfa: &'a str,
    pub csrf: &'a str,
    pub passkey: bool,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "enrol.html")]
pub struct EnrolPage<'a> {
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
    pub codes: &'a [String],
    pub cont: &'a str,
    pub csrf: &'a str,
}

/// One line of the account page's factor list.
pub struct FactorRow {
    /// A passkey made before passkeys could sign in on their own.
    pub second_factor_only: bool,
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    pub added: String,
    pub used: String,
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
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// What a device asks for, on the device page.
pub struct DeviceRequest {
    pub client: String,
    pub scopes: String,
    pub user_code: String,
}

#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage<'a> {
    pub username: &'a str,
    pub csrf: &'a str,
    pub request: Option<DeviceRequest>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub link: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "redirect.html")]
struct RedirectPage<'a> {
    url: &'a str,
}

/// A redirect whose body also leads the browser on (a refresh and a link): for front proxies
/// that serve it under another status, like Traefik's `errors` middleware turning it into
/// the body of a 401.
pub fn redirect(status: u16, url: &str) -> Reply {
    render(status, &RedirectPage { url }).header("Location", url)
}

/// A short page with a title and a message (signed in, signed out).
pub fn message(status: u16, title: &str, message: &str, link: Option<&str>) -> Reply {
    render(
        status,
        &MessagePage {
            title,
            message,
            link,
        },
    )
}

/// Renders a template into a page reply; a template that fails to render (it cannot, short of a
/// bug) becomes a plain 500 rather than a panic.
pub fn render(status: u16, t: &impl Template) -> Reply {
    match t.render() {
        Ok(body) => page_headers(Reply::new(status).body(body)),
        Err(e) => {
            log::error!("template failed to render: {e}");
            page_headers(Reply::new(500).body("internal error"))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_page_escapes() {
        let r = super::error(400, "Bad <b>", "<script>alert(1)</script>");
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(!body.contains("<script>alert"));
        assert!(body.contains("alert(1)") && !body.contains("<b>"));
    }
}
