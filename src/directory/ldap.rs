//! Directory users from LDAP or Active Directory, through `ldap3`.
//!
//! Sign-in is two steps: a search as the service account (the username escaped per RFC 4515,
//! exactly one entry must match), then a bind as that entry's DN with the given password on a
//! connection of its own. An empty password is never sent: an unauthenticated bind "succeeds".
//! Answers about a user are trusted for `recheck` (by the injected clock), then asked again.
//! Every operation has a timeout; any failure is `DirectoryError::Unavailable`, and callers
//! fail closed.

mod entry;

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use ldap3::{ldap_escape, Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use moka::sync::Cache;
use tokio::sync::Mutex;

use super::{Directory, DirectoryError, UserInfo};
use crate::clock::Clock;
use crate::config::Ldap as LdapCfg;

/// Told the result (`ok`, `not_found`, `error`) and duration of every directory request.
pub type RequestObserver = Arc<dyn Fn(&str, f64) + Send + Sync>;

/// A user found by the service account: their entry's DN and what authgate knows of them.
#[derive(Debug, Clone)]
pub struct Found {
    pub dn: String,
    pub user: Arc<UserInfo>,
}

pub struct LdapDirectory {
    cfg: LdapCfg,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Idle connections bound as the service account.
    idle: Mutex<Vec<Ldap>>,
    /// Operations in flight, at most `max_connections`.
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Users by name, with the time they were looked up.
    cache: Cache<String, (Option<Arc<UserInfo>>, u64)>,
    clock: Arc<dyn Clock>,
    observe: Option<RequestObserver>,
}

fn unavailable(e: impl std::fmt::Display) -> DirectoryError {
    DirectoryError::Unavailable(e.to_string())
}

/// A TLS configuration trusting only the CAs in `ca_file` (PEM).
fn tls_config(ca_file: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, DirectoryError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).map_err(unavailable)? {
        roots.add(cert.map_err(unavailable)?).map_err(unavailable)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(unavailable)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl LdapDirectory {
    pub fn new(
        cfg: LdapCfg,
        clock: Arc<dyn Clock>,
        observe: Option<RequestObserver>,
    ) -> Result<LdapDirectory, DirectoryError> {
        let tls = cfg.ca_file.as_deref().map(tls_config).transpose()?;
        let in_flight = Arc::new(tokio::sync::Semaphore::new(cfg.max_connections));
        Ok(LdapDirectory {
            cfg,
            tls,
            idle: Mutex::new(Vec::new()),
            in_flight,
            cache: Cache::builder().max_capacity(100_000).build(),
            clock,
            observe,
        })
    }

    fn settings(&self) -> LdapConnSettings {
        let mut s = LdapConnSettings::new()
            .set_conn_timeout(self.cfg.timeout)
            .set_starttls(self.cfg.starttls);
        if let Some(tls) = &self.tls {
            s = s.set_config(Arc::clone(tls));
        }
        s
    }

    /// A new connection to the first URL that answers.
    async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let mut last = DirectoryError::Unavailable("no LDAP URL".into());
        for url in &self.cfg.urls {
            match LdapConnAsync::with_settings(self.settings(), url.as_str()).await {
                Ok((conn, ldap)) => {
                    ldap3::drive!(conn);
                    return Ok(ldap);
                }
                Err(e) => {
                    log::warn!("LDAP {url}: {e}");
                    last = unavailable(format!("{url}: {e}"));
                }
            }
        }
        Err(last)
    }

    /// A connection bound as the service account: an idle one, or a new one.
    async fn service(&self) -> Result<Ldap, DirectoryError> {
        while let Some(mut ldap) = self.idle.lock().await.pop() {
            if !ldap.is_closed() {
                return Ok(ldap);
            }
        }
        let mut ldap = self.connect().await?;
        ldap.with_timeout(self.cfg.timeout)
            .simple_bind(&self.cfg.bind_dn, self.cfg.bind_password.expose())
            .await
            .and_then(|r| r.success())
            .map_err(|e| unavailable(format!("service bind: {e}")))?;
        Ok(ldap)
    }

    async fn give_back(&self, ldap: Ldap) {
        let mut idle = self.idle.lock().await;
        if idle.len() < self.cfg.pool_size {
            idle.push(ldap);
        }
    }

    async fn search(
        &self,
        ldap: &mut Ldap,
        base: &str,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let (entries, _) = ldap
            .with_timeout(self.cfg.timeout)
            .search(base, Scope::Subtree, filter, attrs.to_vec())
            .await
            .and_then(|r| r.success())
            .map_err(|e| unavailable(format!("search {filter}: {e}")))?;
        Ok(entries.into_iter().map(SearchEntry::construct).collect())
    }

    /// A place among the operations in flight, or `Busy` at once: a flood of sign-ins gets
    /// the same answer as when the password pool is full, and the directory is not buried.
    fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, DirectoryError> {
        Arc::clone(&self.in_flight)
            .try_acquire_owned()
            .map_err(|_| {
                log::warn!(
                    "LDAP: {} operations in flight; busy",
                    self.cfg.max_connections
                );
                if let Some(observe) = &self.observe {
                    observe("busy", 0.0);
                }
                DirectoryError::Busy
            })
    }

    /// Looks `username` up as the service account, groups included.
    pub async fn lookup(&self, username: &str) -> Result<Option<Found>, DirectoryError> {
        let _permit = self.admit()?;
        let started = Instant::now();
        let result = self.lookup_uncounted(username).await;
        if let Some(observe) = &self.observe {
            let label = match &result {
                Ok(Some(_)) => "ok",
                Ok(None) => "not_found",
                Err(_) => "error",
            };
            observe(label, started.elapsed().as_secs_f64());
        }
        result
    }

    async fn lookup_uncounted(&self, username: &str) -> Result<Option<Found>, DirectoryError> {
        if username.is_empty() || username.chars().any(char::is_control) {
            return Ok(None);
        }
        let mut ldap = self.service().await?;
        let a = &self.cfg.attributes;
        let filter = self
            .cfg
            .user_filter
            .replace("{username}", &ldap_escape(username));
        let mut attrs = vec![a.username.as_str(), &a.email, &a.name];
        attrs.extend(entry::STATE_ATTRIBUTES);
        attrs.extend(a.member_of.as_deref());
        let mut entries = self
            .search(&mut ldap, &self.cfg.base_dn, &filter, &attrs)
            .await?;
        let entry = match (entries.pop(), entries.is_empty()) {
            (Some(e), true) => e,
            // None, or more than one: never guess which person this is.
            _ => {
                self.give_back(ldap).await;
                return Ok(None);
            }
        };
        let groups = self.groups_of(&mut ldap, &entry).await?;
        self.give_back(ldap).await;
        Ok(Some(self.found(entry, username, groups)))
    }

    async fn groups_of(
        &self,
        ldap: &mut Ldap,
        entry: &SearchEntry,
    ) -> Result<Vec<String>, DirectoryError> {
        let a = &self.cfg.attributes;
        if let Some(member_of) = &a.member_of {
            let dns = entry.attrs.get(member_of).cloned().unwrap_or_default();
            let base = self.cfg.group_base_dn.as_deref();
            return Ok(dns
                .iter()
                .filter_map(|dn| entry::group_of_dn(dn, &a.group_name, base))
                .collect());
        }
        let Some(base) = &self.cfg.group_base_dn else {
            return Ok(Vec::new());
        };
        let filter = self
            .cfg
            .group_filter
            .replace("{dn}", &ldap_escape(&entry.dn));
        let groups = self
            .search(ldap, base, &filter, &[a.group_name.as_str()])
            .await?;
        Ok(groups
            .into_iter()
            .filter_map(|g| first(&g, &a.group_name))
            .collect())
    }

    fn found(&self, entry: SearchEntry, asked: &str, mut groups: Vec<String>) -> Found {
        let a = &self.cfg.attributes;
        super::without_split_groups(&mut groups, asked);
        let disabled = entry::unusable(&entry, self.clock.now());
        let user = UserInfo {
            source: super::Source::Ldap,
            email_verified: true,
            username: first(&entry, &a.username).unwrap_or_else(|| asked.to_string()),
            email: first(&entry, &a.email),
            name: first(&entry, &a.name),
            groups,
            disabled,
        };
        Found {
            dn: entry.dn,
            user: Arc::new(user),
        }
    }

    /// Binds as `dn` with `password` on a connection of its own (never a pooled one: a user
    /// bind changes who the connection is). `Ok(false)` for wrong credentials.
    pub async fn bind(&self, dn: &str, password: &str) -> Result<bool, DirectoryError> {
        if password.is_empty() {
            return Ok(false);
        }
        let _permit = self.admit()?;
        let mut ldap = self.connect().await?;
        let result = ldap
            .with_timeout(self.cfg.timeout)
            .simple_bind(dn, password)
            .await
            .map_err(unavailable)?;
        let _ = ldap.unbind().await;
        // 49: invalidCredentials. Anything else but success is the directory's problem.
        match result.rc {
            0 => Ok(true),
            49 => Ok(false),
            rc => Err(unavailable(format!("bind answered {rc}: {}", result.text))),
        }
    }

    /// RFC 3062 password modify for `username`: as the user, proving `old`, or (a reset
    /// through a mailed link) as the service account, which needs the right to. `Ok(false)`
    /// when the user is unknown or `old` is wrong.
    pub async fn change_password(
        &self,
        username: &str,
        old: Option<&str>,
        new: &str,
    ) -> Result<bool, DirectoryError> {
        // An empty password binds anonymously (RFC 4513 §5.1.2): never a proof.
        if old == Some("") || new.is_empty() {
            return Ok(false);
        }
        let Some(found) = self.lookup(username).await? else {
            return Ok(false);
        };
        let _permit = self.admit()?;
        let mut ldap = match old {
            Some(old) => {
                let mut own = self.connect().await?;
                let bound = own
                    .with_timeout(self.cfg.timeout)
                    .simple_bind(&found.dn, old)
                    .await
                    .map_err(unavailable)?;
                if bound.rc != 0 {
                    let _ = own.unbind().await;
                    return Ok(false);
                }
                own
            }
            None => self.service().await?,
        };
        let modify = ldap3::exop::PasswordModify {
            user_id: Some(&found.dn),
            old_pass: old,
            new_pass: Some(new),
        };
        let done = ldap
            .with_timeout(self.cfg.timeout)
            .extended(modify)
            .await
            .map_err(unavailable)?;
        if old.is_some() {
            let _ = ldap.unbind().await;
        } else {
            self.give_back(ldap).await;
        }
        let result = done.1;
        match result.rc {
            0 => {
                self.cache.invalidate(username);
                Ok(true)
            }
            rc => Err(unavailable(format!(
                "password modify answered {rc}: {}",
                result.text
            ))),
        }
    }

    /// Whether the service account can bind: for `/readyz`.
    pub async fn reachable(&self) -> bool {
        match self.service().await {
            Ok(ldap) => {
                self.give_back(ldap).await;
                true
            }
            Err(_) => false,
        }
    }

    async fn fresh(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        let user = self.lookup(username).await?.map(|f| f.user);
        self.cache
            .insert(username.to_string(), (user.clone(), self.clock.now()));
        Ok(user)
    }
}

/// The first value of `attr` in `entry`.
fn first(entry: &SearchEntry, attr: &str) -> Option<String> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.first().cloned())
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn find(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        let now = self.clock.now();
        if let Some((user, checked)) = self.cache.get(username) {
            if now.saturating_sub(checked) < self.cfg.recheck.as_secs() {
                return Ok(user);
            }
        }
        self.fresh(username).await
    }

    async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        let Some(found) = self.lookup(username).await? else {
            // An unknown user costs a bind like a known one: same timing discipline as local
            // users and their dummy hash. The DN names no entry, so the bind fails.
            let nobody = format!("uid={},{}", ldap3::dn_escape(username), self.cfg.base_dn);
            let _ = self.bind(&nobody, password).await;
            return Ok(None);
        };
        self.cache.insert(
            username.to_string(),
            (Some(Arc::clone(&found.user)), self.clock.now()),
        );
        let ok = self.bind(&found.dn, password).await?;
        Ok((ok && !found.user.disabled).then_some(found.user))
    }

    async fn recheck(&self, username: &str) -> Result<Option<Arc<UserInfo>>, DirectoryError> {
        Ok(self.fresh(username).await?.filter(|u| !u.disabled))
    }

    async fn ready(&self) -> bool {
        self.reachable().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4515_escaping_of_hostile_usernames() {
        assert_eq!(ldap_escape("*"), "\\2a");
        assert_eq!(ldap_escape("a)(uid=*"), "a\\29\\28uid=\\2a");
        assert_eq!(ldap_escape("x\0"), "x\\00");
    }
}
