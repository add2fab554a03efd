//! Operations without loss, with the real binary and real signals: SIGHUP reloads the config
//! in place (users, routes; a bad file is refused), and the memory store's sessions survive a
//! graceful stop and start (the sealed snapshot) and an upgrade under load (snapshot, then the
//! old process's journal).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::oidc::*;
use common::*;

/// A provider with a protected route to `up`, metrics on their own port, and `extra`.
fn gateway(up: std::net::SocketAddr) -> (Gateway, u16) {
    let mport = free_port();
    let gw = Gateway::start_on(
        free_port(),
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{{port}}\"]\npublic_url = \"http://127.0.0.1:{{port}}\"\nthreads = 2\nmetrics_listen = \"127.0.0.1:{mport}\"\n\n[tokens]\nsigning_key_file = \"{{dir}}/signing.pem\"\ncreate_key_if_missing = true\n{}\n[[routes]]\nhost = \"app.test\"\nupstreams = [\"{up}\"]\n",
            identities()
        ),
    );
    wait_for_port(mport, "metrics", || gw.stderr());
    (gw, mport)
}

/// A provider with the protected route `app.test` to `up`.
fn with_app(up: std::net::SocketAddr) -> Gateway {
    provider(&format!(
        "[[routes]]\nhost = \"app.test\"\nupstreams = [\"{up}\"]\n"
    ))
}

fn at(gw: &Gateway, host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", gw.port)
}

/// The value of the `authgate_config_reloads_total` series for `result`.
async fn reloads(mport: u16, result: &str) -> u64 {
    let text = reqwest::get(format!("http://127.0.0.1:{mport}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("authgate_config_reloads_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// Sends SIGHUP and waits (up to 20 s) until the reload has been counted as `result`.
async fn reload(gw: &Gateway, mport: u16, result: &str) {
    let before = reloads(mport, result).await;
    gw.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reloads(mport, result).await == before {
        assert!(
            Instant::now() < deadline,
            "no reload {result}:\n{}",
            gw.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the app route answers `http` with, without following a sign-in.
async fn user_at_app(http: &reqwest::Client, gw: &Gateway, host: &str) -> Option<String> {
    let r = http
        .get(at(gw, host, "/whoami"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        return None;
    }
    let e: Echo = r.json().await.unwrap();
    e.header("x-forwarded-user").map(str::to_string)
}

fn edit_config(gw: &Gateway, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(gw.config_file()).unwrap();
    std::fs::write(gw.config_file(), f(text)).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_applies_new_users_and_routes_and_keeps_every_session() {
    let up = Upstream::start("app").await;
    let up2 = Upstream::start("app2").await;
    let (gw, mport) = gateway(up.addr);
    let http = browser(&gw);
    browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    assert_eq!(
        user_at_app(&http, &gw, "app.test").await.as_deref(),
        Some("alice")
    );

    let dave = authgate::login::password::hash("dave-password").unwrap();
    edit_config(&gw, |t| {
        format!(
            "{t}\n[[users]]\nusername = \"dave\"\npassword_hash = \"{dave}\"\n\n[[routes]]\nhost = \"app2.test\"\nupstreams = [\"{}\"]\n",
            up2.addr
        )
    });
    reload(&gw, mport, "applied").await;

    // The same cookie, no new sign-in: the session outlived the reload.
    assert_eq!(
        user_at_app(&http, &gw, "app.test").await.as_deref(),
        Some("alice")
    );
    // The new route exists, and the provider session signs alice in there without a form
    // (a wrong password would fail if the form appeared).
    let (_, r) = browse(&http, &gw, &at(&gw, "app2.test", "/"), "alice", "not asked").await;
    let e: Echo = r.json().await.unwrap();
    assert_eq!(
        (e.name.as_str(), e.header("x-forwarded-user")),
        ("app2", Some("alice"))
    );
    // The new user signs in.
    signed_in_as(&gw, "dave", "dave-password").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_refuses_a_bad_config_and_names_what_needs_a_restart() {
    let up = Upstream::start("app").await;
    let (gw, mport) = gateway(up.addr);
    let http = browser(&gw);
    browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    let good = std::fs::read_to_string(gw.config_file()).unwrap();

    edit_config(&gw, |t| {
        format!("{t}\n[[routes]]\nhost = \"bad.test\"\nupstreams = []\n")
    });
    reload(&gw, mport, "refused").await;
    let log = gw.stderr();
    assert!(log.contains("reload refused"), "{log}");
    assert!(
        log.contains("routes[1].upstreams"),
        "the key path is logged: {log}"
    );
    assert_eq!(
        user_at_app(&http, &gw, "app.test").await.as_deref(),
        Some("alice")
    );

    let other = free_port();
    std::fs::write(
        gw.config_file(),
        good.replace(
            &format!("127.0.0.1:{}\"]", gw.port),
            &format!("127.0.0.1:{other}\"]"),
        ),
    )
    .unwrap();
    reload(&gw, mport, "applied").await;
    assert!(
        gw.stderr()
            .contains("server.listen changed and needs a restart"),
        "{}",
        gw.stderr()
    );
    assert_eq!(
        user_at_app(&http, &gw, "app.test").await.as_deref(),
        Some("alice")
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", other)).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn graceful_stop_and_start_keep_sessions_and_lockouts() {
    let up = Upstream::start("app").await;
    let mut gw = with_app(up.addr);
    let http = browser(&gw);
    browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    for _ in 0..5 {
        assert_eq!(login_attempt(&gw, "bob", "wrong").await, 401);
    }
    assert_eq!(
        login_attempt(&gw, "bob", BOB_PW).await,
        429,
        "bob is locked out"
    );

    assert!(gw.stop().success());
    let snap = gw.dir.path().join("authgate-sessions.snap");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&snap).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let raw = std::fs::read(&snap).unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains("alice"),
        "the snapshot is sealed"
    );

    gw.restart();
    assert!(!snap.exists(), "a loaded snapshot is deleted");
    assert_eq!(
        user_at_app(&http, &gw, "app.test").await.as_deref(),
        Some("alice")
    );
    assert_eq!(
        login_attempt(&gw, "bob", BOB_PW).await,
        429,
        "the lockout survived the restart"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_or_foreign_snapshot_is_ignored_and_expired_sessions_are_dropped() {
    let up = Upstream::start("app").await;
    let mut gw = with_app(up.addr);
    let snap = gw.dir.path().join("authgate-sessions.snap");

    // Garbage, then a snapshot sealed with another key: logged, ignored, deleted.
    gw.stop();
    std::fs::write(&snap, b"authgate snapshot\n\x01not sealed").unwrap();
    gw.restart();
    assert!(!snap.exists());
    assert!(
        gw.stderr().contains("ignoring the session snapshot"),
        "{}",
        gw.stderr()
    );

    let http = browser(&gw);
    browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    gw.stop();
    let key = gw.dir.path().join("authgate-snapshot.key");
    let saved = std::fs::read(&snap).unwrap();
    std::fs::remove_file(&key).unwrap();
    gw.restart();
    assert_eq!(
        user_at_app(&http, &gw, "app.test").await,
        None,
        "another key opens nothing"
    );

    // A snapshot whose sessions have expired by the time it is loaded.
    browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    gw.stop();
    assert_ne!(std::fs::read(&snap).unwrap(), saved);
    gw.advance_clock(13 * 3600);
    gw.restart();
    assert_eq!(
        user_at_app(&http, &gw, "app.test").await,
        None,
        "expired at load"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrade_under_load_keeps_the_session_and_merges_the_old_process_journal() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("authgate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\npublic_url = \"http://127.0.0.1:{port}\"\nthreads = 2\n[session]\nsnapshot_file = \"{d}/sessions.snap\"\nsnapshot_key_file = \"{d}/snapshot.key\"\n[tokens]\nsigning_key_file = \"{d}/k.pem\"\ncreate_key_if_missing = true\n{}\n[[routes]]\nhost = \"app.test\"\nupstreams = [\"{}\"]\n",
            identities(),
            up.addr,
            d = dir.path().display(),
        ),
    )
    .unwrap();
    let mut old = spawn_upgradable(&cfg, dir.path(), false);
    wait_for_port(port, "authgate", String::new);
    let gw_like = GatewayAt(port);
    let alice = gw_like.browser();
    gw_like.sign_in(&alice, "alice", ALICE_PW).await;
    let bob = gw_like.browser();
    gw_like.sign_in(&bob, "bob", BOB_PW).await;

    let (done, failures) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (done, failures) = (Arc::clone(&done), Arc::clone(&failures));
        let http = gw_like.fresh_connections(&alice);
        tokio::spawn(async move {
            for _ in 0..1500 {
                match user_of(&http, port).await {
                    Some(u) if u == "alice" => {}
                    other => {
                        eprintln!("request failed: {other:?}");
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while done.load(Ordering::SeqCst) < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Bob's keep-alive connection is open on the old process.
    assert_eq!(user_of(&bob.0, port).await.as_deref(), Some("bob"));
    let app_url = url::Url::parse(&format!("http://app.test:{port}/")).unwrap();
    let bobs_cookies = reqwest::cookie::CookieStore::cookies(&*bob.1, &app_url).unwrap();
    let mut new = spawn_upgradable(&cfg, dir.path(), true);
    assert!(std::process::Command::new("kill")
        .arg("-QUIT")
        .arg(old.id().to_string())
        .status()
        .unwrap()
        .success());
    // Bob signs out on that connection, at the old process, after the snapshot was written.
    wait_for_log(&dir.path().join("old.log"), "wrote the session snapshot").await;
    let r = bob
        .0
        .get(format!("http://app.test:{port}/.authgate/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    load.await.unwrap();
    assert_eq!(
        failures.load(Ordering::SeqCst),
        0,
        "requests failed across the upgrade"
    );
    tokio::task::spawn_blocking(move || old.wait())
        .await
        .unwrap()
        .unwrap();

    wait_for_log(&dir.path().join("new.log"), "merged the session journal").await;
    let fresh = gw_like.fresh_connections(&alice);
    assert_eq!(user_of(&fresh, port).await.as_deref(), Some("alice"));
    // Bob's cookie as it was before the logout (his browser dropped it) opens nothing.
    let r = gw_like
        .builder()
        .build()
        .unwrap()
        .get(format!("http://app.test:{port}/whoami"))
        .header("Cookie", bobs_cookies)
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200, "bob's logout at the old process holds");
    let _ = new.kill();
    let _ = new.wait();
}

/// Started from a shell's default soft limit of 1,024 descriptors, the process raises it to the
/// hard limit, says so, and holds more keep-alive connections than 1,024 would allow, each with
/// a proxied request answered, and answers on all of them again.
#[tokio::test(flavor = "multi_thread")]
async fn the_descriptor_limit_is_raised_to_the_hard_limit_at_start() {
    const CONNECTIONS: usize = 1_100;
    let (_, hard) = rlimit::Resource::NOFILE.get().unwrap();
    assert!(
        hard >= 4096,
        "the test needs a hard limit of 4096 descriptors, not {hard}"
    );
    // This side of the connections needs as many descriptors.
    rlimit::Resource::NOFILE.set(hard, hard).unwrap();
    let up = Upstream::start("app").await;
    let mut gw = Gateway::start(&format!(
        "[[routes]]\nhost = \"public.test\"\nupstreams = [\"{}\"]\nauth = \"public\"\n",
        up.addr
    ));
    assert!(gw.stop().success());
    gw.restart_through(&["env", "RUST_LOG=info", "prlimit", "--nofile=1024:4096"]);

    let limits = std::fs::read_to_string(format!("/proc/{}/limits", gw.pid())).unwrap();
    let open_files: Vec<&str> = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(open_files[..2], ["4096", "4096"], "{limits}");
    assert!(
        gw.stderr()
            .contains("open descriptors: limit raised from 1024 to 4096"),
        "{}",
        gw.stderr()
    );

    let mut held = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut conn = tokio::net::TcpStream::connect(gw.addr()).await.unwrap();
        assert_eq!(proxied_status(&mut conn).await, 200);
        held.push(conn);
    }
    for conn in &mut held {
        assert_eq!(proxied_status(conn).await, 200, "the connection was kept");
    }
}

/// One `GET /` to the public route on `conn`, kept alive: the answer's status, its body read.
async fn proxied_status(conn: &mut tokio::net::TcpStream) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    conn.write_all(b"GET / HTTP/1.1\r\nHost: public.test\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                continue;
            };
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse().ok())
                .expect("a Content-Length");
            if body.len() >= length {
                return head[9..12].parse().unwrap();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer within 10 s")
}

/// Waits up to 30 s for `text` in the log file `path`.
async fn wait_for_log(path: &std::path::Path, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(path)
        .unwrap_or_default()
        .contains(text)
    {
        assert!(
            Instant::now() < deadline,
            "{} never said {text:?}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The user the app route sees for `http`'s cookies, if the request gets through.
async fn user_of(http: &reqwest::Client, port: u16) -> Option<String> {
    let r = http
        .get(format!("http://app.test:{port}/whoami"))
        .header("Accept", "text/html")
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    let e: Echo = r.json().await.ok()?;
    e.header("x-forwarded-user").map(str::to_string)
}

/// A gateway on `port` run by the test itself (for upgrades).
struct GatewayAt(u16);

impl GatewayAt {
    fn builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .resolve(
                "app.test",
                std::net::SocketAddr::from(([127, 0, 0, 1], self.0)),
            )
    }

    fn browser(&self) -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = self
            .builder()
            .cookie_provider(Arc::clone(&jar))
            .build()
            .unwrap();
        (http, jar)
    }

    /// A client with the same cookies that opens a new connection for every request.
    fn fresh_connections(
        &self,
        b: &(reqwest::Client, Arc<reqwest::cookie::Jar>),
    ) -> reqwest::Client {
        self.builder()
            .cookie_provider(Arc::clone(&b.1))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    }

    /// Signs in at the app through the provider's form.
    async fn sign_in(
        &self,
        b: &(reqwest::Client, Arc<reqwest::cookie::Jar>),
        user: &str,
        pw: &str,
    ) {
        let login = format!("http://127.0.0.1:{}/login", self.0);
        let app = format!("http://app.test:{}/", self.0);
        let (_, r) = browse_via(&b.0, &login, &app, user, pw).await;
        assert_eq!(r.status(), 200, "{user} signed in");
    }
}
