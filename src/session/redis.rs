//! The Redis store, for several instances sharing one state. Same contract as memory:
//! TTLs are Redis's own; `take`, `replace`, `incr` and `add_member` are small Lua scripts, each
//! atomic across instances; a tombstone is the value `TOMBSTONE`. Every call has a short
//! timeout, so an unreachable Redis makes requests fail closed quickly instead of hanging.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::{ErrorObserver, Key, Kind, Store, StoreError, TOMBSTONE};

const TIMEOUT: Duration = Duration::from_millis(500);

pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    /// Made on first use, inside the runtime that serves requests (the manager spawns its
    /// reconnecting task there).
    conn: OnceCell<ConnectionManager>,
    scripts: Scripts,
    on_error: Option<ErrorObserver>,
}

struct Scripts {
    incr: redis::Script,
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

impl RedisStore {
    /// A store on `url` whose keys all start with `prefix`. Connects lazily: a Redis that is
    /// down at startup makes requests fail (closed) until it is up.
    pub fn new(url: &str, prefix: &str) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| unavailable(format!("bad redis_url: {}", e.category())))?;
        Ok(RedisStore {
            client,
            prefix: prefix.to_string(),
            conn: OnceCell::new(),
            scripts: Scripts::new(),
            on_error: None,
        })
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
        unavailable(e)
    }

    async fn conn(&self) -> Result<ConnectionManager, StoreError> {
        let conn = self
            .conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
                    .map_err(|e| self.failed(e))
            })
            .await?;
        Ok(conn.clone())
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn().await?;
        match tokio::time::timeout(TIMEOUT, cmd.query_async::<T>(&mut conn)).await {
            Ok(r) => r.map_err(|e| self.failed(e)),
            Err(_) => Err(self.failed("redis did not answer in time")),
        }
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
        match tokio::time::timeout(TIMEOUT, invocation.invoke_async::<T>(&mut conn)).await {
            Ok(r) => r.map_err(|e| self.failed(e)),
            Err(_) => Err(self.failed("redis did not answer in time")),
        }
    }
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

    async fn count(&self, kind: Kind) -> Result<u64, StoreError> {
        let pattern = format!("{}{}:*", self.prefix, kind.prefix());
        let mut cursor: u64 = 0;
        let mut n: u64 = 0;
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
            n += u64::try_from(keys.len()).unwrap_or(0);
            if next == 0 {
                return Ok(n);
            }
            cursor = next;
        }
    }
}
