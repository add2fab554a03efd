//! The Redis store, for several instances sharing one state. Same contract as memory:
//! TTLs are Redis's own; `take`, `replace`, `incr` and `add_member` are small Lua scripts, each
//! atomic across instances; a tombstone is the value `TOMBSTONE`. Every call has a short
//! timeout, so an unreachable Redis makes requests fail closed quickly instead of hanging.
//!
//! Redis is reached at one URL, or through Redis Sentinel: the sentinels name the master, and
//! after any failed call the master is asked for again, which is how a failover is followed.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::AsyncConnectionConfig;
use tokio::sync::OnceCell;

use super::{ErrorObserver, Key, Kind, Store, StoreError, TOMBSTONE};
use crate::config::{RedisTarget, Sentinel};

const TIMEOUT: Duration = Duration::from_millis(500);

pub struct RedisStore {
    source: Source,
    prefix: String,
    scripts: Scripts,
    on_error: Option<ErrorObserver>,
}

enum Source {
    /// One Redis; the manager reconnects to it by itself. Made on first use, inside the
    /// runtime that serves requests (the manager spawns its reconnecting task there).
    Url {
        client: redis::Client,
        conn: OnceCell<ConnectionManager>,
    },
    /// The master the sentinels name, asked for again after any failure.
    Sentinel {
        sentinels: tokio::sync::Mutex<SentinelClient>,
        master: ArcSwapOption<Master>,
    },
}

/// The master in use and a connection to it.
struct Master {
    addr: String,
    conn: MultiplexedConnection,
}

/// A connection to send one command on.
enum Conn {
    Managed(ConnectionManager),
    Multiplexed(MultiplexedConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Conn::Managed(c) => c.req_packed_command(cmd),
            Conn::Multiplexed(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Conn::Managed(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Multiplexed(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Managed(c) => c.get_db(),
            Conn::Multiplexed(c) => c.get_db(),
        }
    }
}

struct Scripts {
    incr: redis::Script,
    decr: redis::Script,
    replace: redis::Script,
    take: redis::Script,
    add_member: redis::Script,
}

impl Scripts {
    fn new() -> Scripts {
        Scripts {
            incr: redis::Script::new(
                "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
            ),
            // Only an existing counter goes down, and it never goes below zero.
            decr: redis::Script::new(
                "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end local n = redis.call('DECR', KEYS[1]) if n < 0 then redis.call('INCR', KEYS[1]) return 0 end return n",
            ),
            // ARGV: value, ttl ms, tombstone. Only a live, unrevoked string is overwritten.
            replace: redis::Script::new(
                "local v = redis.call('GET', KEYS[1]) if v == false or v == ARGV[3] then return 0 end redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1",
            ),
            // ARGV: tombstone. A tombstone is never taken away.
            take: redis::Script::new(
                "local v = redis.call('GET', KEYS[1]) if v == false or v == ARGV[1] then return false end redis.call('DEL', KEYS[1]) return v",
            ),
            add_member: redis::Script::new(
                "redis.call('SADD', KEYS[1], ARGV[1]) if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 1",
            ),
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn sentinel_client(s: &Sentinel) -> Result<SentinelClient, StoreError> {
    let mut addrs = Vec::with_capacity(s.sentinels.len());
    for a in &s.sentinels {
        let (host, port) = a
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.trim_matches(['[', ']']).to_string(), p.parse().ok()?)))
            .ok_or_else(|| unavailable(format!("bad sentinel address {a:?}")))?;
        addrs.push(redis::ConnectionAddr::Tcp(host, port));
    }
    let mut b = SentinelClientBuilder::new(addrs, &s.master_name, SentinelServerType::Master)
        .map_err(|e| unavailable(format!("redis_sentinels: {}", e.category())))?;
    if let Some(p) = &s.sentinel_password {
        b = b.set_client_to_sentinel_password(p.expose());
    }
    if let Some(p) = &s.password {
        b = b.set_client_to_redis_password(p.expose());
    }
    b.build()
        .map_err(|e| unavailable(format!("redis_sentinels: {}", e.category())))
}

impl RedisStore {
    /// A store on `target` whose keys all start with `prefix`. Connects lazily: a Redis that
    /// is down at startup makes requests fail (closed) until it is up.
    pub fn new(target: &RedisTarget, prefix: &str) -> Result<RedisStore, StoreError> {
        let source = match target {
            RedisTarget::Url(url) => Source::Url {
                client: redis::Client::open(url.expose())
                    .map_err(|e| unavailable(format!("bad redis_url: {}", e.category())))?,
                conn: OnceCell::new(),
            },
            RedisTarget::Sentinel(s) => Source::Sentinel {
                sentinels: tokio::sync::Mutex::new(sentinel_client(s)?),
                master: ArcSwapOption::empty(),
            },
        };
        Ok(RedisStore {
            source,
            prefix: prefix.to_string(),
            scripts: Scripts::new(),
            on_error: None,
        })
    }

    /// A store on the Redis at `url`.
    pub fn open(url: &str, prefix: &str) -> Result<RedisStore, StoreError> {
        RedisStore::new(&RedisTarget::Url(crate::secret::Secret::new(url)), prefix)
    }

    /// Calls `observer` on every failed operation.
    pub fn observed(mut self, observer: ErrorObserver) -> RedisStore {
        self.on_error = Some(observer);
        self
    }

    fn key(&self, k: &Key) -> String {
        format!("{}{}", self.prefix, k.as_str())
    }

    fn failed(&self, e: impl std::fmt::Display) -> StoreError {
        if let Some(observe) = &self.on_error {
            observe();
        }
        if let Source::Sentinel { master, .. } = &self.source {
            // The master may have failed over: ask the sentinels again next time.
            master.store(None);
        }
        unavailable(e)
    }

    async fn conn(&self) -> Result<Conn, StoreError> {
        match &self.source {
            Source::Url { client, conn } => {
                let conn = conn
                    .get_or_try_init(|| async {
                        let config = ConnectionManagerConfig::new()
                            .set_connection_timeout(Some(TIMEOUT))
                            .set_response_timeout(Some(TIMEOUT))
                            .set_number_of_retries(1)
                            .set_max_delay(Duration::from_millis(200));
                        ConnectionManager::new_lazy_with_config(client.clone(), config)
                            .map_err(|e| self.failed(e))
                    })
                    .await?;
                Ok(Conn::Managed(conn.clone()))
            }
            Source::Sentinel { sentinels, master } => {
                if let Some(m) = master.load_full() {
                    return Ok(Conn::Multiplexed(m.conn.clone()));
                }
                // One request asks the sentinels; the others fail closed meanwhile.
                let Ok(mut sentinels) = sentinels.try_lock() else {
                    return Err(unavailable("looking for the redis master"));
                };
                let found = tokio::time::timeout(TIMEOUT * 4, find_master(&mut sentinels)).await;
                match found {
                    Ok(Ok(m)) => {
                        log::info!("redis master is {}", m.addr);
                        let conn = m.conn.clone();
                        master.store(Some(Arc::new(m)));
                        Ok(Conn::Multiplexed(conn))
                    }
                    Ok(Err(e)) => Err(self.failed(format!("redis sentinel: {e}"))),
                    Err(_) => Err(self.failed("redis sentinel did not answer in time")),
                }
            }
        }
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn().await?;
        self.answer(cmd.query_async::<T>(&mut conn)).await
    }

    async fn script<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        key: &Key,
        args: &[&[u8]],
    ) -> Result<T, StoreError> {
        let mut conn = self.conn().await?;
        let mut invocation = script.key(self.key(key));
        for a in args {
            invocation.arg(*a);
        }
        self.answer(invocation.invoke_async::<T>(&mut conn)).await
    }

    /// The answer to a call, within `TIMEOUT`; a failure is counted (and forgets the master).
    async fn answer<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(TIMEOUT, call).await {
            Ok(r) => r.map_err(|e| self.failed(e)),
            Err(_) => Err(self.failed("redis did not answer in time")),
        }
    }
}

impl RedisStore {
    /// Every key of `kind` (SCAN, in batches).
    async fn keys(&self, kind: Kind) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{}{}:*", self.prefix, kind.prefix());
        let (mut cursor, mut all) = (0u64, Vec::new());
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .run(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000),
                )
                .await?;
            all.extend(keys);
            if next == 0 {
                return Ok(all);
            }
            cursor = next;
        }
    }
}

/// The master the sentinels name now, connected.
async fn find_master(sentinels: &mut SentinelClient) -> redis::RedisResult<Master> {
    let client = sentinels.async_get_client().await?;
    let addr = client.get_connection_info().addr().to_string();
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT));
    let conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    Ok(Master { addr, conn })
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A value read back, with a tombstone read as absent.
fn live(v: Option<Vec<u8>>) -> Option<Vec<u8>> {
    v.filter(|b| b != TOMBSTONE)
}

#[async_trait]
impl Store for RedisStore {
    async fn put(&self, key: &Key, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        self.run::<()>(
            redis::cmd("SET")
                .arg(self.key(key))
                .arg(value)
                .arg("PX")
                .arg(millis(ttl)),
        )
        .await
    }

    async fn replace(&self, key: &Key, value: Vec<u8>, ttl: Duration) -> Result<bool, StoreError> {
        let ttl = millis(ttl).to_string();
        let n: u8 = self
            .script(
                &self.scripts.replace,
                key,
                &[&value, ttl.as_bytes(), TOMBSTONE],
            )
            .await?;
        Ok(n == 1)
    }

    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(live(self.run(redis::cmd("GET").arg(self.key(key))).await?))
    }

    async fn take(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        self.script(&self.scripts.take, key, &[TOMBSTONE]).await
    }

    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.run::<()>(redis::cmd("DEL").arg(self.key(key))).await
    }

    async fn revoke(&self, key: &Key, ttl: Duration) -> Result<(), StoreError> {
        self.put(key, TOMBSTONE.to_vec(), ttl).await
    }

    async fn incr(&self, key: &Key, ttl: Duration) -> Result<u64, StoreError> {
        let ttl = millis(ttl).to_string();
        self.script(&self.scripts.incr, key, &[ttl.as_bytes()])
            .await
    }

    async fn decr(&self, key: &Key) -> Result<(), StoreError> {
        self.script::<i64>(&self.scripts.decr, key, &[])
            .await
            .map(|_| ())
    }

    async fn add_member(&self, key: &Key, member: &str, ttl: Duration) -> Result<(), StoreError> {
        let ttl = millis(ttl).to_string();
        self.script::<()>(
            &self.scripts.add_member,
            key,
            &[member.as_bytes(), ttl.as_bytes()],
        )
        .await
    }

    async fn remove_member(&self, key: &Key, member: &str) -> Result<(), StoreError> {
        self.run::<()>(redis::cmd("SREM").arg(self.key(key)).arg(member))
            .await
    }

    async fn members(&self, key: &Key) -> Result<Vec<String>, StoreError> {
        self.run(redis::cmd("SMEMBERS").arg(self.key(key))).await
    }

    fn master(&self) -> Option<String> {
        match &self.source {
            Source::Url { .. } => None,
            Source::Sentinel { master, .. } => master.load().as_ref().map(|m| m.addr.clone()),
        }
    }

    async fn count(&self, kind: Kind) -> Result<u64, StoreError> {
        let n = self.keys(kind).await?.len();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    async fn values(&self, kind: Kind) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut values = Vec::new();
        for key in self.keys(kind).await? {
            let v: Option<Vec<u8>> = self.run(redis::cmd("GET").arg(key)).await?;
            values.extend(live(v));
        }
        Ok(values)
    }
}
