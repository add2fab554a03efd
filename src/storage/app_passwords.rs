//! App passwords: for clients that cannot follow a browser sign-in; only their hashes are kept.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Owner, Storage, StorageError};
use crate::secret::new_id;

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

impl Storage {
    /// Stores a new app password of `owner` (its hash only).
    pub async fn add_app_password(
        &self,
        owner: &Owner<'_>,
        name: &str,
        password: &str,
        now: i64,
    ) -> Result<String, StorageError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO app_passwords (id, username, source, name, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(owner.name)
        .bind(owner.source())
        .bind(name)
        .bind(app_password_hash(password))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// The app passwords of `owner` (or of everyone), oldest first.
    pub async fn app_passwords(
        &self,
        owner: Option<&Owner<'_>>,
    ) -> Result<Vec<AppPassword>, StorageError> {
        let cols = "id, username, name, created_at, last_used_at";
        let rows = match owner {
            Some(o) => {
                let sql = format!(
                    "SELECT {cols} FROM app_passwords WHERE username = $1 AND source IN ($2, '') ORDER BY created_at, id"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(o.name)
                    .bind(o.source())
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

    /// The id of `owner`'s app password `password`, if it is one; records its use (at most
    /// once a minute).
    pub async fn use_app_password(
        &self,
        owner: &Owner<'_>,
        password: &str,
        now: i64,
    ) -> Result<Option<String>, StorageError> {
        let hash = app_password_hash(password);
        let row = sqlx::query(
            "SELECT id FROM app_passwords WHERE username = $1 AND source IN ($2, '') AND hash = $3",
        )
        .bind(owner.name)
        .bind(owner.source())
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

    /// Revokes app password `id` of the user called `username` (from any source: the
    /// operator or the account page names it by its id), or all of them; returns how many.
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
}
