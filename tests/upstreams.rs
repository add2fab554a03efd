//! The legacy estate as it is: https upstreams verified against a CA the test makes with
//! `openssl`, mTLS towards an nginx that asks for a client certificate, a route under a
//! sub-path of an app that redirects to its own absolute URLs, body limits, HTTP/2 by ALPN on a
//! TLS listener (`curl --http2`), and gRPC through authgate (Python `grpcio`, h2c).

mod common;

use std::path::Path;
use std::process::Command;

use common::ldap::{make_certs, run};
use common::nginx::Nginx;
use common::*;

/// A client certificate for `CN=authgate-gateway`, signed by the test CA in `dir`.
fn make_client_cert(dir: &Path) {
    let p = |f: &str| dir.join(f).display().to_string();
    run(Command::new("openssl").args([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=authgate-gateway",
        "-keyout",
        &p("client.key"),
        "-out",
        &p("client.csr"),
    ]));
    std::fs::write(dir.join("client.cnf"), "extendedKeyUsage=clientAuth\n").unwrap();
    run(Command::new("openssl").args([
        "x509",
        "-req",
        "-days",
        "2",
        "-CAcreateserial",
        "-in",
        &p("client.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-out",
        &p("client.pem"),
        "-extfile",
        &p("client.cnf"),
    ]));
}

/// nginx over TLS with the test CA's certificate for 127.0.0.1; with `mtls` it asks for a
/// client certificate from the same CA.
fn tls_nginx(certs: &Path, mtls: bool) -> Nginx {
    let port = free_port();
    let c = certs.display();
    let verify = if mtls {
        format!("ssl_verify_client on;\n    ssl_client_certificate {c}/ca.pem;")
    } else {
        String::new()
    };
    Nginx::start(
        port,
        tempfile::tempdir().unwrap(),
        &format!(
            "  server {{\n    listen 127.0.0.1:{port} ssl;\n    ssl_certificate {c}/server.pem;\n    \
             ssl_certificate_key {c}/server.key;\n    {verify}\n    \
             location / {{ return 200 \"tls upstream host=$http_host client=$ssl_client_s_dn\\n\"; }}\n  }}"
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_upstream_is_verified_and_a_wrong_ca_gets_a_502_naming_the_route() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let other = tempfile::tempdir().unwrap();
    make_certs(other.path());
    let ng = tls_nginx(certs.path(), false);
    let up = format!("https://127.0.0.1:{}", ng.port);
    let (good, bad) = (certs.path().join("ca.pem"), other.path().join("ca.pem"));
    let gw = Gateway::start(&format!(
        "[[routes]]\nhost = \"tls.test\"\nauth = \"public\"\nupstreams = [\"{up}\"]\n\
         upstream_tls_ca_file = \"{}\"\n\n\
         [[routes]]\nhost = \"wrong.test\"\nauth = \"public\"\nupstreams = [\"{up}\"]\n\
         upstream_tls_ca_file = \"{}\"\n",
        good.display(),
        bad.display()
    ));
    let http = client(&gw);
    let r = http
        .get(format!("http://tls.test:{}/x", gw.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .starts_with("tls upstream host=tls.test"));
    // The same backend, pooled under the first route's CA: never reused by the second.
    for _ in 0..2 {
        let r = http
            .get(format!("http://wrong.test:{}/x", gw.port))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 502);
        let page = r.text().await.unwrap();
        assert!(page.contains("route wrong.test/"), "{page}");
    }
    assert!(
        gw.stderr().contains("the upstream's TLS was refused"),
        "{}",
        gw.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_mtls_upstream_opens_only_with_the_client_certificate() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    make_client_cert(certs.path());
    let ng = tls_nginx(certs.path(), true);
    let up = format!("https://127.0.0.1:{}", ng.port);
    let c = certs.path().display();
    let gw = Gateway::start(&format!(
        "[[routes]]\nhost = \"mtls.test\"\nauth = \"public\"\nupstreams = [\"{up}\"]\n\
         upstream_tls_ca_file = \"{c}/ca.pem\"\nupstream_tls_client_cert = \"{c}/client.pem\"\n\
         upstream_tls_client_key = \"{c}/client.key\"\n\n\
         [[routes]]\nhost = \"nocert.test\"\nauth = \"public\"\nupstreams = [\"{up}\"]\n\
         upstream_tls_ca_file = \"{c}/ca.pem\"\n"
    ));
    let http = client(&gw);
    let r = http
        .get(format!("http://mtls.test:{}/", gw.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("client=CN=authgate-gateway"));
    let r = http
        .get(format!("http://nocert.test:{}/", gw.port))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        400,
        "nginx refuses a connection without a client certificate"
    );
}

#[test]
fn check_config_reports_tls_mistakes_with_their_key_paths() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    make_client_cert(certs.path());
    let c = certs.path().display();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("authgate.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = [\"127.0.0.1:1\"]\npublic_url = \"http://127.0.0.1:1\"\n\
             [tokens]\nsigning_key_file = \"{d}/s.pem\"\ncreate_key_if_missing = true\n\
             [[routes]]\nhost = \"a.test\"\nupstreams = [\"https://127.0.0.1:1\"]\n\
             upstream_tls_ca_file = \"/nonexistent/ca.pem\"\n\
             upstream_tls_client_cert = \"{c}/client.pem\"\nupstream_tls_client_key = \"{c}/server.key\"\n\
             [[routes]]\nhost = \"b.test\"\npath_prefix = \"/wiki\"\nstrip_prefix = \"/app\"\n\
             upstreams = [\"ftp://127.0.0.1:1\"]\nupstream_protocol = \"h3\"\n\
             [[routes]]\nhost = \"c.test\"\nupstreams = [\"127.0.0.1:1\"]\n\
             upstream_tls_insecure_skip_verify = true\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let (code, out, err) = run_cli(&["check-config", "--config", &path.to_string_lossy()], None);
    assert_eq!(code, 1);
    let all = format!("{out}{err}");
    let lab = dir.path().join("lab.toml");
    std::fs::write(
        &lab,
        format!(
            "[server]\nlisten = [\"127.0.0.1:1\"]\npublic_url = \"http://127.0.0.1:1\"\n\
             [tokens]\nsigning_key_file = \"{d}/s.pem\"\ncreate_key_if_missing = true\n\
             [[routes]]\nhost = \"lab.test\"\nupstreams = [\"https://127.0.0.1:1\"]\n\
             upstream_tls_insecure_skip_verify = true\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let (lab_code, _, lab_err) =
        run_cli(&["check-config", "--config", &lab.to_string_lossy()], None);
    assert_eq!(lab_code, 0, "{lab_err}");
    assert!(
        lab_err.contains("warning: routes[0].upstream_tls_insecure_skip_verify"),
        "{lab_err}"
    );
    for expected in [
        "routes[0].upstream_tls_ca_file: cannot read \"/nonexistent/ca.pem\"",
        "routes[0].upstream_tls_client_key: the key does not match upstream_tls_client_cert",
        "routes[1].strip_prefix: \"/app\" must be the route's path_prefix",
        "routes[1].upstreams[0]: \"ftp://127.0.0.1:1\": the scheme \"ftp\" is neither http nor https",
        "routes[1].upstream_protocol: \"h3\": expected",
        "routes[2].upstreams: upstream_tls_* apply to https:// upstreams",
    ] {
        assert!(all.contains(expected), "{expected:?} not in:\n{all}");
    }
}

/// An app that believes it lives at `http://legacy.test/`: it redirects to its own absolute
/// URLs and scopes its cookie to its own host and root path.
fn legacy_app() -> Nginx {
    let port = free_port();
    Nginx::start(
        port,
        tempfile::tempdir().unwrap(),
        &format!(
            "  server {{\n    listen 127.0.0.1:{port};\n    \
             location = /login {{\n      add_header Set-Cookie \"sid=1; Path=/; Domain=legacy.test\";\n      \
             return 302 http://legacy.test/home;\n    }}\n    \
             location / {{ return 200 \"host=$http_host uri=$request_uri env=$http_x_env\\n\"; }}\n  }}"
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_under_a_sub_path_keeps_its_own_host_and_urls() {
    let ng = legacy_app();
    let gw = Gateway::start(&format!(
        "[[routes]]\nhost = \"app.test\"\npath_prefix = \"/wiki\"\nauth = \"public\"\n\
         upstreams = [\"http://127.0.0.1:{}\"]\nstrip_prefix = \"/wiki\"\n\
         upstream_host = \"legacy.test\"\nrewrite_redirects = true\n\
         request_headers = {{ \"X-Env\" = \"prod\" }}\nresponse_headers_remove = [\"Server\"]\n\
         max_body_size = \"1k\"\n",
        ng.port
    ));
    let http = client(&gw);
    let base = format!("http://app.test:{}", gw.port);
    let r = http
        .get(format!("{base}/wiki/home?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("server").is_none(), "{:?}", r.headers());
    assert_eq!(
        r.text().await.unwrap(),
        "host=legacy.test uri=/home?x=1 env=prod\n"
    );
    let r = http.get(format!("{base}/wiki/login")).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{base}/wiki/home")
    );
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("Path=/wiki/") && !cookie.contains("Domain"),
        "{cookie}"
    );
    // Bodies over max_body_size: 413, declared or streamed.
    let big = vec![b'x'; 4096];
    let r = http
        .post(format!("{base}/wiki/form"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &big).unwrap();
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            "Transfer-Encoding: chunked",
        ])
        .args(["-H", "Host: app.test", "--data-binary"])
        .arg(format!("@{}", file.path().display()))
        .arg(format!("http://127.0.0.1:{}/wiki/form", gw.port))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "413", "streamed");
}

const PYTHON: &str = "/usr/bin/python3";

/// The Python gRPC service, and its port.
struct GrpcService(std::process::Child, u16);

impl Drop for GrpcService {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn grpc_service() -> GrpcService {
    use std::io::BufRead;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/grpc/server.py");
    let mut child = Command::new(PYTHON)
        .arg(script)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with grpcio (apt-get install python3-grpcio); scripts/test installs it");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the gRPC service's port");
    GrpcService(child, port)
}

fn grpc_call(gw: &Gateway, token: Option<&str>) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/grpc/client.py");
    let out = Command::new(PYTHON)
        .arg(script)
        .arg(format!("127.0.0.1:{}", gw.port))
        .arg("app.test")
        .args(token)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_calls_pass_with_a_bearer_token_and_get_unauthenticated_without() {
    let service = grpc_service();
    let secret = authgate::oidc::client_auth::hash_secret("robot-secret");
    let gw = Gateway::start(&format!(
        "[[clients]]\nclient_id = \"robot\"\nclient_secret_sha256 = \"{secret}\"\n\
         grant_types = [\"client_credentials\"]\ngroups = [\"robots\"]\n\n\
         [[clients]]\nclient_id = \"visitor\"\nclient_secret_sha256 = \"{secret}\"\n\
         grant_types = [\"client_credentials\"]\n\n\
         [[routes]]\nhost = \"app.test\"\nupstreams = [\"http://127.0.0.1:{}\"]\n\
         upstream_protocol = \"h2c\"\nbearer_clients = [\"robot\", \"visitor\"]\n\
         allow_groups = [\"robots\"]\n",
        service.1
    ));
    let token_of = |id: &'static str| {
        let http = client(&gw);
        let url = gw.url("/oauth2/token");
        async move {
            let t: serde_json::Value = http
                .post(url)
                .basic_auth(id, Some("robot-secret"))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            t["access_token"].as_str().unwrap().to_string()
        }
    };
    let token = token_of("robot").await;
    assert_eq!(
        grpc_call(&gw, Some(&token)),
        "ok hello world user=robot 0,1,2"
    );
    // Signed in, but the route's policy refuses the caller.
    let visitor = token_of("visitor").await;
    assert_eq!(grpc_call(&gw, Some(&visitor)), "error PERMISSION_DENIED");
    assert_eq!(grpc_call(&gw, None), "error UNAUTHENTICATED");
    assert_eq!(grpc_call(&gw, Some("not-a-token")), "error UNAUTHENTICATED");
}

#[test]
fn a_tls_listener_offers_http2_and_keeps_http1() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let (port, tls) = (free_port(), free_port());
    let c = certs.path().display();
    let gw = Gateway::start_on(
        port,
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\npublic_url = \"http://127.0.0.1:{port}\"\n\
             tls_listen = [\"127.0.0.1:{tls}\"]\ntls_cert = \"{c}/server.pem\"\ntls_key = \"{c}/server.key\"\n\
             [tokens]\nsigning_key_file = \"{{dir}}/s.pem\"\ncreate_key_if_missing = true\n"
        ),
    );
    wait_for_port(tls, "the TLS listener", || gw.stderr());
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_version} %{http_code}",
                flag,
            ])
            .arg("--cacert")
            .arg(certs.path().join("ca.pem"))
            .arg(format!("https://127.0.0.1:{tls}/healthz"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{version} 200"),
            "{flag}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_websocket_upgrade_needs_a_session_and_gets_401_never_a_redirect() {
    use common::oidc::{browse, identities, ALICE_PW};
    use futures_util::{SinkExt, StreamExt};
    use reqwest::cookie::CookieStore;
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
    let ws = websocket_echo().await;
    let gw = Gateway::start(&format!(
        "{}\n[[routes]]\nhost = \"app.test\"\nupstreams = [\"{ws}\"]\n",
        identities()
    ));
    let url = format!("ws://app.test:{}/chat", gw.port);
    let connect = |cookie: Option<String>| {
        let mut req = url.as_str().into_client_request().unwrap();
        req.headers_mut()
            .insert("Accept", "text/html".parse().unwrap());
        if let Some(c) = cookie {
            req.headers_mut().insert("Cookie", c.parse().unwrap());
        }
        let stream = std::net::TcpStream::connect(gw.addr()).unwrap();
        stream.set_nonblocking(true).unwrap();
        let stream = tokio::net::TcpStream::from_std(stream).unwrap();
        tokio_tungstenite::client_async(req, stream)
    };
    match connect(None).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|(_, r)| r.status())),
    }
    // Signed in through the browser flow, the same upgrade passes.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = client_builder(&gw)
        .cookie_provider(std::sync::Arc::clone(&jar))
        .build()
        .unwrap();
    let page = format!("http://app.test:{}/", gw.port);
    browse(&http, &gw, &page, "alice", ALICE_PW).await;
    let cookie = jar.cookies(&page.parse().unwrap()).unwrap();
    let (mut sock, resp) = connect(Some(cookie.to_str().unwrap().to_string()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 101);
    sock.send(Message::text("ping")).await.unwrap();
    let back = sock.next().await.unwrap().unwrap();
    assert_eq!(back.into_text().unwrap().as_str(), "ping");
}

/// An upstream that answers server-sent events: the first at once, the second only when the
/// test says so.
async fn event_stream(second: tokio::sync::oneshot::Receiver<()>) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = s.read(&mut buf).await.unwrap();
        let chunk = |data: &str| format!("{:x}\r\n{data}\r\n", data.len());
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        s.write_all(format!("{head}{}", chunk("data: first\n\n")).as_bytes())
            .await
            .unwrap();
        let _ = second.await;
        s.write_all(format!("{}0\r\n\r\n", chunk("data: second\n\n")).as_bytes())
            .await
            .unwrap();
    });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn server_sent_events_reach_the_client_while_the_upstream_is_still_writing() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let up = event_stream(rx).await;
    let gw = Gateway::start(&format!(
        "[[routes]]\nhost = \"app.test\"\nauth = \"public\"\nupstreams = [\"{up}\"]\n"
    ));
    let mut r = client(&gw)
        .get(format!("http://app.test:{}/events", gw.port))
        .send()
        .await
        .unwrap();
    // The upstream has not finished: the first event must already be through.
    let first = r.chunk().await.unwrap().unwrap();
    assert_eq!(&first[..], b"data: first\n\n");
    tx.send(()).unwrap();
    let second = r.chunk().await.unwrap().unwrap();
    assert_eq!(&second[..], b"data: second\n\n");
}

/// `VmRSS` or `VmHWM` of `pid`, in bytes.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// An upstream that reads a whole request body (by its Content-Length), then answers how many
/// bytes it got.
async fn body_sink() -> std::net::SocketAddr {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut s = BufReader::new(s);
        let mut length = 0u64;
        loop {
            let mut line = String::new();
            s.read_line(&mut line).await.unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let got = tokio::io::copy(&mut (&mut s).take(length), &mut tokio::io::sink())
            .await
            .unwrap();
        let body = format!("stored {got}\n");
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        s.get_mut()
            .write_all(format!("{head}{body}").as_bytes())
            .await
            .unwrap();
    });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_gigabyte_upload_streams_through_in_little_memory() {
    let sink = body_sink().await;
    let gw = Gateway::start(&format!(
        "[[routes]]\nhost = \"app.test\"\nauth = \"public\"\nupstreams = [\"{sink}\"]\n"
    ));
    let file = tempfile::NamedTempFile::new().unwrap();
    file.as_file().set_len(1 << 30).unwrap();
    let before = memory(gw.pid(), "VmRSS:");
    let curl = tokio::process::Command::new("curl")
        .args(["-s", "-H", "Host: app.test", "-H", "Expect:", "-T"])
        .arg(file.path())
        .arg(format!("http://127.0.0.1:{}/upload", gw.port))
        .output()
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&curl.stdout), "stored 1073741824\n");
    let grown = memory(gw.pid(), "VmHWM:").saturating_sub(before);
    assert!(grown < 50 << 20, "the gateway grew by {} MB", grown >> 20);
}
