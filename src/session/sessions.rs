//! Session lifecycle on top of the store: create at sign-in, look up from a cookie (sliding the
//! idle timeout at most once a minute), make app sessions from a provider session, and end
//! them all at sign-out.
//!
//! Revocation always wins: `end` writes tombstones before it reads the children, every update
//! is a conditional `replace`, and a new app session checks its parent again after registering
//! itself, so no interleaving of a touch, a new child and a sign-out leaves a session alive.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Key, Kind, Store, StoreError};
use crate::config::SessionCfg;
use crate::directory::{Source, UserInfo};
use crate::secret::{new_id, new_secret};

/// A signed-in user's session. The provider session lives on the `public_url` host; an app
/// session on another host has `parent` set to the provider session's key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: String,
    /// The `sid` claim: identifies the session without being its secret.
    pub sid: String,
    pub auth_time: u64,
    /// Absolute end (`lifetime` after sign-in).
    pub expires: u64,
    /// Last time the session was seen, updated at most once a minute.
    pub last_seen: u64,
    /// Store key of the provider session this app session was made from.
    #[serde(default)]
    pub parent: Option<Key>,
    /// How the user authenticated (RFC 8176): `pwd`, then `otp` or `hwk` and `mfa`.
    #[serde(default)]
    pub amr: Vec<String>,
    /// The client address the session was made from.
    #[serde(default)]
    pub address: Option<String>,
    /// Which source the user's name is from: the session is theirs only while the name still
    /// comes from there. `None` in records of earlier versions.
    #[serde(default)]
    pub source: Option<Source>,
}

/// A record as version 1 of the compact form wrote it (no `source`).
#[derive(Deserialize)]
struct RecordV1 {
    user: String,
    sid: String,
    auth_time: u64,
    expires: u64,
    last_seen: u64,
    parent: Option<Key>,
    amr: Vec<String>,
    address: Option<String>,
}

impl From<RecordV1> for SessionRecord {
    fn from(r: RecordV1) -> SessionRecord {
        SessionRecord {
            user: r.user,
            sid: r.sid,
            auth_time: r.auth_time,
            expires: r.expires,
            last_seen: r.last_seen,
            parent: r.parent,
            amr: r.amr,
            address: r.address,
            source: None,
        }
    }
}

/// The first byte of a session record in its compact form; postcard follows. Records are
/// kept by the million, so they are not JSON. Records of earlier versions — the compact form
/// without `source` (1), or JSON (which starts with `{`) — are still read.
const COMPACT_V1: u8 = 1;
const COMPACT: u8 = 2;

impl SessionRecord {
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        postcard::to_extend(self, vec![COMPACT]).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    pub fn decode(bytes: &[u8]) -> Result<SessionRecord, StoreError> {
        let corrupt =
            |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("session record: {e}"));
        match bytes.split_first() {
            Some((&COMPACT, rest)) => postcard::from_bytes(rest).map_err(|e| corrupt(&e)),
            Some((&COMPACT_V1, rest)) => postcard::from_bytes::<RecordV1>(rest)
                .map(SessionRecord::from)
                .map_err(|e| corrupt(&e)),
            Some((b'{', _)) => serde_json::from_slice(bytes).map_err(|e| corrupt(&e)),
            _ => Err(corrupt(&"unknown format")),
        }
    }

    /// Whether `user`, as the directory knows them now, is the one this session was made for:
    /// the same name from the same source (records of earlier versions name no source).
    pub fn belongs_to(&self, user: &UserInfo) -> bool {
        user.username == self.user && self.source.as_ref().is_none_or(|s| *s == user.source)
    }

    /// A second factor was used in this session.
    pub fn mfa(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }
}

impl SessionRecord {
    /// Alive at `now`: before its absolute end and not idle for longer than `idle`.
    pub fn alive(&self, now: u64, idle: Duration) -> bool {
        now < self.expires && now.saturating_sub(self.last_seen) < idle.as_secs()
    }

    /// Seconds the record must stay in the store.
    pub fn ttl(&self, now: u64) -> Duration {
        Duration::from_secs(self.expires.saturating_sub(now).max(1))
    }
}

/// A session found from a cookie.
#[derive(Debug, Clone)]
pub struct Found {
    pub key: Key,
    pub record: SessionRecord,
}

/// The sessions of one store under one `[session]` configuration.
pub struct Sessions<'a> {
    pub store: &'a dyn Store,
    pub cfg: &'a SessionCfg,
}

impl Sessions<'_> {
    /// The record at `key`. One this version cannot read (written by a newer version, during a
    /// rolling upgrade or after a downgrade) is no session: its holder signs in again, rather
    /// than meeting 503 until it expires; ending it still writes the tombstones.
    async fn get(&self, key: &Key) -> Result<Option<SessionRecord>, StoreError> {
        let Some(bytes) = self.store.get(key).await? else {
            return Ok(None);
        };
        match SessionRecord::decode(&bytes) {
            Ok(record) => Ok(Some(record)),
            Err(e) => {
                log::warn!("{e}; treated as signed out");
                Ok(None)
            }
        }
    }

    async fn put(&self, key: &Key, record: &SessionRecord, now: u64) -> Result<(), StoreError> {
        self.store.put(key, record.encode()?, record.ttl(now)).await
    }

    /// Sessions are written back for `last_seen` at most once a minute — or, with a short idle
    /// timeout, often enough that an active session never idles out.
    fn touch_every(&self) -> u64 {
        (self.cfg.idle_timeout.as_secs() / 2).clamp(1, 60)
    }

    /// The live session at `key`, without touching it.
    pub async fn read(&self, key: &Key, now: u64) -> Result<Option<Found>, StoreError> {
        let record = self.get(key).await?;
        Ok(record
            .filter(|r| r.alive(now, self.cfg.idle_timeout))
            .map(|record| Found {
                key: key.clone(),
                record,
            }))
    }

    /// The live session whose id is `cookie_value`, if any, its idle timeout slid forward.
    pub async fn lookup(&self, cookie_value: &str, now: u64) -> Result<Option<Found>, StoreError> {
        let Some(found) = self
            .read(&Key::secret(Kind::Session, cookie_value), now)
            .await?
        else {
            return Ok(None);
        };
        if now.saturating_sub(found.record.last_seen) < self.touch_every() {
            return Ok(Some(found));
        }
        self.touch(found, now).await
    }

    /// Writes `last_seen = now` back, unless the session ended since it was read.
    pub async fn touch(&self, mut found: Found, now: u64) -> Result<Option<Found>, StoreError> {
        found.record.last_seen = now;
        let ttl = found.record.ttl(now);
        let kept = self
            .store
            .replace(&found.key, found.record.encode()?, ttl)
            .await?;
        Ok(kept.then_some(found))
    }

    /// Creates a provider session for `user`, authenticated by `amr`; returns the cookie value
    /// (the only copy of the id).
    pub async fn create(
        &self,
        (user, source): (&str, &Source),
        amr: Vec<String>,
        address: Option<std::net::IpAddr>,
        now: u64,
    ) -> Result<(String, Found), StoreError> {
        let id = new_secret();
        let record = SessionRecord {
            source: Some(source.clone()),
            user: user.to_string(),
            sid: new_id(),
            auth_time: now,
            expires: now + self.cfg.lifetime.as_secs(),
            last_seen: now,
            parent: None,
            amr,
            address: address.map(|a| a.to_string()),
        };
        let key = Key::secret(Kind::Session, &id);
        self.put(&key, &record, now).await?;
        let mine = Key::secret(Kind::UserSessions, user);
        self.store
            .add_member(&mine, key.as_str(), self.cfg.lifetime)
            .await?;
        Ok((id, Found { key, record }))
    }

    /// Records a second factor in a live provider session (step-up) under a new id (ASVS
    /// 3.2.1: the cookie from before the step-up no longer works); returns the new cookie value,
    /// or `None` if the session ended. It stays the same session to everything else: its `sid`
    /// (grants, back-channel logout) and `auth_time` are kept. The app sessions made from the
    /// old id end; their browsers get new ones from the provider session without a sign-in.
    pub async fn rekey(
        &self,
        old: &Key,
        amr: Vec<String>,
        now: u64,
    ) -> Result<Option<(String, Found)>, StoreError> {
        // Taken atomically: of a step-up and a concurrent sign-out, one wins.
        let Some(bytes) = self.store.take(old).await? else {
            return Ok(None);
        };
        let mut record = SessionRecord::decode(&bytes)?;
        if !record.alive(now, self.cfg.idle_timeout) {
            return Ok(None);
        }
        record.amr = amr;
        record.last_seen = now;
        let id = new_secret();
        let key = Key::secret(Kind::Session, &id);
        self.put(&key, &record, now).await?;
        let mine = Key::secret(Kind::UserSessions, &record.user);
        self.store
            .add_member(&mine, key.as_str(), self.cfg.lifetime)
            .await?;
        self.retire(old, &record.user).await?;
        Ok(Some((id, Found { key, record })))
    }

    /// Tombstones a provider session's old id and the app sessions made from it.
    async fn retire(&self, old: &Key, user: &str) -> Result<(), StoreError> {
        let lifetime = self.cfg.lifetime;
        self.store.revoke(old, lifetime).await?;
        let children = Key::children_of(old);
        for child in self.store.members(&children).await? {
            self.store.revoke(&Key::stored(child), lifetime).await?;
        }
        self.store.delete(&children).await?;
        let mine = Key::secret(Kind::UserSessions, user);
        self.store.remove_member(&mine, old.as_str()).await
    }

    /// Creates an app session under the provider session at `parent` (same user, same end).
    pub async fn create_child(
        &self,
        parent: &Key,
        now: u64,
    ) -> Result<Option<(String, SessionRecord)>, StoreError> {
        let Some(found) = self.read(parent, now).await? else {
            return Ok(None);
        };
        let id = new_secret();
        let child_key = Key::secret(Kind::Session, &id);
        let child = SessionRecord {
            last_seen: now,
            parent: Some(parent.clone()),
            ..found.record.clone()
        };
        self.put(&child_key, &child, now).await?;
        self.store
            .add_member(
                &Key::children_of(parent),
                child_key.as_str(),
                found.record.ttl(now),
            )
            .await?;
        // A sign-out that revoked the parent before seeing this child must still end it.
        if self.touch(found, now).await?.is_none() {
            self.store.revoke(&child_key, self.cfg.lifetime).await?;
            return Ok(None);
        }
        Ok(Some((id, child)))
    }

    /// Ends the session at `key`, its provider session and every app session made from it;
    /// returns the provider session's record, if it was still there.
    pub async fn end(&self, key: &Key) -> Result<Option<SessionRecord>, StoreError> {
        let record = self.get(key).await?;
        let (root, root_record) = match record {
            Some(SessionRecord {
                parent: Some(parent),
                ..
            }) => {
                let parent_record = self.get(&parent).await?;
                (parent, parent_record)
            }
            other => (key.clone(), other),
        };
        let lifetime = self.cfg.lifetime;
        // Tombstones first: from here on no child can be added and no touch can write back.
        self.store.revoke(&root, lifetime).await?;
        self.store.revoke(key, lifetime).await?;
        let children = Key::children_of(&root);
        for child in self.store.members(&children).await? {
            self.store.revoke(&Key::stored(child), lifetime).await?;
        }
        self.store.delete(&children).await?;
        if let Some(r) = &root_record {
            let mine = Key::secret(Kind::UserSessions, &r.user);
            self.store.remove_member(&mine, root.as_str()).await?;
        }
        Ok(root_record)
    }

    /// The live provider sessions of `user`, with the last time any of their app sessions was
    /// seen.
    pub async fn of_user(&self, user: &str, now: u64) -> Result<Vec<Found>, StoreError> {
        let mine = Key::secret(Kind::UserSessions, user);
        let mut found = Vec::new();
        for member in self.store.members(&mine).await? {
            let Some(mut session) = self.read(&Key::stored(member.clone()), now).await? else {
                // Ended or expired: the set forgets it.
                self.store.remove_member(&mine, &member).await?;
                continue;
            };
            for child in self.store.members(&Key::children_of(&session.key)).await? {
                if let Some(c) = self.read(&Key::stored(child), now).await? {
                    session.record.last_seen = session.record.last_seen.max(c.record.last_seen);
                }
            }
            found.push(session);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_cfg() -> SessionCfg {
        SessionCfg {
            cookie_name: "authgate_session".into(),
            lifetime: Duration::from_secs(3600),
            idle_timeout: Duration::from_secs(600),
            store: crate::config::StoreKind::Memory,
            redis: None,
            key_prefix: String::new(),
            max_entries: 100,
            snapshot_file: None,
            snapshot_key_file: "unused".into(),
        }
    }

    fn record() -> SessionRecord {
        SessionRecord {
            user: "alice".into(),
            sid: "sid-1".into(),
            auth_time: 1_700_000_000,
            expires: 1_700_043_200,
            last_seen: 1_700_000_060,
            parent: Some(Key::secret(Kind::Session, "parent")),
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
            address: Some("192.0.2.7".into()),
            source: Some(Source::Ldap),
        }
    }

    #[test]
    fn compact_records_round_trip_and_are_small() {
        let r = record();
        let bytes = r.encode().unwrap();
        assert_eq!(bytes[0], COMPACT);
        assert_eq!(SessionRecord::decode(&bytes).unwrap(), r);
        let json = serde_json::to_vec(&r).unwrap();
        assert!(
            bytes.len() * 2 < json.len(),
            "{} vs {}",
            bytes.len(),
            json.len()
        );
    }

    #[test]
    fn records_written_as_json_by_earlier_versions_are_still_read() {
        let legacy = br#"{"user":"bob","sid":"s","auth_time":1,"expires":9,"last_seen":1}"#;
        let r = SessionRecord::decode(legacy).unwrap();
        assert_eq!((r.user.as_str(), r.expires, r.parent), ("bob", 9, None));
    }

    #[tokio::test]
    async fn a_record_this_version_cannot_read_is_no_session_and_still_ends() {
        let store = super::super::memory::MemoryStore::new(100);
        let cfg = session_cfg();
        let sessions = Sessions {
            store: &store,
            cfg: &cfg,
        };
        let key = Key::secret(Kind::Session, "cookie");
        let ttl = Duration::from_secs(60);
        store
            .put(&key, b"\x09from a newer version".to_vec(), ttl)
            .await
            .unwrap();
        assert!(sessions.lookup("cookie", 1).await.unwrap().is_none());
        sessions.end(&key).await.unwrap();
        assert!(!store
            .replace(&key, record().encode().unwrap(), ttl)
            .await
            .unwrap());
    }

    #[test]
    fn unknown_or_truncated_records_are_corrupt_not_a_panic() {
        let bytes = record().encode().unwrap();
        for bad in [&b""[..], b"\x02rest", &bytes[..bytes.len() / 2]] {
            assert!(matches!(
                SessionRecord::decode(bad),
                Err(StoreError::Corrupt(_))
            ));
        }
    }

    /// hardening: session id kept across step-up.
    #[tokio::test]
    async fn a_step_up_gives_the_session_a_new_id() {
        let store = super::super::memory::MemoryStore::new(100);
        let cfg = session_cfg();
        let sessions = Sessions {
            store: &store,
            cfg: &cfg,
        };
        let now = 1_000;
        let (old_id, old) = sessions
            .create(("alice", &Source::Local), vec!["pwd".into()], None, now)
            .await
            .unwrap();
        let (child_id, _) = sessions.create_child(&old.key, now).await.unwrap().unwrap();
        let amr = vec!["pwd".into(), "otp".into(), "mfa".into()];
        let (new_id, new) = sessions
            .rekey(&old.key, amr, now + 5)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(new_id, old_id);
        assert_eq!(
            (&new.record.sid, new.record.auth_time),
            (&old.record.sid, now)
        );
        assert!(new.record.mfa());
        assert!(sessions.lookup(&old_id, now + 6).await.unwrap().is_none());
        assert!(sessions.lookup(&new_id, now + 6).await.unwrap().is_some());
        assert!(
            sessions.lookup(&child_id, now + 6).await.unwrap().is_none(),
            "the app session from before the step-up"
        );
        let users = sessions.of_user("alice", now + 6).await.unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].key, new.key);
        // A second step-up from the old id finds nothing.
        assert!(sessions
            .rekey(&old.key, vec![], now + 7)
            .await
            .unwrap()
            .is_none());
    }

    /// The compact form of the version before `source` still reads, with no source.
    #[test]
    fn version_one_records_still_read() {
        #[derive(Serialize)]
        struct V1<'a>(
            &'a str,
            &'a str,
            u64,
            u64,
            u64,
            Option<Key>,
            Vec<String>,
            Option<String>,
        );
        let old = V1("bob", "s", 1, 9, 1, None, vec!["pwd".into()], None);
        let bytes = postcard::to_extend(&old, vec![COMPACT_V1]).unwrap();
        let r = SessionRecord::decode(&bytes).unwrap();
        assert_eq!((r.user.as_str(), r.expires, r.source), ("bob", 9, None));
    }

    /// hardening: the source of a name is part of the identity.
    #[test]
    fn a_session_belongs_to_a_name_from_its_source() {
        let r = record();
        let user = |source| UserInfo {
            source,
            username: "alice".into(),
            email: None,
            email_verified: true,
            name: None,
            groups: vec![],
            disabled: false,
        };
        assert!(r.belongs_to(&user(Source::Ldap)));
        assert!(!r.belongs_to(&user(Source::Local)));
        let legacy = SessionRecord { source: None, ..r };
        assert!(legacy.belongs_to(&user(Source::Local)));
    }
}
