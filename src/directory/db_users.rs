//! authgate's own users, kept in `[storage]` (the source `db`): added by the operator or an
//! administrator, their passwords set by themselves through an invitation. Each user is read
//! from the database at most once a second per instance: a change is seen everywhere within a
//! second, and the proxy does not ask the database on every request.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Directory, DirectoryError, Source, UserInfo};
use crate::login::password::{Verifier, VerifyError};
use crate::secret::Secret;
use crate::storage::{Storage, StoredUser};

pub struct DbUsers {
    storage: Arc<Storage>,
    passwords: Arc<Verifier>,
    /// Users read in the last second, by name (`None`: there is no such user).
    recent: moka::sync::Cache<String, Option<Arc<UserInfo>>>,
    /// Whether a name is held here, in any case, asked in the last second (by the name asked).
    held: moka::sync::Cache<String, bool>,
}

impl DbUsers {
    pub fn new(storage: Arc<Storage>, passwords: Arc<Verifier>) -> DbUsers {
        DbUsers {
            storage,
            passwords,
            recent: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(1))
                .build(),
            held: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(1))
                .build(),
        }
    }

    /// The user as every part of authgate sees them.
    pub fn info(u: StoredUser) -> UserInfo {
        let mut groups = u.groups;
        super::without_split_groups(&mut groups, &u.username);
        UserInfo {
            source: Source::Db,
            username: u.username,
            email: u.email,
            // Set by the operator or an administrator: vouched for like the config's users.
            email_verified: true,
            name: u.name,
            groups,
            disabled: u.disabled,
        }
    }

    async fn read(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        let found = self.storage.user(username).await.map_err(unavailable)?;
        Ok(found.map(|(u, _)| Arc::new(DbUsers::info(u))))
    }
}

fn unavailable(e: crate::storage::StorageError) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

#[async_trait]
impl Directory for DbUsers {
    async fn find(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        if let Some(known) = self.recent.get(username) {
            return Ok(known);
        }
        let read = self.read(username).await?;
        self.recent.insert(username.to_string(), read.clone());
        Ok(read)
    }

    async fn recheck(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        Ok(self.read(username).await?.filter(|u| !u.disabled))
    }

    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        let found = self.storage.user(username).await.map_err(unavailable)?;
        let hash = found.as_ref().and_then(|(_, h)| h.clone()).map(Secret::new);
        // Unknown users and invited users without a password are checked against a dummy hash.
        let ok = self
            .passwords
            .verify(hash.as_ref(), password)
            .await
            .map_err(|VerifyError::Busy| DirectoryError::Busy)?;
        Ok(found
            .filter(|(u, h)| ok && h.is_some() && !u.disabled)
            .map(|(u, _)| Arc::new(DbUsers::info(u))))
    }

    /// Yes when a user of this name (in any case or spacing) is kept here: only this source
    /// then checks the password, and a later source's user of the name is refused.
    async fn holds(&self, username: &str) -> Result<super::Owns, DirectoryError> {
        // By the name as asked (a hit allocates nothing: sessions of later sources ask on
        // every request); the database compares it in any case.
        let taken = match self.held.get(username) {
            Some(t) => t,
            None => {
                let t = self
                    .storage
                    .user_name_taken(username)
                    .await
                    .map_err(unavailable)?;
                self.held.insert(username.to_string(), t);
                t
            }
        };
        Ok(if taken {
            super::Owns::Yes
        } else {
            super::Owns::No
        })
    }

    async fn ready(&self) -> bool {
        self.storage.user("").await.is_ok()
    }
}
