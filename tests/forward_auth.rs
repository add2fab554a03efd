//! `/oauth2/auth` forward-auth: direct checks of its answers, and real nginx `auth_request`
//! in front of an app, signing in through `/.authgate/start`.

mod common;

use std::process::{Child, Command, Stdio};

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
        "[server]\nlisten = [\"127.0.0.1:{{port}}\"]\npublic_url = \"http://127.0.0.1:{{port}}\"\n{trusted}\n[tokens]\nsigning_key_file = \"{{dir}}/k.pem\"\ncreate_key_if_missing = true\n{}\n[[routes]]\nhost = \"app.test\"\nupstreams = [\"{up}\"]\n\n[[routes]]\nhost = \"other.test\"\nupstreams = [\"{up}\"]\nallow_users = [\"bob\"]\n",
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
    // X-Original-URL (nginx style) works too.
    let r = http
        .get(gw.url("/oauth2/auth"))
        .header("X-Original-URL", "http://other.test/x")
        .header("Cookie", &alice)
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
    // From an untrusted peer, X-Forwarded-Host cannot pick a route (here: one alice may not use)
    // — only "is this a signed-in user" is answered.
    let r = http
        .get(gw.url("/oauth2/auth"))
        .header("X-Forwarded-Host", "other.test")
        .header("Cookie", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r = http
        .get(gw.url("/oauth2/auth"))
        .header("X-Forwarded-Host", "other.test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

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

fn nginx(authgate: u16, upstream: std::net::SocketAddr) -> Nginx {
    let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nginx is required (apt-get install nginx-light); scripts/test installs it");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = dir.path().display();
    let conf = format!(
        r#"
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  server {{
    listen 127.0.0.1:{port};

    location = /oauth2/auth {{
      internal;
      proxy_pass http://127.0.0.1:{authgate};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host 127.0.0.1:{authgate};
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Uri $request_uri;
      proxy_set_header X-Forwarded-Method $request_method;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}

    location /.authgate/ {{
      proxy_pass http://127.0.0.1:{authgate};
      proxy_redirect off;
      proxy_set_header Host $http_host;
    }}

    location / {{
      auth_request /oauth2/auth;
      auth_request_set $ag_user $upstream_http_x_forwarded_user;
      auth_request_set $ag_groups $upstream_http_x_forwarded_groups;
      auth_request_set $ag_assertion $upstream_http_x_authgate_assertion;
      proxy_set_header X-Forwarded-User $ag_user;
      proxy_set_header X-Forwarded-Groups $ag_groups;
      proxy_set_header X-Authgate-Assertion $ag_assertion;
      proxy_pass http://{upstream};
      error_page 401 = @signin;
    }}

    location @signin {{
      return 302 /.authgate/start?rd=$request_uri;
    }}
  }}
}}
"#
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&path)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
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

/// Caddy with the README's `forward_auth` snippet.
fn caddy(authgate: u16, upstream: std::net::SocketAddr) -> Caddy {
    let bin = ["/usr/bin/caddy", "/usr/local/bin/caddy"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("caddy is required (apt-get install caddy); scripts/test installs it");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = format!(
        r#"{{
  admin off
  auto_https off
}}
http://app.test:{port}, http://other.test:{port} {{
  handle /.authgate/* {{
    reverse_proxy 127.0.0.1:{authgate}
  }}
  handle {{
    forward_auth 127.0.0.1:{authgate} {{
      uri /oauth2/auth
      header_up Host 127.0.0.1:{authgate}
      copy_headers X-Forwarded-User X-Forwarded-Email X-Forwarded-Groups X-Authgate-Assertion
      @unauthorized status 401
      handle_response @unauthorized {{
        redir * /.authgate/start?rd={{uri}}
      }}
    }}
    reverse_proxy {upstream}
  }}
}}
"#
    );
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
