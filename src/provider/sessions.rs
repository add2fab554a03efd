//! Session lifecycle on top of the store: create at sign-in, look up from a cookie (sliding
//! the idle timeout at most once a minute), and end everywhere at sign-out.

use crate::app::App;
use crate::session::{key, new_id, new_secret, Records, SessionRecord, StoreError};

/// Sessions are written back for `last_seen` at most once a minute — or, with a short idle
/// timeout, often enough that an active session never idles out.
fn touch_every(idle: std::time::Duration) -> u64 {
    (idle.as_secs() / 2).clamp(1, 60)
}

/// The `Set-Cookie` value carrying session id `id` (host-only, for the session's lifetime).
pub fn cookie(app: &App, id: &str, secure: bool) -> String {
    crate::http::cookies::set(
        &app.cfg.session.cookie_name,
        id,
        secure,
        Some(app.cfg.session.lifetime),
    )
}

/// A session found from a cookie.
pub struct Found {
    pub key: String,
    pub record: SessionRecord,
}

/// The live session whose id is `cookie_value`, if any.
pub async fn lookup(app: &App, cookie_value: &str, now: u64) -> Result<Option<Found>, StoreError> {
    let k = key("sess", cookie_value);
    let records = Records(app.store.as_ref());
    let Some(mut record) = records.get::<SessionRecord>(&k).await? else {
        return Ok(None);
    };
    if !record.alive(now, app.cfg.session.idle_timeout) {
        return Ok(None);
    }
    if now.saturating_sub(record.last_seen) >= touch_every(app.cfg.session.idle_timeout) {
        record.last_seen = now;
        records.put(&k, &record, record.ttl(now)).await?;
    }
    Ok(Some(Found { key: k, record }))
}

/// Creates a provider session for `user`; returns the cookie value (the only copy of the id).
pub async fn create(app: &App, user: &str, now: u64) -> Result<(String, Found), StoreError> {
    let id = new_secret();
    let record = SessionRecord {
        user: user.to_string(),
        sid: new_id(),
        auth_time: now,
        expires: now + app.cfg.session.lifetime.as_secs(),
        last_seen: now,
        parent: None,
        children: Vec::new(),
    };
    let k = key("sess", &id);
    Records(app.store.as_ref())
        .put(&k, &record, record.ttl(now))
        .await?;
    Ok((id, Found { key: k, record }))
}

/// Creates an app session under the provider session `parent` (same user, same end).
pub async fn create_child(
    app: &App,
    parent_key: &str,
    now: u64,
) -> Result<Option<(String, SessionRecord)>, StoreError> {
    let records = Records(app.store.as_ref());
    let Some(mut parent) = records.get::<SessionRecord>(parent_key).await? else {
        return Ok(None);
    };
    if !parent.alive(now, app.cfg.session.idle_timeout) {
        return Ok(None);
    }
    let id = new_secret();
    let child_key = key("sess", &id);
    let child = SessionRecord {
        user: parent.user.clone(),
        sid: parent.sid.clone(),
        auth_time: parent.auth_time,
        expires: parent.expires,
        last_seen: now,
        parent: Some(parent_key.to_string()),
        children: Vec::new(),
    };
    records.put(&child_key, &child, child.ttl(now)).await?;
    parent.children.retain(|c| !c.is_empty());
    parent.children.push(child_key);
    parent.last_seen = now;
    records.put(parent_key, &parent, parent.ttl(now)).await?;
    Ok(Some((id, child)))
}

/// Ends the session at `k`, its provider session and every app session made from it.
pub async fn end(app: &App, k: &str) -> Result<(), StoreError> {
    let records = Records(app.store.as_ref());
    let Some(record) = records.get::<SessionRecord>(k).await? else {
        return Ok(());
    };
    let root_key = record.parent.clone().unwrap_or_else(|| k.to_string());
    if let Some(root) = records.get::<SessionRecord>(&root_key).await? {
        for child in &root.children {
            app.store.delete(child).await?;
        }
    }
    app.store.delete(&root_key).await?;
    app.store.delete(k).await
}
