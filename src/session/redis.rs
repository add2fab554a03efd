//! The Redis store, for several instances sharing one state. Same contract as memory:
//! TTLs are Redis's own, `take` is `GETDEL` (atomic across instances), `incr` is a script
//! that sets the TTL only when it creates the counter. Every call has a short timeout, so an
//! unreachable Redis makes requests fail closed quickly instead of hanging.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::{Store, StoreError};

const TIMEOUT: Duration = Duration::from_millis(500);

pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    /// Made on first use, inside the runtime that serves requests (the manager spawns its
    /// reconnecting task there).
    conn: OnceCell<ConnectionManager>,
    incr: redis::Script,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    crate::metrics::store_error();
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
            incr: redis::Script::new(
                "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
            ),
        })
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
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
                    .map_err(unavailable)
            })
            .await?;
        Ok(conn.clone())
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn().await?;
        match tokio::time::timeout(TIMEOUT, cmd.query_async::<T>(&mut conn)).await {
            Ok(r) => r.map_err(unavailable),
            Err(_) => Err(unavailable("redis did not answer in time")),
        }
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl Store for RedisStore {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        self.run::<()>(
            redis::cmd("SET")
                .arg(self.key(key))
                .arg(value)
                .arg("PX")
                .arg(millis(ttl)),
        )
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(redis::cmd("GET").arg(self.key(key))).await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(redis::cmd("GETDEL").arg(self.key(key))).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.run::<()>(redis::cmd("DEL").arg(self.key(key))).await
    }

    async fn count(&self, namespace: &str) -> Result<u64, StoreError> {
        let pattern = format!("{}{namespace}:*", self.prefix);
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

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let mut invocation = self.incr.key(self.key(key));
        invocation.arg(millis(ttl));
        match tokio::time::timeout(TIMEOUT, invocation.invoke_async::<u64>(&mut conn)).await {
            Ok(r) => r.map_err(unavailable),
            Err(_) => Err(unavailable("redis did not answer in time")),
        }
    }
}
