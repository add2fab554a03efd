//! `authgate mfa …` and `authgate app-passwords …`: the durable records of `[storage]`,
//! usable while the service runs.

use std::path::Path;

use super::*;

/// The `[storage]` of the config at `path`, with a runtime to use it on; `None` (after saying
/// why) when there is none. Works while the service runs (SQLite waits on its lock).
pub(super) fn open_storage(
    path: &Path,
) -> anyhow::Result<Option<(tokio::runtime::Runtime, crate::storage::Storage)>> {
    let Some(cfg) = load_config(path) else {
        return Ok(None);
    };
    let Some(s) = cfg.storage else {
        eprintln!("{}: there is no [storage] table", path.display());
        return Ok(None);
    };
    let key = crate::storage::StorageKey::load(&s.encryption_key_file)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let storage = rt.block_on(crate::storage::Storage::open(&s.url, &key))?;
    Ok(Some((rt, storage)))
}

/// `authgate mfa list|reset`.
pub(super) async fn mfa(
    storage: &crate::storage::Storage,
    command: &MfaCommand,
) -> anyhow::Result<i32> {
    match command {
        MfaCommand::List => {
            for f in storage.all_factors().await? {
                let used = f
                    .last_used_at
                    .map_or("never".to_string(), |t| t.to_string());
                println!(
                    "{}\t{:?}\t{}\tadded {}\tlast used {used}",
                    f.username, f.kind, f.name, f.created_at
                );
            }
        }
        MfaCommand::Reset { user } => {
            let n = storage.reset(user).await?;
            println!("removed {n} factor(s) and the recovery codes of {user}");
        }
    }
    Ok(0)
}

/// `authgate app-passwords list|revoke`.
pub(super) async fn app_passwords(
    storage: &crate::storage::Storage,
    command: &AppPasswordCommand,
) -> anyhow::Result<i32> {
    match command {
        AppPasswordCommand::List { user } => {
            let all = storage.app_passwords(None).await?;
            let named =
                |a: &crate::storage::AppPassword| user.as_ref().is_none_or(|u| *u == a.username);
            for a in all.into_iter().filter(named) {
                let used = a
                    .last_used_at
                    .map_or("never".to_string(), |t| t.to_string());
                println!(
                    "{}\t{}\t{}\tadded {}\tlast used {used}",
                    a.username, a.id, a.name, a.created_at
                );
            }
        }
        AppPasswordCommand::Revoke { user, id } => {
            let n = storage.revoke_app_passwords(user, id.as_deref()).await?;
            println!("revoked {n} app password(s) of {user}");
        }
    }
    Ok(0)
}
