//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2, §3.2.2), sans-IO.
//!
//! `validate` turns query parameters into an `AuthRequest` or an error that is either shown
//! to the user (unknown client, bad redirect URI: never redirected, §4.1.2.1) or sent back to
//! the client. `decide` says whether the user must sign in first. `success_url` and
//! `AuthorizeError::redirect_url` build the redirects, with `iss` (RFC 9207).

use serde::{Deserialize, Serialize};
use url::Url;

use super::clients::Clients;
use super::errors::AuthorizeCode;
use super::pkce;
use crate::config::{Client, ResponseType};
use crate::http::params::Params;

/// Scopes authgate understands. `address` and `phone` are accepted and yield no claims.
pub const SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "groups",
    "offline_access",
    "address",
    "phone",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    Fragment,
}

/// A validated authorization request; stored while the user signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// The request named `redirect_uri`; the token request must then repeat it (§4.1.3).
    pub redirect_uri_given: bool,
    pub response_type: String,
    pub response_mode: ResponseMode,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// `acr_values` asks for `mfa`: a second factor must have been used.
    #[serde(default)]
    pub mfa: bool,
    /// `prompt=consent`: ask the user again even if they agreed before.
    #[serde(default)]
    pub prompt_consent: bool,
}

impl AuthRequest {
    pub fn response_type(&self) -> ResponseType {
        ResponseType::parse(&self.response_type).unwrap_or(ResponseType::Code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown to the user, never redirected: the client or its redirect URI cannot be trusted.
    Page { status: u16, message: String },
    /// Sent to the client's redirect URI.
    Redirect {
        redirect_uri: String,
        mode: ResponseMode,
        state: Option<String>,
        error: AuthorizeCode,
        description: String,
    },
}

impl AuthorizeError {
    pub fn error(&self) -> Option<AuthorizeCode> {
        match self {
            AuthorizeError::Redirect { error, .. } => Some(*error),
            AuthorizeError::Page { .. } => None,
        }
    }

    /// The redirect carrying this error to the client (§4.1.2.1, with `iss`: RFC 9207).
    pub fn redirect_url(&self, issuer: &str) -> Option<String> {
        let AuthorizeError::Redirect {
            redirect_uri,
            mode,
            state,
            error,
            description,
        } = self
        else {
            return None;
        };
        let mut params = vec![
            ("error", error.as_str()),
            ("error_description", description.as_str()),
        ];
        if let Some(s) = state {
            params.push(("state", s));
        }
        params.push(("iss", issuer));
        Some(build_url(redirect_uri, *mode, &params))
    }
}

fn page(status: u16, message: impl Into<String>) -> AuthorizeError {
    AuthorizeError::Page {
        status,
        message: message.into(),
    }
}

/// Where errors go once the client and its redirect URI are trusted.
struct ToClient<'a> {
    redirect_uri: &'a str,
    mode: ResponseMode,
    state: Option<String>,
}

impl ToClient<'_> {
    fn fail(&self, error: AuthorizeCode, description: impl Into<String>) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.to_string(),
            mode: self.mode,
            state: self.state.clone(),
            error,
            description: description.into(),
        }
    }
}

/// Parameters that may appear at most once (RFC 6749 §3.1).
const SINGLE: &[&str] = &[
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "response_mode",
    "request",
    "request_uri",
    "display",
    "ui_locales",
    "id_token_hint",
    "acr_values",
];

/// How an authorization request reached authgate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Came {
    /// Through `/oauth2/par` (RFC 9126).
    pub pushed: bool,
    /// As a signed request object (RFC 9101).
    pub signed: bool,
}

/// An error about the request in `p`: redirected to the client once the client and its
/// redirect URI are trusted, else a page (§4.1.2.1).
pub fn refuse(
    p: &Params,
    clients: &Clients,
    error: AuthorizeCode,
    description: impl Into<String>,
) -> AuthorizeError {
    match client_and_redirect(p, clients) {
        Err(page) => page,
        Ok((_, redirect_uri)) => ToClient {
            redirect_uri: &redirect_uri,
            mode: response_mode(p, p.get("response_type").and_then(ResponseType::parse))
                .unwrap_or(ResponseMode::Query),
            state: (!p.is_repeated("state"))
                .then(|| p.get("state").map(str::to_string))
                .flatten(),
        }
        .fail(error, description),
    }
}

/// Validates an authorization request, one RFC rule group per step.
pub fn validate(p: &Params, clients: &Clients, came: Came) -> Result<AuthRequest, AuthorizeError> {
    let (client, redirect_uri) = client_and_redirect(p, clients)?;
    let parsed_type = p.get("response_type").and_then(ResponseType::parse);
    let requested_mode = response_mode(p, parsed_type);
    let to_client = ToClient {
        redirect_uri: &redirect_uri,
        mode: requested_mode.unwrap_or_else(|_| default_mode(parsed_type)),
        // A repeated state is not echoed: which one would be the client's?
        state: (!p.is_repeated("state"))
            .then(|| p.get("state").map(str::to_string))
            .flatten(),
    };
    if let Some(name) = p.repeated(SINGLE) {
        return Err(to_client.fail(
            AuthorizeCode::InvalidRequest,
            format!("the parameter {name} is repeated"),
        ));
    }
    profile(p, client, clients, came, &to_client)?;
    let response_type = response_type(p, client, parsed_type, &to_client)?;
    if let Err(other) = requested_mode {
        return Err(to_client.fail(
            AuthorizeCode::InvalidRequest,
            format!("response_mode {other:?} is not supported here"),
        ));
    }
    let (scope, nonce) = scope_and_nonce(p, response_type, &to_client)?;
    let code_challenge = code_challenge(p, client, response_type, &to_client)?;
    let prompt = prompt(p, &to_client)?;
    Ok(AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        redirect_uri_given: p.contains("redirect_uri"),
        response_type: response_type.as_str().to_string(),
        response_mode: to_client.mode,
        scope,
        state: to_client.state.clone(),
        nonce,
        code_challenge,
        prompt_none: prompt.none,
        prompt_login: prompt.login,
        max_age: prompt.max_age,
        login_hint: p.get("login_hint").map(str::to_string),
        mfa: p
            .get("acr_values")
            .is_some_and(|v| v.split(' ').any(|a| a == "mfa")),
        prompt_consent: prompt.consent,
    })
}

/// §4.1.2.1: until the client and its redirect URI are trusted, errors are pages.
fn client_and_redirect<'c>(
    p: &Params,
    clients: &'c Clients,
) -> Result<(&'c Client, String), AuthorizeError> {
    if p.is_repeated("client_id") || p.is_repeated("redirect_uri") {
        return Err(page(400, "The request repeats client_id or redirect_uri."));
    }
    let client_id = p
        .get("client_id")
        .ok_or_else(|| page(400, "The request has no client_id."))?;
    let client = clients
        .get(client_id)
        .ok_or_else(|| page(401, "The application (client_id) is not registered."))?;
    let redirect_uri = match p.get("redirect_uri") {
        Some(uri) if clients.redirect_allowed(client, uri) => uri.to_string(),
        Some(_) => {
            return Err(page(
                400,
                "The redirect_uri is not registered for this application.",
            ))
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => {
                return Err(page(
                    400,
                    "The request has no redirect_uri and the application registered several.",
                ))
            }
        },
    };
    Ok((client, redirect_uri))
}

/// Tokens never travel in a query (OAuth 2.0 Multiple Response Types §5): `query` may only be
/// asked for with a code alone; `fragment` always.
fn default_mode(parsed: Option<ResponseType>) -> ResponseMode {
    match parsed {
        Some(ResponseType::IdToken | ResponseType::CodeIdToken) => ResponseMode::Fragment,
        _ => ResponseMode::Query,
    }
}

fn response_mode(p: &Params, parsed: Option<ResponseType>) -> Result<ResponseMode, &str> {
    let default = default_mode(parsed);
    match p.get("response_mode") {
        None => Ok(default),
        Some("fragment") => Ok(ResponseMode::Fragment),
        Some("query") if default == ResponseMode::Query => Ok(ResponseMode::Query),
        Some(other) => Err(other),
    }
}

/// RFC 9126 §5 and RFC 9101 §10.5: a client that must push, or sign, its requests did; and a
/// `request` or `request_uri` is never left over (nor nested in a request object).
fn profile(
    p: &Params,
    client: &Client,
    clients: &Clients,
    came: Came,
    to_client: &ToClient<'_>,
) -> Result<(), AuthorizeError> {
    if p.contains("request") || p.contains("request_uri") {
        return Err(to_client.fail(
            AuthorizeCode::InvalidRequest,
            "request and request_uri cannot be combined or nested",
        ));
    }
    if clients.must_push(client) && !came.pushed {
        return Err(to_client.fail(
            AuthorizeCode::InvalidRequest,
            "this client must push its authorization requests (PAR, /oauth2/par)",
        ));
    }
    if client.profile.require_request_object && !came.signed {
        return Err(to_client.fail(
            AuthorizeCode::InvalidRequest,
            "this client must send a signed request object (request)",
        ));
    }
    Ok(())
}

fn response_type(
    p: &Params,
    client: &Client,
    parsed: Option<ResponseType>,
    to_client: &ToClient<'_>,
) -> Result<ResponseType, AuthorizeError> {
    let Some(raw) = p.get("response_type") else {
        return Err(to_client.fail(AuthorizeCode::InvalidRequest, "response_type is required"));
    };
    let Some(response_type) = parsed else {
        return Err(to_client.fail(
            AuthorizeCode::UnsupportedResponseType,
            format!("response_type {raw:?} is not supported"),
        ));
    };
    // A machine client (`client_credentials` only) never sends a browser here.
    let browser_client = client.allows(crate::config::GrantType::AuthorizationCode);
    if !browser_client || !client.response_types.contains(&response_type) {
        return Err(to_client.fail(
            AuthorizeCode::UnauthorizedClient,
            format!("this client may not use response_type {raw:?}"),
        ));
    }
    Ok(response_type)
}

/// §3.3 scope (optional, seed 000: without one the request is an OpenID request) and OIDC
/// Core §3.2.2.1: nonce is required when an id_token comes from the authorization endpoint.
fn scope_and_nonce(
    p: &Params,
    response_type: ResponseType,
    to_client: &ToClient<'_>,
) -> Result<(Vec<String>, Option<String>), AuthorizeError> {
    let scope: Vec<String> = match p.get("scope") {
        None => vec!["openid".to_string()],
        Some(s) => super::scopes(s),
    };
    if let Some(unknown) = scope.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(to_client.fail(
            AuthorizeCode::InvalidScope,
            format!("unknown scope {unknown:?}"),
        ));
    }
    let wants_id_token = matches!(
        response_type,
        ResponseType::IdToken | ResponseType::CodeIdToken
    );
    if wants_id_token && !scope.iter().any(|s| s == "openid") {
        return Err(to_client.fail(
            AuthorizeCode::InvalidScope,
            "an id_token requires the openid scope",
        ));
    }
    let nonce = p.get("nonce").map(str::to_string);
    if wants_id_token && nonce.is_none() {
        return Err(to_client.fail(
            AuthorizeCode::InvalidRequest,
            "nonce is required for this response_type",
        ));
    }
    Ok((scope, nonce))
}

/// RFC 7636 with RFC 9700 §2.1.1: S256 only, and required of clients that must use PKCE.
fn code_challenge(
    p: &Params,
    client: &Client,
    response_type: ResponseType,
    to_client: &ToClient<'_>,
) -> Result<Option<String>, AuthorizeError> {
    let invalid = |why: String| Err(to_client.fail(AuthorizeCode::InvalidRequest, why));
    let challenge = match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) => None,
        (None, Some(_)) => {
            return invalid("code_challenge_method without code_challenge".into());
        }
        // RFC 7636 §4.3 defaults the method to "plain"; RFC 9700 §2.1.1 rules it out.
        (Some(_), None | Some("plain")) => {
            return invalid("code_challenge_method must be S256 (plain is not supported)".into());
        }
        (Some(_), Some(m)) if m != "S256" => {
            return invalid(format!(
                "code_challenge_method {m:?} is not supported; use S256"
            ));
        }
        (Some(c), Some(_)) if !pkce::well_formed(c) => {
            return invalid("code_challenge is not 43-128 characters of [A-Za-z0-9-._~]".into());
        }
        (Some(c), Some(_)) => Some(c.to_string()),
    };
    let issues_code = matches!(
        response_type,
        ResponseType::Code | ResponseType::CodeIdToken
    );
    if issues_code && client.require_pkce && challenge.is_none() {
        return invalid("this client must use PKCE (code_challenge with S256)".into());
    }
    Ok(challenge)
}

struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
    max_age: Option<u64>,
}

/// OIDC Core §3.1.2.1: `prompt` and `max_age`.
fn prompt(p: &Params, to_client: &ToClient<'_>) -> Result<Prompt, AuthorizeError> {
    let prompts: Vec<&str> = p
        .get("prompt")
        .map(|s| s.split(' ').filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    if let Some(unknown) = prompts
        .iter()
        .find(|x| !matches!(**x, "none" | "login" | "consent" | "select_account"))
    {
        return Err(to_client.fail(
            AuthorizeCode::InvalidRequest,
            format!("unknown prompt value {unknown:?}"),
        ));
    }
    let none = prompts.contains(&"none");
    if none && prompts.len() > 1 {
        return Err(to_client.fail(
            AuthorizeCode::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match p.get("max_age") {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            to_client.fail(
                AuthorizeCode::InvalidRequest,
                "max_age must be a non-negative integer",
            )
        })?),
    };
    Ok(Prompt {
        none,
        login: prompts.contains(&"login") || prompts.contains(&"select_account"),
        consent: prompts.contains(&"consent"),
        max_age,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Show the login form first.
    Login,
    /// Answer the client now.
    Issue,
}

/// Whether the user must sign in. `auth_time` is the current session's, if any; `fresh` says
/// the user has just signed in for this very request (so `prompt=login` is satisfied).
pub fn decide(
    req: &AuthRequest,
    auth_time: Option<u64>,
    fresh: bool,
    now: u64,
) -> Result<Decision, AuthorizeError> {
    let needs_login = match auth_time {
        None => true,
        Some(_) if fresh => false,
        Some(t) => req.prompt_login || req.max_age.is_some_and(|max| now.saturating_sub(t) > max),
    };
    match (needs_login, req.prompt_none) {
        (false, _) => Ok(Decision::Issue),
        (true, false) => Ok(Decision::Login),
        (true, true) => Err(AuthorizeError::Redirect {
            redirect_uri: req.redirect_uri.clone(),
            mode: req.response_mode,
            state: req.state.clone(),
            error: AuthorizeCode::LoginRequired,
            description: "the user is not signed in".into(),
        }),
    }
}

/// The successful answer: `code`, `id_token`, `state` and `iss` to the redirect URI.
pub fn success_url(
    req: &AuthRequest,
    code: Option<&str>,
    id_token: Option<&str>,
    issuer: &str,
) -> String {
    let mut params: Vec<(&str, &str)> = Vec::new();
    if let Some(c) = code {
        params.push(("code", c));
    }
    if let Some(t) = id_token {
        params.push(("id_token", t));
    }
    if let Some(s) = &req.state {
        params.push(("state", s));
    }
    params.push(("iss", issuer));
    build_url(&req.redirect_uri, req.response_mode, &params)
}

/// Adds `params` to `base` in its query or as its fragment. `base` was validated as a URL when
/// it was registered; if it somehow is not one, it is returned as is rather than mangled.
pub fn build_url(base: &str, mode: ResponseMode, params: &[(&str, &str)]) -> String {
    let Ok(mut url) = Url::parse(base) else {
        return base.to_string();
    };
    match mode {
        ResponseMode::Query if params.is_empty() => {}
        ResponseMode::Query => {
            url.query_pairs_mut().extend_pairs(params);
        }
        ResponseMode::Fragment => {
            let fragment = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish();
            url.set_fragment(Some(&fragment));
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    const NOW: u64 = 1_700_000_000;

    fn clients() -> Clients {
        let mut cfg = config::from_str(
            r#"
[server]
listen = ["127.0.0.1:1"]
public_url = "http://auth.test"
[tokens]
signing_key_file = "/x"
create_key_if_missing = true
[[clients]]
client_id = "rp"
client_secret_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
redirect_uris = ["https://rp.test/cb"]
response_types = ["code", "code id_token"]
"#,
        )
        .unwrap();
        Clients::new(&mut cfg)
    }

    fn req(q: &str) -> Result<AuthRequest, AuthorizeError> {
        validate(&Params::parse(q).unwrap(), &clients(), Came::default())
    }

    fn error(q: &str) -> AuthorizeCode {
        req(q)
            .unwrap_err()
            .error()
            .unwrap_or_else(|| panic!("{q}: a page, not a redirect"))
    }

    #[test]
    fn defaults_for_a_minimal_request() {
        let r = req("client_id=rp&response_type=code").unwrap();
        assert_eq!(r.redirect_uri, "https://rp.test/cb");
        assert!(!r.redirect_uri_given);
        assert_eq!(r.scope, ["openid"]);
        assert_eq!(r.response_mode, ResponseMode::Query);
    }

    #[test]
    fn response_mode_never_puts_tokens_in_the_query() {
        assert_eq!(
            req("client_id=rp&response_type=code&response_mode=fragment")
                .unwrap()
                .response_mode,
            ResponseMode::Fragment
        );
        assert_eq!(
            error("client_id=rp&response_type=code+id_token&nonce=n&response_mode=query"),
            AuthorizeCode::InvalidRequest
        );
        assert_eq!(
            error("client_id=rp&response_type=code&response_mode=form_post"),
            AuthorizeCode::InvalidRequest
        );
        let e = req("client_id=rp&response_type=code+id_token&response_mode=query").unwrap_err();
        assert!(
            matches!(
                e,
                AuthorizeError::Redirect {
                    mode: ResponseMode::Fragment,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_client_and_bad_redirect_are_pages() {
        assert!(matches!(
            req("client_id=nope&response_type=code"),
            Err(AuthorizeError::Page { status: 401, .. })
        ));
        assert!(matches!(
            req("client_id=rp&redirect_uri=https%3A%2F%2Frp.test%2Fcb%2F&response_type=code"),
            Err(AuthorizeError::Page { status: 400, .. })
        ));
    }

    #[test]
    fn decide_with_a_fixed_clock() {
        let r = req("client_id=rp&response_type=code&max_age=60").unwrap();
        assert_eq!(decide(&r, None, false, NOW), Ok(Decision::Login));
        assert_eq!(decide(&r, Some(NOW - 60), false, NOW), Ok(Decision::Issue));
        assert_eq!(decide(&r, Some(NOW - 61), false, NOW), Ok(Decision::Login));
        assert_eq!(
            decide(&r, Some(NOW - 61), true, NOW),
            Ok(Decision::Issue),
            "just signed in"
        );
        let login = req("client_id=rp&response_type=code&prompt=login").unwrap();
        assert_eq!(decide(&login, Some(NOW), false, NOW), Ok(Decision::Login));
        let none = req("client_id=rp&response_type=code&prompt=none").unwrap();
        assert_eq!(
            decide(&none, None, false, NOW).unwrap_err().error(),
            Some(AuthorizeCode::LoginRequired)
        );
        assert_eq!(
            error("client_id=rp&response_type=code&prompt=none+login"),
            AuthorizeCode::InvalidRequest
        );
    }

    #[test]
    fn success_and_error_urls_keep_the_registered_query() {
        let mut r = req("client_id=rp&response_type=code&state=s%20t").unwrap();
        r.redirect_uri = "https://rp.test/cb?tenant=1".into();
        let url = success_url(&r, Some("c"), None, "https://auth.test");
        assert_eq!(
            url,
            "https://rp.test/cb?tenant=1&code=c&state=s+t&iss=https%3A%2F%2Fauth.test"
        );
    }
}
