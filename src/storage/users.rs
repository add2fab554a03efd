//! authgate's own users (the source `db`) and the single-use links that invite them or reset
//! a password. Only a link's hash is stored; a link is used up by one `UPDATE` that checks it is
//! unused and unexpired, so two tabs cannot both use it.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Storage, StorageError};
use crate::login::regulation::canonical_name;

/// A user kept in `[storage]`, as lists show it: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    /// Has set a password (an invited user has not yet).
    pub has_password: bool,
    pub disabled: bool,
    pub created_at: i64,
}

/// What a single-use link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Set the first password of an invited user.
    Invite,
    /// Set a new password for a user who forgot theirs.
    Reset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }
}

/// Whose a valid link is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOwner {
    pub username: String,
    pub source: String,
}

fn link_hash(token: &str) -> String {
    hex::encode(Sha256::digest(format!("authgate link {token}").as_bytes()))
}

const COLUMNS: &str = "username, email, name, groups, password_hash, disabled, created_at";

fn stored(row: &sqlx::any::AnyRow) -> Result<(StoredUser, Option<String>), StorageError> {
    let groups: String = row.try_get("groups")?;
    let hash: Option<String> = row.try_get("password_hash")?;
    let user = StoredUser {
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        groups: groups
            .split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        has_password: hash.is_some(),
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
    };
    Ok((user, hash))
}

impl Storage {
    /// Adds a user without a password (they set one through an invitation). `false` when the
    /// name, in any case, is taken.
    pub async fn add_user(&self, user: &StoredUser, now: i64) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "INSERT INTO users (username, canonical, email, name, groups, password_hash, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, 0, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&user.username)
        .bind(canonical_name(&user.username))
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.groups.join(","))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The user called exactly `username`, with their password hash.
    pub async fn user(
        &self,
        username: &str,
    ) -> Result<Option<(StoredUser, Option<String>)>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(stored).transpose()
    }

    /// Whether a user's name is `username` in any case or spacing.
    pub async fn user_name_taken(&self, username: &str) -> Result<bool, StorageError> {
        let row = sqlx::query("SELECT username FROM users WHERE canonical = $1")
            .bind(canonical_name(username))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// The user whose email is `email` (compared without case), if exactly one has it.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<StoredUser>, StorageError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE LOWER(email) = LOWER($1)");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email)
            .fetch_all(&self.pool)
            .await?;
        match rows.as_slice() {
            [one] => Ok(Some(stored(one)?.0)),
            _ => Ok(None),
        }
    }

    /// Every user whose name or email contains `search` (all with an empty one), by name.
    pub async fn users(&self, search: &str) -> Result<Vec<StoredUser>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM users WHERE canonical LIKE $1 OR LOWER(COALESCE(email, '')) LIKE $1 ORDER BY username"
        );
        let pattern = format!("%{}%", search.trim().to_lowercase().replace(['%', '_'], ""));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(pattern)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| stored(r).map(|(u, _)| u)).collect()
    }

    /// Sets `username`'s password hash; whether the user exists.
    pub async fn set_password_hash(
        &self,
        username: &str,
        hash: &str,
    ) -> Result<bool, StorageError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(hash)
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disables or enables `username`; whether the user exists.
    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<bool, StorageError> {
        let done = sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2")
            .bind(i64::from(disabled))
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces `username`'s groups; whether the user exists.
    pub async fn set_groups(
        &self,
        username: &str,
        groups: &[String],
    ) -> Result<bool, StorageError> {
        let done = sqlx::query("UPDATE users SET groups = $1 WHERE username = $2")
            .bind(groups.join(","))
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps a new single-use link for `purpose`, good until `expires_at`. Earlier unused links
    /// of the same user and purpose stop working: only the newest mail counts.
    pub async fn add_link(
        &self,
        token: &str,
        purpose: LinkPurpose,
        owner: &LinkOwner,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE links SET used_at = $1 WHERE username = $2 AND source = $3 AND purpose = $4 AND used_at IS NULL",
        )
        .bind(now)
        .bind(&owner.username)
        .bind(&owner.source)
        .bind(purpose.as_str())
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO links (token_hash, purpose, username, source, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(link_hash(token))
        .bind(purpose.as_str())
        .bind(&owner.username)
        .bind(&owner.source)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends every unused link of `username` from `source`.
    pub async fn void_links(
        &self,
        username: &str,
        source: &str,
        now: i64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE links SET used_at = $1 WHERE username = $2 AND source = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(username)
        .bind(source)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whose the link `token` for `purpose` is, while it is unused and unexpired (a GET: it is
    /// not used up, since mail scanners open links).
    pub async fn peek_link(
        &self,
        token: &str,
        purpose: LinkPurpose,
        now: i64,
    ) -> Result<Option<LinkOwner>, StorageError> {
        let row = sqlx::query(
            "SELECT username, source FROM links WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(link_hash(token))
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(LinkOwner {
                username: r.try_get("username")?,
                source: r.try_get("source")?,
            })
        })
        .transpose()
    }

    /// Uses up the link `token`: whose it was, if it was unused and unexpired.
    pub async fn use_link(
        &self,
        token: &str,
        purpose: LinkPurpose,
        now: i64,
    ) -> Result<Option<LinkOwner>, StorageError> {
        let Some(owner) = self.peek_link(token, purpose, now).await? else {
            return Ok(None);
        };
        let done = sqlx::query(
            "UPDATE links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(link_hash(token))
        .execute(&self.pool)
        .await?;
        Ok((done.rows_affected() == 1).then_some(owner))
    }
}
