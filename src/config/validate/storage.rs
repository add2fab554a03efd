//! `[storage]`: the durable database of factors and app passwords.

use super::*;

/// `[storage]`: `sqlite://` or `postgres://`, and the key file (or the demo's promise to make one).
pub(super) fn build_storage(p: &mut Problems, s: StorageFile) -> StorageCfg {
    let url = s.url.unwrap_or_else(|| "sqlite://authgate.db".into());
    if !["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        p.add(
            "storage.url",
            format!("{url:?}: expected sqlite://PATH or postgres://…"),
        );
    }
    let create = s.create_key_if_missing.unwrap_or(false);
    let file = PathBuf::from(
        s.encryption_key_file
            .unwrap_or_else(|| "conf/keys/storage.key".into()),
    );
    if !create && !file.exists() {
        p.add(
            "storage.encryption_key_file",
            format!(
                "{} does not exist: create it with `authgate gen-key --kind storage --out {}`",
                file.display(),
                file.display()
            ),
        );
    }
    StorageCfg {
        url,
        encryption_key_file: file,
        create_key_if_missing: create,
    }
}
