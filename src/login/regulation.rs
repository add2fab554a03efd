//! Brute-force regulation and rate limits, in the counter space (never the session store, so
//! that no flood of them can evict a session).
//!
//! - `max_failures` failed sign-ins within `failure_window`, per username and per client
//!   address, lock that username or address for `lockout`;
//! - at most `rate_limit` sign-in starts and login POSTs per client address per `rate_window`.
//!
//! The address is the client's, from trusted `X-Forwarded-For`, never a proxy's: one attacker
//! behind a shared proxy must not lock everyone out.

use std::net::IpAddr;

use crate::config::Login;
use crate::session::{Key, Kind, Store, StoreError};

/// The name failures are counted on: `alice`, `Alice` and ` alice` are one person to the
/// lockout, whatever the directory makes of them (hardening: lockout by
/// variants).
pub fn canonical_name(user: &str) -> String {
    user.trim().to_lowercase()
}

/// The address counters are kept for: an IPv4 address, or the /64 of an IPv6 one (one
/// subscriber holds a whole /64, so single addresses would be free to rotate).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}

fn user_keys(user: &str) -> (Key, Key) {
    let user = canonical_name(user);
    (
        Key::secret(Kind::FailUser, &user),
        Key::secret(Kind::LockUser, &user),
    )
}

fn ip_keys(ip: IpAddr) -> (Key, Key) {
    let ip = address_key(ip);
    (Key::id(Kind::FailIp, &ip), Key::id(Kind::LockIp, &ip))
}

/// True when the username or the address is locked out.
pub async fn locked(store: &dyn Store, user: &str, ip: Option<IpAddr>) -> Result<bool, StoreError> {
    if store.get(&user_keys(user).1).await?.is_some() {
        return Ok(true);
    }
    match ip {
        Some(ip) => Ok(store.get(&ip_keys(ip).1).await?.is_some()),
        None => Ok(false),
    }
}

/// An attempt that was counted before its credential was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// The user's failures in the window, this attempt included.
    count: u64,
}

/// Begins an attempt by `user` from `ip`: `None` when the user or the address is locked out
/// (nothing may be checked then). The attempt is counted against the user first, with one
/// atomic increment, so concurrent attempts cannot all pass between a check and a count
/// (hardening: races on counters): of any number of them at most
/// `max_failures` go on to be checked, and the one that reaches it locks the user.
pub async fn begin(
    store: &dyn Store,
    cfg: &Login,
    user: &str,
    ip: Option<IpAddr>,
) -> Result<Option<Attempt>, StoreError> {
    if locked(store, user, ip).await? {
        return Ok(None);
    }
    let (fail, lock) = user_keys(user);
    let count = store.incr(&fail, cfg.failure_window).await?;
    if count > u64::from(cfg.max_failures) {
        store.put(&lock, b"1".to_vec(), cfg.lockout).await?;
        return Ok(None);
    }
    Ok(Some(Attempt { count }))
}

/// The credential of `attempt` was wrong: the user is locked when it was the last allowed,
/// and the failure counts against the address. `true` when this locked the user.
pub async fn failed(
    store: &dyn Store,
    cfg: &Login,
    attempt: Attempt,
    user: &str,
    ip: Option<IpAddr>,
) -> Result<bool, StoreError> {
    let max = u64::from(cfg.max_failures);
    let user_locked = attempt.count >= max;
    if user_locked {
        let (fail, lock) = user_keys(user);
        store.put(&lock, b"1".to_vec(), cfg.lockout).await?;
        store.delete(&fail).await?;
    }
    if let Some(ip) = ip {
        let (fail, lock) = ip_keys(ip);
        if store.incr(&fail, cfg.failure_window).await? >= max {
            store.put(&lock, b"1".to_vec(), cfg.lockout).await?;
            store.delete(&fail).await?;
        }
    }
    Ok(user_locked)
}

/// The credential of `attempt` was right, but the sign-in goes on (a second factor follows):
/// its count is given back, without wiping the failures before it.
pub async fn right(store: &dyn Store, user: &str) -> Result<(), StoreError> {
    store.decr(&user_keys(user).0).await
}

/// A successful sign-in resets the user's counter.
pub async fn succeeded(store: &dyn Store, user: &str) -> Result<(), StoreError> {
    store.delete(&user_keys(user).0).await
}

/// An administrator lifts `user`'s lockout: the lock and the failure count go.
pub async fn unlock(store: &dyn Store, user: &str) -> Result<(), StoreError> {
    let (fail, lock) = user_keys(user);
    store.delete(&fail).await?;
    store.delete(&lock).await
}

/// Counts one sign-in start or login POST from `ip`. `Some(seconds)` when the address is over
/// its limit: the caller answers 429 with that `Retry-After`.
pub async fn rate(
    store: &dyn Store,
    cfg: &Login,
    ip: Option<IpAddr>,
) -> Result<Option<u64>, StoreError> {
    let Some(ip) = ip.filter(|_| cfg.rate_limit > 0) else {
        return Ok(None);
    };
    let n = store
        .incr(&Key::id(Kind::Rate, &address_key(ip)), cfg.rate_window)
        .await?;
    Ok((n > u64::from(cfg.rate_limit)).then(|| cfg.rate_window.as_secs().max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::memory::MemoryStore;
    use std::time::Duration;

    fn cfg(max_failures: u32, rate_limit: u32) -> Login {
        Login {
            max_failures,
            failure_window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
            rate_limit,
            rate_window: Duration::from_secs(60),
            second_factor: crate::config::SecondFactor::Off,
            lockout_ends_sessions: false,
            totp_issuer: "authgate".into(),
            password_form: true,
            reauthenticate_after: Duration::from_secs(300),
            passkey_sign_in: true,
            default_language: "en".into(),
            min_password_length: 12,
            min_password_score: 3,
            breached_passwords_file: None,
        }
    }

    /// One wrong attempt, counted first as every caller does.
    async fn wrong(s: &MemoryStore, cfg: &Login, user: &str, ip: Option<IpAddr>) -> bool {
        match begin(s, cfg, user, ip).await.unwrap() {
            Some(a) => {
                failed(s, cfg, a, user, ip).await.unwrap();
                true
            }
            None => false,
        }
    }

    #[tokio::test]
    async fn locks_after_max_failures_and_success_resets() {
        let s = MemoryStore::new(100);
        let cfg = cfg(3, 0);
        let ip = Some("192.0.2.1".parse().unwrap());
        assert!(wrong(&s, &cfg, "alice", ip).await);
        assert!(wrong(&s, &cfg, "alice", ip).await);
        succeeded(&s, "alice").await.unwrap();
        assert!(wrong(&s, &cfg, "alice", None).await);
        assert!(!locked(&s, "alice", None).await.unwrap());
        assert!(wrong(&s, &cfg, "alice", None).await);
        assert!(wrong(&s, &cfg, "alice", None).await);
        assert!(locked(&s, "alice", None).await.unwrap());
        assert!(
            !wrong(&s, &cfg, "alice", None).await,
            "locked: nothing checked"
        );
        // The IP saw two failures plus none since: not locked yet; a third locks it for everyone.
        assert!(!locked(&s, "bob", ip).await.unwrap());
        assert!(wrong(&s, &cfg, "bob", ip).await);
        assert!(locked(&s, "carol", ip).await.unwrap());
    }

    #[tokio::test]
    async fn lockout_counts_on_the_canonical_name() {
        let s = MemoryStore::new(100);
        let cfg = cfg(3, 0);
        for variant in ["carol", "Carol", " carol "] {
            assert!(wrong(&s, &cfg, variant, None).await);
        }
        assert!(locked(&s, "CAROL", None).await.unwrap());
    }

    #[tokio::test]
    async fn concurrent_attempts_are_counted_before_they_are_checked() {
        let s = std::sync::Arc::new(MemoryStore::new(100));
        let cfg = std::sync::Arc::new(cfg(5, 0));
        let begun = futures::future::join_all((0..30).map(|_| {
            let (s, cfg) = (s.clone(), cfg.clone());
            async move { begin(s.as_ref(), &cfg, "dave", None).await.unwrap() }
        }))
        .await;
        assert_eq!(begun.iter().filter(|a| a.is_some()).count(), 5);
        assert!(locked(s.as_ref(), "dave", None).await.unwrap());
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = address_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = address_key("2001:db8:1:2:bbbb::2".parse().unwrap());
        let c = address_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1"
        );
    }

    #[tokio::test]
    async fn rate_limit_is_per_address() {
        let s = MemoryStore::new(100);
        let cfg = cfg(5, 2);
        let a = Some("192.0.2.1".parse().unwrap());
        let b = Some("192.0.2.2".parse().unwrap());
        assert_eq!(rate(&s, &cfg, a).await.unwrap(), None);
        assert_eq!(rate(&s, &cfg, a).await.unwrap(), None);
        assert_eq!(rate(&s, &cfg, a).await.unwrap(), Some(60));
        assert_eq!(rate(&s, &cfg, b).await.unwrap(), None);
        assert_eq!(rate(&s, &cfg, None).await.unwrap(), None);
    }
}
