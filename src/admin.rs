//! The local admin socket (`[server] admin_socket`): how `authgate sessions list|revoke`
//! reaches the running process, whatever its store. A Unix socket, mode 0600, so only the
//! service user (and root) can use it; never on the network. One JSON command per connection,
//! one JSON answer.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::app::live::Live;
use crate::app::revocation::{self, SessionRow};

/// The longest command line read.
const MAX_COMMAND: u64 = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// The live provider sessions, of one user or everyone.
    List { user: Option<String> },
    /// Ends every session of `user` (and revokes their grants), or the one session `session`.
    Revoke {
        user: Option<String>,
        session: Option<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Sessions(Vec<SessionRow>),
    Revoked(usize),
    Error(String),
}

/// Serves the socket at `path` for as long as the process runs.
pub struct AdminService {
    pub live: Arc<Live>,
    pub path: PathBuf,
}

#[async_trait]
impl BackgroundService for AdminService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let (listener, inode) = match bind(&self.path) {
            Ok(l) => l,
            Err(e) => {
                log::error!("admin socket {}: {e}", self.path.display());
                return;
            }
        };
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) if same_user(&stream) => {
                        tokio::spawn(serve(Arc::clone(&self.live), stream));
                    }
                    Ok(_) => log::warn!("admin socket: a connection from another user was refused"),
                    Err(e) => log::warn!("admin socket: {e}"),
                },
                _ = shutdown.changed() => break,
            }
        }
        // After an upgrade the path is the new process's socket: leave that one alone.
        let still_ours = std::fs::metadata(&self.path).is_ok_and(|m| m.ino() == inode);
        if still_ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                log::debug!("admin socket {}: {e}", self.path.display());
            }
        }
    }
}

/// The peer runs as this process's user, or as root.
fn same_user(stream: &UnixStream) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    stream
        .peer_cred()
        .is_ok_and(|c| c.uid() == me || c.uid() == 0)
}

/// A fresh socket at `path` (a stale one from an earlier run is replaced), mode 0600, and its
/// inode. Peers are checked too (`same_user`), so the moment before the chmod opens nothing.
fn bind(path: &Path) -> std::io::Result<(UnixListener, u64)> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok((listener, std::fs::metadata(path)?.ino()))
}

async fn serve(live: Arc<Live>, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_COMMAND));
    let answer = match reader.read_line(&mut line).await {
        Ok(_) => match serde_json::from_str::<Command>(&line) {
            Ok(command) => run(&live, command).await,
            Err(e) => Answer::Error(format!("not a command: {e}")),
        },
        Err(e) => Answer::Error(e.to_string()),
    };
    let mut out = serde_json::to_vec(&answer).unwrap_or_default();
    out.push(b'\n');
    if let Err(e) = write.write_all(&out).await {
        log::debug!("admin socket: {e}");
    }
}

async fn run(live: &Live, command: Command) -> Answer {
    let app = live.load();
    let done = match &command {
        Command::List { user } => revocation::list(&app, user.as_deref())
            .await
            .map(Answer::Sessions),
        Command::Revoke {
            session: Some(sid),
            user,
        } => revocation::end_sid(&app, sid, user.as_deref())
            .await
            .map(Answer::Revoked),
        Command::Revoke {
            user: Some(user),
            session: None,
        } => revocation::end_user(&app, user).await.map(Answer::Revoked),
        Command::Revoke { .. } => Ok(Answer::Error("name a user or a session".into())),
    };
    if let (Command::Revoke { .. }, Ok(Answer::Revoked(n))) = (&command, &done) {
        log::warn!("admin: {command:?} ended {n} session(s)");
    }
    done.unwrap_or_else(|e| Answer::Error(e.to_string()))
}

/// Sends `command` to the process serving `path` (blocking: the CLI's side).
pub fn request(path: &Path, command: &Command) -> anyhow::Result<Answer> {
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot reach authgate at {}: {e} (is it running, and are you its user?)",
            path.display()
        )
    })?;
    let mut line = serde_json::to_vec(command)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    Ok(serde_json::from_str(&answer)?)
}
