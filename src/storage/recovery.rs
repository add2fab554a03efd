//! Recovery codes: ten per user, stored as hashes, each used once.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Storage, StorageError};

/// The hash under which a recovery code is stored (case, spaces and dashes do not matter).
pub fn code_hash(code: &str) -> String {
    let normal = crate::login::totp::normalise_recovery_code(code);
    hex::encode(Sha256::digest(normal.as_bytes()))
}

impl Storage {
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
}
