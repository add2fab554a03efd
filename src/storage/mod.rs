//! Durable data: enrolled second factors and recovery codes, in SQLite (the default) or
//! PostgreSQL (several instances), through sqlx's `Any` driver with embedded, versioned
//! migrations that run at start-up.
//!
//! Every query is written once, for both databases. Secrets never reach SQL in the clear: TOTP
//! seeds and passkeys are sealed with AES-256-GCM under the `[storage]` key, recovery codes are
//! stored as SHA-256 hashes. A schema newer than this binary is refused.

mod key;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::AnyPool;
use sqlx::{Row, SqlSafeStr};
use thiserror::Error;

pub use key::{generate_key_file, StorageKey};

use crate::secret::{new_id, Purpose, Sealer};

#[derive(Debug, Error)]
pub enum StorageError {
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("the database schema is newer than this authgate knows (migration {0}): upgrade authgate, or restore a backup of the database")]
    Newer(i64),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("a stored secret cannot be opened with the [storage] key (was the key replaced?)")]
    Sealed,
    #[error("{0}")]
    Key(String),
}

impl From<StorageError> for crate::http::GatewayError {
    fn from(e: StorageError) -> crate::http::GatewayError {
        crate::http::GatewayError::unavailable(&e)
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> StorageError {
        StorageError::Unavailable(e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FactorKind {
    Totp,
    Passkey,
}

impl FactorKind {
    fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Passkey => "passkey",
        }
    }

    fn parse(s: &str) -> Option<FactorKind> {
        match s {
            "totp" => Some(FactorKind::Totp),
            "passkey" => Some(FactorKind::Passkey),
            _ => None,
        }
    }
}

/// An enrolled factor as lists show it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    pub id: String,
    pub username: String,
    pub kind: FactorKind,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A factor with its opened secret (a TOTP seed, or a passkey's JSON).
pub struct Opened {
    pub factor: Factor,
    pub secret: Vec<u8>,
    pub last_step: i64,
}

/// The migrations this binary knows, in order.
fn migrator() -> Migrator {
    let migration = |version, name: &'static str, sql: &'static str| {
        Migration::new(
            version,
            name.into(),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(
            1,
            "factors",
            include_str!("../../migrations/0001_factors.sql"),
        ),
        migration(
            2,
            "app passwords",
            include_str!("../../migrations/0002_app_passwords.sql"),
        ),
    ])
}

/// An app password as lists show it: never the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPassword {
    pub id: String,
    pub username: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

fn app_password(row: &sqlx::any::AnyRow) -> Result<AppPassword, StorageError> {
    Ok(AppPassword {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

/// The hash under which an app password is stored.
pub fn app_password_hash(password: &str) -> String {
    hex::encode(Sha256::digest(
        format!("authgate app password {password}").as_bytes(),
    ))
}

/// The hash under which a recovery code is stored (case, spaces and dashes do not matter).
pub fn code_hash(code: &str) -> String {
    let normal = crate::login::totp::normalise_recovery_code(code);
    hex::encode(Sha256::digest(normal.as_bytes()))
}

pub struct Storage {
    pool: AnyPool,
    sealer: Sealer,
}

const COLUMNS: &str = "id, username, kind, name, created_at, last_used_at";

fn factor(row: &sqlx::any::AnyRow) -> Result<Factor, StorageError> {
    let kind: String = row.try_get("kind")?;
    Ok(Factor {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        kind: FactorKind::parse(&kind).ok_or(StorageError::Sealed)?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

impl Storage {
    /// Connects to `url` (`sqlite://PATH`, created if missing, or `postgres://…`) and brings
    /// the schema up to date.
    pub async fn open(url: &str, key: &StorageKey) -> Result<Storage, StorageError> {
        sqlx::any::install_default_drivers();
        let url = sqlite_create_mode(url);
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(&url)
            .await?;
        migrator().run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => StorageError::Newer(v),
            other => StorageError::Migration(other.to_string()),
        })?;
        Ok(Storage {
            pool,
            sealer: key.sealer()?,
        })
    }

    /// Opens the storage from outside any runtime (the server's start-up): the schema is
    /// brought up to date and the pool's housekeeping runs on a small runtime of its own, which
    /// lives as long as the process; queries run on whichever runtime serves the request.
    pub fn prepare(url: &str, key: &StorageKey) -> Result<Storage, StorageError> {
        static HOUSEKEEPING: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
        let rt = HOUSEKEEPING
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("storage")
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| StorageError::Unavailable(e.clone()))?;
        rt.block_on(Storage::open(url, key))
    }

    fn seal(&self, secret: &[u8]) -> Result<String, StorageError> {
        self.sealer
            .seal(Purpose::StoredSecret, &hex::encode(secret), u64::MAX)
            .ok_or(StorageError::Sealed)
    }

    fn open_secret(&self, sealed: &str) -> Result<Vec<u8>, StorageError> {
        let hex: String = self
            .sealer
            .open(Purpose::StoredSecret, sealed, 0)
            .ok_or(StorageError::Sealed)?;
        hex::decode(hex).map_err(|_| StorageError::Sealed)
    }

    /// Every factor of `username`, oldest first.
    pub async fn factors(&self, username: &str) -> Result<Vec<Factor>, StorageError> {
        let sql =
            format!("SELECT {COLUMNS} FROM factors WHERE username = $1 ORDER BY created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(factor).collect()
    }

    /// Every factor of every user (for `authgate mfa list`).
    pub async fn all_factors(&self) -> Result<Vec<Factor>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM factors ORDER BY username, created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(factor).collect()
    }

    /// The factors of `kind` of `username`, their secrets opened.
    pub async fn opened(
        &self,
        username: &str,
        kind: FactorKind,
    ) -> Result<Vec<Opened>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS}, secret, last_step FROM factors WHERE username = $1 AND kind = $2 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let sealed: String = row.try_get("secret")?;
                Ok(Opened {
                    factor: factor(row)?,
                    secret: self.open_secret(&sealed)?,
                    last_step: row.try_get("last_step")?,
                })
            })
            .collect()
    }

    /// Adds a factor; a TOTP factor replaces the user's previous one.
    pub async fn add(
        &self,
        username: &str,
        kind: FactorKind,
        name: &str,
        secret: &[u8],
        now: i64,
    ) -> Result<String, StorageError> {
        let id = new_id();
        let sealed = self.seal(secret)?;
        let mut tx = self.pool.begin().await?;
        if kind == FactorKind::Totp {
            sqlx::query("DELETE FROM factors WHERE username = $1 AND kind = 'totp'")
                .bind(username)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO factors (id, username, kind, name, secret, last_step, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(&id)
        .bind(username)
        .bind(kind.as_str())
        .bind(name)
        .bind(&sealed)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records that TOTP time step `step` of factor `id` was used, only if no later or equal
    /// step was: `false` means a replay (RFC 6238 §5.2). Atomic across instances.
    pub async fn use_step(&self, id: &str, step: i64, now: i64) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "UPDATE factors SET last_step = $1, last_used_at = $2 WHERE id = $3 AND last_step < $4",
        )
        .bind(step)
        .bind(now)
        .bind(id)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a passkey's updated state (its signature counter) after a use.
    pub async fn passkey_used(
        &self,
        id: &str,
        secret: &[u8],
        now: i64,
    ) -> Result<(), StorageError> {
        let sealed = self.seal(secret)?;
        sqlx::query("UPDATE factors SET secret = $1, last_used_at = $2 WHERE id = $3")
            .bind(&sealed)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes factor `id` of `username`; `false` when there was none.
    pub async fn remove(&self, username: &str, id: &str) -> Result<bool, StorageError> {
        let done = sqlx::query("DELETE FROM factors WHERE username = $1 AND id = $2")
            .bind(username)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the user's recovery codes with these (only their hashes are stored).
    pub async fn set_recovery_codes(
        &self,
        username: &str,
        codes: &[String],
        now: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        for code in codes {
            sqlx::query(
                "INSERT INTO recovery_codes (username, code_hash, created_at) VALUES ($1, $2, $3)",
            )
            .bind(username)
            .bind(code_hash(code))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Uses recovery code `code` of `username`: `true` once, then never again.
    pub async fn use_recovery_code(
        &self,
        username: &str,
        code: &str,
        now: i64,
    ) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE username = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(username)
        .bind(code_hash(code))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many unused recovery codes `username` has.
    pub async fn recovery_codes_left(&self, username: &str) -> Result<i64, StorageError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE username = $1 AND used_at IS NULL",
        )
        .bind(username)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Removes every factor and recovery code of `username` (a lost phone); returns how many
    /// factors there were.
    pub async fn reset(&self, username: &str) -> Result<u64, StorageError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM factors WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Stores a new app password of `username` (its hash only).
    pub async fn add_app_password(
        &self,
        username: &str,
        name: &str,
        password: &str,
        now: i64,
    ) -> Result<String, StorageError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO app_passwords (id, username, name, hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(username)
        .bind(name)
        .bind(app_password_hash(password))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The app passwords of `username` (or of everyone), oldest first.
    pub async fn app_passwords(
        &self,
        username: Option<&str>,
    ) -> Result<Vec<AppPassword>, StorageError> {
        let cols = "id, username, name, created_at, last_used_at";
        let rows = match username {
            Some(u) => {
                let sql = format!(
                    "SELECT {cols} FROM app_passwords WHERE username = $1 ORDER BY created_at, id"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(u)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql =
                    format!("SELECT {cols} FROM app_passwords ORDER BY username, created_at, id");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(app_password).collect()
    }

    /// The id of `username`'s app password `password`, if it is one; records its use (at most
    /// once a minute).
    pub async fn use_app_password(
        &self,
        username: &str,
        password: &str,
        now: i64,
    ) -> Result<Option<String>, StorageError> {
        let hash = app_password_hash(password);
        let row = sqlx::query("SELECT id FROM app_passwords WHERE username = $1 AND hash = $2")
            .bind(username)
            .bind(&hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: String = row.try_get("id")?;
        sqlx::query(
            "UPDATE app_passwords SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(&id)
        .bind(now - 60)
        .execute(&self.pool)
        .await?;
        Ok(Some(id))
    }

    /// Revokes app password `id` of `username`, or all of them; returns how many.
    pub async fn revoke_app_passwords(
        &self,
        username: &str,
        id: Option<&str>,
    ) -> Result<u64, StorageError> {
        let done = match id {
            Some(id) => {
                sqlx::query("DELETE FROM app_passwords WHERE username = $1 AND id = $2")
                    .bind(username)
                    .bind(id)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM app_passwords WHERE username = $1")
                    .bind(username)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ready(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// `sqlite://PATH` creates the file when missing, and waits on a lock rather than failing (so
/// `authgate mfa reset` works while the service runs).
fn sqlite_create_mode(url: &str) -> String {
    if !url.starts_with("sqlite:") || url.contains('?') {
        return url.to_string();
    }
    format!("{url}?mode=rwc")
}
