//! The answers to pending challenges: http-01 key authorizations by token, tls-alpn-01
//! certificates by host. With `[storage]` they are shared, so whichever instance a validation
//! reaches can answer it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use instant_acme::KeyAuthorization;
use sha2::{Digest, Sha256};

use super::AcmeError;
use crate::config::model::Challenge;
use crate::storage::{AcmeChallenge, Storage};
use crate::tls::{challenge_certificate, Certificates};

/// How long a published challenge stays answerable.
const LIFETIME: i64 = 600;
/// How long the other instances get to pick up a tls-alpn-01 answer before the CA is told
/// to validate: they look every second.
const PROPAGATION: Duration = Duration::from_secs(3);

pub struct Answers {
    certs: Arc<Certificates>,
    http: ArcSwap<HashMap<String, String>>,
    store: Option<Arc<Storage>>,
    clock: Arc<dyn crate::clock::Clock>,
    /// tls-alpn-01 answers this instance serves (its own, and those taken from the store):
    /// token → host.
    synced: Mutex<HashMap<String, String>>,
}

impl Answers {
    pub fn new(
        certs: Arc<Certificates>,
        store: Option<Arc<Storage>>,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Answers {
        Answers {
            certs,
            http: ArcSwap::default(),
            store,
            clock,
            synced: Mutex::default(),
        }
    }

    pub async fn publish(
        &self,
        host: &str,
        token: &str,
        key_authorization: &KeyAuthorization,
        challenge: Challenge,
    ) -> Result<(), AcmeError> {
        match challenge {
            Challenge::Http01 => {
                self.http.rcu(|map| {
                    let mut map = HashMap::clone(map);
                    map.insert(token.to_string(), key_authorization.as_str().to_string());
                    map
                });
            }
            Challenge::TlsAlpn01 => {
                let key = challenge_certificate(host, key_authorization.digest().as_ref())?;
                self.certs.set_challenge(host, key);
                self.known().insert(token.to_string(), host.to_string());
            }
        };
        if let Some(store) = &self.store {
            let shared = AcmeChallenge {
                token: token.to_string(),
                host: host.to_string(),
                key_authorization: key_authorization.as_str().to_string(),
            };
            let now = i64::try_from(self.clock.now()).unwrap_or(i64::MAX);
            store.put_acme_challenge(&shared, now + LIFETIME).await?;
            if challenge == Challenge::TlsAlpn01 {
                tokio::time::sleep(PROPAGATION).await;
            }
        }
        Ok(())
    }

    pub async fn withdraw(&self, host: &str, token: &str) {
        self.http.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.remove(token);
            map
        });
        self.certs.clear_challenge(host);
        self.known().remove(token);
        if let Some(store) = &self.store {
            if let Err(e) = store.remove_acme_challenge(token).await {
                log::warn!(
                    "acme: the challenge for {host} stays in the database until it expires: {e}"
                );
            }
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.synced.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key authorization for an http-01 `token`, from this instance or the store.
    pub async fn http01(&self, token: &str) -> Option<String> {
        if let Some(found) = self.http.load().get(token) {
            return Some(found.clone());
        }
        let store = self.store.as_ref()?;
        let now = i64::try_from(self.clock.now()).unwrap_or(i64::MAX);
        match store.acme_challenge(token, now).await {
            Ok(found) => found,
            Err(e) => {
                log::warn!("acme: cannot look up an http-01 challenge: {e}");
                None
            }
        }
    }

    /// Takes the tls-alpn-01 answers other instances published, and drops those they
    /// withdrew.
    pub async fn sync(&self) {
        let Some(store) = &self.store else { return };
        let now = i64::try_from(self.clock.now()).unwrap_or(i64::MAX);
        let list = match store.acme_challenges(now).await {
            Ok(list) => list,
            Err(e) => {
                log::warn!("acme: cannot read the shared challenges: {e}");
                return;
            }
        };
        let mut synced = self.known();
        synced.retain(|token, host| {
            let live = list.iter().any(|c| &c.token == token);
            if !live {
                self.certs.clear_challenge(host);
            }
            live
        });
        for c in &list {
            if synced.contains_key(&c.token) || self.http.load().contains_key(&c.token) {
                continue;
            }
            let digest = Sha256::digest(c.key_authorization.as_bytes());
            match challenge_certificate(&c.host, &digest) {
                Ok(key) => {
                    self.certs.set_challenge(&c.host, key);
                    synced.insert(c.token.clone(), c.host.clone());
                }
                Err(e) => log::warn!("acme: {e}"),
            }
        }
    }
}
