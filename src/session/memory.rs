//! The in-memory store: a moka cache with per-entry TTLs. It is the default store and the test
//! double for the contract in `super::Store`. Conditional writes, counters and sets go through
//! moka's `and_compute_with`, which runs atomically per key.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::ops::compute::Op;
use moka::sync::Cache;
use moka::Expiry;
use sha2::Digest;

use super::{Key, Kind, Store, StoreError};
pub use snapshot::{Record, Saved};

/// Values of up to this many bytes (a session record: ~60 bytes, ~75 with the client's
/// address) are kept in moka's node itself, with no allocation of their own: 94 fills the
/// node's 128-byte size class.
const INLINE: usize = 94;

#[derive(Clone)]
enum Value {
    Inline(u8, [u8; INLINE]),
    Bytes(Arc<[u8]>),
    Set(Arc<[String]>),
    Tombstone,
}

impl Value {
    fn bytes(v: &[u8]) -> Value {
        let mut inline = [0u8; INLINE];
        match (u8::try_from(v.len()), inline.get_mut(..v.len())) {
            (Ok(n), Some(room)) => {
                room.copy_from_slice(v);
                Value::Inline(n, inline)
            }
            _ => Value::Bytes(v.into()),
        }
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Inline(n, inline) => inline.get(..usize::from(*n)),
            Value::Bytes(b) => Some(b),
            Value::Set(_) | Value::Tombstone => None,
        }
    }
}

/// A moment, as milliseconds since the store clock's first reading in this process: 8 bytes in
/// every entry where an `Instant` takes 16.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Deadline(u64);

static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

impl Deadline {
    fn at(i: Instant) -> Deadline {
        let ms = i.saturating_duration_since(*EPOCH).as_millis();
        Deadline(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    fn now() -> Deadline {
        Deadline::at(Instant::now())
    }

    fn after(ttl: Duration) -> Deadline {
        Deadline::now().plus(ttl)
    }

    fn plus(self, d: Duration) -> Deadline {
        Deadline(
            self.0
                .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// How long from `now` until this moment (zero once it has passed).
    fn left(self, now: Deadline) -> Duration {
        Duration::from_millis(self.0.saturating_sub(now.0))
    }
}

#[derive(Clone)]
struct Entry {
    value: Value,
    expires: Deadline,
}

// One entry with moka's two node pointers and reference count is 128 bytes, a size class of
// the allocator (mimalloc) the binary uses.
const _: () = assert!(std::mem::size_of::<Entry>() == 104);

impl Entry {
    fn live(self, now: Deadline) -> Option<Entry> {
        (self.expires > now).then_some(self)
    }
}

struct ByEntry;

impl Expiry<Compact, Entry> for ByEntry {
    fn expire_after_create(&self, _k: &Compact, v: &Entry, now: Instant) -> Option<Duration> {
        Some(v.expires.left(Deadline::at(now)))
    }

    fn expire_after_update(
        &self,
        _k: &Compact,
        v: &Entry,
        now: Instant,
        _current: Option<Duration>,
    ) -> Option<Duration> {
        Some(v.expires.left(Deadline::at(now)))
    }
}

/// Keys are kept in 16 bytes instead of a ~50-byte heap string per entry: 4 bytes of SHA-256
/// of the namespace (so `count` can find one), then 12 bytes of SHA-256 of the whole key. Keys
/// are already hashes of 256-bit secrets; 96 bits leave no practical room for collisions.
type Compact = [u8; 16];

fn tag(namespace: &str) -> [u8; 4] {
    let d = sha2::Sha256::digest(namespace.as_bytes());
    let mut t = [0u8; 4];
    t.copy_from_slice(d.get(..4).unwrap_or(&[0u8; 4]));
    t
}

fn compact(key: &Key) -> Compact {
    let whole = sha2::Sha256::digest(key.as_str().as_bytes());
    let mut k = [0u8; 16];
    let (head, tail) = k.split_at_mut(4);
    head.copy_from_slice(&tag(key.namespace()));
    tail.copy_from_slice(whole.get(..12).unwrap_or(&[0u8; 12]));
    k
}

pub struct MemoryStore {
    cache: Cache<Compact, Entry>,
    /// While set, every key written is noted in `journal` (during an upgrade's hand-over).
    journaling: AtomicBool,
    journal: Mutex<HashSet<Compact>>,
}

impl MemoryStore {
    /// A store holding at most `max_entries` records (least recently used go first).
    pub fn new(max_entries: u64) -> MemoryStore {
        MemoryStore {
            cache: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(ByEntry)
                .build(),
            journaling: AtomicBool::new(false),
            journal: Mutex::new(HashSet::new()),
        }
    }

    /// Notes that `key` was written, if a journal is being kept (its value is read when the
    /// journal is, so racing writes cannot leave an older one noted).
    fn noted(&self, key: &Key) {
        if !self.journaling.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(mut journal) = self.journal.lock() {
            journal.insert(compact(key));
        }
    }

    pub fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    fn entry(&self, key: &Key) -> Option<Entry> {
        self.cache
            .get(&compact(key))
            .and_then(|e| e.live(Deadline::now()))
    }

    /// Runs `f` on the live entry at `key` (if any), atomically for that key.
    fn compute(&self, key: &Key, f: impl FnOnce(Option<Entry>) -> Op<Entry>) {
        let now = Deadline::now();
        self.cache
            .entry(compact(key))
            .and_compute_with(|existing| f(existing.and_then(|e| e.into_value().live(now))));
    }
}

fn bytes(e: Entry) -> Option<Vec<u8>> {
    e.value.as_bytes().map(<[u8]>::to_vec)
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(&self, key: &Key, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let entry = Entry {
            value: Value::bytes(&value),
            expires: Deadline::after(ttl),
        };
        self.cache.insert(compact(key), entry);
        self.noted(key);
        Ok(())
    }

    async fn replace(&self, key: &Key, value: Vec<u8>, ttl: Duration) -> Result<bool, StoreError> {
        let mut replaced = false;
        self.compute(key, |existing| match existing {
            Some(e) if e.value.as_bytes().is_some() => {
                replaced = true;
                Op::Put(Entry {
                    value: Value::bytes(&value),
                    expires: Deadline::after(ttl),
                })
            }
            _ => Op::Nop,
        });
        self.noted(key);
        Ok(replaced)
    }

    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entry(key).and_then(bytes))
    }

    async fn take(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        let mut taken = None;
        self.compute(key, |existing| match existing {
            // A tombstone stays where it is.
            None
            | Some(Entry {
                value: Value::Tombstone,
                ..
            }) => Op::Nop,
            Some(e) => {
                taken = bytes(e);
                Op::Remove
            }
        });
        self.noted(key);
        Ok(taken)
    }

    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.cache.invalidate(&compact(key));
        self.noted(key);
        Ok(())
    }

    async fn revoke(&self, key: &Key, ttl: Duration) -> Result<(), StoreError> {
        let entry = Entry {
            value: Value::Tombstone,
            expires: Deadline::after(ttl),
        };
        self.cache.insert(compact(key), entry);
        self.noted(key);
        Ok(())
    }

    async fn incr(&self, key: &Key, ttl: Duration) -> Result<u64, StoreError> {
        let mut count = 1;
        self.compute(key, |existing| {
            let (n, expires) = match existing {
                Some(e) => (e.value.as_bytes().map_or(0, counter), e.expires),
                None => (0, Deadline::after(ttl)),
            };
            count = n.saturating_add(1);
            Op::Put(Entry {
                value: Value::bytes(count.to_string().as_bytes()),
                expires,
            })
        });
        self.noted(key);
        Ok(count)
    }

    async fn decr(&self, key: &Key) -> Result<(), StoreError> {
        self.compute(key, |existing| match existing {
            Some(e) => match e.value.as_bytes() {
                Some(b) => Op::Put(Entry {
                    value: Value::bytes(counter(b).saturating_sub(1).to_string().as_bytes()),
                    expires: e.expires,
                }),
                None => Op::Nop,
            },
            None => Op::Nop,
        });
        self.noted(key);
        Ok(())
    }

    async fn add_member(&self, key: &Key, member: &str, ttl: Duration) -> Result<(), StoreError> {
        self.compute(key, |existing| {
            let (mut members, expires) = match existing {
                Some(Entry {
                    value: Value::Set(s),
                    expires,
                }) => (s.to_vec(), expires.max(Deadline::after(ttl))),
                _ => (Vec::new(), Deadline::after(ttl)),
            };
            if !members.iter().any(|m| m == member) {
                members.push(member.to_string());
            }
            Op::Put(Entry {
                value: Value::Set(members.into()),
                expires,
            })
        });
        self.noted(key);
        Ok(())
    }

    async fn remove_member(&self, key: &Key, member: &str) -> Result<(), StoreError> {
        self.compute(key, |existing| match existing {
            Some(Entry {
                value: Value::Set(s),
                expires,
            }) => Op::Put(Entry {
                value: Value::Set(s.iter().filter(|m| *m != member).cloned().collect()),
                expires,
            }),
            _ => Op::Nop,
        });
        self.noted(key);
        Ok(())
    }

    async fn members(&self, key: &Key) -> Result<Vec<String>, StoreError> {
        Ok(match self.entry(key).map(|e| e.value) {
            Some(Value::Set(s)) => s.to_vec(),
            _ => Vec::new(),
        })
    }

    async fn values(&self, kind: Kind) -> Result<Vec<Vec<u8>>, StoreError> {
        let tag = tag(kind.prefix());
        let now = Deadline::now();
        Ok(self
            .cache
            .iter()
            .filter(|(k, v)| k.starts_with(&tag) && v.expires > now)
            .filter_map(|(_, v)| bytes(v))
            .collect())
    }

    async fn count(&self, kind: Kind) -> Result<u64, StoreError> {
        let tag = tag(kind.prefix());
        let now = Deadline::now();
        let n = self
            .cache
            .iter()
            .filter(|(k, v)| k.starts_with(&tag) && v.expires > now)
            .filter(|(_, v)| v.value.as_bytes().is_some())
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

fn counter(b: &[u8]) -> u64 {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

mod snapshot;

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Key {
        Key::id(Kind::Probe, s)
    }

    #[tokio::test]
    async fn contract() {
        let s = MemoryStore::new(100);
        let minute = Duration::from_secs(60);
        s.put(&k("a"), b"1".to_vec(), minute).await.unwrap();
        assert_eq!(s.get(&k("a")).await.unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.take(&k("a")).await.unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.take(&k("a")).await.unwrap(), None, "taken at most once");
        assert_eq!(s.incr(&k("c"), minute).await.unwrap(), 1);
        assert_eq!(s.incr(&k("c"), minute).await.unwrap(), 2);
        s.put(&k("e"), b"x".to_vec(), Duration::from_millis(30))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(s.get(&k("e")).await.unwrap(), None, "expired");
        s.delete(&k("c")).await.unwrap();
        assert_eq!(s.get(&k("c")).await.unwrap(), None);
    }

    #[tokio::test]
    async fn values_in_the_node_and_beside_it_read_back_whole() {
        let s = MemoryStore::new(100);
        let minute = Duration::from_secs(60);
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 300] {
            let value: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            s.put(&k("v"), value.clone(), minute).await.unwrap();
            assert_eq!(s.get(&k("v")).await.unwrap(), Some(value), "{len} bytes");
        }
        assert!(matches!(Value::bytes(&[7; INLINE]), Value::Inline(..)));
        assert!(matches!(Value::bytes(&[7; INLINE + 1]), Value::Bytes(_)));
    }

    #[tokio::test]
    async fn replace_and_revoke() {
        let s = MemoryStore::new(100);
        let minute = Duration::from_secs(60);
        assert!(!s.replace(&k("r"), b"1".to_vec(), minute).await.unwrap());
        assert_eq!(s.get(&k("r")).await.unwrap(), None, "replace never creates");
        s.put(&k("r"), b"1".to_vec(), minute).await.unwrap();
        assert!(s.replace(&k("r"), b"2".to_vec(), minute).await.unwrap());
        assert_eq!(s.get(&k("r")).await.unwrap(), Some(b"2".to_vec()));
        s.revoke(&k("r"), minute).await.unwrap();
        assert_eq!(s.get(&k("r")).await.unwrap(), None);
        assert!(!s.replace(&k("r"), b"3".to_vec(), minute).await.unwrap());
        assert_eq!(s.take(&k("r")).await.unwrap(), None);
        assert!(
            !s.replace(&k("r"), b"4".to_vec(), minute).await.unwrap(),
            "take leaves a tombstone in place"
        );
        s.add_member(&k("set"), "a", minute).await.unwrap();
        s.add_member(&k("set"), "b", minute).await.unwrap();
        assert_eq!(s.members(&k("set")).await.unwrap(), ["a", "b"]);
    }

    #[tokio::test]
    async fn export_import_keeps_kinds_asked_for_and_drops_what_expired() {
        let minute = Duration::from_secs(60);
        let a = MemoryStore::new(100);
        let session = Key::id(Kind::Session, "s");
        a.put(&session, b"v".to_vec(), minute).await.unwrap();
        a.put(&Key::id(Kind::Code, "c"), b"c".to_vec(), minute)
            .await
            .unwrap();
        let records = a.export(&[Kind::Session], 1_000_000);
        assert_eq!(records.len(), 1, "codes are left out");

        let b = MemoryStore::new(100);
        assert_eq!(b.import(records.clone(), 1_000_000 + 59_000), 1);
        assert_eq!(b.get(&session).await.unwrap(), Some(b"v".to_vec()));
        let c = MemoryStore::new(100);
        assert_eq!(
            c.import(records, 1_000_000 + 61_000),
            0,
            "expired by the wall clock"
        );
    }

    #[tokio::test]
    async fn a_journal_merges_with_revocation_winning() {
        let minute = Duration::from_secs(60);
        let (old, new) = (MemoryStore::new(100), MemoryStore::new(100));
        let (live, ended, revoked_here) = (k("live"), k("ended"), k("revoked"));
        for key in [&live, &ended, &revoked_here] {
            new.put(key, b"1".to_vec(), minute).await.unwrap();
        }
        old.start_journal();
        old.put(&live, b"2".to_vec(), minute).await.unwrap();
        old.revoke(&ended, minute).await.unwrap();
        old.put(&revoked_here, b"2".to_vec(), minute).await.unwrap();
        new.revoke(&revoked_here, minute).await.unwrap();
        let (set, count) = (k("set"), k("count"));
        new.add_member(&set, "new", minute).await.unwrap();
        old.add_member(&set, "old", minute).await.unwrap();
        for _ in 0..3 {
            new.incr(&count, minute).await.unwrap();
        }
        old.incr(&count, minute).await.unwrap();
        new.merge(old.journal(&[Kind::Probe], 0), 0);
        assert_eq!(
            new.members(&set).await.unwrap(),
            ["new", "old"],
            "sets are joined"
        );
        assert_eq!(
            new.incr(&count, minute).await.unwrap(),
            4,
            "the higher count stays"
        );
        assert_eq!(new.get(&live).await.unwrap(), Some(b"2".to_vec()));
        assert_eq!(new.get(&ended).await.unwrap(), None);
        assert_eq!(new.get(&revoked_here).await.unwrap(), None);
    }

    #[tokio::test]
    async fn take_is_atomic_under_contention() {
        let s = std::sync::Arc::new(MemoryStore::new(100));
        s.put(&k("code"), b"v".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let s = std::sync::Arc::clone(&s);
            tasks.push(tokio::spawn(async move {
                s.take(&k("code")).await.unwrap().is_some()
            }));
        }
        let mut winners = 0;
        for t in tasks {
            winners += usize::from(t.await.unwrap());
        }
        assert_eq!(winners, 1);
    }
}
