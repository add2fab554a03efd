//! The reverse proxy against real upstreams: routing, balancing, health checks, failures,
//! forwarded headers, WebSocket, Expect: 100-continue.

mod common;

use std::time::Duration;

use common::*;

fn route(
    host: Option<&str>,
    prefix: &str,
    upstreams: &[std::net::SocketAddr],
    extra: &str,
) -> String {
    let ups: Vec<String> = upstreams.iter().map(|a| format!("\"{a}\"")).collect();
    let host = host
        .map(|h| format!("host = \"{h}\"\n"))
        .unwrap_or_default();
    format!("[[routes]]\n{host}path_prefix = \"{prefix}\"\nupstreams = [{}]\nauth = \"public\"\n{extra}\n", ups.join(", "))
}

async fn echo(c: &reqwest::Client, url: &str) -> Echo {
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn routes_by_canonical_host_and_longest_prefix() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let c = Upstream::start("c").await;
    let cfg = [
        route(Some("app.test"), "/", &[a.addr], ""),
        route(Some("app.test"), "/api", &[b.addr], ""),
        route(None, "/", &[c.addr], ""),
    ]
    .concat();
    let gw = Gateway::start(&cfg);
    let http = client(&gw);
    let port = gw.port;
    assert_eq!(
        echo(&http, &format!("http://app.test:{port}/x")).await.name,
        "a"
    );
    assert_eq!(
        echo(&http, &format!("http://app.test:{port}/api/v1"))
            .await
            .name,
        "b"
    );
    assert_eq!(
        echo(&http, &format!("http://app.test:{port}/apiary"))
            .await
            .name,
        "a"
    );
    assert_eq!(
        echo(&http, &format!("http://other.test:{port}/api"))
            .await
            .name,
        "c"
    );
    // Mixed case and a trailing dot are the same host.
    let r = http
        .get(gw.url("/api/x"))
        .header("Host", format!("APP.Test.:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Echo>().await.unwrap().name, "b");
    // The upstream receives the normalised path.
    let e = echo(
        &http,
        &format!("http://app.test:{port}/static/../api/./v1//x?q=1"),
    )
    .await;
    assert_eq!((e.name.as_str(), e.uri.as_str()), ("b", "/api/v1/x?q=1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn no_route_is_a_404_page() {
    let a = Upstream::start("a").await;
    let gw = Gateway::start(&route(Some("app.test"), "/", &[a.addr], ""));
    let http = client(&gw);
    let r = http
        .get(format!("http://other.test:{}/", gw.port))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("Not found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn round_robin_across_two_upstreams() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let gw = Gateway::start(&route(None, "/", &[a.addr, b.addr], ""));
    let http = client(&gw);
    let mut names = Vec::new();
    for _ in 0..6 {
        names.push(echo(&http, &gw.url("/")).await.name);
    }
    let a_count = names.iter().filter(|n| *n == "a").count();
    assert_eq!(a_count, 3, "{names:?}");
    assert!(
        names.windows(2).all(|w| w[0] != w[1]),
        "alternates: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_check_takes_a_backend_out_and_back() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let gw = Gateway::start(&route(
        None,
        "/",
        &[a.addr, b.addr],
        "health_check = \"/healthz\"\nhealth_check_interval = \"200ms\"",
    ));
    let http = client(&gw);
    b.healthy.store(false, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(800)).await;
    for _ in 0..6 {
        assert_eq!(echo(&http, &gw.url("/")).await.name, "a");
    }
    b.healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut names = Vec::new();
    for _ in 0..4 {
        names.push(echo(&http, &gw.url("/")).await.name);
    }
    assert!(names.contains(&"b".to_string()), "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_backend_is_skipped_and_all_down_is_502() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let gw = Gateway::start(&route(
        None,
        "/",
        &[a.addr, b.addr],
        "health_check = \"/healthz\"\nhealth_check_interval = \"200ms\"",
    ));
    let http = client(&gw);
    b.stop();
    tokio::time::sleep(Duration::from_millis(800)).await;
    for _ in 0..4 {
        assert_eq!(echo(&http, &gw.url("/")).await.name, "a");
    }
    a.stop();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let r = http
        .get(gw.url("/"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.text().await.unwrap().contains("Bad gateway"));
    // Still serving after that.
    let r = http.get(gw.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 502);
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_upstream_without_health_check_is_502() {
    let port = free_port();
    let gw = Gateway::start(&route(
        None,
        "/",
        &[std::net::SocketAddr::from(([127, 0, 0, 1], port))],
        "",
    ));
    let r = client(&gw).get(gw.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "bad_gateway");
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_upstream_is_504() {
    let a = Upstream::start("a").await;
    let gw = Gateway::start(&route(None, "/", &[a.addr], "read_timeout = \"300ms\""));
    let http = client(&gw);
    let r = http.get(gw.url("/sleep/2000")).send().await.unwrap();
    assert_eq!(r.status(), 504);
    assert_eq!(echo(&http, &gw.url("/sleep/10")).await.name, "a");
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_headers_from_untrusted_peer_are_replaced() {
    let a = Upstream::start("a").await;
    let gw = Gateway::start(&route(None, "/", &[a.addr], ""));
    let r = client(&gw)
        .get(gw.url("/"))
        .header("X-Forwarded-For", "6.6.6.6")
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "evil.example")
        .header("Forwarded", "for=6.6.6.6")
        .send()
        .await
        .unwrap();
    let e: Echo = r.json().await.unwrap();
    assert_eq!(e.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(e.header("x-forwarded-proto"), Some("http"));
    assert_eq!(
        e.header("x-forwarded-host"),
        Some(format!("127.0.0.1:{}", gw.port).as_str())
    );
    assert_eq!(e.header("forwarded"), None);
    assert_eq!(e.headers["x-forwarded-for"].len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_headers_from_trusted_proxy_are_kept() {
    let a = Upstream::start("a").await;
    let port = free_port();
    let gw = Gateway::start_on(
        port,
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{{port}}\"]\npublic_url = \"http://127.0.0.1:{{port}}\"\ntrusted_proxies = [\"127.0.0.0/8\"]\n[tokens]\nsigning_key_file = \"{{dir}}/k.pem\"\ncreate_key_if_missing = true\n{}",
            route(None, "/", &[a.addr], "")
        ),
    );
    let e: Echo = client(&gw)
        .get(gw.url("/"))
        .header("X-Forwarded-For", "203.0.113.7")
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "app.example.com")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e.header("x-forwarded-for"), Some("203.0.113.7, 127.0.0.1"));
    assert_eq!(e.header("x-forwarded-proto"), Some("https"));
    assert_eq!(e.header("x-forwarded-host"), Some("app.example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_upgrade_passes_through() {
    use futures_util::{SinkExt, StreamExt};
    let ws = websocket_echo().await;
    let gw = Gateway::start(&route(None, "/", &[ws], ""));
    let (mut sock, resp) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/chat", gw.port))
            .await
            .unwrap();
    assert_eq!(resp.status(), 101);
    sock.send(tokio_tungstenite::tungstenite::Message::text(
        "ping through authgate",
    ))
    .await
    .unwrap();
    let back = tokio::time::timeout(Duration::from_secs(5), sock.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(back.into_text().unwrap().as_str(), "ping through authgate");
}

#[tokio::test(flavor = "multi_thread")]
async fn expect_100_continue_does_not_stall() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let a = Upstream::start("a").await;
    let gw = Gateway::start(&route(None, "/", &[a.addr], ""));
    let mut s = tokio::net::TcpStream::connect(gw.addr()).await.unwrap();
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").await.unwrap();
    // A client that waits for 100 Continue must get it (or the final answer) promptly.
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf))
        .await
        .expect("stalled waiting for 100 Continue")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(
        head.starts_with("HTTP/1.1 100") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    s.write_all(b"hello").await.unwrap();
    let mut all = head;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !all.contains("\"name\":\"a\"") && std::time::Instant::now() < deadline {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            break;
        }
        all.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        all.contains("200 OK") && all.contains("\"name\":\"a\""),
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_alive_to_upstream_reuses_connections() {
    let a = Upstream::start("a").await;
    let gw = Gateway::start(&route(None, "/", &[a.addr], ""));
    let http = client(&gw);
    for _ in 0..20 {
        echo(&http, &gw.url("/")).await;
    }
    // Each of the two worker threads may open its own; beyond that, connections are reused.
    let conns = a.connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        conns <= 4,
        "20 sequential requests opened {conns} upstream connections"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_paths_are_refused_with_400() {
    let a = Upstream::start("a").await;
    let gw = Gateway::start(&route(None, "/", &[a.addr], ""));
    let http = client(&gw);
    for p in ["/a%2fb", "/a%5cb", "/a%00", "/x%zz", "/static/..;/admin"] {
        let r = http.get(gw.url(p)).send().await.unwrap();
        assert_eq!(r.status(), 400, "{p}");
    }
}
