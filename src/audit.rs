//! The audit trail (`[audit]`): one JSON line per security event, to a file (reopened on
//! SIGHUP and SIGUSR1, for log rotation) or to standard output (journald). A line names who
//! did what to whom, from where, and how it ended; it never holds a password, code, token or
//! cookie: the fields are names, addresses and catalogue words only.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;

/// One event. `actor` did `event` to `subject` (the same person, mostly; an administrator acts
/// on someone else).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Event<'a> {
    /// `sign_in.succeeded`, `password.reset`, `admin.user_disabled`, …
    pub event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    /// `ok`, or why not (`wrong_password`, `locked_out`, `denied`, …).
    pub outcome: &'a str,
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    #[serde(flatten)]
    event: &'a Event<'a>,
}

enum Sink {
    Stdout,
    File { path: PathBuf, file: std::fs::File },
}

pub struct Audit {
    sink: Mutex<Sink>,
}

fn open(path: &PathBuf) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

impl Audit {
    /// The trail of `[audit]`: its file opened (created 0640) for appending, or stdout.
    pub fn new(cfg: &crate::config::Audit) -> std::io::Result<Audit> {
        let sink = match &cfg.file {
            None => Sink::Stdout,
            Some(path) => Sink::File {
                file: open(path)?,
                path: path.clone(),
            },
        };
        Ok(Audit {
            sink: Mutex::new(sink),
        })
    }

    /// Opens the file again (it was moved away by log rotation). A failure keeps the old one.
    pub fn reopen(&self) {
        let Ok(mut sink) = self.sink.lock() else {
            return;
        };
        if let Sink::File { path, file } = &mut *sink {
            match open(path) {
                Ok(f) => *file = f,
                Err(e) => {
                    log::error!("audit: cannot reopen {}: {e}", path.display());
                    crate::metrics::audit_error();
                }
            }
        }
    }

    /// Writes `event` at `now` (Unix seconds). A failed write is logged and counted.
    pub fn record(&self, event: &Event<'_>, now: u64) {
        let line = Line {
            time: crate::clock::rfc3339(now),
            event,
        };
        let Ok(mut text) = serde_json::to_vec(&line) else {
            return;
        };
        text.push(b'\n');
        let written = match self.sink.lock() {
            Ok(mut sink) => match &mut *sink {
                Sink::Stdout => std::io::stdout().lock().write_all(&text),
                Sink::File { file, .. } => file.write_all(&text),
            },
            Err(_) => Err(std::io::Error::other("the audit lock is poisoned")),
        };
        if let Err(e) = written {
            log::error!("audit: cannot write: {e}");
            crate::metrics::audit_error();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_json_line_per_event_and_reopened_after_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let audit = Audit::new(&crate::config::Audit {
            file: Some(path.clone()),
        })
        .unwrap();
        let e = Event {
            event: "sign_in.failed",
            subject: Some("alice"),
            client_ip: Some("192.0.2.1".into()),
            outcome: "wrong_password",
            ..Event::default()
        };
        audit.record(&e, 1_700_000_000);
        std::fs::rename(&path, dir.path().join("audit.jsonl.1")).unwrap();
        audit.reopen();
        audit.record(&Event { outcome: "ok", ..e }, 1_700_000_001);
        let rotated = std::fs::read_to_string(dir.path().join("audit.jsonl.1")).unwrap();
        let line: serde_json::Value = serde_json::from_str(rotated.trim()).unwrap();
        assert_eq!(line["time"], "2023-11-14T22:13:20Z");
        assert_eq!(line["event"], "sign_in.failed");
        assert_eq!(line["subject"], "alice");
        assert!(line.get("actor").is_none());
        let fresh = std::fs::read_to_string(&path).unwrap();
        assert_eq!(fresh.lines().count(), 1, "the new file has the new line");
    }
}
