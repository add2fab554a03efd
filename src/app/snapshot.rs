//! The memory store across a graceful stop: at the end the process writes its sessions, grants,
//! refresh tokens and lockout counters to `[session] snapshot_file`, and the next process
//! loads them and deletes the file. During an upgrade the old process writes the snapshot
//! before it hands its listeners over, then, when it has drained, a journal of what it changed
//! meanwhile, which the new process merges.
//!
//! The file is `MAGIC`, a version byte, then the postcard-encoded records sealed with
//! AES-256-GCM under a key derived from the `[storage]` key (or `snapshot_key_file`). A file
//! that is missing, corrupt, of another version or sealed with another key is logged and
//! ignored: losing sessions is never a reason not to start.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::MemoryStores;
use crate::config::Config;
use crate::secret::{Purpose, Sealer};
use crate::session::memory::Record;
use crate::session::Kind;
use crate::storage::{generate_key_file, StorageKey};

const MAGIC: &[u8] = b"authgate snapshot\n";
const VERSION: u8 = 1;

/// What a snapshot keeps. Left out, as short-lived and safe to lose: codes (a minute), WebAuthn
/// ceremonies, rate-limit windows and the readiness probe.
const KEPT: &[Kind] = &[
    Kind::Session,
    Kind::Children,
    Kind::UserSessions,
    Kind::UserGrants,
    Kind::Federated,
    Kind::CodeUsed,
    Kind::Refresh,
    Kind::RefreshUsed,
    Kind::Grant,
    Kind::Assertion,
    Kind::DpopProof,
    Kind::FailUser,
    Kind::FailIp,
    Kind::LockUser,
    Kind::LockIp,
];

#[derive(Serialize, Deserialize)]
struct Contents {
    records: Vec<Record>,
    counters: Vec<Record>,
}

/// The snapshot file of a configuration, and the key file it is sealed with.
pub struct Snapshots {
    file: PathBuf,
    key_file: PathBuf,
    /// The key file is `snapshot_key_file`, made on the first write if missing.
    own_key: bool,
}

impl Snapshots {
    /// The snapshots of `cfg`; `None` when it has no `snapshot_file`.
    pub fn of(cfg: &Config) -> Option<Snapshots> {
        let file = cfg.session.snapshot_file.clone()?;
        Some(match &cfg.storage {
            Some(s) => Snapshots {
                file,
                key_file: s.encryption_key_file.clone(),
                own_key: false,
            },
            None => Snapshots {
                file,
                key_file: cfg.session.snapshot_key_file.clone(),
                own_key: true,
            },
        })
    }

    /// The sealer; for writing, the snapshot's own key is created first if it is missing.
    fn sealer(&self, writing: bool) -> Result<Sealer, String> {
        if writing && self.own_key && !self.key_file.exists() {
            generate_key_file(&self.key_file, false)
                .map_err(|e| format!("cannot create {}: {e}", self.key_file.display()))?;
            log::info!(
                "created the session snapshot key {}",
                self.key_file.display()
            );
        }
        StorageKey::load(&self.key_file)
            .and_then(|k| k.sealer())
            .map_err(|e| e.to_string())
    }

    fn journal_file(&self) -> PathBuf {
        let mut name = self.file.clone().into_os_string();
        name.push(".journal");
        PathBuf::from(name)
    }

    /// Writes the whole of `stores`.
    pub fn write(&self, stores: &MemoryStores, now_ms: u64) {
        let contents = Contents {
            records: stores.records.export(KEPT, now_ms),
            counters: stores.counters.export(KEPT, now_ms),
        };
        let n = contents.records.len();
        self.save(&self.file, &contents, "snapshot", n);
    }

    /// From now on, notes what changes in `stores`, for `write_journal`.
    pub fn start_journal(stores: &MemoryStores) {
        stores.records.start_journal();
        stores.counters.start_journal();
    }

    /// Writes what changed in `stores` since `start_journal`.
    pub fn write_journal(&self, stores: &MemoryStores, now_ms: u64) {
        let contents = Contents {
            records: stores.records.journal(KEPT, now_ms),
            counters: stores.counters.journal(KEPT, now_ms),
        };
        let n = contents.records.len();
        self.save(&self.journal_file(), &contents, "journal", n);
    }

    fn save(&self, path: &Path, contents: &Contents, what: &str, n: usize) {
        let result = postcard::to_stdvec(contents)
            .map_err(|e| e.to_string())
            .and_then(|plain| {
                self.sealer(true)?
                    .seal_bytes(Purpose::Snapshot, &plain)
                    .map_err(|e| e.to_string())
            })
            .and_then(|sealed| write_atomically(path, &sealed).map_err(|e| e.to_string()));
        match result {
            Ok(()) => {
                crate::metrics::snapshot("write", "ok");
                log::info!(
                    "wrote the session {what} ({n} records) to {}",
                    path.display()
                );
            }
            Err(e) => {
                crate::metrics::snapshot("write", "failed");
                log::error!("cannot write the session {what} {}: {e}", path.display());
            }
        }
    }

    /// Loads the snapshot, then any journal, into `stores` and deletes both files.
    pub fn load(&self, stores: &MemoryStores, now_ms: u64) {
        if let Some(c) = self.take(&self.file) {
            let n = stores.records.import(c.records, now_ms);
            stores.counters.import(c.counters, now_ms);
            log::info!("loaded {n} live records from {}", self.file.display());
        }
        self.merge_journal(stores, now_ms);
    }

    /// Merges the journal of the process this one took over from, if it has been written;
    /// `true` when it was there.
    pub fn merge_journal(&self, stores: &MemoryStores, now_ms: u64) -> bool {
        let file = self.journal_file();
        if !file.exists() {
            return false;
        }
        if let Some(c) = self.take(&file) {
            stores.records.merge(c.records, now_ms);
            stores.counters.merge(c.counters, now_ms);
            log::info!("merged the session journal {}", file.display());
        }
        true
    }

    /// Reads, opens and deletes `path`; `None` (logged) when it is missing or unusable.
    fn take(&self, path: &Path) -> Option<Contents> {
        let raw = match std::fs::read(path) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                log::warn!("ignoring the session snapshot {}: {e}", path.display());
                return None;
            }
        };
        if let Err(e) = std::fs::remove_file(path) {
            log::warn!("cannot delete {}: {e}", path.display());
        }
        let opened = self.open(&raw);
        crate::metrics::snapshot("load", if opened.is_ok() { "ok" } else { "failed" });
        opened
            .map_err(|why| log::warn!("ignoring the session snapshot {}: {why}", path.display()))
            .ok()
    }

    fn open(&self, raw: &[u8]) -> Result<Contents, String> {
        let rest = raw.strip_prefix(MAGIC).ok_or("not a snapshot file")?;
        let (version, sealed) = rest.split_first().ok_or("truncated")?;
        if *version != VERSION {
            return Err(format!(
                "written by another version of authgate ({version})"
            ));
        }
        let plain = self
            .sealer(false)?
            .open_bytes(Purpose::Snapshot, sealed)
            .ok_or("corrupt, or sealed with another key")?;
        postcard::from_bytes(&plain).map_err(|_| "corrupt".to_string())
    }
}

/// Writes `bytes` to a temporary file (mode 0600) beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // A leftover of a crash (or anything planted there) is removed; then the file must be new.
    if let Err(e) = std::fs::remove_file(&tmp) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(e);
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(MAGIC)?;
    file.write_all(&[VERSION])?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
