//! Automatic HTTPS against Debian's pebble: certificates by tls-alpn-01 and http-01, served by
//! SNI and verified against pebble's root, kept across restarts, renewed under a running
//! client, kept serving while the CA is down, and shared by two instances on one PostgreSQL.

mod common;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;

use common::pebble::{https_get, round_robin, wait_for_certificate, Pebble, Targets};
use common::{free_port, metric, metrics, Gateway, Upstream};

const DAY: u64 = 86_400;

struct Ports {
    plain: u16,
    tls: u16,
    metrics: u16,
}

impl Ports {
    fn new() -> Ports {
        Ports {
            plain: free_port(),
            tls: free_port(),
            metrics: free_port(),
        }
    }

    fn tls_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.tls))
    }
}

fn config(p: &Ports, pebble: &Pebble, acme: &str, upstream: SocketAddr, extra: &str) -> String {
    format!(
        "[server]\nlisten = [\"127.0.0.1:{plain}\"]\ntls_listen = [\"127.0.0.1:{tls}\"]\n\
         public_url = \"https://auth.test:{tls}\"\nmetrics_listen = \"127.0.0.1:{m}\"\nthreads = 2\n\
         [server.acme]\ndirectory_url = \"{dir}\"\ncontact = \"mailto:ops@example.com\"\n\
         ca_file = \"{ca}\"\n{acme}\n\
         [tokens]\nsigning_key_file = \"{{dir}}/signing.pem\"\ncreate_key_if_missing = true\n{extra}\n\
         [[routes]]\nhost = \"app.test\"\nauth = \"public\"\nupstreams = [\"{upstream}\"]\n",
        plain = p.plain,
        tls = p.tls,
        m = p.metrics,
        dir = pebble.directory(),
        ca = pebble.https_ca().display(),
    )
}

/// Pebble validating on `p`'s listeners, its certificates valid for 90 days.
fn pebble_for(p: &Ports) -> Pebble {
    Pebble::start(&Targets {
        http_port: p.plain,
        tls_port: p.tls,
        validity_seconds: 90 * DAY,
    })
}

fn mode(path: std::path::PathBuf) -> u32 {
    std::fs::metadata(&path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_alpn_01_certificates_are_served_by_name_and_kept_across_a_restart() {
    let up = Upstream::start("app").await;
    let p = Ports::new();
    let pebble = pebble_for(&p);
    let mut gw = Gateway::start_on(p.plain, &config(&p, &pebble, "", up.addr, ""));
    let root = pebble.issuing_root().await;
    let log = || format!("{}\n{}", gw.stderr(), pebble.log());
    let auth = wait_for_certificate(p.tls_addr(), "auth.test", &root, log);
    let app = wait_for_certificate(p.tls_addr(), "app.test", &root, log);
    assert_ne!(auth, app, "one certificate per name");

    let (status, text, _) = https_get(p.tls_addr(), "app.test", "/", &root).unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("app"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{text}"
    );
    let (status, text, _) = https_get(
        p.tls_addr(),
        "auth.test",
        "/.well-known/openid-configuration",
        &root,
    )
    .unwrap();
    assert_eq!(status, 200, "{text}");
    // A name with no certificate fails its handshake; the others are still served.
    assert!(https_get(p.tls_addr(), "other.test", "/", &root).is_err());
    assert!(https_get(p.tls_addr(), "auth.test", "/healthz", &root).is_ok());

    let m = metrics(p.metrics).await;
    assert_eq!(
        metric(&m, "authgate_acme_orders_total{result=\"issued\"}"),
        2.0,
        "{m}"
    );
    let expiry = metric(
        &m,
        "authgate_tls_certificate_expiry_seconds{host=\"auth.test\"}",
    );
    assert!(expiry > 1e9, "{m}");
    // One directory per CA under state_dir.
    let state = std::fs::read_dir(gw.dir.path().join("acme"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(mode(state.join("account.json")), 0o600);
    assert_eq!(mode(state.join("certificates/auth.test.key")), 0o600);
    assert_eq!(mode(state.join("certificates/auth.test.pem")), 0o600);

    // A restart serves the stored certificates and orders nothing.
    gw.stop();
    gw.restart();
    common::wait_for_port(p.tls, "the TLS listener", || gw.stderr());
    let (_, _, again) = https_get(p.tls_addr(), "auth.test", "/healthz", &root).unwrap();
    assert_eq!(again, auth, "the stored certificate is served at once");
    let m = metrics(p.metrics).await;
    assert_eq!(
        metric(&m, "authgate_acme_orders_total{result=\"issued\"}"),
        0.0,
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_01_certificates_and_plain_http_redirects_to_https() {
    let up = Upstream::start("app").await;
    let p = Ports::new();
    let pebble = pebble_for(&p);
    let gw = Gateway::start_on(
        p.plain,
        &config(
            &p,
            &pebble,
            "challenge = \"http-01\"\nhsts = \"\"",
            up.addr,
            "",
        ),
    );
    let root = pebble.issuing_root().await;
    let log = || format!("{}\n{}", gw.stderr(), pebble.log());
    wait_for_certificate(p.tls_addr(), "auth.test", &root, log);
    wait_for_certificate(p.tls_addr(), "app.test", &root, log);
    let (status, text, _) = https_get(p.tls_addr(), "app.test", "/", &root).unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(
        !text
            .to_ascii_lowercase()
            .contains("strict-transport-security"),
        "hsts = \"\": {text}"
    );

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve("app.test", SocketAddr::from(([127, 0, 0, 1], p.plain)))
        .build()
        .unwrap();
    let r = client
        .get(format!("http://app.test:{}/a/b?c=d", p.plain))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(
        r.headers()["location"],
        format!("https://app.test:{}/a/b?c=d", p.tls).as_str()
    );
    let r = client
        .get(format!(
            "http://app.test:{}/.well-known/acme-challenge/unknown",
            p.plain
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "an unknown challenge is not redirected");
}

#[tokio::test(flavor = "multi_thread")]
async fn renewal_swaps_the_certificate_under_a_running_client_and_a_stopped_ca_changes_nothing() {
    let up = Upstream::start("app").await;
    let p = Ports::new();
    let mut pebble = pebble_for(&p);
    let mut gw = Gateway::start_on(
        p.plain,
        &config(&p, &pebble, "renew_before = \"30d\"", up.addr, ""),
    );
    let root = pebble.issuing_root().await;
    let first = wait_for_certificate(p.tls_addr(), "app.test", &root, || gw.stderr());

    // A client keeps requesting, a new connection each time, while the clock passes the
    // renewal time (60 days into 90).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let (stop, root, addr) = (stop.clone(), root.clone(), p.tls_addr());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut failures = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match https_get(addr, "app.test", "/", &root) {
                    Ok((200, _, leaf)) => seen.push(leaf),
                    Ok((status, text, _)) => failures.push(format!("{status}: {text}")),
                    Err(e) => failures.push(e),
                }
            }
            (seen, failures)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    gw.advance_clock(61 * DAY);
    let renewed = loop {
        let (_, _, leaf) = https_get(p.tls_addr(), "app.test", "/healthz", &root).unwrap();
        if leaf != first {
            break leaf;
        }
        assert!(gw.stderr().len() < 1_000_000);
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (seen, failures) = client.join().unwrap();
    assert!(
        failures.is_empty(),
        "failed requests during renewal: {failures:?}"
    );
    assert!(
        seen.contains(&first) && seen.contains(&renewed),
        "the client saw the swap"
    );
    let m = metrics(p.metrics).await;
    assert_eq!(
        metric(&m, "authgate_acme_orders_total{result=\"issued\"}"),
        4.0,
        "{m}"
    );

    // The CA goes away; the next renewal fails, visibly, and the certificate keeps serving,
    // across a restart too.
    pebble.stop();
    gw.advance_clock(61 * DAY);
    gw.stop();
    gw.restart();
    common::wait_for_port(p.tls, "the TLS listener", || gw.stderr());
    let (status, _, leaf) = https_get(p.tls_addr(), "app.test", "/", &root).unwrap();
    assert_eq!((status, &leaf), (200, &renewed));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let m = metrics(p.metrics).await;
        if metric(&m, "authgate_acme_orders_total{result=\"failed\"}") >= 1.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no failed order counted:\n{m}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        gw.stderr().contains("no certificate this time"),
        "{}",
        gw.stderr()
    );
    let (status, _, leaf) = https_get(p.tls_addr(), "app.test", "/", &root).unwrap();
    assert_eq!((status, &leaf), (200, &renewed));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_one_postgresql_order_once_and_serve_the_same_certificates() {
    let up = Upstream::start("app").await;
    let pg = common::postgres::Postgres::start();
    let (a, b) = (Ports::new(), Ports::new());
    // The CA reaches the instances through a TCP load balancer that alternates between them:
    // whichever instance orders, a validation may land on the other.
    let balanced_tls = round_robin(vec![a.tls_addr(), b.tls_addr()]);
    let pebble = Pebble::start(&Targets {
        http_port: free_port(),
        tls_port: balanced_tls,
        validity_seconds: 90 * DAY,
    });
    let key_dir = tempfile::tempdir().unwrap();
    let storage = format!(
        "[storage]\nurl = \"{}\"\nencryption_key_file = \"{}/storage.key\"\ncreate_key_if_missing = true\n",
        pg.url(),
        key_dir.path().display()
    );
    let ga = Gateway::start_on(a.plain, &config(&a, &pebble, "", up.addr, &storage));
    let gb = Gateway::start_on(b.plain, &config(&b, &pebble, "", up.addr, &storage));
    let root = pebble.issuing_root().await;
    let log = || format!("{}\n{}\n{}", ga.stderr(), gb.stderr(), pebble.log());
    for name in ["auth.test", "app.test"] {
        let from_a = wait_for_certificate(a.tls_addr(), name, &root, log);
        let from_b = wait_for_certificate(b.tls_addr(), name, &root, log);
        assert_eq!(
            from_a, from_b,
            "{name}: both instances serve the one certificate"
        );
    }
    let issued = |m: &str| metric(m, "authgate_acme_orders_total{result=\"issued\"}");
    let (ma, mb) = (metrics(a.metrics).await, metrics(b.metrics).await);
    assert_eq!(
        issued(&ma) + issued(&mb),
        2.0,
        "one order per name:\n{ma}\n{mb}"
    );
}
