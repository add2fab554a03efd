//! The provider's HTTP side: which path is which endpoint, and the handlers that run the
//! sans-IO rules of `oidc` against the store, the keys and the clock.

mod account;
mod consent;
mod console;
mod console_views;
mod device;
mod exchange;
mod forward_auth;
mod issue;
mod login;
mod passkey_sign_in;
mod passkeys;
mod people;
mod pushed;
mod resources;
mod second_factor;
mod sign_in;
mod token;
mod upstream_login;

use bytes::Bytes;
use pingora::http::RequestHeader;

use crate::app::respond::{self, Audience};
use crate::app::App;
use crate::http::facts::Facts;
use crate::http::pages::Chrome;
use crate::http::params::Params;
use crate::http::{cookies, GatewayError, Reply};
use crate::oidc::errors::{TokenCode, TokenError};
use crate::storage::LinkPurpose;

/// Bodies of `/login` and `/oauth2/*` are small forms.
pub const MAX_BODY: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Authorize,
    Login,
    Token,
    Userinfo,
    Jwks,
    Revoke,
    Introspect,
    Logout,
    Discovery,
    ForwardAuth(forward_auth::Convention),
    Healthz,
    Readyz,
    SecondFactor,
    Enrol,
    Continue,
    PasskeyStart,
    PasskeyFinish,
    PasskeySignInStart,
    PasskeySignInFinish,
    Account,
    Script,
    Logo,
    UpstreamLogin,
    UpstreamCallback,
    DeviceAuthorization,
    Device,
    PushedAuthorization,
    Consent,
    Invite,
    Forgot,
    Reset,
    Admin,
}

impl Endpoint {
    /// The endpoint at `path` on the `public_url` host (compat paths of the seed vendors included).
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Some(match path {
            "/oauth2/authorize"
            | "/api/v1/oauth2/authorize"
            | "/api/id/v1/auth/authorize"
            | "/oauth2/v1/authorize" => Endpoint::Authorize,
            "/login" => Endpoint::Login,
            "/oauth2/token" | "/api/v1/oauth2/token" | "/oauth2/v1/token" => Endpoint::Token,
            "/oauth2/userinfo" | "/api/v1/oauth2/userinfo" | "/oauth2/v1/userinfo" => {
                Endpoint::Userinfo
            }
            "/oauth2/jwks" => Endpoint::Jwks,
            "/oauth2/revoke" => Endpoint::Revoke,
            "/oauth2/introspect" => Endpoint::Introspect,
            "/oauth2/logout" => Endpoint::Logout,
            "/.well-known/openid-configuration" => Endpoint::Discovery,
            "/oauth2/auth" => Endpoint::ForwardAuth(forward_auth::Convention::Forwarded),
            "/oauth2/auth/original" => Endpoint::ForwardAuth(forward_auth::Convention::OriginalUrl),
            "/oauth2/device_authorization" => Endpoint::DeviceAuthorization,
            "/oauth2/par" => Endpoint::PushedAuthorization,
            device::PAGE => Endpoint::Device,
            "/healthz" => Endpoint::Healthz,
            "/readyz" => Endpoint::Readyz,
            "/login/second-factor" => Endpoint::SecondFactor,
            "/login/enrol" => Endpoint::Enrol,
            "/login/continue" => Endpoint::Continue,
            "/login/consent" => Endpoint::Consent,
            crate::app::people::INVITE_PATH => Endpoint::Invite,
            "/login/forgot" => Endpoint::Forgot,
            console::PATH
            | "/admin/sessions"
            | "/admin/app-passwords"
            | "/admin/clients"
            | "/admin/audit" => Endpoint::Admin,
            crate::app::people::RESET_PATH => Endpoint::Reset,
            "/login/passkey/start" => Endpoint::PasskeyStart,
            "/login/passkey/finish" => Endpoint::PasskeyFinish,
            "/login/passkey-sign-in/start" => Endpoint::PasskeySignInStart,
            "/login/passkey-sign-in/finish" => Endpoint::PasskeySignInFinish,
            "/account" | "/account/passkey/start" | "/account/passkey/finish" => Endpoint::Account,
            "/assets/webauthn.js" => Endpoint::Script,
            p if p.starts_with(crate::http::look::LOGO_PREFIX) => Endpoint::Logo,
            upstream_login::CALLBACK => Endpoint::UpstreamCallback,
            p if p.starts_with(upstream_login::PREFIX) => Endpoint::UpstreamLogin,
            _ => return None,
        })
    }

    /// Methods the endpoint answers.
    fn methods(self) -> &'static [&'static str] {
        match self {
            Endpoint::Authorize => &["GET", "POST"],
            Endpoint::Login
            | Endpoint::Invite
            | Endpoint::Admin
            | Endpoint::Forgot
            | Endpoint::Reset
            | Endpoint::Userinfo
            | Endpoint::Logout
            | Endpoint::Account
            | Endpoint::Device => &["GET", "POST"],
            Endpoint::Token
            | Endpoint::PushedAuthorization
            | Endpoint::DeviceAuthorization
            | Endpoint::Revoke
            | Endpoint::Introspect
            | Endpoint::SecondFactor
            | Endpoint::Enrol
            | Endpoint::Continue
            | Endpoint::Consent
            | Endpoint::PasskeyStart
            | Endpoint::PasskeyFinish
            | Endpoint::PasskeySignInStart
            | Endpoint::PasskeySignInFinish => &["POST"],
            Endpoint::Jwks
            | Endpoint::Discovery
            | Endpoint::Healthz
            | Endpoint::Readyz
            | Endpoint::Script
            | Endpoint::Logo
            | Endpoint::UpstreamLogin
            | Endpoint::UpstreamCallback => &["GET"],
            // nginx auth_request keeps the original method.
            Endpoint::ForwardAuth(_) => &["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        }
    }

    /// Whether a `HEAD` is answered like a `GET`. Endpoints whose `GET` can write (issue a
    /// code, end a session) answer `HEAD` with 405: HEAD never changes state.
    fn head_is_safe(self) -> bool {
        !matches!(
            self,
            Endpoint::Authorize | Endpoint::Logout | Endpoint::UpstreamCallback
        )
    }

    /// Whether the handler reads a form body.
    pub fn reads_body(self) -> bool {
        !matches!(
            self,
            Endpoint::Jwks
                | Endpoint::Discovery
                | Endpoint::ForwardAuth(_)
                | Endpoint::Healthz
                | Endpoint::Readyz
                | Endpoint::Script
                | Endpoint::Logo
        )
    }
}

/// A request to one of the provider's endpoints, body read.
pub struct Request<'a> {
    pub header: &'a RequestHeader,
    pub facts: &'a Facts,
    pub body: Bytes,
}

impl Request<'_> {
    pub fn method(&self) -> &str {
        self.header.method.as_str()
    }

    pub fn query(&self) -> Result<Params, GatewayError> {
        Params::parse(self.facts.query.as_deref().unwrap_or(""))
            .map_err(|e| GatewayError::BadRequest(format!("query string: {e}")))
    }

    /// The form body of a POST (or an empty set for other methods).
    pub fn form(&self) -> Result<Params, GatewayError> {
        if self.header.method != http::Method::POST {
            return Ok(Params::default());
        }
        Params::parse_bytes(&self.body)
            .map_err(|e| GatewayError::BadRequest(format!("form body: {e}")))
    }

    /// The form body of a back-channel request, a malformed one being `invalid_request`.
    pub fn token_form(&self) -> Result<Params, TokenError> {
        self.form()
            .map_err(|e| TokenError::new(TokenCode::InvalidRequest, e.to_string()))
    }

    /// Query for GET, form for POST: endpoints that accept both (authorize, logout, userinfo).
    pub fn params(&self) -> Result<Params, GatewayError> {
        if self.header.method == http::Method::POST {
            self.form()
        } else {
            self.query()
        }
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        cookies::get(self.header, name).map(str::to_string)
    }

    /// The language, look and menu of this request's pages.
    pub fn chrome(&self, app: &App) -> Chrome {
        app.chrome(self.header, &self.facts.path, self.facts.query.as_deref())
    }
}

/// Writes `event` about `subject` (who also acts: a person's own step) to the audit trail,
/// with the request's address and user agent.
pub(crate) fn audit(app: &App, req: &Request<'_>, event: &str, subject: &str, outcome: &str) {
    // What was typed as a user name may be anything (a password in the wrong field): capped.
    let subject = match subject.char_indices().nth(64) {
        Some((at, _)) => subject.get(..at).unwrap_or(subject),
        None => subject,
    };
    let e = crate::audit::Event {
        event,
        actor: Some(subject),
        subject: Some(subject),
        outcome,
        ..Default::default()
    };
    app.record(Some((req.header, req.facts)), e);
}

/// The one mapping of a page handler's error: the error page a browser is shown.
fn page(app: &App, req: &Request<'_>, handled: Result<Reply, GatewayError>) -> Reply {
    handled.unwrap_or_else(|e| respond::gateway(&e, Audience::People(&req.chrome(app))))
}

/// The one mapping of a script-facing handler's error: a JSON error body.
fn json(handled: Result<Reply, GatewayError>) -> Reply {
    handled.unwrap_or_else(|e| respond::gateway(&e, Audience::Api))
}

/// Answers a provider request.
pub async fn handle(app: &App, endpoint: Endpoint, req: &Request<'_>) -> Reply {
    let reply = dispatch(app, endpoint, req).await;
    match crate::http::i18n::from_query(req.facts.query.as_deref()) {
        Some(lang) => reply.header(
            "Set-Cookie",
            cookies::set(
                crate::http::i18n::COOKIE,
                lang.code(),
                app.cfg.server.secure_cookies(),
                Some(std::time::Duration::from_secs(365 * 86_400)),
            ),
        ),
        None => reply,
    }
}

async fn dispatch(app: &App, endpoint: Endpoint, req: &Request<'_>) -> Reply {
    let method = req.method();
    let allowed = if method == "HEAD" {
        endpoint.head_is_safe() && endpoint.methods().contains(&"GET")
    } else {
        endpoint.methods().contains(&method)
    };
    if !allowed {
        let c = req.chrome(app);
        let e = GatewayError::MethodNotAllowed(endpoint.methods());
        return respond::gateway(&e, Audience::People(&c));
    }
    match endpoint {
        Endpoint::Authorize => page(app, req, sign_in::authorize(app, req).await),
        Endpoint::Login => page(app, req, login::handle(app, req).await),
        Endpoint::Token => token::handle(app, req).await,
        Endpoint::Userinfo => resources::userinfo(app, req).await,
        Endpoint::Jwks => {
            Reply::json(200, &app.keys.jwks()).header("Cache-Control", "public, max-age=300")
        }
        Endpoint::Revoke => resources::revoke(app, req).await,
        Endpoint::Introspect => resources::introspect(app, req).await,
        Endpoint::Logout => page(app, req, resources::logout(app, req).await),
        Endpoint::Discovery => resources::discovery(app),
        Endpoint::ForwardAuth(convention) => forward_auth::handle(app, req, convention).await,
        Endpoint::Healthz => Reply::json(200, &serde_json::json!({ "status": "ok" })),
        Endpoint::Readyz => resources::readyz(app).await,
        Endpoint::SecondFactor => page(app, req, second_factor::verify(app, req).await),
        Endpoint::Enrol => page(app, req, second_factor::confirm_enrolment(app, req).await),
        Endpoint::Continue => page(
            app,
            req,
            second_factor::continue_after_codes(app, req).await,
        ),
        Endpoint::PasskeyStart => json(passkeys::start_authentication(app, req).await),
        Endpoint::PasskeyFinish => page(app, req, passkeys::finish_authentication(app, req).await),
        Endpoint::PasskeySignInStart => json(passkey_sign_in::start(app, req).await),
        Endpoint::PasskeySignInFinish => page(app, req, passkey_sign_in::finish(app, req).await),
        Endpoint::Account if req.facts.path.ends_with("/start") => {
            json(account::handle(app, req).await)
        }
        Endpoint::Account => page(app, req, account::handle(app, req).await),
        Endpoint::DeviceAuthorization => device::authorization(app, req).await,
        Endpoint::PushedAuthorization => pushed::handle(app, req).await,
        Endpoint::Consent => page(app, req, consent::answer(app, req).await),
        Endpoint::Invite => page(
            app,
            req,
            people::link_page(app, req, LinkPurpose::Invite).await,
        ),
        Endpoint::Forgot => page(app, req, people::forgot(app, req).await),
        Endpoint::Admin => page(app, req, console::handle(app, req).await),
        Endpoint::Reset => page(
            app,
            req,
            people::link_page(app, req, LinkPurpose::Reset).await,
        ),
        Endpoint::Device => page(app, req, device::page(app, req).await),
        Endpoint::UpstreamLogin => page(app, req, upstream_login::start(app, req).await),
        Endpoint::UpstreamCallback => upstream_login::callback(app, req).await,
        Endpoint::Script => Reply::new(200)
            .header("Content-Type", "text/javascript; charset=utf-8")
            .header("Cache-Control", "public, max-age=3600")
            .header("X-Content-Type-Options", "nosniff")
            .body(crate::http::pages::WEBAUTHN_JS),
        Endpoint::Logo => logo(app, req),
    }
}

/// `[branding] logo_file`, under its content's hash: cached for good, inert as a document.
fn logo(app: &App, req: &Request<'_>) -> Reply {
    match app.look.logo.as_ref().filter(|l| l.href == req.facts.path) {
        Some(l) => Reply::new(200)
            .header("Content-Type", l.content_type)
            .header("Cache-Control", "public, max-age=31536000, immutable")
            .header("X-Content-Type-Options", "nosniff")
            .header(
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            )
            .body(l.body.clone()),
        None => respond::gateway(&GatewayError::NoRoute, Audience::Api),
    }
}
