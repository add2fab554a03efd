//! Test harness: the real authgate binary on ephemeral ports, and real upstream servers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub const BIN: &str = env!("CARGO_BIN_EXE_authgate");

/// Waits up to 20 s for something to listen on `port`; panics with `log()` otherwise.
pub fn wait_for_port(port: u16, what: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts authgate on `cfg` with its upgrade socket and pid file in `dir` (as systemd does);
/// with `upgrade`, it takes over the listeners of the one running there (`-u`).
pub fn spawn_upgradable(cfg: &std::path::Path, dir: &std::path::Path, upgrade: bool) -> Child {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .arg("--config")
        .arg(cfg)
        .arg("--upgrade-sock")
        .arg(dir.join("upgrade.sock"))
        .arg("--pid-file")
        .arg(dir.join("pid"));
    if upgrade {
        c.arg("-u");
    }
    let log = std::fs::File::create(dir.join(if upgrade { "new.log" } else { "old.log" })).unwrap();
    c.stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

/// A port that was free a moment ago, and never handed out before in this test binary (tests
/// run in parallel: the kernel may offer a port again before the first taker has bound it).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut given = GIVEN.lock().unwrap();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A running authgate process, killed on drop.
pub struct Gateway {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
}

impl Gateway {
    /// Starts authgate with `body` appended to a `[server]` table on a fresh port.
    /// `{port}` and `{dir}` in `body` are replaced.
    pub fn start(body: &str) -> Gateway {
        let port = free_port();
        Self::start_on(port, &format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\npublic_url = \"http://127.0.0.1:{port}\"\nthreads = 2\n\n[tokens]\nsigning_key_file = \"{{dir}}/signing.pem\"\ncreate_key_if_missing = true\n\n{body}"
        ))
    }

    /// Starts authgate with a whole config; `{port}` and `{dir}` are replaced.
    pub fn start_on(port: u16, config: &str) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let text = config
            .replace("{port}", &port.to_string())
            .replace("{dir}", dir.path().to_str().unwrap());
        std::fs::write(dir.path().join("authgate.toml"), text).unwrap();
        let log = dir.path().join("authgate.log");
        let child = Self::spawn(&[], dir.path(), &log);
        let gw = Gateway {
            child,
            port,
            dir,
            log,
        };
        gw.wait_ready();
        gw
    }

    /// The process on `dir/authgate.toml`, run in `dir` (through `wrapper`, a command such as
    /// `prlimit …` that runs the rest, when given); its stderr is appended to `dir/stderr.log`.
    fn spawn(wrapper: &[&str], dir: &std::path::Path, log: &std::path::Path) -> Child {
        let append = |p: PathBuf| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .unwrap()
        };
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        command
            .arg("--config")
            .arg(dir.join("authgate.toml"))
            .current_dir(dir)
            .stdout(Stdio::from(append(log.to_path_buf())))
            .stderr(Stdio::from(append(dir.join("stderr.log"))))
            .env("RUST_LOG", "warn,access=info")
            .env("AUTHGATE_TEST_CLOCK_FILE", dir.join("clock"))
            .spawn()
            .unwrap()
    }

    /// Sends `signal` (`HUP`, `TERM`, `QUIT`…) to the process.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal}");
    }

    /// Stops the process with SIGTERM (a graceful stop) and waits for it to leave.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.child.wait().unwrap()
    }

    /// Starts the process again in the same directory, on the same config and port.
    pub fn restart(&mut self) {
        self.restart_through(&[]);
    }

    /// Starts the process again, run by `wrapper` (e.g. `["prlimit", "--nofile=1024:4096"]`).
    pub fn restart_through(&mut self, wrapper: &[&str]) {
        self.child = Self::spawn(wrapper, self.dir.path(), &self.log);
        self.wait_ready();
    }

    /// Runs `authgate ARGS --config …` where the gateway runs (relative paths, such as the
    /// admin socket's, agree); returns (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(self.config_file())
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The config file the process reads.
    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("authgate.toml")
    }

    fn wait_ready(&self) {
        wait_for_port(self.port, "authgate", || self.stderr());
    }

    /// The process id of the running binary.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Moves the gateway's clock `seconds` forward (debug builds read the offset from a file
    /// on every look at the clock): time passes in tests without sleeping.
    pub fn advance_clock(&self, seconds: u64) {
        let file = self.dir.path().join("clock");
        let now: u64 = std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        std::fs::write(file, (now + seconds).to_string()).unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The JSON `GET path` answers (discovery, `/readyz`).
    pub async fn json(&self, path: &str) -> serde_json::Value {
        client(self)
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of `/metrics` on `port`.
pub async fn metrics(port: u16) -> String {
    reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the first sample of `series` (with its labels) in a `/metrics` text; 0 when
/// there is none.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// An HTTP client that never follows redirects and sends requests to the gateway whatever
/// the URL's host says (so tests can use names like app.test).
pub fn client(gw: &Gateway) -> reqwest::Client {
    client_builder(gw).build().unwrap()
}

pub fn client_builder(gw: &Gateway) -> reqwest::ClientBuilder {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30));
    for host in [
        "app.test",
        "app2.test",
        "other.test",
        "auth.test",
        "public.test",
        "APP.test",
        "app.test.",
        "tls.test",
        "wrong.test",
        "mtls.test",
        "nocert.test",
        "rules.test",
    ] {
        b = b.resolve(host, gw.addr());
    }
    b
}

/// What the upstream saw.
#[derive(Debug, serde::Deserialize)]
pub struct Echo {
    pub name: String,
    pub method: String,
    pub uri: String,
    pub headers: BTreeMap<String, Vec<String>>,
}

impl Echo {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .and_then(|v| v.first())
            .map(String::as_str)
    }
}

/// A real HTTP/1.1 upstream. Paths: `/sleep/<ms>` answers late; `/healthz` answers 200 or 503
/// as `healthy` says; `/set-cookies` sets its own cookies and authgate's; anything else echoes
/// the request as JSON.
pub struct Upstream {
    pub addr: SocketAddr,
    pub healthy: Arc<AtomicBool>,
    /// Connections accepted so far.
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub async fn start(name: &str) -> Upstream {
        Self::start_on(name, TcpListener::bind("127.0.0.1:0").await.unwrap()).await
    }

    pub async fn start_on(name: &str, listener: TcpListener) -> Upstream {
        let addr = listener.local_addr().unwrap();
        let healthy = Arc::new(AtomicBool::new(true));
        let name = name.to_string();
        let h = Arc::clone(&healthy);
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let conns = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                conns.fetch_add(1, Ordering::SeqCst);
                let name = name.clone();
                let h = Arc::clone(&h);
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let name = name.clone();
                        let h = Arc::clone(&h);
                        async move { Ok::<_, hyper::Error>(respond(&name, &h, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Upstream {
            addr,
            healthy,
            connections,
            task,
        }
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn respond(
    name: &str,
    healthy: &AtomicBool,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if let Some(ms) = path.strip_prefix("/sleep/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
    }
    if path == "/set-cookies" {
        // An app that tries to plant authgate's cookies next to one of its own.
        return hyper::Response::builder()
            .header("set-cookie", "theme=dark; Path=/")
            .header("set-cookie", "authgate_session=planted; Path=/oauth2")
            .header(
                "set-cookie",
                "__Host-authgate_session_csrf=x; Secure; Path=/",
            )
            .header("set-cookie", "lang=en")
            .body(Full::new(Bytes::from_static(b"cookies")))
            .unwrap();
    }
    if path == "/healthz" {
        let status = if healthy.load(Ordering::SeqCst) {
            200
        } else {
            503
        };
        return hyper::Response::builder()
            .status(status)
            .body(Full::new(Bytes::from_static(b"ok")))
            .unwrap();
    }
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in req.headers() {
        headers
            .entry(k.as_str().to_string())
            .or_default()
            .push(String::from_utf8_lossy(v.as_bytes()).into_owned());
    }
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let _ = req.into_body().collect().await;
    let body =
        serde_json::json!({ "name": name, "method": method, "uri": uri, "headers": headers });
    hyper::Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// A WebSocket echo server.
pub async fn websocket_echo() -> SocketAddr {
    use futures_util::{SinkExt, StreamExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() || msg.is_binary() {
                        let _ = ws.send(msg).await;
                    }
                }
            });
        }
    });
    addr
}

/// Runs `authgate` with arguments and returns (exit code, stdout, stderr).
pub fn run_cli(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub mod apache;
pub mod jose;
pub mod ldap;
pub mod nginx;
pub mod oidc;
pub mod pebble;
pub mod postgres;
pub mod samba;
pub mod smtp;

/// A real redis-server on an ephemeral loopback port, killed on drop.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        let mut r = Redis {
            port: free_port(),
            child: None,
            dir: tempfile::tempdir().unwrap(),
        };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The keys matching `pattern`, read with `redis-cli`.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "--raw", "KEYS", pattern])
            .output()
            .expect("redis-cli (package redis-tools, installed with redis-server)");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts (again) on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let bin = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect(
                "redis-server is required (apt-get install redis-server); scripts/test installs it",
            );
        let child = Command::new(bin)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
            ])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_for_port(self.port, "redis-server", String::new);
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What `curl` got: the status, the header lines (names lowercased), the body.
pub struct Curled {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Curled {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

/// Runs `curl -s -i` with `args`, as an operator would from a shell (redirects not followed).
pub fn curl(args: &[&str]) -> Curled {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Curled {
        status,
        headers,
        body: body.to_string(),
    }
}
