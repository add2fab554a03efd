//! Durable data: enrolled second factors and recovery codes, in SQLite (the default) or
//! PostgreSQL (several instances), through sqlx's `Any` driver with embedded, versioned
//! migrations that run at start-up.
//!
//! Every query is written once, for both databases. Secrets never reach SQL in the clear: TOTP
//! seeds and passkeys are sealed with AES-256-GCM under the `[storage]` key, recovery codes are
//! stored as SHA-256 hashes. A schema newer than this binary is refused.

mod acme;
mod app_passwords;
mod consents;
mod factors;
mod key;
mod recovery;
mod users;

pub use acme::{AcmeChallenge, StoredCertificate};
pub use app_passwords::{app_password_hash, AppPassword};
pub use consents::Consent;
pub use factors::{Factor, FactorKind, Opened};
pub use recovery::code_hash;
pub use users::{LinkOwner, LinkPurpose, StoredUser};

use std::sync::OnceLock;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::AnyPool;
use sqlx::SqlSafeStr;
use thiserror::Error;

pub use key::{generate_key_file, StorageKey};

use crate::secret::{Purpose, Sealer};

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
        migration(
            3,
            "sources",
            include_str!("../../migrations/0003_sources.sql"),
        ),
        migration(4, "acme", include_str!("../../migrations/0004_acme.sql")),
        migration(
            5,
            "discoverable passkeys",
            include_str!("../../migrations/0005_discoverable_passkeys.sql"),
        ),
        migration(
            6,
            "consents",
            include_str!("../../migrations/0006_consents.sql"),
        ),
        migration(7, "users", include_str!("../../migrations/0007_users.sql")),
    ])
}

/// Whose a record is: a name from a source. The same name from another source owns nothing
/// here; a record written before sources were kept belongs to the first that claims it.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub name: &'a str,
    pub source: &'a crate::directory::Source,
}

impl Owner<'_> {
    fn source(&self) -> String {
        String::from(self.source.clone())
    }
}

pub struct Storage {
    pool: AnyPool,
    sealer: Sealer,
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
            .map_err(|e| {
                log::error!("{e}");
                StorageError::Sealed
            })
    }

    fn open_secret(&self, sealed: &str) -> Result<Vec<u8>, StorageError> {
        let hex: String = self
            .sealer
            .open(Purpose::StoredSecret, sealed, 0)
            .ok_or(StorageError::Sealed)?;
        hex::decode(hex).map_err(|_| StorageError::Sealed)
    }

    /// Binds the records of `owner`'s name written before sources were kept to `owner`'s
    /// source: from now on a namesake from another source finds none of them. Called when
    /// `owner` has signed in.
    pub async fn claim(&self, owner: &Owner<'_>) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        for table in ["factors", "recovery_codes", "app_passwords"] {
            let sql = format!("UPDATE {table} SET source = $1 WHERE username = $2 AND source = ''");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(owner.source())
                .bind(owner.name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
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
