//! Users who signed in through an upstream OpenID Provider. Their identity (the mapped claims)
//! is remembered in the session store for a session's lifetime at each sign-in, so that every
//! instance resolves them like any other user while their sessions live. They have no password.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Directory, DirectoryError, Owns, UserInfo};
use crate::session::{Key, Kind, Records, Store};

pub struct Federated {
    pub store: Arc<dyn Store>,
    pub lifetime: Duration,
}

fn unavailable(e: crate::session::StoreError) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

/// A federated user and the provider they came from.
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    user: UserInfo,
    provider: String,
}

impl Federated {
    /// Records (or refreshes) `user`, signed in through `provider`.
    pub async fn remember(&self, user: &UserInfo, provider: &str) -> Result<(), DirectoryError> {
        let record = Record {
            user: user.clone(),
            provider: provider.to_string(),
        };
        let key = Key::secret(Kind::Federated, &user.username);
        Records(self.store.as_ref())
            .put(&key, &record, self.lifetime)
            .await
            .map_err(unavailable)
    }

    async fn record(&self, username: &str) -> Result<Option<Record>, DirectoryError> {
        Records(self.store.as_ref())
            .get(&Key::secret(Kind::Federated, username))
            .await
            .map_err(unavailable)
    }

    /// The provider `username` signed in through, if they are a federated user.
    pub async fn provider_of(&self, username: &str) -> Result<Option<String>, DirectoryError> {
        Ok(self.record(username).await?.map(|r| r.provider))
    }
}

#[async_trait]
impl Directory for Federated {
    /// Federated users have no password here.
    fn owns(&self, _username: &str) -> Owns {
        Owns::No
    }

    async fn find(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        Ok(self.record(username).await?.map(|r| {
            let mut user = r.user;
            user.source = super::Source::Upstream(r.provider);
            Arc::new(user)
        }))
    }

    async fn verify_password(
        &self,
        _username: &str,
        _password: &str,
    ) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        Ok(None)
    }
}
