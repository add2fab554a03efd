//! Where users come from: the `Directory` seam. Login, token, userinfo, policy and the proxy
//! ask a `Directory`; they never know whether the answer came from the TOML file or, later, a
//! directory server or an upstream provider.
//!
//! A directory must not decide policy (that is `policy`'s) nor count failures (that is
//! `login::regulation`'s): it only knows users, passwords and groups.

pub mod federated;
pub mod ldap;
mod toml_users;

use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;

pub use toml_users::TomlUsers;

/// A user as every part of authgate sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserInfo {
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub disabled: bool,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DirectoryError {
    /// Too many password checks are in progress: answer 503 now rather than later.
    #[error("too many sign-ins in progress")]
    Busy,
    /// The directory cannot answer; a security decision that needs it fails closed.
    #[error("the user directory is unavailable: {0}")]
    Unavailable(String),
}

impl From<DirectoryError> for crate::http::GatewayError {
    fn from(e: DirectoryError) -> crate::http::GatewayError {
        match e {
            DirectoryError::Busy => crate::http::GatewayError::Busy,
            DirectoryError::Unavailable(_) => {
                log::error!("{e}");
                crate::http::GatewayError::Unavailable(
                    "the user directory is unavailable right now; please try again shortly".into(),
                )
            }
        }
    }
}

#[async_trait]
pub trait Directory: Send + Sync {
    /// The user called `username`, disabled or not; `None` when there is no such user.
    async fn find(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError>;

    /// The user, when `password` is theirs and the account is enabled. Unknown users, wrong
    /// passwords and disabled accounts all answer `None`, and cost the same time.
    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Arc<UserInfo>>, DirectoryError>;

    /// The groups of `username` (empty for an unknown user).
    async fn groups(&self, username: &str) -> Result<Vec<String>, DirectoryError> {
        Ok(self
            .find(username)
            .await?
            .map(|u| u.groups.clone())
            .unwrap_or_default())
    }

    /// The user, only while the account is enabled: what every token and session check asks.
    async fn active(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        Ok(self.find(username).await?.filter(|u| !u.disabled))
    }

    /// Like `active`, but asking the source itself rather than any cache: a refresh token's
    /// use re-checks its user.
    async fn recheck(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        self.active(username).await
    }

    /// Whether the directory can answer (for `/readyz`).
    async fn ready(&self) -> bool {
        true
    }
}

/// The local users first, then users of upstream providers, then the directory server: a
/// local user with the same name wins.
pub struct Chain {
    pub local: TomlUsers,
    pub federated: Option<Arc<federated::Federated>>,
    pub ldap: Option<ldap::LdapDirectory>,
}

impl Chain {
    /// A user of a source after the local one, unless a local user has their name in any
    /// case (hardening: identity shadowing: LDAP `ALICE` must not become local
    /// `alice` with her groups).
    fn unshadowed(&self, asked: &str, u: Option<Arc<UserInfo>>) -> Option<Arc<UserInfo>> {
        let u = u?;
        if self.local.claims(asked) || self.local.claims(&u.username) {
            log::warn!("a directory user has the name of a local user; refused");
            return None;
        }
        Some(u)
    }
}

/// Group names travel comma-joined (`X-Forwarded-Groups`): a name with a comma would reach
/// apps as several groups (hardening: group splitting), so it is dropped.
pub fn without_split_groups(u: Arc<UserInfo>) -> Arc<UserInfo> {
    if !u.groups.iter().any(|g| g.contains(',')) {
        return u;
    }
    log::warn!("dropped group names with a comma from {}", u.username);
    let mut clean = (*u).clone();
    clean.groups.retain(|g| !g.contains(','));
    Arc::new(clean)
}

#[async_trait]
impl Directory for Chain {
    async fn find(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        if let Some(u) = self.local.find(username).await? {
            return Ok(Some(u));
        }
        if let Some(fed) = &self.federated {
            if let Some(u) = fed.find(username).await? {
                return Ok(self.unshadowed(username, Some(u)).map(without_split_groups));
            }
        }
        match &self.ldap {
            Some(ldap) => {
                let u = ldap.find(username).await?;
                Ok(self.unshadowed(username, u).map(without_split_groups))
            }
            None => Ok(None),
        }
    }

    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        match &self.ldap {
            Some(ldap) if !self.local.claims(username) => {
                let u = ldap.verify_password(username, password).await?;
                Ok(self.unshadowed(username, u).map(without_split_groups))
            }
            _ => self.local.verify_password(username, password).await,
        }
    }

    async fn recheck(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        if self.local.knows(username) {
            return self.local.recheck(username).await;
        }
        if let Some(fed) = &self.federated {
            if let Some(u) = fed.active(username).await? {
                return Ok(self.unshadowed(username, Some(u)).map(without_split_groups));
            }
        }
        match &self.ldap {
            Some(ldap) => {
                let u = ldap.recheck(username).await?;
                Ok(self.unshadowed(username, u).map(without_split_groups))
            }
            None => Ok(None),
        }
    }

    async fn ready(&self) -> bool {
        match &self.ldap {
            Some(ldap) => ldap.ready().await,
            None => true,
        }
    }
}
