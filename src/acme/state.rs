//! What survives a restart, in `state_dir`: the ACME account and each host's certificate and
//! key. Every file is written with mode 0600 to a temporary name and renamed over the old one,
//! so a crash leaves either the old file or the new one.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::secret::Secret;

pub struct StateDir(PathBuf);

impl StateDir {
    /// The state for the CA at `directory`, under `path`: a directory of its own per CA, so a
    /// move from a staging CA to a production one starts afresh.
    pub fn new(path: &Path, directory: &str) -> StateDir {
        use sha2::{Digest, Sha256};
        let digest = hex::encode(Sha256::digest(directory.as_bytes()));
        StateDir(path.join(digest.get(..16).unwrap_or("ca")))
    }

    fn account_file(&self) -> PathBuf {
        self.0.join("account.json")
    }

    fn cert_files(&self, host: &str) -> (PathBuf, PathBuf) {
        let dir = self.0.join("certificates");
        (
            dir.join(format!("{host}.pem")),
            dir.join(format!("{host}.key")),
        )
    }

    pub fn account(&self) -> std::io::Result<Option<Secret>> {
        read_optional(&self.account_file()).map(|s| s.map(Secret::new))
    }

    pub fn put_account(&self, credentials: &Secret) -> std::io::Result<()> {
        write_private(&self.account_file(), credentials.expose().as_bytes())
    }

    /// The stored chain and key of `host`, if both are there.
    pub fn certificate(&self, host: &str) -> std::io::Result<Option<(String, Secret)>> {
        let (chain, key) = self.cert_files(host);
        Ok(match (read_optional(&chain)?, read_optional(&key)?) {
            (Some(c), Some(k)) => Some((c, Secret::new(k))),
            _ => None,
        })
    }

    /// Key first: a chain on disk always has its key beside it.
    pub fn put_certificate(&self, host: &str, chain: &str, key: &Secret) -> std::io::Result<()> {
        let (chain_file, key_file) = self.cert_files(host);
        write_private(&key_file, key.expose().as_bytes())?;
        write_private(&chain_file, chain.as_bytes())
    }
}

fn read_optional(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        )),
    }
}

/// Writes `bytes` to `path` atomically, readable by the owner only; the directory is created
/// (0700) when missing.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn files_are_private_and_replaced_whole() {
        let root = std::env::temp_dir().join(format!("authgate-acme-state-{}", std::process::id()));
        let state = StateDir::new(&root, "https://ca.example/dir");
        let dir = state.0.clone();
        assert_ne!(dir, StateDir::new(&root, "https://other.example/dir").0);
        assert!(state.certificate("a.example.com").unwrap().is_none());
        state
            .put_certificate("a.example.com", "CHAIN1", &Secret::new("KEY1"))
            .unwrap();
        state
            .put_certificate("a.example.com", "CHAIN2", &Secret::new("KEY2"))
            .unwrap();
        let (chain, key) = state.certificate("a.example.com").unwrap().unwrap();
        assert_eq!((chain.as_str(), key.expose()), ("CHAIN2", "KEY2"));
        for f in [
            "certificates/a.example.com.pem",
            "certificates/a.example.com.key",
        ] {
            let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        let mode = std::fs::metadata(dir.join("certificates"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let leftovers = std::fs::read_dir(dir.join("certificates")).unwrap().count();
        assert_eq!(leftovers, 2, "no temporary file is left behind");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
