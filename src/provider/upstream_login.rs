//! Sign-in delegated to an upstream OpenID Provider: `/login/upstream/{id}` sends the browser
//! there (code flow with PKCE, state and nonce, all sealed in a short-lived cookie), and
//! `/login/upstream/callback` exchanges the code, verifies the ID token (signature from the
//! upstream's JWKS, issuer, audience, expiry, nonce), maps the claims and signs the user in —
//! through the second factor when policy asks, as for any user.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

use super::sign_in::{self, Pending};
use super::Request;
use crate::app::federation::{map_claims, strings, Metadata, Provider, Refusal};
use crate::app::App;
use crate::directory::UserInfo;
use crate::http::{cookies, GatewayError, Reply};
use crate::secret::{ct_eq, Purpose};

pub const PREFIX: &str = "/login/upstream/";
pub const CALLBACK: &str = "/login/upstream/callback";

/// A delegated sign-in in progress, sealed in a cookie on the public host.
#[derive(Serialize, Deserialize)]
struct Flow {
    provider: String,
    state: String,
    nonce: String,
    verifier: String,
    pending: Pending,
}

fn cookie_name(app: &App) -> &str {
    &app.provider_cookies().upstream
}

fn unreachable(p: &Provider, e: impl std::fmt::Display) -> GatewayError {
    log::error!("upstream provider {}: {e}", p.cfg.id);
    GatewayError::BadGatewayNamed(p.cfg.name.clone())
}

fn client(
    app: &App,
    p: &Provider,
    m: Metadata,
) -> CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    let secret = p
        .cfg
        .client_secret
        .as_ref()
        .map(|s| ClientSecret::new(s.expose().to_string()));
    let redirect = format!("{}{CALLBACK}", app.cfg.server.issuer);
    let c = CoreClient::from_provider_metadata(m, ClientId::new(p.cfg.client_id.clone()), secret);
    match RedirectUrl::new(redirect) {
        Ok(r) => c.set_redirect_uri(r),
        Err(_) => c,
    }
}

/// `GET /login/upstream/{id}?auth=…`: off to the upstream provider.
pub async fn start(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let id = req.facts.path.strip_prefix(PREFIX).unwrap_or("");
    let p = app
        .federation
        .get(id)
        .ok_or(GatewayError::BadRequest("unknown upstream provider".into()))?;
    let query = req.query()?;
    let pending: Pending = app
        .sealer
        .open(
            Purpose::PendingLogin,
            query.get("auth").unwrap_or(""),
            app.now(),
        )
        .ok_or(GatewayError::SignInExpired)?;
    app.admit(req.facts.client_ip).await?;
    let m = p
        .metadata(&app.federation.http, false)
        .await
        .map_err(|e| unreachable(p, e))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let c = client(app, p, m);
    let mut auth = c.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in p.cfg.scopes.iter().filter(|s| *s != "openid") {
        auth = auth.add_scope(Scope::new(s.clone()));
    }
    let (url, state, nonce) = auth.set_pkce_challenge(challenge).url();
    let flow = Flow {
        provider: p.cfg.id.clone(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        pending,
    };
    let ttl = sign_in::PENDING_TTL;
    let sealed = app
        .sealer
        .seal(Purpose::UpstreamFlow, &flow, app.now() + ttl.as_secs())?;
    let secure = app.cfg.server.secure_cookies();
    Ok(Reply::redirect(302, url.as_str()).header(
        "Set-Cookie",
        cookies::set(cookie_name(app), &sealed, secure, Some(ttl)),
    ))
}

/// `GET /login/upstream/callback`: back from the upstream provider.
pub async fn callback(app: &App, req: &Request<'_>) -> Reply {
    let secure = app.cfg.server.secure_cookies();
    let clear = cookies::clear(cookie_name(app), secure);
    let signed_in = async {
        let (flow, user, first) = finish(app, req).await?;
        sign_in::after_first_factor(app, req, flow.pending, &user, first).await
    };
    super::page(app, req, signed_in.await).header("Set-Cookie", clear)
}

/// The flow of this browser, checked against the callback's `state`; the code exchanged; the
/// user mapped and remembered.
async fn finish(
    app: &App,
    req: &Request<'_>,
) -> Result<(Flow, UserInfo, Vec<String>), GatewayError> {
    let refused = |why: &'static str| GatewayError::SignInFailed(why);
    let query = req.query()?;
    let flow: Flow = req
        .cookie(cookie_name(app))
        .and_then(|c| app.sealer.open(Purpose::UpstreamFlow, &c, app.now()))
        .ok_or(refused("upstream-sign-in-done"))?;
    let state = query.get("state").unwrap_or("");
    if !ct_eq(state.as_bytes(), flow.state.as_bytes()) {
        return Err(refused("upstream-foreign-response"));
    }
    if query.get("error").is_some() {
        return Err(GatewayError::SignInDenied("upstream-denied"));
    }
    let code = query.get("code").ok_or(refused("sign-in-no-code"))?;
    let p = app
        .federation
        .get(&flow.provider)
        .ok_or(refused("upstream-gone"))?;
    let claims = exchange(app, p, &flow, code, query.get("iss")).await?;
    let user = map_claims(&p.cfg, &claims).map_err(|r| match r {
        Refusal::NotAllowed => GatewayError::SignInDenied("upstream-not-allowed"),
        Refusal::NoUsername(_) => refused("upstream-no-username"),
        Refusal::UnverifiedEmail => refused("upstream-unverified-email"),
        Refusal::OtherSubject | Refusal::OtherIssuer => refused("upstream-disagree"),
    })?;
    let federated = app.federated.as_ref().ok_or(GatewayError::Internal)?;
    // A name is one person: never one of the local or directory users, nor another provider's.
    let taken = match federated.provider_of(&user.username).await? {
        Some(provider) => provider != p.cfg.id,
        None => app.directory.find(&user.username).await?.is_some(),
    };
    if taken {
        return Err(refused("upstream-name-taken"));
    }
    federated.remember(&user, &p.cfg.id).await?;
    let upstream_mfa = strings(claims.get("amr")).iter().any(|a| a == "mfa");
    let mut first = vec!["fed".to_string()];
    if upstream_mfa && p.cfg.trust_upstream_mfa {
        first.push("mfa".to_string());
    }
    Ok((flow, user, first))
}

/// The code for tokens; the ID token verified (refreshing the keys once on an unknown key id);
/// its claims, completed from userinfo when the username claim is missing.
async fn exchange(
    app: &App,
    p: &Provider,
    flow: &Flow,
    code: &str,
    iss: Option<&str>,
) -> Result<serde_json::Map<String, serde_json::Value>, GatewayError> {
    let http = &app.federation.http;
    let refused = |why: &'static str| GatewayError::SignInFailed(why);
    let mut metadata = p
        .metadata(http, false)
        .await
        .map_err(|e| unreachable(p, e))?;
    crate::app::federation::check_response_issuer(&metadata, iss)
        .map_err(|_| refused("upstream-wrong-issuer"))?;
    let c = client(app, p, metadata.clone());
    let tokens = c
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|_| refused("upstream-no-token-endpoint"))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
        .request_async(http)
        .await
        .map_err(|e| match e {
            openidconnect::RequestTokenError::ServerResponse(_) => refused("upstream-code-refused"),
            other => unreachable(p, other),
        })?;
    let id_token = tokens.id_token().ok_or(refused("upstream-no-id-token"))?;
    let nonce = Nonce::new(flow.nonce.clone());
    if id_token.claims(&c.id_token_verifier(), &nonce).is_err() {
        // Perhaps the upstream rotated its keys: discover once more, then decide.
        metadata = p
            .metadata(http, true)
            .await
            .map_err(|e| unreachable(p, e))?;
        let fresh = client(app, p, metadata);
        id_token
            .claims(&fresh.id_token_verifier(), &nonce)
            .map_err(|_| refused("upstream-bad-id-token"))?;
    }
    let mut claims =
        payload(&id_token.to_string()).ok_or(refused("upstream-malformed-id-token"))?;
    if !claims.contains_key(p.cfg.username_claim.as_deref().unwrap_or("sub")) {
        let more = userinfo(app, p, tokens.access_token().secret()).await?;
        crate::app::federation::merge_userinfo(&mut claims, more)
            .map_err(|_| refused("upstream-disagree"))?;
    }
    Ok(claims)
}

/// The claims of a JWT whose signature has been verified.
fn payload(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine;
    let part = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

async fn userinfo(
    app: &App,
    p: &Provider,
    access_token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, GatewayError> {
    let m = p
        .metadata(&app.federation.http, false)
        .await
        .map_err(|e| unreachable(p, e))?;
    let Some(endpoint) = m.userinfo_endpoint() else {
        return Ok(serde_json::Map::new());
    };
    let r = app
        .federation
        .http
        .get(endpoint.url().as_str())
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| unreachable(p, e))?;
    let body = r.bytes().await.map_err(|e| unreachable(p, e))?;
    serde_json::from_slice(&body).map_err(|e| unreachable(p, e))
}
