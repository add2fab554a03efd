//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3.1): `client_secret_basic`, `client_secret_post`, or `none` for public clients.

use sha2::{Digest, Sha256};

/// What `client_secret_sha256` holds: lowercase hex SHA-256 of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
