//! `authgate gen-key`: signing keys and the storage key.

use std::path::Path;

use super::*;

/// `authgate gen-key`: a signing key, or the storage key.
pub(super) fn gen_key(out: &Path, kind: KeyKind, alg: AlgArg, force: bool) -> anyhow::Result<i32> {
    match kind {
        KeyKind::Storage => {
            crate::storage::generate_key_file(out, force)
                .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
            eprintln!("wrote a new storage key to {} (mode 0600)", out.display());
        }
        KeyKind::Signing => {
            crate::keys::write_new(out, alg.into(), force)?;
            let alg = Alg::from(alg);
            eprintln!(
                "wrote a new {alg:?} signing key to {} (mode 0600)",
                out.display()
            );
        }
    }
    Ok(0)
}
