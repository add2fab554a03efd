//! What several instances share for automatic HTTPS: certificates, the ACME account, pending
//! challenges, and the lease that lets one of them order at a time.

use sqlx::Row;

use super::{Storage, StorageError};

/// A certificate chain (PEM) with its private key (PEM) and expiry.
pub struct StoredCertificate {
    pub chain: String,
    pub key: crate::secret::Secret,
    pub not_after: i64,
}

/// A challenge some instance is being validated on.
pub struct AcmeChallenge {
    pub token: String,
    pub host: String,
    pub key_authorization: String,
}

impl Storage {
    /// The certificate of `host` from the CA at `directory`.
    pub async fn acme_certificate(
        &self,
        directory: &str,
        host: &str,
    ) -> Result<Option<StoredCertificate>, StorageError> {
        let row = sqlx::query(
            "SELECT chain, sealed_key, not_after FROM acme_certificates WHERE directory = $1 AND host = $2",
        )
        .bind(directory)
        .bind(host)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let key = String::from_utf8(self.open_secret(&row.try_get::<String, _>(1)?)?)
            .map_err(|_| StorageError::Sealed)?;
        Ok(Some(StoredCertificate {
            chain: row.try_get(0)?,
            key: crate::secret::Secret::new(key),
            not_after: row.try_get(2)?,
        }))
    }

    pub async fn put_acme_certificate(
        &self,
        directory: &str,
        host: &str,
        cert: &StoredCertificate,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO acme_certificates (directory, host, chain, sealed_key, not_after) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (directory, host) DO UPDATE SET chain = excluded.chain, sealed_key = excluded.sealed_key, not_after = excluded.not_after",
        )
        .bind(directory)
        .bind(host)
        .bind(&cert.chain)
        .bind(self.seal(cert.key.expose().as_bytes())?)
        .bind(cert.not_after)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account's credentials (JSON) for `directory`, if one was created.
    pub async fn acme_account(
        &self,
        directory: &str,
    ) -> Result<Option<crate::secret::Secret>, StorageError> {
        let row = sqlx::query("SELECT sealed_credentials FROM acme_accounts WHERE directory = $1")
            .bind(directory)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let json = String::from_utf8(self.open_secret(&row.try_get::<String, _>(0)?)?)
            .map_err(|_| StorageError::Sealed)?;
        Ok(Some(crate::secret::Secret::new(json)))
    }

    /// Keeps the first account stored for `directory` (another instance may have raced).
    pub async fn put_acme_account(
        &self,
        directory: &str,
        credentials: &crate::secret::Secret,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO acme_accounts (directory, sealed_credentials) VALUES ($1, $2) ON CONFLICT (directory) DO NOTHING",
        )
        .bind(directory)
        .bind(self.seal(credentials.expose().as_bytes())?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn put_acme_challenge(
        &self,
        c: &AcmeChallenge,
        expires_at: i64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO acme_challenges (token, host, key_authorization, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (token) DO UPDATE SET expires_at = excluded.expires_at",
        )
        .bind(&c.token)
        .bind(&c.host)
        .bind(&c.key_authorization)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn remove_acme_challenge(&self, token: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM acme_challenges WHERE token = $1")
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The key authorization of the challenge `token`, if it has not expired at `now`.
    pub async fn acme_challenge(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<String>, StorageError> {
        let row = sqlx::query(
            "SELECT key_authorization FROM acme_challenges WHERE token = $1 AND expires_at > $2",
        )
        .bind(token)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// The challenges not yet expired at `now`.
    pub async fn acme_challenges(&self, now: i64) -> Result<Vec<AcmeChallenge>, StorageError> {
        let rows = sqlx::query(
            "SELECT token, host, key_authorization FROM acme_challenges WHERE expires_at > $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AcmeChallenge {
                    token: r.try_get(0)?,
                    host: r.try_get(1)?,
                    key_authorization: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// Takes (or renews) lease `name` for `holder` until `until`: `true` when it is now
    /// `holder`'s, `false` while another holder's lease runs.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "INSERT INTO acme_leases (name, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE acme_leases.until <= $4 OR acme_leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM acme_leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
