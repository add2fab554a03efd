//! Consent: which scopes a user allowed a client, so they are asked once (OIDC Core §3.1.2.4).

use sqlx::Row;

use super::{Owner, Storage, StorageError};

/// A client a user allowed, as `/account` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub granted_at: i64,
}

impl Storage {
    /// The scopes `owner` allowed `client_id`, if they ever did.
    pub async fn consent(
        &self,
        owner: &Owner<'_>,
        client_id: &str,
    ) -> Result<Option<Vec<String>>, StorageError> {
        let row = sqlx::query(
            "SELECT scopes FROM consents WHERE username = $1 AND source = $2 AND client_id = $3",
        )
        .bind(owner.name)
        .bind(owner.source())
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some(crate::oidc::scopes(&r.try_get::<String, _>("scopes")?)),
            None => None,
        })
    }

    /// Remembers that `owner` allowed `client_id` these `scopes` (replacing what they allowed
    /// before).
    pub async fn grant_consent(
        &self,
        owner: &Owner<'_>,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO consents (username, source, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (username, source, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
        )
        .bind(owner.name)
        .bind(owner.source())
        .bind(client_id)
        .bind(scopes.join(" "))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every client `owner` allowed, by client id.
    pub async fn consents(&self, owner: &Owner<'_>) -> Result<Vec<Consent>, StorageError> {
        let rows = sqlx::query(
            "SELECT client_id, scopes, granted_at FROM consents WHERE username = $1 AND source = $2 ORDER BY client_id",
        )
        .bind(owner.name)
        .bind(owner.source())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Consent {
                    client_id: r.try_get("client_id")?,
                    scopes: crate::oidc::scopes(&r.try_get::<String, _>("scopes")?),
                    granted_at: r.try_get("granted_at")?,
                })
            })
            .collect()
    }

    /// Forgets what `owner` allowed `client_id`; whether there was anything.
    pub async fn withdraw_consent(
        &self,
        owner: &Owner<'_>,
        client_id: &str,
    ) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "DELETE FROM consents WHERE username = $1 AND source = $2 AND client_id = $3",
        )
        .bind(owner.name)
        .bind(owner.source())
        .bind(client_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
