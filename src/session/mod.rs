//! Shared state: sessions, codes, grants, refresh tokens, counters — behind one small store
//! trait so that memory (moka) and Redis behave the same.
//!
//! Keys are typed: a `Key` can only be made from a `Kind`, so a misspelt namespace is a compile
//! error. Every secret the browser or a client holds (session ids, codes, refresh tokens) is
//! stored under the SHA-256 of its value, so a dump of the store yields nothing usable.
//! Nothing here knows HTTP, the provider or the proxy.

pub mod memory;
pub mod redis;
mod sessions;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::config::Config;

pub use sessions::{Found, SessionRecord, Sessions};

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    #[error("a stored record is corrupt: {0}")]
    Corrupt(String),
}

impl From<StoreError> for crate::http::GatewayError {
    fn from(e: StoreError) -> crate::http::GatewayError {
        crate::http::GatewayError::unavailable(&e)
    }
}

/// Told about every failed store operation (metrics count them); passed in, so that the store
/// knows nothing of what observes it.
pub type ErrorObserver = Arc<dyn Fn() + Send + Sync>;

/// The kinds of record in the store: each has its key namespace and its longest lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A provider or app session, under the hash of its cookie value.
    Session,
    /// The app sessions made from a provider session (a set of session keys).
    Children,
    /// The provider sessions of one user (a set of session keys), to end the others.
    UserSessions,
    /// The grants given to one user (a set of `sid client_id grant_id`), to revoke them.
    UserGrants,
    /// A WebAuthn ceremony in progress (its server-side state, for minutes).
    Ceremony,
    /// A user of an upstream provider, as mapped at their last sign-in.
    Federated,
    /// An authorization code, under its hash.
    Code,
    /// The grant an already redeemed code created (for replay detection).
    CodeUsed,
    /// A refresh token, under its hash.
    Refresh,
    /// The grant of an already rotated refresh token (for reuse detection).
    RefreshUsed,
    /// A grant, under its id: access tokens naming it are live while it is.
    Grant,
    /// A device authorization (RFC 8628), under the hash of its device code.
    Device,
    /// The device code key a user code stands for, under the user code.
    UserCode,
    /// A client assertion's or request object's `jti` already used (private_key_jwt and
    /// RFC 9101 replay).
    Assertion,
    /// A DPoP proof's `jti` already used (RFC 9449 §11.1), under its hash.
    DpopProof,
    /// A pushed authorization request (RFC 9126), under the hash of its `request_uri`.
    Pushed,
    FailUser,
    FailIp,
    LockUser,
    LockIp,
    /// Sign-in starts and login POSTs of one client address in the current window.
    Rate,
    /// Device codes issued to one client in the current code lifetime.
    DevicePending,
    /// The key `/readyz` reads to see that the store answers.
    Probe,
}

impl Kind {
    pub const fn prefix(self) -> &'static str {
        match self {
            Kind::Session => "sess",
            Kind::Children => "kids",
            Kind::UserSessions => "user-sess",
            Kind::UserGrants => "user-grants",
            Kind::Ceremony => "webauthn",
            Kind::Federated => "fed-user",
            Kind::Code => "code",
            Kind::CodeUsed => "code-used",
            Kind::Refresh => "rt",
            Kind::RefreshUsed => "rt-used",
            Kind::Grant => "grant",
            Kind::Device => "device",
            Kind::UserCode => "user-code",
            Kind::Assertion => "assertion",
            Kind::DpopProof => "dpop",
            Kind::Pushed => "par",
            Kind::FailUser => "fail-user",
            Kind::FailIp => "fail-ip",
            Kind::LockUser => "lock-user",
            Kind::LockIp => "lock-ip",
            Kind::Rate => "rate",
            Kind::DevicePending => "device-pending",
            Kind::Probe => "readyz",
        }
    }

    /// The longest a record of this kind lives, which is also how long its revocation
    /// tombstone is kept.
    pub fn ttl(self, cfg: &Config) -> Duration {
        let t = &cfg.tokens;
        let longest_grant = t.refresh_token_ttl.max(t.access_token_ttl) + Duration::from_secs(60);
        match self {
            Kind::Session | Kind::Children | Kind::UserSessions | Kind::Federated => {
                cfg.session.lifetime
            }
            Kind::Ceremony => Duration::from_secs(300),
            Kind::Assertion => Duration::from_secs(600),
            Kind::DpopProof => crate::oidc::dpop::REMEMBERED,
            Kind::Pushed => Duration::from_secs(crate::oidc::par::EXPIRES_IN),
            // Kept past the code's end, to answer `expired_token` rather than `invalid_grant`.
            Kind::Device | Kind::UserCode => {
                Duration::from_secs(2 * crate::config::DEVICE_CODE_LIFETIME)
            }
            Kind::Code => t.code_ttl,
            Kind::Refresh => t.refresh_token_ttl,
            Kind::CodeUsed | Kind::RefreshUsed | Kind::Grant | Kind::UserGrants => longest_grant,
            Kind::FailUser | Kind::FailIp => cfg.login.failure_window,
            Kind::LockUser | Kind::LockIp => cfg.login.lockout,
            Kind::Rate => cfg.login.rate_window,
            Kind::DevicePending => Duration::from_secs(crate::config::DEVICE_CODE_LIFETIME),
            Kind::Probe => Duration::from_secs(1),
        }
    }
}

/// A store key: a kind's namespace, then the hash of a secret or a plain id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Key(String);

impl Key {
    /// The key of a secret the browser or a client holds: only its SHA-256 is stored.
    pub fn secret(kind: Kind, secret: &str) -> Key {
        Key(format!(
            "{}:{}",
            kind.prefix(),
            URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
        ))
    }

    /// The key of a value that is not a credential (a grant id, a username, an address).
    pub fn id(kind: Kind, id: &str) -> Key {
        Key(format!("{}:{id}", kind.prefix()))
    }

    /// The set of app sessions made from the session at `session`.
    pub fn children_of(session: &Key) -> Key {
        let id = session.0.split_once(':').map_or("", |(_, id)| id);
        Key::id(Kind::Children, id)
    }

    /// A key read back from the store (a member of a `Children` or `UserSessions` set).
    fn stored(key: String) -> Key {
        Key(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The namespace, the part before the first `:`.
    pub fn namespace(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(ns, _)| ns)
    }
}

/// The store contract. Implementations must keep these invariants:
/// - a value is never returned after its TTL has passed;
/// - `take` is atomic: of any number of concurrent callers (on any instance), at most one
///   receives a given value — this is what makes codes and refresh tokens single-use;
/// - `replace` writes only over a live, unrevoked value, atomically: an update that raced with
///   a deletion or revocation never brings the record back;
/// - after `revoke`, the key reads as absent and cannot be replaced until the tombstone's TTL
///   has passed: revocation always wins;
/// - `incr` is atomic and the TTL is set only when the counter is created;
/// - `add_member` is atomic: concurrent additions to one set are all kept; removing a member
///   that is not there is no error.
#[async_trait]
pub trait Store: Send + Sync {
    async fn put(&self, key: &Key, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError>;
    /// Writes over an existing live value only; `false` when there was none (or a tombstone).
    async fn replace(&self, key: &Key, value: Vec<u8>, ttl: Duration) -> Result<bool, StoreError>;
    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError>;
    async fn take(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError>;
    async fn delete(&self, key: &Key) -> Result<(), StoreError>;
    /// Replaces whatever is at `key` with a tombstone kept for `ttl`.
    async fn revoke(&self, key: &Key, ttl: Duration) -> Result<(), StoreError>;
    async fn incr(&self, key: &Key, ttl: Duration) -> Result<u64, StoreError>;
    /// Takes one back from a counter `incr` made, keeping its TTL: never below zero, and never
    /// creating a counter that has expired.
    async fn decr(&self, key: &Key) -> Result<(), StoreError>;
    /// Adds `member` to the set at `key`, which then lives at least `ttl` from now.
    async fn add_member(&self, key: &Key, member: &str, ttl: Duration) -> Result<(), StoreError>;
    async fn members(&self, key: &Key) -> Result<Vec<String>, StoreError>;
    async fn remove_member(&self, key: &Key, member: &str) -> Result<(), StoreError>;
    /// How many live records of `kind` there are (for metrics; may walk the whole store).
    async fn count(&self, kind: Kind) -> Result<u64, StoreError>;
    /// Every live value of `kind` (for the administrator's listings; walks the whole store).
    async fn values(&self, kind: Kind) -> Result<Vec<Vec<u8>>, StoreError>;
    /// The Redis master in use, when it was found through Sentinel (for `/readyz`).
    fn master(&self) -> Option<String> {
        None
    }
}

/// What a tombstone holds in stores that keep bytes: records are JSON or start with a version
/// byte of at least 1, never with a NUL byte, so no record can be mistaken for one.
pub const TOMBSTONE: &[u8] = b"\0revoked";

/// Typed access to the store: JSON records under typed keys.
pub struct Records<'a>(pub &'a dyn Store);

impl Records<'_> {
    pub async fn put<T: Serialize>(
        &self,
        key: &Key,
        value: &T,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.0.put(key, encode(value)?, ttl).await
    }

    pub async fn replace<T: Serialize>(
        &self,
        key: &Key,
        value: &T,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.0.replace(key, encode(value)?, ttl).await
    }

    pub async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        decode(self.0.get(key).await?)
    }

    pub async fn take<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        decode(self.0.take(key).await?)
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    match bytes {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hash_secrets_and_keep_namespaces() {
        let k = Key::secret(Kind::Session, "cookie value");
        assert!(k.as_str().starts_with("sess:"));
        assert!(!k.as_str().contains("cookie"));
        assert_eq!(k.namespace(), "sess");
        assert_eq!(Key::id(Kind::Grant, "g1").as_str(), "grant:g1");
        let kids = Key::children_of(&k);
        assert_eq!(kids.namespace(), "kids");
        assert_eq!(&kids.as_str()[5..], &k.as_str()[5..]);
    }
}
