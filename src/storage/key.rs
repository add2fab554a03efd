//! The `[storage] encryption_key_file`: 256 random bits, base64, written by
//! `authgate gen-key --kind storage --out FILE` with mode 0600.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;

use super::StorageError;
use crate::secret::{Sealer, Secret};

/// The storage key; `Debug` does not print it.
pub struct StorageKey(Secret);

impl std::fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageKey(…)")
    }
}

fn how_to_create(path: &Path) -> String {
    format!(
        "create it with `authgate gen-key --kind storage --out {}`",
        path.display()
    )
}

impl StorageKey {
    pub fn load(path: &Path) -> Result<StorageKey, StorageError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            StorageError::Key(format!(
                "cannot read the storage key {}: {e}: {}",
                path.display(),
                how_to_create(path)
            ))
        })?;
        let bytes = STANDARD.decode(text.trim()).unwrap_or_default();
        if bytes.len() != 32 {
            return Err(StorageError::Key(format!(
                "{} is not a storage key (256 bits, base64): {}",
                path.display(),
                how_to_create(path)
            )));
        }
        Ok(StorageKey(Secret::new(text.trim())))
    }

    /// A key for `label` derived from this one (pairwise subjects).
    pub fn derive(&self, label: &[u8]) -> Result<crate::secret::SecretBytes, StorageError> {
        let bytes = STANDARD
            .decode(self.0.expose())
            .map_err(|e| StorageError::Key(e.to_string()))?;
        Ok(crate::secret::derive_key(&bytes, label))
    }

    pub fn sealer(&self) -> Result<Sealer, StorageError> {
        let bytes = STANDARD
            .decode(self.0.expose())
            .map_err(|e| StorageError::Key(e.to_string()))?;
        Sealer::derive(&bytes).map_err(|e| StorageError::Key(e.to_string()))
    }
}

/// Writes a new storage key to `path` (mode 0600); refuses to replace one unless `force`.
pub fn generate_key_file(path: &Path, force: bool) -> std::io::Result<()> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{}", STANDARD.encode(bytes))
}
