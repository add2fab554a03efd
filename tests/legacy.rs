//! Legacy-app bridges: an upstream that only knows HTTP Basic (a real nginx with `auth_basic`
//! and an htpasswd file) gets authgate's credentials, never the client's; and app passwords let
//! clients that cannot follow a browser sign-in in with `curl --user`.

mod common;

use std::process::{Child, Command};

use common::oidc::*;
use common::*;

struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn htpasswd_line(user: &str, password: &str) -> String {
    let out = Command::new("openssl")
        .args(["passwd", "-apr1", password])
        .output()
        .unwrap();
    format!("{user}:{}", String::from_utf8(out.stdout).unwrap().trim())
}

/// nginx closed by `auth_basic`, answering who it let in (`$remote_user`).
fn basic_nginx() -> Nginx {
    let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nginx is required (apt-get install nginx-light); scripts/test installs it");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = dir.path().display();
    let users = [
        htpasswd_line("alice", "nagios-secret"),
        htpasswd_line("bob", "nagios-secret"),
        htpasswd_line("svc-nagios", "nagios-secret"),
    ];
    std::fs::write(dir.path().join("htpasswd"), users.join("\n") + "\n").unwrap();
    std::fs::create_dir(dir.path().join("www")).unwrap();
    std::fs::write(dir.path().join("www/index.html"), "legacy app\n").unwrap();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
           server {{\n    listen 127.0.0.1:{port};\n    root {d}/www;\n    location / {{\n\
               auth_basic \"legacy\";\n      auth_basic_user_file {d}/htpasswd;\n\
               add_header X-Remote-User $remote_user always;\n    }}\n  }}\n}}\n"
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let child = Command::new(bin)
        .args(["-c", &format!("{d}/nginx.conf"), "-p", &d.to_string()])
        .spawn()
        .unwrap();
    wait_for_port(port, "nginx", || {
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    });
    Nginx {
        child,
        port,
        _dir: dir,
    }
}

fn config(dir: &std::path::Path, nginx: u16, up: std::net::SocketAddr, user: &str) -> String {
    std::fs::write(dir.join("nagios-password"), "nagios-secret\n").unwrap();
    format!(
        "[storage]\nurl = \"sqlite://{d}/authgate.db\"\nencryption_key_file = \"{d}/storage.key\"\n\
         create_key_if_missing = true\n\n\
         [[routes]]\nhost = \"app.test\"\nupstreams = [\"127.0.0.1:{nginx}\"]\nupstream_auth = \"basic\"\n\
         upstream_basic_user = \"{user}\"\nupstream_basic_password_file = \"{d}/nagios-password\"\n\n\
         [[routes]]\nhost = \"app2.test\"\nupstreams = [\"{up}\"]\napp_passwords = true\n\n\
         [[routes]]\nhost = \"other.test\"\nupstreams = [\"{up}\"]\n",
        d = dir.display()
    )
}

fn at(gw: &Gateway, host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", gw.port)
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_basic_auth_opens_a_basic_only_app_for_the_signed_in_user() {
    let ng = basic_nginx();
    let direct = reqwest::get(format!("http://127.0.0.1:{}/", ng.port))
        .await
        .unwrap();
    assert_eq!(direct.status(), 401, "closed to direct requests");
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), ng.port, up.addr, "{username}"));
    let http = browser(&gw);
    let (_, r) = browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-remote-user"], "alice");
    assert_eq!(r.text().await.unwrap(), "legacy app\n");
    // A client-sent Authorization (valid at the upstream, for bob) never reaches it.
    let r = http
        .get(at(&gw, "app.test", "/"))
        .header("Accept", "text/html")
        .basic_auth("bob", Some("nagios-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-remote-user"], "alice");
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_basic_user_can_be_a_fixed_service_account() {
    let ng = basic_nginx();
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), ng.port, up.addr, "svc-nagios"));
    let http = browser(&gw);
    let (_, r) = browse(&http, &gw, &at(&gw, "app.test", "/"), "bob", BOB_PW).await;
    assert_eq!(r.headers()["x-remote-user"], "svc-nagios");
}

/// Creates an app password for `user` on /account; returns it.
async fn app_password(gw: &Gateway, user: &str, password: &str) -> (reqwest::Client, String) {
    let (http, _) = signed_in_as(gw, user, password).await;
    let r = account_action(&http, gw, "new-app-password", &[("name", "webdav")]).await;
    let page = r.text().await.unwrap();
    let start = page.find("<code id=\"new-app-password\">").unwrap() + 28;
    let end = page[start..].find('<').unwrap() + start;
    (http, page[start..end].to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn app_passwords_let_basic_clients_in_and_nothing_else() {
    let ng = basic_nginx();
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), ng.port, up.addr, "{username}"));
    let (browser_http, pw) = app_password(&gw, "alice", ALICE_PW).await;
    let c = client(&gw);
    let get = |host: &'static str, user: &'static str, pw: String| {
        c.get(at(&gw, host, "/dav/file"))
            .basic_auth(user, Some(pw))
            .send()
    };
    let r = get("app2.test", "alice", pw.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let e: Echo = r.json().await.unwrap();
    assert_eq!(e.header("x-forwarded-user"), Some("alice"));
    assert_eq!(
        e.header("authorization"),
        None,
        "the app password is not passed on"
    );
    let jwt = e.header("x-authgate-assertion").unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwt.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["amr"], serde_json::json!(["app"]));
    // A wrong app password, and the real password, get a Basic challenge.
    for bad in ["wrong".to_string(), ALICE_PW.to_string()] {
        let r = get("app2.test", "alice", bad).await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic realm="));
    }
    // A route without app_passwords does not take Basic.
    let r = c
        .get(at(&gw, "other.test", "/"))
        .basic_auth("alice", Some(pw.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    // Revoked on /account: refused within a second.
    let page = browser_http
        .get(gw.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = page
        .split("value=\"revoke-app-password\"><input type=\"hidden\" name=\"id\" value=\"")
        .nth(1)
        .unwrap();
    let id = &id[..id.find('"').unwrap()];
    let r = account_action(&browser_http, &gw, "revoke-app-password", &[("id", id)]).await;
    assert!(r.text().await.unwrap().contains("App password revoked."));
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1100);
    loop {
        let status = get("app2.test", "alice", pw.clone())
            .await
            .unwrap()
            .status();
        if status == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still accepted after 1 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn app_passwords_of_a_disabled_user_stop_and_the_cli_lists_and_revokes() {
    let ng = basic_nginx();
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), ng.port, up.addr, "{username}"));
    let (_, pw) = app_password(&gw, "bob", BOB_PW).await;
    let cfg = gw.dir.path().join("authgate.toml");
    let (code, out, _) = run_cli(
        &[
            "app-passwords",
            "list",
            "--user",
            "bob",
            "--config",
            cfg.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("bob") && out.contains("webdav") && !out.contains(&pw),
        "{out}"
    );
    let (code, out, _) = run_cli(
        &[
            "app-passwords",
            "revoke",
            "--user",
            "bob",
            "--config",
            cfg.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("revoked 1"), "{out}");
    let r = client(&gw)
        .get(at(&gw, "app2.test", "/"))
        .basic_auth("bob", Some(pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // carol is disabled in the config: an app password stored for her opens nothing.
    let key = authgate::storage::StorageKey::load(&dir.path().join("storage.key")).unwrap();
    let url = format!("sqlite://{}/authgate.db", dir.path().display());
    let s = authgate::storage::Storage::open(&url, &key).await.unwrap();
    let carol = authgate::storage::Owner {
        name: "carol",
        source: &authgate::directory::Source::Local,
    };
    s.add_app_password(&carol, "old", "carol-app-password", 0)
        .await
        .unwrap();
    let r = client(&gw)
        .get(at(&gw, "app2.test", "/"))
        .basic_auth("carol", Some("carol-app-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn check_config_knows_the_placeholders_and_reads_the_password_file() {
    let text = "[server]\nlisten = [\"127.0.0.1:1\"]\npublic_url = \"http://a.test\"\n\
        [tokens]\nsigning_key_file = \"/x\"\ncreate_key_if_missing = true\n\
        [[routes]]\nupstreams = [\"127.0.0.1:2\"]\nupstream_auth = \"basic\"\n\
        upstream_basic_user = \"{user}\"\nupstream_basic_password_file = \"/nonexistent/pw\"\n\
        [[routes]]\npath_prefix = \"/dav/\"\nupstreams = [\"127.0.0.1:2\"]\napp_passwords = true\n";
    let problems = authgate::config::from_str(text).unwrap_err().problems;
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert!(
        paths.contains(&"routes[0].upstream_basic_user"),
        "{problems:?}"
    );
    assert!(
        paths.contains(&"routes[0].upstream_basic_password_file"),
        "{problems:?}"
    );
    assert!(
        paths.contains(&"routes[1].app_passwords"),
        "needs [storage]: {problems:?}"
    );
}
