//! Shared state: sessions, codes, pending logins, grants, counters — behind one small store
//! trait so that memory (moka) and Redis behave the same.
//!
//! Every secret the browser or a client holds (session ids, codes, refresh tokens) is stored
//! under the SHA-256 of its value, so a dump of the store yields nothing usable.

pub mod memory;
pub mod redis;

use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    #[error("a stored record is corrupt: {0}")]
    Corrupt(String),
}

/// The store contract. Implementations must keep these invariants:
/// - a value is never returned after its TTL has passed;
/// - `take` is atomic: of any number of concurrent callers (on any instance), at most one
///   receives a given value — this is what makes codes and refresh tokens single-use;
/// - `incr` is atomic and the TTL is set only when the counter is created.
#[async_trait]
pub trait Store: Send + Sync {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError>;
    /// How many live keys are in `namespace` (for metrics; may walk the whole store).
    async fn count(&self, namespace: &str) -> Result<u64, StoreError>;
}

/// Typed access to the store: JSON records under namespaced keys.
pub struct Records<'a>(pub &'a dyn Store);

impl Records<'_> {
    pub async fn put<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.0.put(key, bytes, ttl).await
    }

    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        decode(self.0.get(key).await?)
    }

    pub async fn take<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        decode(self.0.take(key).await?)
    }
}

fn decode<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    match bytes {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string())),
    }
}

/// A new 256-bit secret from the OS RNG, base64url without padding (43 characters).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new 128-bit identifier (not a credential: `sid`, `jti`, grant ids).
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The store key of a secret: `namespace:` + SHA-256 of the secret.
pub fn key(namespace: &str, secret: &str) -> String {
    format!(
        "{namespace}:{}",
        URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
    )
}

/// Current time in seconds since the epoch: the one clock of the I/O layer. Protocol rules
/// take `now` as an argument.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A signed-in user's session. The provider session lives on the `public_url` host; an app
/// session on another host has `parent` set to the provider session's key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: String,
    /// The `sid` claim: identifies the session without being its secret.
    pub sid: String,
    pub auth_time: u64,
    /// Absolute end (`lifetime` after sign-in).
    pub expires: u64,
    /// Last time the session was seen, updated at most once a minute.
    pub last_seen: u64,
    /// Store key of the provider session this app session was made from.
    #[serde(default)]
    pub parent: Option<String>,
    /// Store keys of the app sessions made from this provider session.
    #[serde(default)]
    pub children: Vec<String>,
}

impl SessionRecord {
    /// Alive at `now`: before its absolute end and not idle for longer than `idle`.
    pub fn alive(&self, now: u64, idle: Duration) -> bool {
        now < self.expires && now.saturating_sub(self.last_seen) < idle.as_secs()
    }

    /// Seconds the record must stay in the store.
    pub fn ttl(&self, now: u64) -> Duration {
        Duration::from_secs(self.expires.saturating_sub(now).max(1))
    }
}
