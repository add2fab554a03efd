//! Who is making a request: a bearer access token issued by authgate to one of the accepted
//! clients, or a session cookie on this host. Shared by the proxy, forward-auth and userinfo.

use std::sync::Arc;

use pingora::http::RequestHeader;

use super::attempts::{Attempted, Credential as Tried};
use super::App;
use crate::config::Route;
use crate::directory::DirectoryError;
use crate::http::cookies;
use crate::http::host::Host;
use crate::identity::Identity;
use crate::oidc::errors::{ResourceCode, ResourceError};
use crate::oidc::grant::GrantRecord;
use crate::oidc::tokens::{self, AccessClaims};
use crate::policy::Credential;
use crate::session::{Key, Kind, StoreError};
use crate::storage::Owner;

#[derive(Debug)]
pub enum AuthError {
    /// An access token was sent and is not valid here (or its DPoP proof is not): 401, never
    /// a login redirect.
    InvalidToken(ResourceError),
    /// An `Authorization: Basic` app password was sent and is not valid: 401 with a Basic
    /// challenge.
    InvalidBasic,
    /// The store or the directory cannot answer: fail closed.
    Unavailable(crate::http::GatewayError),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> AuthError {
        AuthError::Unavailable(e.into())
    }
}

impl From<crate::storage::StorageError> for AuthError {
    fn from(e: crate::storage::StorageError) -> AuthError {
        AuthError::Unavailable(e.into())
    }
}

impl From<DirectoryError> for AuthError {
    fn from(e: DirectoryError) -> AuthError {
        AuthError::Unavailable(e.into())
    }
}

/// The scheme an access token came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScheme {
    /// `Authorization: Bearer` (RFC 6750 §2.1).
    Bearer,
    /// `Authorization: DPoP`, with a `DPoP` proof header (RFC 9449 §7.1).
    Dpop,
}

/// The access token of `Authorization: Bearer …` or `Authorization: DPoP …`, if either is
/// the scheme used.
pub fn access_token(req: &RequestHeader) -> Option<(TokenScheme, &str)> {
    let h = req
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = h.trim().split_once(' ')?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        TokenScheme::Bearer
    } else if scheme.eq_ignore_ascii_case(crate::oidc::dpop::SCHEME) {
        TokenScheme::Dpop
    } else {
        return None;
    };
    Some((scheme, token.trim()))
}

/// RFC 9449 §7: a token used at a protected resource is bound as it is presented. A bound one
/// comes as `DPoP` with a proof of its key for this very request (`method` on `htu`, `ath`
/// its hash); one bound to nothing comes as `Bearer`.
pub async fn check_presented<'m>(
    app: &App,
    req: &RequestHeader,
    (scheme, token): (TokenScheme, &str),
    claims: &AccessClaims,
    htm_htu: impl FnOnce() -> (&'m str, String),
) -> Result<(), ResourceError> {
    use crate::oidc::dpop::{check_binding, Presented};
    if scheme == TokenScheme::Bearer {
        return check_binding(claims.jkt(), Presented::Bearer);
    }
    let refused = |e| super::dpop::refused(e).into_resource_error();
    let proof = super::dpop::proof_header(req)
        .map_err(refused)?
        .ok_or_else(|| {
            ResourceError::new(ResourceCode::InvalidDpopProof, "a DPoP proof is required").dpop()
        })?;
    let (htm, htu) = htm_htu();
    let expected = super::dpop::Expected {
        htu: &htu,
        htm,
        token: Some(token),
        nonce_for: None,
    };
    let jkt = super::dpop::verify(app, proof, &expected)
        .await
        .map_err(refused)?;
    check_binding(claims.jkt(), Presented::Dpop(&jkt))
}

/// The client of a back-channel request, by whichever method it uses; a client assertion
/// (private_key_jwt) is accepted once.
pub async fn client<'a>(
    app: &'a App,
    authorization: Option<&str>,
    p: &crate::http::params::Params,
) -> Result<&'a crate::config::Client, crate::oidc::errors::TokenError> {
    use crate::oidc::client_auth;
    let issuer = &app.cfg.server.issuer;
    // The issuer (rfc7523bis) or, as OIDC Core §9 says, the token endpoint.
    let audiences = [issuer.clone(), format!("{issuer}/oauth2/token")];
    let now = app.now();
    let Some((client, a)) =
        client_auth::assertion(authorization, p, &app.clients, &audiences, now)?
    else {
        return client_auth::authenticate(authorization, p, &app.clients);
    };
    let key = Key::id(Kind::Assertion, &format!("{} {}", client.client_id, a.jti));
    let ttl = std::time::Duration::from_secs(a.exp.saturating_sub(now).max(1));
    if app.stores.records.incr(&key, ttl).await? > 1 {
        return Err(crate::oidc::errors::TokenError::new(
            crate::oidc::errors::TokenCode::InvalidClient,
            "the client assertion was used before",
        ));
    }
    Ok(client)
}

/// A live access token, and the name of the user it is for.
#[derive(Debug, Clone)]
pub struct LiveToken {
    pub claims: Arc<AccessClaims>,
    /// The user's name when `sub` is not it (a pairwise subject), from the token's grant.
    pairwise_user: Option<String>,
}

impl LiveToken {
    /// The name of the user (or, for a client's own token, the client) the token is for.
    pub fn user(&self) -> &str {
        self.pairwise_user.as_deref().unwrap_or(&self.claims.sub)
    }
}

/// An access token that verifies and whose grant is still alive.
/// A verified signature is remembered (`App::verified_tokens`) so that bearer traffic does not
/// pay an ECDSA/RSA verification per request; expiry and revocation are checked every time.
pub async fn live_access_token(app: &App, token: &str) -> Result<Option<LiveToken>, StoreError> {
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
    let Some(grant) = app
        .stores
        .records
        .get(&Key::id(Kind::Grant, &claims.gid))
        .await?
    else {
        return Ok(None);
    };
    let pairwise = app
        .clients
        .get(&claims.aud)
        .is_some_and(|c| c.profile.pairwise_sector.is_some());
    let pairwise_user = if pairwise {
        let grant: GrantRecord =
            serde_json::from_slice(&grant).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Some(grant.user)
    } else {
        None
    };
    Ok(Some(LiveToken {
        claims,
        pairwise_user,
    }))
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

/// What a request may authenticate with, besides a session cookie.
#[derive(Debug, Clone, Copy)]
pub struct Accepts<'a> {
    pub bearer: Bearer<'a>,
    /// `Authorization: Basic user:app-password` (the route's `app_passwords`).
    pub app_passwords: bool,
    /// The client's address: wrong app passwords count towards its lockout.
    pub client_ip: Option<std::net::IpAddr>,
    /// The request came over HTTPS: the session cookie is the `__Host-` one.
    pub secure: bool,
    /// The request as its client addressed it (what a DPoP proof names), and its route.
    pub target: Option<Addressed<'a>>,
}

/// A request as its client addressed it, for a route: what a DPoP proof's `htm` and `htu`
/// name (for forward-auth, the original request, not the subrequest), and the route a token
/// exchanged for it names as its audience.
#[derive(Debug, Clone, Copy)]
pub struct Addressed<'a> {
    pub scheme: &'a str,
    pub host: &'a Host,
    /// Normalised, without the query.
    pub path: &'a str,
    pub method: &'a str,
    pub route: &'a Route,
}

impl Accepts<'_> {
    /// A session cookie only.
    pub fn cookies() -> Accepts<'static> {
        Accepts {
            bearer: Bearer::Ignored,
            app_passwords: false,
            client_ip: None,
            secure: false,
            target: None,
        }
    }

    /// The request's method and URL without its query: what a DPoP proof names.
    fn htm_htu(&self) -> (&str, String) {
        match self.target {
            Some(t) => (
                t.method,
                format!("{}://{}{}", t.scheme, t.host.authority(), t.path),
            ),
            None => ("", String::new()),
        }
    }

    /// Whether `aud` is this request's route: a URL on its host under its path prefix (the
    /// target of a token exchange, RFC 8693 `resource`).
    fn audience(&self, aud: &str) -> bool {
        self.target
            .is_some_and(|t| crate::oidc::exchange::names_route(aud, t.route))
    }
}

/// The identity of the request, `None` if it carries none.
pub async fn authenticate(
    app: &App,
    req: &RequestHeader,
    accepts: Accepts<'_>,
    now: u64,
) -> Result<Option<Identity>, AuthError> {
    if let (Bearer::From(bearer_clients), Some(presented)) = (accepts.bearer, access_token(req)) {
        let invalid = || {
            AuthError::InvalidToken(ResourceError::new(
                ResourceCode::InvalidToken,
                "the access token is invalid, expired, revoked or not for this application",
            ))
        };
        let live = live_access_token(app, presented.1)
            .await?
            .filter(|t| {
                // No bearer_clients: no bearer token at all, exchanged ones included.
                !bearer_clients.is_empty()
                    && (bearer_clients.contains(&t.claims.aud) || accepts.audience(&t.claims.aud))
            })
            .ok_or_else(invalid)?;
        let claims = &live.claims;
        check_presented(app, req, presented, claims, || accepts.htm_htu())
            .await
            .map_err(AuthError::InvalidToken)?;
        let user = if claims.gty.as_deref() == Some(tokens::CLIENT_CREDENTIALS) {
            // A client acting for itself: its identity, while it may still use the grant.
            app.clients.machine(&claims.client_id).cloned()
        } else {
            // The same name from another source is someone else.
            let user = app.directory.active(live.user()).await?;
            user.filter(|u| claims.is_for(u))
        }
        .ok_or_else(invalid)?;
        return Ok(Some(
            Identity::of(
                user,
                claims.jti.clone(),
                claims.amr.clone(),
                Credential::Bearer,
            )
            .for_client(&claims.client_id),
        ));
    }
    if let (true, Some((user, password))) = (accepts.app_passwords, basic(req)) {
        return app_password(app, &user, &password, accepts.client_ip, now)
            .await
            .map(Some);
    }
    let Some(id) = cookies::get(req, &app.cookies.on(accepts.secure).session) else {
        return Ok(None);
    };
    let Some(found) = app.sessions().lookup(id, now).await? else {
        return Ok(None);
    };
    match app.directory.active(&found.record.user).await? {
        Some(u) if found.record.belongs_to(&u) => Ok(Some(Identity::of(
            u,
            found.key.into_string(),
            found.record.amr,
            Credential::Session,
        ))),
        _ => {
            // Removed, disabled or now from another source since sign-in: the session ends
            // here, everywhere.
            super::revocation::end_session(app, &found.key).await?;
            Ok(None)
        }
    }
}

/// The user and password of `Authorization: Basic …` (RFC 7617), if that is the scheme used.
pub fn basic(req: &RequestHeader) -> Option<(String, String)> {
    use base64::Engine;
    let h = req
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, value) = h.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let (user, password) = String::from_utf8(raw)
        .ok()?
        .split_once(':')
        .map(|(u, p)| (u.to_string(), p.to_string()))?;
    Some((user, password))
}

/// An app password: checked against the storage at most once a second per credential (so a
/// revocation is seen within a second on every instance), never a user's main password.
/// Wrong ones count towards the lockout and the rate limit.
async fn app_password(
    app: &App,
    user: &str,
    password: &str,
    ip: Option<std::net::IpAddr>,
    now: u64,
) -> Result<Identity, AuthError> {
    let cache_key = crate::storage::app_password_hash(&format!("{user}\0{password}"));
    // The user as the directory knows them now: an app password is theirs only if it was
    // made for this name from this source.
    let info = app.directory.active(user).await?;
    let id = match app.verified_app_passwords.get(&cache_key) {
        Some(id) => Some(id),
        None => {
            let store = app
                .factors
                .as_ref()
                .map(|f| &f.store)
                .ok_or(AuthError::InvalidBasic)?;
            let seconds = i64::try_from(now).unwrap_or(i64::MAX);
            let check = || async {
                let Some(info) = &info else {
                    return Ok(None);
                };
                let owner = Owner {
                    name: user,
                    source: &info.source,
                };
                Ok(store.use_app_password(&owner, password, seconds).await?)
            };
            match app.attempt(user, ip, Tried::AppPassword, check).await {
                Ok(Attempted::Right(id)) => {
                    app.verified_app_passwords.insert(cache_key, id.clone());
                    Some(id)
                }
                Ok(Attempted::Wrong) => {
                    // Over the rate limit or not, the answer is the same 401.
                    let _ = app.admit(ip).await;
                    None
                }
                Ok(Attempted::Locked) => None,
                Err(e) => return Err(AuthError::Unavailable(e)),
            }
        }
    };
    let id = id.ok_or(AuthError::InvalidBasic)?;
    let info = info.ok_or(AuthError::InvalidBasic)?;
    Ok(Identity::of(
        info,
        format!("app:{id}"),
        vec!["app".to_string()],
        Credential::AppPassword,
    ))
}
