//! Recovery codes: ten per user, stored as hashes, each used once.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Owner, Storage, StorageError};

/// The hash under which a recovery code is stored (case, spaces and dashes do not matter).
pub fn code_hash(code: &str) -> String {
    let normal = crate::login::totp::normalise_recovery_code(code);
    hex::encode(Sha256::digest(normal.as_bytes()))
}

impl Storage {
    /// Replaces `owner`'s recovery codes with these (only their hashes are stored).
    pub async fn set_recovery_codes(
        &self,
        owner: &Owner<'_>,
        codes: &[String],
        now: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE username = $1 AND source IN ($2, '')")
            .bind(owner.name)
            .bind(owner.source())
            .execute(&mut *tx)
            .await?;
        for code in codes {
            sqlx::query(
                "INSERT INTO recovery_codes (username, source, code_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(owner.name)
            .bind(owner.source())
            .bind(code_hash(code))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Uses recovery code `code` of `owner`: `true` once, then never again.
    pub async fn use_recovery_code(
        &self,
        owner: &Owner<'_>,
        code: &str,
        now: i64,
    ) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE username = $2 AND source IN ($3, '') AND code_hash = $4 AND used_at IS NULL",
        )
        .bind(now)
        .bind(owner.name)
        .bind(owner.source())
        .bind(code_hash(code))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many unused recovery codes `owner` has.
    pub async fn recovery_codes_left(&self, owner: &Owner<'_>) -> Result<i64, StorageError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE username = $1 AND source IN ($2, '') AND used_at IS NULL",
        )
        .bind(owner.name)
        .bind(owner.source())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }
}
