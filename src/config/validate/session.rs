//! `[session]`: the store (memory, Redis or Sentinel) and the session's lifetimes.

use super::*;

pub(super) fn build_session(p: &mut Problems, mut s: SessionFile) -> Option<SessionCfg> {
    let cookie_name = s
        .cookie_name
        .take()
        .unwrap_or_else(|| "authgate_session".into());
    if cookie_name.is_empty()
        || !cookie_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        p.add(
            "session.cookie_name",
            format!("{cookie_name:?}: use letters, digits, '_' and '-'"),
        );
    }
    let lifetime = duration(
        p,
        "session.lifetime",
        s.lifetime.as_deref(),
        Duration::from_secs(12 * 3600),
    );
    let idle_timeout = duration(
        p,
        "session.idle_timeout",
        s.idle_timeout.as_deref(),
        Duration::from_secs(3600),
    );
    let store = match s.store.as_deref() {
        None | Some("memory") => StoreKind::Memory,
        Some("redis") => StoreKind::Redis,
        Some(other) => {
            p.add(
                "session.store",
                format!("{other:?}: expected \"memory\" or \"redis\""),
            );
            StoreKind::Memory
        }
    };
    let redis = redis_target(p, &mut s, store);
    let snapshot_file = s
        .snapshot_file
        .as_deref()
        .unwrap_or("authgate-sessions.snap");
    Some(SessionCfg {
        cookie_name,
        lifetime,
        idle_timeout,
        store,
        redis,
        key_prefix: s.key_prefix.unwrap_or_else(|| "authgate:".into()),
        max_entries: s.max_entries.unwrap_or(1_000_000),
        snapshot_file: (!snapshot_file.is_empty()).then(|| PathBuf::from(snapshot_file)),
        snapshot_key_file: PathBuf::from(
            s.snapshot_key_file
                .as_deref()
                .unwrap_or("authgate-snapshot.key"),
        ),
    })
}

/// `redis_url`, or `redis_sentinels` with `redis_master_name`: exactly one of them, and only
/// with `store = "redis"`.
pub(super) fn redis_target(
    p: &mut Problems,
    s: &mut SessionFile,
    store: StoreKind,
) -> Option<RedisTarget> {
    let sentinels = std::mem::take(&mut s.redis_sentinels);
    let target = match (s.redis_url.take(), sentinels.is_empty()) {
        (Some(_), false) => {
            p.add(
                "session.redis_sentinels",
                "set either redis_url or redis_sentinels, not both",
            );
            return None;
        }
        (Some(u), true) => {
            if !(u.starts_with("redis://")
                || u.starts_with("rediss://")
                || u.starts_with("unix://"))
            {
                p.add(
                    "session.redis_url",
                    "must start with redis://, rediss:// or unix://",
                );
            }
            Some(RedisTarget::Url(Secret::new(u)))
        }
        (None, false) => Some(RedisTarget::Sentinel(sentinel(p, s, sentinels))),
        (None, true) => None,
    };
    if store == StoreKind::Redis && target.is_none() {
        p.add(
            "session.redis_url",
            "required when store = \"redis\" (or redis_sentinels)",
        );
    }
    target
}

pub(super) fn sentinel(p: &mut Problems, s: &mut SessionFile, sentinels: Vec<String>) -> Sentinel {
    for (i, addr) in sentinels.iter().enumerate() {
        let port = addr
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse::<u16>().ok());
        if port.is_none() {
            p.add(
                format!("session.redis_sentinels[{i}]"),
                format!("{addr:?}: expected host:port"),
            );
        }
    }
    let master_name = s.redis_master_name.take().unwrap_or_default();
    if master_name.is_empty() {
        p.add(
            "session.redis_master_name",
            "required with redis_sentinels (the name the sentinels monitor)",
        );
    }
    Sentinel {
        sentinels,
        master_name,
        sentinel_password: s.redis_sentinel_password.take().map(Secret::new),
        password: s
            .redis_password_file
            .take()
            .map(|f| secret_file(p, "session.redis_password_file", &f)),
    }
}
