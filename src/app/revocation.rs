//! How sessions end, whoever ends them — a sign-out on any path, the administrator, a user
//! disabled in the config or the directory: the provider session, every app session made from
//! it, and the grants given in it (so their access and refresh tokens stop working too).

use super::backchannel::Notice;
use super::grants::revoke_grant;
use super::App;
use crate::directory::Source;
use crate::oidc::tokens::logout_token;
use crate::session::{Found, Key, Kind, StoreError};

/// What a user's grant set remembers of one grant: `sid client grant [issued]` (`issued`, in
/// Unix seconds, is absent from members written by earlier versions, which count as oldest).
struct Given<'a> {
    sid: &'a str,
    client_id: &'a str,
    grant_id: &'a str,
    issued: u64,
}

impl<'a> Given<'a> {
    fn parse(member: &'a str) -> Option<Given<'a>> {
        let mut parts = member.splitn(4, ' ');
        Some(Given {
            sid: parts.next()?,
            client_id: parts.next()?,
            grant_id: parts.next()?,
            issued: parts.next().and_then(|t| t.parse().ok()).unwrap_or(0),
        })
    }
}

/// Grants remembered per user at most. Beyond it the set is pruned of grants that ended and,
/// if that is not enough, the oldest live ones are revoked (as large providers cap tokens per
/// user), down to half: one account looping authorize → token can neither grow the set without
/// bound nor make each sign-in slower.
pub const MAX_REMEMBERED_GRANTS: usize = 512;

/// Remembers that `grant_id` was given to `client_id` in the session `sid` of `user` (`""`: an
/// ID token only, from the authorization endpoint).
pub async fn remember_grant(
    app: &App,
    user: &str,
    sid: &str,
    client_id: &str,
    grant_id: &str,
) -> Result<(), StoreError> {
    let set = Key::secret(Kind::UserGrants, user);
    // An ID token only has no grant to revoke: one member per session and client is enough.
    let member = match grant_id {
        "" => format!("{sid} {client_id} "),
        id => format!("{sid} {client_id} {id} {}", app.now()),
    };
    let records = app.stores.records.as_ref();
    records
        .add_member(&set, &member, Kind::Grant.ttl(&app.cfg))
        .await?;
    let members = records.members(&set).await?;
    if members.len() > MAX_REMEMBERED_GRANTS {
        prune_grants(app, user, &set, members).await?;
    }
    Ok(())
}

/// Forgets the grants of `user` that ended (and ID-token members of sessions that ended),
/// then revokes the oldest live grants until half the limit is left.
async fn prune_grants(
    app: &App,
    user: &str,
    set: &Key,
    members: Vec<String>,
) -> Result<(), StoreError> {
    let records = app.stores.records.as_ref();
    let sessions = app.sessions().of_user(user, app.now()).await?;
    let mut live = Vec::new();
    for member in &members {
        let Some(given) = Given::parse(member) else {
            records.remove_member(set, member).await?;
            continue;
        };
        let alive = match given.grant_id {
            "" => sessions.iter().any(|s| s.record.sid == given.sid),
            id => records.get(&Key::id(Kind::Grant, id)).await?.is_some(),
        };
        if alive {
            live.push((given, member));
        } else {
            records.remove_member(set, member).await?;
        }
    }
    let excess = live.len().saturating_sub(MAX_REMEMBERED_GRANTS / 2);
    live.sort_by_key(|(g, _)| g.issued);
    let oldest = live
        .iter()
        .filter(|(g, _)| !g.grant_id.is_empty())
        .take(excess);
    for (given, member) in oldest {
        revoke_grant(app, given.grant_id).await?;
        records.remove_member(set, member).await?;
    }
    if excess > 0 {
        log::warn!(
            "{user} had more than {MAX_REMEMBERED_GRANTS} live grants: the oldest {excess} revoked"
        );
    }
    Ok(())
}

/// The clients that were given tokens in the session `sid` of `user`.
pub async fn clients_of(app: &App, user: &str, sid: &str) -> Result<Vec<String>, StoreError> {
    let members = app
        .stores
        .records
        .members(&Key::secret(Kind::UserGrants, user))
        .await?;
    let mut clients: Vec<String> = members
        .iter()
        .filter_map(|m| Given::parse(m))
        .filter(|g| g.sid == sid)
        .map(|g| g.client_id.to_string())
        .collect();
    clients.sort();
    clients.dedup();
    Ok(clients)
}

/// Ends the session at `key` with its provider session and app sessions, revokes the grants
/// given in it, and tells the relying parties that have a back-channel logout URI.
pub async fn end_session(app: &App, key: &Key) -> Result<(), StoreError> {
    if let Some(root) = app.sessions().end(key).await? {
        let clients = clients_of(app, &root.user, &root.sid).await?;
        revoke_grants(app, &root.user, Some(&root.sid)).await?;
        let source = root.source.clone().unwrap_or_default();
        tell(app, (&root.user, &source), &root.sid, &clients);
    }
    Ok(())
}

/// Queues a logout token for each of `clients` that asked for them, naming the user by the
/// `sub` that client knows (pairwise or not).
fn tell(app: &App, (user, source): (&str, &Source), sid: &str, clients: &[String]) {
    let now = app.now();
    for client in clients.iter().filter_map(|c| app.clients.get(c)) {
        let Some(uri) = &client.backchannel_logout_uri else {
            continue;
        };
        let issuer = &app.cfg.server.issuer;
        let sub = app.subject_for(&client.client_id, source, user);
        match logout_token(&app.keys, issuer, &client.client_id, &sub, sid, now) {
            Ok(token) => app.notices.send(Notice {
                client_id: client.client_id.clone(),
                uri: uri.clone(),
                token,
            }),
            Err(e) => log::error!("cannot sign a logout token: {e}"),
        }
    }
}

/// Whether the provider session `sid` of `user` is still live.
pub async fn session_alive(app: &App, user: &str, sid: &str) -> Result<bool, StoreError> {
    let sessions = app.sessions().of_user(user, app.now()).await?;
    Ok(sessions.iter().any(|s| s.record.sid == sid))
}

/// Ends every session of `user` but `keep`; returns how many ended.
pub async fn end_others(app: &App, user: &str, keep: Option<&Key>) -> Result<usize, StoreError> {
    let sessions = app.sessions().of_user(user, app.now()).await?;
    let mut ended = 0;
    for Found { key, .. } in sessions.iter().filter(|s| Some(&s.key) != keep) {
        end_session(app, key).await?;
        ended += 1;
    }
    Ok(ended)
}

/// Ends every session of `user` and revokes every grant the user gave, in a session or not.
pub async fn end_user(app: &App, user: &str) -> Result<usize, StoreError> {
    let ended = end_others(app, user, None).await?;
    revoke_grants(app, user, None).await?;
    Ok(ended)
}

/// Revokes the grants of `user` given in the session `sid` (all of them with `None`).
async fn revoke_grants(app: &App, user: &str, sid: Option<&str>) -> Result<(), StoreError> {
    revoke_given(app, user, |g| sid.is_none_or(|s| s == g.sid)).await
}

/// Revokes every grant `user` gave `client_id` (consent withdrawn).
pub async fn revoke_client_grants(
    app: &App,
    user: &str,
    client_id: &str,
) -> Result<(), StoreError> {
    revoke_given(app, user, |g| g.client_id == client_id).await
}

/// Revokes the grants of `user` that `which` picks, and forgets them.
async fn revoke_given(
    app: &App,
    user: &str,
    which: impl Fn(&Given<'_>) -> bool,
) -> Result<(), StoreError> {
    let set = Key::secret(Kind::UserGrants, user);
    for member in app.stores.records.members(&set).await? {
        let Some(given) = Given::parse(&member) else {
            continue;
        };
        if which(&given) {
            if !given.grant_id.is_empty() {
                revoke_grant(app, given.grant_id).await?;
            }
            app.stores.records.remove_member(&set, &member).await?;
        }
    }
    Ok(())
}

/// One provider session as the administrator and its user see it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SessionRow {
    /// The `sid`: names the session without being its secret.
    pub session: String,
    pub user: String,
    pub started: u64,
    /// The last time it or one of its app sessions was used.
    pub last_seen: u64,
    pub address: Option<String>,
    /// The relying parties that were given tokens in it.
    pub clients: Vec<String>,
}

/// The live provider sessions of `user`, or of everyone.
pub async fn list(app: &App, user: Option<&str>) -> Result<Vec<SessionRow>, StoreError> {
    let users = users(app, user).await?;
    let now = app.now();
    let mut rows = Vec::new();
    for user in users {
        for Found { record, .. } in app.sessions().of_user(&user, now).await? {
            rows.push(SessionRow {
                clients: clients_of(app, &user, &record.sid).await?,
                session: record.sid,
                user: record.user,
                started: record.auth_time,
                last_seen: record.last_seen,
                address: record.address,
            });
        }
    }
    rows.sort_by(|a, b| (&a.user, a.started).cmp(&(&b.user, b.started)));
    Ok(rows)
}

/// `user`, or everyone with a provider session in the store (which walks it).
async fn users(app: &App, user: Option<&str>) -> Result<Vec<String>, StoreError> {
    if let Some(u) = user {
        return Ok(vec![u.to_string()]);
    }
    let mut users: Vec<String> = app
        .stores
        .records
        .values(Kind::Session)
        .await?
        .iter()
        .filter_map(|v| crate::session::SessionRecord::decode(v).ok())
        .filter(|r| r.parent.is_none())
        .map(|r| r.user)
        .collect();
    users.sort();
    users.dedup();
    Ok(users)
}

/// Ends the provider session named `sid` (of `user` if given); returns how many ended (0 or 1).
pub async fn end_sid(app: &App, sid: &str, user: Option<&str>) -> Result<usize, StoreError> {
    let users = users(app, user).await?;
    for user in users {
        let sessions = app.sessions().of_user(&user, app.now()).await?;
        if let Some(s) = sessions.iter().find(|s| s.record.sid == sid) {
            end_session(app, &s.key).await?;
            return Ok(1);
        }
    }
    Ok(0)
}
