//! Who is making a request to a protected route: a bearer access token issued by authgate, or
//! an app session cookie on this host. Shared by the proxy and forward-auth.

use pingora::http::RequestHeader;

use crate::app::App;
use crate::http::cookies;
use crate::identity::Identity;
use crate::provider::sessions;
use crate::session::StoreError;

#[derive(Debug)]
pub enum AuthError {
    /// A bearer token was sent and is not valid: 401 `invalid_token`, never a login redirect.
    InvalidToken,
    Store(StoreError),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> AuthError {
        AuthError::Store(e)
    }
}

/// The bearer token of `Authorization: Bearer …`, if that is the scheme used.
pub fn bearer(req: &RequestHeader) -> Option<&str> {
    let h = req
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = h.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The identity of the request, `None` if it carries none.
pub async fn authenticate(
    app: &App,
    req: &RequestHeader,
    now: u64,
) -> Result<Option<Identity>, AuthError> {
    if let Some(token) = bearer(req) {
        let claims = crate::provider::live_access_token(app, token)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let user = app
            .cfg
            .users
            .get(&claims.sub)
            .filter(|u| !u.disabled)
            .ok_or(AuthError::InvalidToken)?;
        return Ok(Some(Identity::of(user, claims.jti.clone())));
    }
    let Some(id) = cookies::get(req, &app.cfg.session.cookie_name) else {
        return Ok(None);
    };
    let Some(found) = sessions::lookup(app, &id, now).await? else {
        return Ok(None);
    };
    Ok(app
        .cfg
        .users
        .get(&found.record.user)
        .filter(|u| !u.disabled)
        .map(|u| Identity::of(u, found.key)))
}
