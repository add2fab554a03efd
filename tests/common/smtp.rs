//! A real SMTP server on loopback: Debian's aiosmtpd (`python3-aiosmtpd`) running
//! `tests/fixtures/smtp_server.py`, which writes every message it accepts as a JSON file.
//! Plain, STARTTLS (required) or implicit TLS (SMTPS) under a throwaway CA, with or without
//! AUTH (PLAIN and LOGIN, required and only over TLS).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// How the server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plaintext only (AUTH, when asked for, is then never offered).
    None,
    /// `smtp://` with STARTTLS required before anything else.
    Starttls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// One message the server accepted.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Message {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub rcpt_tos: Vec<String>,
    pub subject: String,
    pub from: String,
    pub to: String,
    /// The decoded text/plain part, or "".
    pub text: String,
    /// The decoded text/html part, or "".
    pub html: String,
    /// The whole message as sent.
    pub raw: String,
}

/// A running SMTP server, killed on drop.
pub struct Smtp {
    pub port: u16,
    /// Holds the certificates, the server's log (`smtp.log`) and the messages (`mail/`).
    pub dir: tempfile::TempDir,
    child: Child,
    /// The CA the server's certificate is issued under (authgate's `[smtp] ca_file`); `None`
    /// without TLS.
    pub ca_file: Option<PathBuf>,
    pub tls: Tls,
}

impl Smtp {
    /// Starts the server on a fresh port; with `auth`, only that (user, password) may send.
    pub fn start(tls: Tls, auth: Option<(&str, &str)>) -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp_server.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(&script)
            .args(["--port", &port.to_string()])
            .arg("--dir")
            .arg(dir.path().join("mail"));
        let ca_file = match tls {
            Tls::None => None,
            Tls::Starttls | Tls::Implicit => {
                make_certs(dir.path());
                cmd.args([
                    "--tls",
                    if tls == Tls::Implicit {
                        "implicit"
                    } else {
                        "starttls"
                    },
                ])
                .arg("--cert")
                .arg(dir.path().join("server.pem"))
                .arg("--key")
                .arg(dir.path().join("server.key"));
                Some(dir.path().join("ca.pem"))
            }
        };
        if let Some((user, password)) = auth {
            cmd.args(["--user", user, "--password", password]);
        }
        let log = std::fs::File::create(dir.path().join("smtp.log")).unwrap();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("/usr/bin/python3 (with python3-aiosmtpd) is required for the SMTP tests");
        // The `ready` line, read on a thread so that a server that never says it is bounded
        // by the deadline.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(read.map(|_| line));
        });
        // From here on, a panic drops `smtp`, which kills the child.
        let smtp = Smtp {
            port,
            dir,
            child,
            ca_file,
            tls,
        };
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(line)) if line.trim() == "ready" => {}
            Ok(Ok(line)) => panic!(
                "the SMTP server did not start (said {line:?}; is python3-aiosmtpd installed? \
                 apt-get install python3-aiosmtpd):\n{}",
                smtp.log()
            ),
            Ok(Err(e)) => panic!("reading the SMTP server's stdout: {e}\n{}", smtp.log()),
            Err(_) => panic!("the SMTP server was not ready within 20 s:\n{}", smtp.log()),
        }
        smtp
    }

    /// The URL authgate sends through: `smtp://[user@]127.0.0.1:PORT` (plain or STARTTLS) or
    /// `smtps://[user@]127.0.0.1:PORT` (implicit TLS). `user` is not percent-encoded.
    /// Stops the server (its certificates stay, for configs that name them).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self, user: Option<&str>) -> String {
        let scheme = if self.tls == Tls::Implicit {
            "smtps"
        } else {
            "smtp"
        };
        match user {
            Some(user) => format!("{scheme}://{user}@127.0.0.1:{}", self.port),
            None => format!("{scheme}://127.0.0.1:{}", self.port),
        }
    }

    /// Where the server writes the messages it accepts.
    pub fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// The server's stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("smtp.log")).unwrap_or_default()
    }

    /// Every message accepted so far, in the order they arrived.
    pub fn messages(&self) -> Vec<Message> {
        let Ok(entries) = std::fs::read_dir(self.mail_dir()) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".json") && !n.starts_with('.'))
            })
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
                serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("parsing {}: {e}\n{text}", p.display()))
            })
            .collect()
    }

    /// Waits (up to 10 s) until at least `count` messages have arrived, and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Message> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!(
                    "expected {count} message(s) at the SMTP server within 10 s, got {}: {:#?}\n\
                     server log:\n{}",
                    messages.len(),
                    messages
                        .iter()
                        .map(|m| (&m.rcpt_tos, &m.subject))
                        .collect::<Vec<_>>(),
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first `http://` or `https://` URL in `text` that contains `path_part`. A URL ends at
/// whitespace, `<`, `>` or `"`; trailing sentence punctuation (`.,;:!?)`) is dropped, and
/// `&amp;` is read as `&` (so links from the HTML part work too).
pub fn link(text: &str, path_part: &str) -> Option<String> {
    let mut rest = text;
    loop {
        let start = match (rest.find("http://"), rest.find("https://")) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return None,
        };
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(candidate.len());
        let url = candidate[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
        if url.contains(path_part) {
            return Some(url.replace("&amp;", "&"));
        }
        rest = &candidate[end..];
    }
}

/// A throwaway CA (`ca.pem`) and a server certificate for 127.0.0.1 and localhost issued
/// under it (`server.pem`, `server.key`) in `dir`.
fn make_certs(dir: &Path) {
    let p = |f: &str| dir.join(f);
    openssl(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=authgate SMTP test CA", "-keyout"])
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("ca.pem")),
    );
    openssl(
        Command::new("openssl")
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .arg("-keyout")
            .arg(p("server.key"))
            .arg("-out")
            .arg(p("server.csr")),
    );
    std::fs::write(
        p("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
            .arg(p("server.csr"))
            .arg("-CA")
            .arg(p("ca.pem"))
            .arg("-CAkey")
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("server.pem"))
            .arg("-extfile")
            .arg(p("ext.cnf")),
    );
}

fn openssl(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("openssl is required for the SMTP TLS tests");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
