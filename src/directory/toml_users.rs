//! The users of the configuration file (`[[users]]`, `users_file`): the first `Directory`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;

use super::{Directory, DirectoryError, Owns, UserInfo};
use crate::config::User;
use crate::login::password::{Verifier, VerifyError};
use crate::login::regulation::canonical_name;
use crate::secret::Secret;

pub struct TomlUsers {
    users: HashMap<String, (Arc<UserInfo>, Secret)>,
    /// The users' names as the lockout counts them (`regulation::canonical_name`).
    canonical: HashSet<String>,
    passwords: Arc<Verifier>,
}

impl TomlUsers {
    pub fn new<'a>(
        users: impl IntoIterator<Item = &'a User>,
        passwords: Arc<Verifier>,
    ) -> TomlUsers {
        let users: HashMap<_, _> = users
            .into_iter()
            .map(|u| {
                let info = UserInfo {
                    source: super::Source::Local,
                    username: u.username.clone(),
                    email: u.email.clone(),
                    email_verified: u.email_verified,
                    name: u.name.clone(),
                    groups: u.groups.clone(),
                    disabled: u.disabled,
                };
                (
                    u.username.clone(),
                    (Arc::new(info), u.password_hash.clone()),
                )
            })
            .collect();
        let canonical = users.keys().map(|k| canonical_name(k)).collect();
        TomlUsers {
            users,
            canonical,
            passwords,
        }
    }

    /// Whether `username` is one of the file's users.
    pub fn knows(&self, username: &str) -> bool {
        self.users.contains_key(username)
    }

    /// Whether a local user has this name in any case or spacing: another source's user of
    /// that name would shadow them (hardening: identity shadowing).
    pub fn claims(&self, username: &str) -> bool {
        self.canonical.contains(&canonical_name(username))
    }
}

#[async_trait]
impl Directory for TomlUsers {
    fn owns(&self, username: &str) -> Owns {
        if self.claims(username) {
            Owns::Yes
        } else {
            Owns::No
        }
    }

    async fn find(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        Ok(self.users.get(username).map(|(u, _)| Arc::clone(u)))
    }

    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        let user = self.users.get(username);
        // Unknown users are checked against a dummy hash: they cost what known users cost.
        let ok = self
            .passwords
            .verify(user.map(|(_, hash)| hash), password)
            .await
            .map_err(|VerifyError::Busy| DirectoryError::Busy)?;
        Ok(user
            .filter(|(u, _)| ok && !u.disabled)
            .map(|(u, _)| Arc::clone(u)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::password::hash;

    fn user(name: &str, pw: &str, disabled: bool) -> User {
        User {
            username: name.into(),
            password_hash: Secret::new(hash(pw).unwrap()),
            email: None,
            email_verified: true,
            name: None,
            groups: vec!["staff".into()],
            disabled,
        }
    }

    #[tokio::test]
    async fn finds_verifies_and_refuses_disabled_users() {
        let users = [user("alice", "pw", false), user("bob", "pw", true)];
        let d = TomlUsers::new(&users, Arc::new(Verifier::new(1, 4).unwrap()));
        assert!(d.verify_password("alice", "pw").await.unwrap().is_some());
        assert!(d.verify_password("alice", "nope").await.unwrap().is_none());
        assert!(d.verify_password("bob", "pw").await.unwrap().is_none());
        assert!(d.verify_password("carol", "pw").await.unwrap().is_none());
        assert!(d.find("bob").await.unwrap().is_some());
        assert!(d.active("bob").await.unwrap().is_none());
        assert_eq!(d.groups("alice").await.unwrap(), ["staff"]);
    }
}
