//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3.1): `client_secret_basic`, `client_secret_post`, or `none` for public
//! clients. Using more than one method in a request is an error (§2.3).

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
        (ClientKind::Public, None) => Ok(client),
        (ClientKind::Public, Some(_)) => {
            Err(invalid_client("this is a public client: it has no secret"))
        }
    }
}
