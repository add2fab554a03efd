//! Where users come from: the `Directory` seam. Login, token, userinfo, policy and the proxy
//! ask a `Directory`; they never know whether the answer came from the TOML file or, later, a
//! directory server or an upstream provider.
//!
//! A directory must not decide policy (that is `policy`'s) nor count failures (that is
//! `login::regulation`'s): it only knows users, passwords and groups.

pub mod db_users;
pub mod federated;
pub mod ldap;
mod toml_users;

use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;

pub use toml_users::TomlUsers;

/// Where a user comes from. It is part of who they are: a session or a grant belongs to a name
/// *from a source*, and the same name from another source (after a reload, say) is someone else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Source {
    /// The configuration's `[[users]]`.
    #[default]
    Local,
    /// The `[ldap]` directory.
    Ldap,
    /// An upstream OpenID Provider, by its id.
    Upstream(String),
    /// A client acting for itself (`client_credentials`).
    Client,
    /// authgate's own users, kept in `[storage]`.
    Db,
}

impl From<Source> for String {
    fn from(s: Source) -> String {
        match s {
            Source::Local => "local".into(),
            Source::Ldap => "ldap".into(),
            Source::Upstream(id) => format!("upstream:{id}"),
            Source::Client => "client".into(),
            Source::Db => "db".into(),
        }
    }
}

impl From<String> for Source {
    /// Unknown words read as `Local`'s opposite would be a guess; they read as a source of
    /// their own that matches no user, so whatever carried them stops working.
    fn from(s: String) -> Source {
        match s.as_str() {
            "local" => Source::Local,
            "ldap" => Source::Ldap,
            "client" => Source::Client,
            "db" => Source::Db,
            other => Source::Upstream(other.strip_prefix("upstream:").unwrap_or(other).into()),
        }
    }
}

/// A user as every part of authgate sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserInfo {
    /// Which source the name is from.
    #[serde(default)]
    pub source: Source,
    pub username: String,
    pub email: Option<String>,
    /// The email is vouched for (`email_verified` to relying parties): by the administrator for
    /// local and directory users, by the upstream provider (or `trust_email`) for its users.
    #[serde(default = "vouched")]
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub disabled: bool,
}

fn vouched() -> bool {
    true
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
                crate::http::GatewayError::Unavailable("error-directory-unavailable")
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

    /// Whether this source holds `username` as its own, in any case or spacing, as far as it
    /// can tell without asking a server: `Yes` (it alone checks the password, and a later
    /// source's user of that name is refused), `No` (it has no password for it), or `Maybe` (it
    /// must be asked).
    fn owns(&self, _username: &str) -> Owns {
        Owns::Maybe
    }

    /// `owns`, for a source that must ask its own store to know (authgate's own users).
    async fn holds(&self, username: &str) -> Result<Owns, DirectoryError> {
        Ok(self.owns(username))
    }
}

/// What a source can say of a name at once (`Directory::owns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owns {
    Yes,
    No,
    Maybe,
}

/// The identity sources in order of precedence (the local users, then users of upstream
/// providers, then the directory server): precedence is the order of the list, and a new
/// source is one more entry. A user of a later source whose name an earlier source owns (in any
/// case) is refused (hardening: identity shadowing: LDAP `ALICE` must not become local `alice`
/// with her groups).
pub struct Chain(pub Vec<Arc<dyn Directory>>);

impl Chain {
    /// `u`, found by source `at` for `asked`, unless an earlier source holds the name (in any
    /// case). A source that cannot say fails closed.
    async fn unshadowed(
        &self,
        at: usize,
        asked: &str,
        u: Option<Arc<UserInfo>>,
    ) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        let Some(u) = u else {
            return Ok(None);
        };
        let names: &[&str] = if asked == u.username {
            &[asked]
        } else {
            &[asked, &u.username]
        };
        for earlier in self.0.iter().take(at) {
            for name in names {
                if earlier.holds(name).await? == Owns::Yes {
                    log::warn!("a user has the name of an earlier source's user; refused");
                    return Ok(None);
                }
            }
        }
        Ok(Some(u))
    }
}

/// Group names travel comma-joined (`X-Forwarded-Groups`): a name with a comma would reach
/// apps as several groups (hardening: group splitting). Sources drop such names when they
/// read a user (local users' are refused by `check-config`).
pub fn without_split_groups(groups: &mut Vec<String>, username: &str) {
    let before = groups.len();
    groups.retain(|g| !g.contains(','));
    if groups.len() < before {
        log::warn!("dropped group names with a comma from {username}");
    }
}

#[async_trait]
impl Directory for Chain {
    async fn find(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        for (at, source) in self.0.iter().enumerate() {
            if let Some(u) = source.find(username).await? {
                return self.unshadowed(at, username, Some(u)).await;
            }
        }
        Ok(None)
    }

    /// Only one source checks a password: the first that owns the name, else the first that
    /// may (the directory server), else the first of all (whose answer for an unknown name
    /// costs the same time as for a known one).
    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        let mut held = Vec::with_capacity(self.0.len());
        for source in &self.0 {
            let h = source.holds(username).await?;
            held.push(h);
            // The first that holds the name checks it: the later ones need not be asked.
            if h == Owns::Yes {
                break;
            }
        }
        let pick = |wanted: Owns| held.iter().position(|h| *h == wanted);
        let Some(at) = pick(Owns::Yes).or_else(|| pick(Owns::Maybe)).or(Some(0)) else {
            return Ok(None);
        };
        let Some(source) = self.0.get(at) else {
            return Ok(None);
        };
        let u = source.verify_password(username, password).await?;
        self.unshadowed(at, username, u).await
    }

    async fn recheck(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        for (at, source) in self.0.iter().enumerate() {
            let owned = source.holds(username).await? == Owns::Yes;
            let u = source.recheck(username).await?;
            if owned || u.is_some() {
                return self.unshadowed(at, username, u).await;
            }
        }
        Ok(None)
    }

    async fn holds(&self, username: &str) -> Result<Owns, DirectoryError> {
        for source in &self.0 {
            if source.holds(username).await? == Owns::Yes {
                return Ok(Owns::Yes);
            }
        }
        Ok(Owns::Maybe)
    }

    async fn ready(&self) -> bool {
        for source in &self.0 {
            if !source.ready().await {
                return false;
            }
        }
        true
    }
}
