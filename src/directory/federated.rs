//! Users who signed in through an upstream OpenID Provider. Their identity (the mapped claims)
//! is remembered in the session store for a session's lifetime at each sign-in, so that every
//! instance resolves them like any other user while their sessions live. They have no password.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Directory, DirectoryError, UserInfo};
use crate::session::{Key, Kind, Records, Store};

pub struct Federated {
    pub store: Arc<dyn Store>,
    pub lifetime: Duration,
}

fn unavailable(e: crate::session::StoreError) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

impl Federated {
    /// Records (or refreshes) `user` at sign-in.
    pub async fn remember(&self, user: &UserInfo) -> Result<(), DirectoryError> {
        Records(self.store.as_ref())
            .put(
                &Key::secret(Kind::Federated, &user.username),
                user,
                self.lifetime,
            )
            .await
            .map_err(unavailable)
    }
}

#[async_trait]
impl Directory for Federated {
    async fn find(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        let user: Option<UserInfo> = Records(self.store.as_ref())
            .get(&Key::secret(Kind::Federated, username))
            .await
            .map_err(unavailable)?;
        Ok(user.map(Arc::new))
    }

    async fn verify_password(
        &self,
        _username: &str,
        _password: &str,
    ) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        Ok(None)
    }
}
