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

fn keys(user: &str, ip: Option<IpAddr>) -> Vec<(Key, Key)> {
    let mut k = vec![(
        Key::secret(Kind::FailUser, user),
        Key::secret(Kind::LockUser, user),
    )];
    if let Some(ip) = ip {
        let ip = ip.to_string();
        k.push((Key::id(Kind::FailIp, &ip), Key::id(Kind::LockIp, &ip)));
    }
    k
}

/// True when the username or the address is locked out.
pub async fn locked(store: &dyn Store, user: &str, ip: Option<IpAddr>) -> Result<bool, StoreError> {
    for (_, lock) in keys(user, ip) {
        if store.get(&lock).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Counts a failure; locks what reached `max_failures`. `true` when this locked the user.
pub async fn failed(
    store: &dyn Store,
    cfg: &Login,
    user: &str,
    ip: Option<IpAddr>,
) -> Result<bool, StoreError> {
    let mut user_locked = false;
    for (fail, lock) in keys(user, ip) {
        let n = store.incr(&fail, cfg.failure_window).await?;
        if n >= u64::from(cfg.max_failures) {
            store.put(&lock, b"1".to_vec(), cfg.lockout).await?;
            store.delete(&fail).await?;
            user_locked |= lock.namespace() == Kind::LockUser.prefix();
        }
    }
    Ok(user_locked)
}

/// A successful sign-in resets the user's counter.
pub async fn succeeded(store: &dyn Store, user: &str) -> Result<(), StoreError> {
    store.delete(&Key::secret(Kind::FailUser, user)).await
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
        .incr(&Key::id(Kind::Rate, &ip.to_string()), cfg.rate_window)
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
        }
    }

    #[tokio::test]
    async fn locks_after_max_failures_and_success_resets() {
        let s = MemoryStore::new(100);
        let cfg = cfg(3, 0);
        let ip = Some("192.0.2.1".parse().unwrap());
        failed(&s, &cfg, "alice", ip).await.unwrap();
        failed(&s, &cfg, "alice", ip).await.unwrap();
        succeeded(&s, "alice").await.unwrap();
        failed(&s, &cfg, "alice", None).await.unwrap();
        assert!(!locked(&s, "alice", None).await.unwrap());
        failed(&s, &cfg, "alice", None).await.unwrap();
        failed(&s, &cfg, "alice", None).await.unwrap();
        assert!(locked(&s, "alice", None).await.unwrap());
        // The IP saw two failures plus none since: not locked yet; a third locks it for everyone.
        assert!(!locked(&s, "bob", ip).await.unwrap());
        failed(&s, &cfg, "bob", ip).await.unwrap();
        assert!(locked(&s, "carol", ip).await.unwrap());
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
