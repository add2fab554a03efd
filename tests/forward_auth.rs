//! `/oauth2/auth` forward-auth: direct checks of its answers, and real nginx `auth_request`
//! in front of an app, signing in through `/.authgate/start`.

mod common;

use std::process::{Child, Command, Stdio};

use common::nginx::Nginx;
use common::oidc::*;
use common::*;

fn config(up: std::net::SocketAddr, trusted: bool) -> String {
    let trusted = if trusted {
        "trusted_proxies = [\"127.0.0.1/32\"]\n"
    } else {
        ""
    };
    let port = free_port();
    format!(
        "[server]\nlisten = [\"127.0.0.1:{{port}}\"]\npublic_url = \"http://127.0.0.1:{{port}}\"\n{trusted}\n[tokens]\nsigning_key_file = \"{{dir}}/k.pem\"\ncreate_key_if_missing = true\n{}\n[[routes]]\nhost = \"app.test\"\nupstreams = [\"{up}\"]\npublic_paths = [\"/static/\"]\n\n[[routes]]\nhost = \"other.test\"\nupstreams = [\"{up}\"]\nallow_users = [\"bob\"]\n",
        identities()
    )
    .replace("{port}", &port.to_string())
        + &format!("#{port}")
}

fn start(up: std::net::SocketAddr, trusted: bool) -> Gateway {
    let cfg = config(up, trusted);
    let port: u16 = cfg.rsplit('#').next().unwrap().parse().unwrap();
    Gateway::start_on(port, &cfg)
}

async fn signed_in_cookie(gw: &Gateway, user: &str, pw: &str) -> String {
    signed_in_as(gw, user, pw).await.1
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_answers_202_401_403() {
    let up = Upstream::start("app").await;
    let gw = start(up.addr, true);
    let http = client(&gw);
    let alice = signed_in_cookie(&gw, "alice", ALICE_PW).await;
    let ask = |cookie: Option<&str>, host: &str| {
        let mut rb = http
            .get(gw.url("/oauth2/auth"))
            .header("X-Forwarded-Host", host)
            .header("X-Forwarded-Uri", "/page?x=1")
            .header("X-Forwarded-Method", "GET");
        if let Some(c) = cookie {
            rb = rb.header("Cookie", c);
        }
        rb.send()
    };
    let r = ask(None, "app.test").await.unwrap();
    assert_eq!(r.status(), 401);
    let r = ask(Some(&alice), "app.test").await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["x-forwarded-user"], "alice");
    assert_eq!(r.headers()["x-forwarded-groups"], "staff,admin");
    assert!(r.headers().contains_key("x-authgate-assertion"));
    let r = ask(Some(&alice), "other.test").await.unwrap();
    assert_eq!(r.status(), 403, "route policy: only bob");
    // X-Original-URL (nginx style) is read on its own endpoint, with X-Original-Method.
    let original = |url: &str| {
        http.get(gw.url("/oauth2/auth/original"))
            .header("X-Original-URL", url)
            .header("X-Original-Method", "GET")
            .header("Cookie", &alice)
            .send()
    };
    assert_eq!(original("http://other.test/x").await.unwrap().status(), 403);
    assert_eq!(original("http://app.test/x").await.unwrap().status(), 202);
}

/// hardening: forward-auth target chosen by the client. Every header of the
/// convention an endpoint does not use is ignored, and a target without a route, or one that
/// cannot be normalised, is 403 for everyone.
#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_target_cannot_be_steered_by_the_other_convention() {
    let up = Upstream::start("app").await;
    let gw = start(up.addr, true);
    let http = client(&gw);
    let alice = signed_in_cookie(&gw, "alice", ALICE_PW).await;
    let forwarded = |cookie: Option<&str>, host: &str, uri: &str| {
        let mut rb = http
            .get(gw.url("/oauth2/auth"))
            .header("X-Forwarded-Host", host)
            .header("X-Forwarded-Uri", uri)
            .header("X-Forwarded-Method", "GET")
            // The client's own: a public path of app.test.
            .header("X-Original-URL", "http://app.test/static/x")
            .header("X-Original-Method", "GET");
        if let Some(c) = cookie {
            rb = rb.header("Cookie", c);
        }
        rb.send()
    };
    // /admin without a session: X-Original-URL naming a public path changes nothing.
    assert_eq!(
        forwarded(None, "app.test", "/admin")
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        forwarded(None, "app.test", "/static/x")
            .await
            .unwrap()
            .status(),
        202
    );
    // Alice cannot borrow app.test's policy for other.test.
    let r = forwarded(Some(&alice), "other.test", "/").await.unwrap();
    assert_eq!(r.status(), 403);
    // No route, or a path that cannot be normalised: 403 for every caller.
    for (host, uri) in [
        ("nowhere.test", "/"),
        ("app.test", "/x%2Fy"),
        ("app.test", "/.;/admin"),
        ("app.test", "/static/..;/admin"),
    ] {
        for cookie in [None, Some(alice.as_str())] {
            let r = forwarded(cookie, host, uri).await.unwrap();
            assert_eq!(r.status(), 403, "{host}{uri} with {cookie:?}");
        }
    }
    // The X-Original-URL endpoint ignores the client's X-Forwarded-*.
    let r = http
        .get(gw.url("/oauth2/auth/original"))
        .header("X-Original-URL", "http://other.test/")
        .header("X-Original-Method", "GET")
        .header("X-Forwarded-Host", "app.test")
        .header("X-Forwarded-Uri", "/")
        .header("X-Forwarded-Method", "GET")
        .header("Cookie", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A header sent twice is not a target.
    let r = http
        .get(gw.url("/oauth2/auth"))
        .header("X-Forwarded-Host", "app.test")
        .header("X-Forwarded-Uri", "/static/x")
        .header("X-Forwarded-Uri", "/admin")
        .header("X-Forwarded-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_ignores_forwarded_headers_from_untrusted_peers() {
    let up = Upstream::start("app").await;
    let gw = start(up.addr, false);
    let http = client(&gw);
    let alice = signed_in_cookie(&gw, "alice", ALICE_PW).await;
    // From an untrusted peer the forwarded headers name no target, so there is no route and
    // no policy to apply: 403, signed in or not.
    for cookie in [Some(alice.as_str()), None] {
        let mut rb = http
            .get(gw.url("/oauth2/auth"))
            .header("X-Forwarded-Host", "app.test")
            .header("X-Forwarded-Uri", "/")
            .header("X-Forwarded-Method", "GET");
        if let Some(c) = cookie {
            rb = rb.header("Cookie", c);
        }
        assert_eq!(rb.send().await.unwrap().status(), 403);
    }
}

/// A shipped front-proxy snippet with its example names and ports replaced; each must be there,
/// so the test runs the documented file and nothing else.
fn shipped(snippet: &str, replacements: &[(&str, &str)]) -> String {
    replacements
        .iter()
        .fold(snippet.to_string(), |s, (from, to)| {
            assert!(s.contains(from), "the snippet no longer has {from:?}");
            s.replace(from, to)
        })
}

/// nginx with the shipped `auth_request` snippet (`conf/forward-auth/nginx.conf`).
fn nginx(authgate: u16, upstream: std::net::SocketAddr) -> Nginx {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let site = shipped(
        include_str!("../conf/forward-auth/nginx.conf"),
        &[
            ("listen 80", &format!("listen 127.0.0.1:{port}")),
            (
                "server_name app.example.com",
                "server_name app.test other.test",
            ),
            ("auth.example.com", &format!("127.0.0.1:{authgate}")),
            ("127.0.0.1:8080", &format!("127.0.0.1:{authgate}")),
            ("127.0.0.1:3000", &upstream.to_string()),
        ],
    );
    Nginx::start(port, dir, &site)
}

/// Through a front proxy on `port` with its shipped snippet: a client adding every header of
/// both conventions changes no decision (hardening: forward-auth target chosen
/// by the client), and a host the front proxy does not serve never reaches the app.
async fn steering_changes_nothing(gw: &Gateway, port: u16) {
    let steer = |rb: reqwest::RequestBuilder| {
        rb.header("X-Original-URL", format!("http://app.test:{port}/static/x"))
            .header("X-Original-Method", "GET")
            .header("X-Forwarded-Host", "app.test")
            .header("X-Forwarded-Uri", "/static/x")
            .header("X-Forwarded-Method", "GET")
            .header("X-Forwarded-Proto", "https")
            .header("Accept", "text/html")
    };
    let anon = client(gw);
    let r = steer(anon.get(format!("http://app.test:{port}/admin")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        302,
        "not signed in: to the sign-in, not the app"
    );
    assert!(
        location(&r).contains("/.authgate/start"),
        "{}",
        location(&r)
    );
    // The public path itself is public.
    let r = anon
        .get(format!("http://app.test:{port}/static/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Alice may use app.test, not other.test: naming app.test in any header does not help.
    let http = browser(gw);
    let (_, r) = browse(
        &http,
        gw,
        &format!("http://other.test:{port}/"),
        "alice",
        ALICE_PW,
    )
    .await;
    assert_eq!(
        r.status(),
        403,
        "signed in on other.test, and refused there"
    );
    let r = steer(http.get(format!("http://other.test:{port}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A host the front proxy does not serve: refused before authgate is asked.
    let reached = match anon.get(format!("http://public.test:{port}/")).send().await {
        Ok(r) => r.text().await.unwrap_or_default().contains("\"name\""),
        Err(_) => false,
    };
    assert!(!reached, "an unknown host reached the app");
}

#[tokio::test(flavor = "multi_thread")]
async fn nginx_auth_request_in_front_of_an_app() {
    let up = Upstream::start("app").await;
    let gw = start(up.addr, true);
    let ng = nginx(gw.port, up.addr);
    let http = browser(&gw);
    let app = format!("http://app.test:{}/report?q=1", ng.port);

    // Unauthenticated: nginx turns the 401 into the sign-in; the browser comes back signed in.
    let (url, r) = browse(&http, &gw, &app, "alice", ALICE_PW).await;
    assert_eq!(url, app);
    let e: Echo = r.json().await.unwrap();
    assert_eq!(e.uri, "/report?q=1");
    assert_eq!(e.header("x-forwarded-user"), Some("alice"));
    assert_eq!(e.header("x-forwarded-groups"), Some("staff,admin"));
    assert!(e.header("x-authgate-assertion").is_some());

    // Denied by policy: nginx answers 403.
    let other = format!("http://other.test:{}/", ng.port);
    let (_, r) = browse(&http, &gw, &other, "alice", ALICE_PW).await;
    assert_eq!(r.status(), 403);

    // Without the cookie, an API call is 401 → redirect to sign-in (nginx config), never the app.
    let r = client(&gw).get(&app).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert!(
        location(&r).contains("/.authgate/start?rd=%2Freport")
            || location(&r).contains("/.authgate/start?rd=/report"),
        "{}",
        location(&r)
    );
    steering_changes_nothing(&gw, ng.port).await;
}

struct Caddy {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Caddy with the shipped `forward_auth` snippet (`conf/forward-auth/Caddyfile`).
fn caddy(authgate: u16, upstream: std::net::SocketAddr) -> Caddy {
    let bin = ["/usr/bin/caddy", "/usr/local/bin/caddy"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("caddy is required (apt-get install caddy); scripts/test installs it");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let site = shipped(
        include_str!("../conf/forward-auth/Caddyfile"),
        &[
            (
                "app.example.com {",
                &format!("http://app.test:{port}, http://other.test:{port} {{"),
            ),
            ("auth.example.com", &format!("127.0.0.1:{authgate}")),
            ("127.0.0.1:8080", &format!("127.0.0.1:{authgate}")),
            ("127.0.0.1:3000", &upstream.to_string()),
        ],
    );
    let conf = format!("{{\n  admin off\n  auto_https off\n}}\n{site}");
    let path = dir.path().join("Caddyfile");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(bin)
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&path)
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env("HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("caddy.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    wait_for_port(port, "caddy", || {
        std::fs::read_to_string(dir.path().join("caddy.log")).unwrap_or_default()
    });
    Caddy {
        child,
        port,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn caddy_forward_auth_in_front_of_an_app() {
    let up = Upstream::start("app").await;
    let gw = start(up.addr, true);
    let cd = caddy(gw.port, up.addr);
    let http = browser(&gw);
    let app = format!("http://app.test:{}/report?q=1", cd.port);
    let (url, r) = browse(&http, &gw, &app, "alice", ALICE_PW).await;
    assert_eq!(url, app);
    let e: Echo = r.json().await.unwrap();
    assert_eq!(e.header("x-forwarded-user"), Some("alice"));
    assert!(e.header("x-authgate-assertion").is_some());
    let (_, r) = browse(
        &http,
        &gw,
        &format!("http://other.test:{}/", cd.port),
        "alice",
        ALICE_PW,
    )
    .await;
    assert_eq!(r.status(), 403);
    // A forged identity header from the client does not survive Caddy + authgate.
    let e: Echo = http
        .get(&app)
        .header("X-Forwarded-User", "mallory")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e.headers["x-forwarded-user"], ["alice"]);
    steering_changes_nothing(&gw, cd.port).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn start_page_leads_on_even_when_served_as_a_401_body() {
    // Traefik's errors middleware serves /.authgate/start?rd={url} under the original 401:
    // the body itself must take the browser to the sign-in.
    let up = Upstream::start("app").await;
    let gw = start(up.addr, true);
    let rd: String = form_urlencoded::byte_serialize(
        format!("http://app.test:{}/report?q=1", gw.port).as_bytes(),
    )
    .collect();
    let r = client(&gw)
        .get(format!(
            "http://app.test:{}/.authgate/start?rd={rd}",
            gw.port
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let target = location(&r);
    assert!(
        target.contains("/oauth2/authorize?client_id=authgate-proxy"),
        "{target}"
    );
    let body = r.text().await.unwrap();
    assert!(body.contains("http-equiv=\"refresh\""), "{body}");
    assert!(body.contains("/oauth2/authorize?client_id=authgate-proxy"));
    // And the sign-in returns to rd.
    let http = browser(&gw);
    let (url, _) = browse(
        &http,
        &gw,
        &format!("http://app.test:{}/.authgate/start?rd={rd}", gw.port),
        "alice",
        ALICE_PW,
    )
    .await;
    assert_eq!(url, format!("http://app.test:{}/report?q=1", gw.port));
}
