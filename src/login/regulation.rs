//! Brute-force regulation: `max_failures` failed sign-ins within `failure_window`, per username
//! and per client IP, lock that username or IP for `lockout`. Counters live in the store so
//! that every instance sees them.

use std::net::IpAddr;

use crate::config::Login;
use crate::session::{key, Store, StoreError};

fn keys(user: &str, ip: Option<IpAddr>) -> Vec<(String, String)> {
    let mut k = vec![(key("fail-user", user), key("lock-user", user))];
    if let Some(ip) = ip {
        let ip = ip.to_string();
        k.push((key("fail-ip", &ip), key("lock-ip", &ip)));
    }
    k
}

/// True when the username or the IP is locked out.
pub async fn locked(store: &dyn Store, user: &str, ip: Option<IpAddr>) -> Result<bool, StoreError> {
    for (_, lock) in keys(user, ip) {
        if store.get(&lock).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Counts a failure; locks what reached `max_failures`.
pub async fn failed(
    store: &dyn Store,
    cfg: &Login,
    user: &str,
    ip: Option<IpAddr>,
) -> Result<(), StoreError> {
    for (fail, lock) in keys(user, ip) {
        let n = store.incr(&fail, cfg.failure_window).await?;
        if n >= u64::from(cfg.max_failures) {
            store.put(&lock, b"1".to_vec(), cfg.lockout).await?;
            store.delete(&fail).await?;
        }
    }
    Ok(())
}

/// A successful sign-in resets the user's counter.
pub async fn succeeded(store: &dyn Store, user: &str) -> Result<(), StoreError> {
    store.delete(&key("fail-user", user)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::memory::MemoryStore;
    use std::time::Duration;

    #[tokio::test]
    async fn locks_after_max_failures_and_success_resets() {
        let s = MemoryStore::new(100);
        let cfg = Login {
            max_failures: 3,
            failure_window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
        };
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
}
