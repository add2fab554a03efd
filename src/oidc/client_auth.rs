//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3.1): `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//! (RFC 7523 §2.2, OIDC Core §9), or `none` for public clients. Using more than one method in a
//! request is an error (§2.3).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::clients::Clients;
use super::errors::{TokenCode, TokenError};
use crate::config::{Client, ClientKind};
use crate::http::params::{self, Params};
use crate::secret::ct_eq;

/// What `client_secret_sha256` holds: lowercase hex SHA-256 of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn invalid_client(why: &str) -> TokenError {
    TokenError::new(TokenCode::InvalidClient, why)
}

/// `Authorization: Basic` credentials: base64 of `form-urlencoded(id):form-urlencoded(secret)`.
fn basic(header: &str) -> Result<(String, String), TokenError> {
    let (scheme, value) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| invalid_client("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid_client("unsupported authentication scheme"));
    }
    let raw = STANDARD
        .decode(value.trim())
        .map_err(|_| invalid_client("malformed Basic credentials"))?;
    let raw = String::from_utf8(raw).map_err(|_| invalid_client("malformed Basic credentials"))?;
    let (id, secret) = raw
        .split_once(':')
        .ok_or_else(|| invalid_client("malformed Basic credentials"))?;
    let id = params::decode(id).map_err(|_| invalid_client("malformed Basic credentials"))?;
    let secret =
        params::decode(secret).map_err(|_| invalid_client("malformed Basic credentials"))?;
    Ok((id, secret))
}

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest a client assertion may live: its `jti` is remembered that long.
const MAX_ASSERTION_LIFETIME: u64 = 600;

/// A verified client assertion's `jti`, to be accepted once, until `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub jti: String,
    pub exp: u64,
}

#[derive(serde::Deserialize)]
struct AssertionClaims {
    iss: String,
    jti: String,
    exp: u64,
    /// One audience, a string (rfc7523bis: an array invites audience injection).
    #[allow(dead_code)]
    aud: String,
}

/// `private_key_jwt`: the client a request's `client_assertion` authenticates, or `None` when it
/// has none. Signature, `iss` = `sub` = the client, `aud` one of `audiences`, and `exp` against
/// `now` are checked here; that the `jti` is new is the caller's to check (it needs the store).
pub fn assertion<'c>(
    authorization: Option<&str>,
    p: &Params,
    clients: &'c Clients,
    audiences: &[String],
    now: u64,
) -> Result<Option<(&'c Client, Assertion)>, TokenError> {
    let Some(jwt) = p.get("client_assertion") else {
        return Ok(None);
    };
    if authorization.is_some() || p.get("client_secret").is_some() {
        return Err(TokenError::new(
            TokenCode::InvalidRequest,
            "more than one client authentication method",
        ));
    }
    if p.get("client_assertion_type") != Some(JWT_BEARER) {
        return Err(invalid_client("client_assertion_type must be jwt-bearer"));
    }
    let bad = || invalid_client("the client assertion does not verify");
    // Only to find whose keys to verify with; nothing is believed before the signature is.
    let claimed = jsonwebtoken::dangerous::insecure_decode::<AssertionClaims>(jwt)
        .map_err(|_| bad())?
        .claims;
    let client = clients
        .get(&claimed.iss)
        .filter(|c| c.kind == ClientKind::KeyPair)
        .ok_or_else(|| invalid_client("unknown client, or it has no keys"))?;
    if p.get("client_id").is_some_and(|id| id != client.client_id) {
        return Err(TokenError::new(
            TokenCode::InvalidRequest,
            "client_id differs from the authenticated client",
        ));
    }
    let claims = verify_assertion(jwt, client, audiences).ok_or_else(bad)?;
    if claims.exp <= now || claims.exp > now + MAX_ASSERTION_LIFETIME {
        return Err(invalid_client(
            "the client assertion has expired or lives too long",
        ));
    }
    Ok(Some((
        client,
        Assertion {
            jti: claims.jti,
            exp: claims.exp,
        },
    )))
}

/// The claims of `jwt` if one of `client`'s keys signed it for one of `audiences`.
fn verify_assertion(jwt: &str, client: &Client, audiences: &[String]) -> Option<AssertionClaims> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(jwt).ok()?;
    if matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return None;
    }
    // A request object (which passes through browsers) is never a client assertion.
    if header
        .typ
        .is_some_and(|t| t.eq_ignore_ascii_case(super::request_object::TYP))
    {
        return None;
    }
    let keys = client.jwks.as_ref()?;
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid)?,
        None => keys.keys.first().filter(|_| keys.keys.len() == 1)?,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&client.client_id]);
    v.sub = Some(client.client_id.clone());
    v.set_audience(audiences);
    v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    // Expiry is checked against authgate's clock by the caller.
    v.validate_exp = false;
    jsonwebtoken::decode::<AssertionClaims>(jwt, &key, &v)
        .ok()
        .map(|t| t.claims)
}

/// Authenticates the client of a back-channel request.
pub fn authenticate<'c>(
    authorization: Option<&str>,
    p: &Params,
    clients: &'c Clients,
) -> Result<&'c Client, TokenError> {
    if p.repeated(&["client_id", "client_secret"]).is_some() {
        return Err(TokenError::new(
            TokenCode::InvalidRequest,
            "client_id or client_secret is repeated",
        ));
    }
    let basic = authorization.map(basic).transpose()?;
    let post_secret = p.get("client_secret");
    if basic.is_some() && post_secret.is_some() {
        return Err(TokenError::new(
            TokenCode::InvalidRequest,
            "more than one client authentication method",
        ));
    }
    let (client_id, secret) = match (&basic, p.get("client_id")) {
        (Some((id, _)), Some(form_id)) if id != form_id => {
            return Err(TokenError::new(
                TokenCode::InvalidRequest,
                "client_id differs from the authenticated client",
            ));
        }
        (Some((id, s)), _) => (id.as_str(), Some(s.as_str())),
        (None, Some(id)) => (id, post_secret),
        (None, None) => return Err(invalid_client("no client authentication")),
    };
    let client = clients
        .get(client_id)
        .filter(|c| c.client_id != crate::PROXY_CLIENT_ID)
        .ok_or_else(|| invalid_client("unknown client"))?;
    match (&client.kind, secret) {
        (ClientKind::Confidential(expected), Some(given))
            if ct_eq(&Sha256::digest(given.as_bytes()), &expected.0) =>
        {
            Ok(client)
        }
        (ClientKind::Confidential(_), Some(_)) => Err(invalid_client("wrong client secret")),
        (ClientKind::Confidential(_), None) => Err(invalid_client("this client must authenticate")),
        (ClientKind::KeyPair, _) => Err(invalid_client(
            "this client authenticates with private_key_jwt (client_assertion)",
        )),
        (ClientKind::Public, None) => Ok(client),
        (ClientKind::Public, Some(_)) => {
            Err(invalid_client("this is a public client: it has no secret"))
        }
    }
}
