//! The store as records that outlive the process: what a snapshot holds, the journal kept
//! during an upgrade's hand-over, and the merge of one into another (revocation wins).

use super::*;
use serde::{Deserialize, Serialize};

/// One entry, its expiry in milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub key: Compact,
    /// `None`: the key was removed (in a journal).
    pub value: Option<Saved>,
    pub expires_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Saved {
    Bytes(Vec<u8>),
    Set(Vec<String>),
    Tombstone,
}

fn saved(e: &Entry, now: Deadline, now_ms: u64) -> (Saved, u64) {
    let left = e.expires.left(now);
    let value = match &e.value {
        Value::Set(s) => Saved::Set(s.to_vec()),
        Value::Tombstone => Saved::Tombstone,
        bytes => Saved::Bytes(bytes.as_bytes().unwrap_or_default().to_vec()),
    };
    let left_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
    (value, now_ms.saturating_add(left_ms))
}

fn entry(value: Saved, expires_ms: u64, now: Deadline, now_ms: u64) -> Option<Entry> {
    let left = Duration::from_millis(expires_ms.checked_sub(now_ms).filter(|l| *l > 0)?);
    let value = match value {
        Saved::Bytes(b) => Value::bytes(&b),
        Saved::Set(s) => Value::Set(s.into()),
        Saved::Tombstone => Value::Tombstone,
    };
    Some(Entry {
        value,
        expires: now.plus(left),
    })
}

fn kept(key: &Compact, kinds: &[[u8; 4]]) -> bool {
    kinds.iter().any(|t| key.starts_with(t))
}

fn tags(kinds: &[Kind]) -> Vec<[u8; 4]> {
    kinds.iter().map(|k| tag(k.prefix())).collect()
}

impl MemoryStore {
    /// The live records of `kinds`, with `now_ms` the wall clock in milliseconds.
    pub fn export(&self, kinds: &[Kind], now_ms: u64) -> Vec<Record> {
        let (kinds, now) = (tags(kinds), Deadline::now());
        self.cache
            .iter()
            .filter(|(k, e)| kept(k, &kinds) && e.expires > now)
            .map(|(k, e)| {
                let (value, expires_ms) = saved(&e, now, now_ms);
                Record {
                    key: *k,
                    value: Some(value),
                    expires_ms,
                }
            })
            .collect()
    }

    /// Puts `records` back; expired ones are dropped. Returns how many were kept.
    pub fn import(&self, records: Vec<Record>, now_ms: u64) -> usize {
        let now = Deadline::now();
        let mut n = 0;
        for r in records {
            if let Some(e) = r.value.and_then(|v| entry(v, r.expires_ms, now, now_ms)) {
                self.cache.insert(r.key, e);
                n += 1;
            }
        }
        n
    }

    /// From now on, notes every key written, for `journal`.
    pub fn start_journal(&self) {
        self.journaling.store(true, Ordering::SeqCst);
    }

    /// What the keys of `kinds` written since `start_journal` hold now (`None`: removed).
    pub fn journal(&self, kinds: &[Kind], now_ms: u64) -> Vec<Record> {
        let (kinds, now) = (tags(kinds), Deadline::now());
        let journal = self.journal.lock().map(|j| j.clone()).unwrap_or_default();
        journal
            .into_iter()
            .filter(|k| kept(k, &kinds))
            .map(
                |key| match self.cache.get(&key).filter(|e| e.expires > now) {
                    Some(e) => {
                        let (value, expires_ms) = saved(&e, now, now_ms);
                        Record {
                            key,
                            value: Some(value),
                            expires_ms,
                        }
                    }
                    None => Record {
                        key,
                        value: None,
                        expires_ms: 0,
                    },
                },
            )
            .collect()
    }

    /// Applies a journal written by another process over this store. Revocation wins: a
    /// tombstone here is never replaced, one from the journal always lands. Sets are
    /// joined and counters keep the higher count, so what either process added stays.
    pub fn merge(&self, records: Vec<Record>, now_ms: u64) {
        let now = Deadline::now();
        for r in records {
            let here = self.cache.get(&r.key).filter(|e| e.expires > now);
            let incoming = r.value.and_then(|v| entry(v, r.expires_ms, now, now_ms));
            match (here, incoming) {
                (Some(h), _) if matches!(h.value, Value::Tombstone) => {}
                (_, None) => self.cache.invalidate(&r.key),
                (Some(h), Some(i)) => self.cache.insert(r.key, joined(h, i)),
                (None, Some(i)) => self.cache.insert(r.key, i),
            }
        }
    }
}

/// Two versions of one entry: the union of two sets, the higher of two counters, else the
/// incoming one.
fn joined(here: Entry, incoming: Entry) -> Entry {
    let expires = here.expires.max(incoming.expires);
    let value = match (here.value, incoming.value) {
        (Value::Set(a), Value::Set(b)) => {
            let mut all = a.to_vec();
            all.extend(b.iter().filter(|m| !a.contains(m)).cloned());
            Value::Set(all.into())
        }
        (here, incoming) => {
            let higher_here = matches!((here.as_bytes(), incoming.as_bytes()),
                (Some(h), Some(i)) if is_counter(h) && is_counter(i) && counter(h) >= counter(i));
            if higher_here {
                here
            } else {
                incoming
            }
        }
    };
    Entry { value, expires }
}

fn is_counter(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}
