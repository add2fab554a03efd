//! Who is making a request: a bearer access token issued by authgate to one of the accepted
//! clients, or a session cookie on this host. Shared by the proxy, forward-auth and userinfo.

use std::sync::Arc;

use pingora::http::RequestHeader;

use super::App;
use crate::directory::DirectoryError;
use crate::http::cookies;
use crate::identity::Identity;
use crate::oidc::tokens::{self, AccessClaims};
use crate::session::{Key, Kind, StoreError};

#[derive(Debug)]
pub enum AuthError {
    /// A bearer token was sent and is not valid here: 401 `invalid_token`, never a login
    /// redirect.
    InvalidToken,
    /// The store or the directory cannot answer: fail closed.
    Unavailable(crate::http::GatewayError),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> AuthError {
        AuthError::Unavailable(e.into())
    }
}

impl From<DirectoryError> for AuthError {
    fn from(e: DirectoryError) -> AuthError {
        AuthError::Unavailable(e.into())
    }
}

/// The token of `Authorization: Bearer …` (RFC 6750 §2.1), if that is the scheme used.
pub fn bearer(req: &RequestHeader) -> Option<&str> {
    let h = req
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = h.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// An access token that verifies and whose grant is still alive.
/// A verified signature is remembered (`App::verified_tokens`) so that bearer traffic does not
/// pay an ECDSA/RSA verification per request; expiry and revocation are checked every time.
pub async fn live_access_token(
    app: &App,
    token: &str,
) -> Result<Option<Arc<AccessClaims>>, StoreError> {
    let claims = match app.verified_tokens.get(token) {
        Some(c) => c,
        None => {
            let Some(c) = tokens::verify_access(&app.keys, &app.cfg.server.issuer, token) else {
                return Ok(None);
            };
            let c = Arc::new(c);
            app.verified_tokens
                .insert(token.to_string(), Arc::clone(&c));
            c
        }
    };
    if claims.exp <= app.now() {
        return Ok(None);
    }
    let alive = app
        .store
        .get(&Key::id(Kind::Grant, &claims.gid))
        .await?
        .is_some();
    Ok(alive.then_some(claims))
}

/// Which bearer tokens a request may use.
#[derive(Debug, Clone, Copy)]
pub enum Bearer<'a> {
    /// Access tokens issued to these clients (RFC 9068 §4: the audience is checked); any other
    /// bearer token is `InvalidToken`.
    From(&'a [String]),
    /// None: an `Authorization` header is not looked at, only the session cookie.
    Ignored,
}

/// The identity of the request, `None` if it carries none.
pub async fn authenticate(
    app: &App,
    req: &RequestHeader,
    accepted: Bearer<'_>,
    now: u64,
) -> Result<Option<Identity>, AuthError> {
    if let (Bearer::From(bearer_clients), Some(token)) = (accepted, bearer(req)) {
        let claims = live_access_token(app, token)
            .await?
            .filter(|c| bearer_clients.contains(&c.client_id))
            .ok_or(AuthError::InvalidToken)?;
        let user = app
            .directory
            .active(&claims.sub)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        return Ok(Some(Identity::of(
            user,
            claims.jti.clone(),
            claims.amr.clone(),
        )));
    }
    let Some(id) = cookies::get(req, &app.cfg.session.cookie_name) else {
        return Ok(None);
    };
    let Some(found) = app.sessions().lookup(&id, now).await? else {
        return Ok(None);
    };
    match app.directory.active(&found.record.user).await? {
        Some(u) => Ok(Some(Identity::of(
            u,
            found.key.as_str().to_string(),
            found.record.amr,
        ))),
        None => {
            // Removed or disabled since sign-in: the session ends here, everywhere.
            app.sessions().end(&found.key).await?;
            Ok(None)
        }
    }
}
