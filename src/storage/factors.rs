//! Enrolled second factors: authenticator apps and passkeys, their secrets sealed.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Owner, Storage, StorageError};
use crate::secret::new_id;

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
    /// A passkey that signs in on its own (discoverable, found by this credential id).
    pub credential_id: Option<String>,
}

/// A factor with its opened secret (a TOTP seed, or a passkey's JSON).
pub struct Opened {
    pub factor: Factor,
    pub secret: Vec<u8>,
    pub last_step: i64,
}

const COLUMNS: &str = "id, username, kind, name, created_at, last_used_at, credential_id";

fn factor(row: &sqlx::any::AnyRow) -> Result<Factor, StorageError> {
    let kind: String = row.try_get("kind")?;
    Ok(Factor {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        kind: FactorKind::parse(&kind).ok_or(StorageError::Sealed)?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        credential_id: row.try_get("credential_id")?,
    })
}

impl Storage {
    /// Every factor of `owner`, oldest first.
    pub async fn factors(&self, owner: &Owner<'_>) -> Result<Vec<Factor>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM factors WHERE username = $1 AND source IN ($2, '') ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner.name)
            .bind(owner.source())
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

    /// The factors of `kind` of `owner`, their secrets opened.
    pub async fn opened(
        &self,
        owner: &Owner<'_>,
        kind: FactorKind,
    ) -> Result<Vec<Opened>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS}, secret, last_step FROM factors WHERE username = $1 AND source IN ($2, '') AND kind = $3 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner.name)
            .bind(owner.source())
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

    /// The discoverable passkey with `credential_id`, its secret opened, and its owner's source.
    pub async fn discoverable_passkey(
        &self,
        credential_id: &str,
    ) -> Result<Option<(Opened, String)>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS}, secret, last_step, source FROM factors WHERE kind = 'passkey' AND credential_id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(credential_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: String = row.try_get("secret")?;
        let opened = Opened {
            factor: factor(&row)?,
            secret: self.open_secret(&sealed)?,
            last_step: row.try_get("last_step")?,
        };
        Ok(Some((opened, row.try_get("source")?)))
    }

    /// Adds a factor; a TOTP factor replaces the user's previous one. A passkey with a
    /// `credential_id` signs in on its own.
    pub async fn add(
        &self,
        owner: &Owner<'_>,
        kind: FactorKind,
        name: &str,
        secret: &[u8],
        now: i64,
    ) -> Result<String, StorageError> {
        self.add_with_credential(owner, kind, name, secret, None, now)
            .await
    }

    pub async fn add_with_credential(
        &self,
        owner: &Owner<'_>,
        kind: FactorKind,
        name: &str,
        secret: &[u8],
        credential_id: Option<&str>,
        now: i64,
    ) -> Result<String, StorageError> {
        let id = new_id();
        let sealed = self.seal(secret)?;
        let mut tx = self.pool.begin().await?;
        if kind == FactorKind::Totp {
            sqlx::query(
                "DELETE FROM factors WHERE username = $1 AND source IN ($2, '') AND kind = 'totp'",
            )
            .bind(owner.name)
            .bind(owner.source())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO factors (id, username, source, kind, name, secret, last_step, created_at, credential_id) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
        )
        .bind(&id)
        .bind(owner.name)
        .bind(owner.source())
        .bind(kind.as_str())
        .bind(name)
        .bind(&sealed)
        .bind(now)
        .bind(credential_id)
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

    /// Removes factor `id` of `owner`; `false` when there was none.
    pub async fn remove(&self, owner: &Owner<'_>, id: &str) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "DELETE FROM factors WHERE username = $1 AND source IN ($2, '') AND id = $3",
        )
        .bind(owner.name)
        .bind(owner.source())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes every factor and recovery code of `username`, from any source (a lost phone;
    /// the operator names a person); returns how many factors there were.
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
}
