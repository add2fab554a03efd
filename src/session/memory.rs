//! The in-memory store: a moka cache with per-entry TTLs. It is the default store and the test
//! double for the contract in `super::Store`.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::sync::Cache;
use moka::Expiry;
use sha2::Digest;

use super::{Store, StoreError};

#[derive(Clone)]
struct Entry {
    value: std::sync::Arc<[u8]>,
    expires: Instant,
}

struct ByEntry;

impl Expiry<Key, Entry> for ByEntry {
    fn expire_after_create(&self, _k: &Key, v: &Entry, now: Instant) -> Option<Duration> {
        Some(v.expires.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _k: &Key,
        v: &Entry,
        now: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        Some(v.expires.saturating_duration_since(now))
    }
}

/// Keys are kept in 16 bytes instead of a ~50-byte heap string per entry: 4 bytes of SHA-256
/// of the namespace (so `count` can find one), then 12 bytes of SHA-256 of the whole key. Keys
/// are already hashes of 256-bit secrets; 96 bits leave no practical room for collisions.
type Key = [u8; 16];

fn tag(namespace: &str) -> [u8; 4] {
    let d = sha2::Sha256::digest(namespace.as_bytes());
    let mut t = [0u8; 4];
    t.copy_from_slice(d.get(..4).unwrap_or(&[0u8; 4]));
    t
}

fn compact(key: &str) -> Key {
    let namespace = key.split_once(':').map_or(key, |(ns, _)| ns);
    let whole = sha2::Sha256::digest(key.as_bytes());
    let mut k = [0u8; 16];
    let (head, tail) = k.split_at_mut(4);
    head.copy_from_slice(&tag(namespace));
    tail.copy_from_slice(whole.get(..12).unwrap_or(&[0u8; 12]));
    k
}

pub struct MemoryStore {
    cache: Cache<Key, Entry>,
}

impl MemoryStore {
    /// A store holding at most `max_entries` records (least recently used go first).
    pub fn new(max_entries: u64) -> MemoryStore {
        MemoryStore {
            cache: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(ByEntry)
                .build(),
        }
    }

    pub fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    fn live(e: Entry) -> Option<Vec<u8>> {
        (e.expires > Instant::now()).then(|| e.value.to_vec())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        self.cache.insert(
            compact(key),
            Entry {
                value: value.into(),
                expires: Instant::now() + ttl,
            },
        );
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.cache.get(&compact(key)).and_then(Self::live))
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        // moka's remove is atomic: only one caller gets the entry back.
        Ok(self.cache.remove(&compact(key)).and_then(Self::live))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.cache.invalidate(&compact(key));
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        use moka::ops::compute::Op;
        let now = Instant::now();
        let result = self.cache.entry(compact(key)).and_compute_with(|existing| {
            let current = existing
                .map(|e| e.into_value())
                .filter(|e| e.expires > now)
                .map(|e| {
                    (
                        std::str::from_utf8(&e.value)
                            .ok()
                            .and_then(|s| s.parse::<u64>().ok())
                            .unwrap_or(0),
                        e.expires,
                    )
                });
            let (count, expires) = match current {
                Some((n, exp)) => (n.saturating_add(1), exp),
                None => (1, now + ttl),
            };
            Op::Put(Entry {
                value: count.to_string().into_bytes().into(),
                expires,
            })
        });
        let count = result
            .into_entry()
            .and_then(|e| {
                std::str::from_utf8(&e.into_value().value)
                    .ok()
                    .and_then(|s| s.parse().ok())
            })
            .unwrap_or(1);
        Ok(count)
    }

    async fn count(&self, namespace: &str) -> Result<u64, StoreError> {
        let tag = tag(namespace);
        let now = Instant::now();
        let n = self
            .cache
            .iter()
            .filter(|(k, v)| k.starts_with(&tag) && v.expires > now)
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn contract() {
        let s = MemoryStore::new(100);
        s.put("a", b"1".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(s.get("a").await.unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.take("a").await.unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.take("a").await.unwrap(), None, "taken at most once");
        assert_eq!(s.incr("c", Duration::from_secs(60)).await.unwrap(), 1);
        assert_eq!(s.incr("c", Duration::from_secs(60)).await.unwrap(), 2);
        s.put("e", b"x".to_vec(), Duration::from_millis(30))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(s.get("e").await.unwrap(), None, "expired");
        s.delete("c").await.unwrap();
        assert_eq!(s.get("c").await.unwrap(), None);
    }

    #[tokio::test]
    async fn take_is_atomic_under_contention() {
        let s = std::sync::Arc::new(MemoryStore::new(100));
        s.put("code", b"v".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let s = std::sync::Arc::clone(&s);
            tasks.push(tokio::spawn(async move {
                s.take("code").await.unwrap().is_some()
            }));
        }
        let mut winners = 0;
        for t in tasks {
            winners += usize::from(t.await.unwrap());
        }
        assert_eq!(winners, 1);
    }
}
