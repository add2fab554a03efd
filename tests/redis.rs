//! The Redis store against a real redis-server: the store contract, two authgate instances
//! acting as one, and failing closed while Redis is away.

mod common;

use std::sync::Arc;
use std::time::Duration;

use authgate::session::redis::RedisStore;
use authgate::session::{Key, Kind, Store};
use common::oidc::*;
use common::*;

fn k(name: &str) -> Key {
    Key::id(Kind::Probe, name)
}

#[tokio::test(flavor = "multi_thread")]
async fn store_contract_against_redis() {
    let redis = Redis::start();
    let s = RedisStore::open(&redis.url(), "test:").unwrap();
    s.put(&k("a"), b"1".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(s.get(&k("a")).await.unwrap(), Some(b"1".to_vec()));
    assert_eq!(s.take(&k("a")).await.unwrap(), Some(b"1".to_vec()));
    assert_eq!(s.take(&k("a")).await.unwrap(), None, "taken at most once");
    assert_eq!(
        s.incr(&k("c"), Duration::from_millis(300)).await.unwrap(),
        1
    );
    assert_eq!(s.incr(&k("c"), Duration::from_secs(60)).await.unwrap(), 2);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        s.incr(&k("c"), Duration::from_secs(60)).await.unwrap(),
        1,
        "the TTL set at creation expired the counter"
    );
    s.put(&k("e"), b"x".to_vec(), Duration::from_millis(100))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(s.get(&k("e")).await.unwrap(), None, "expired");
    s.put(&k("d"), b"x".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    s.delete(&k("d")).await.unwrap();
    assert_eq!(s.get(&k("d")).await.unwrap(), None);
    let other = RedisStore::open(&redis.url(), "other:").unwrap();
    s.put(&k("k"), b"mine".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        other.get(&k("k")).await.unwrap(),
        None,
        "prefixes keep deployments apart"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn take_is_atomic_across_connections() {
    let redis = Redis::start();
    let seed = RedisStore::open(&redis.url(), "t:").unwrap();
    seed.put(&k("code"), b"v".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = Arc::new(RedisStore::open(&redis.url(), "t:").unwrap());
        tasks.push(tokio::spawn(async move {
            s.take(&k("code")).await.unwrap().is_some()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
}

/// Two instances sharing Redis and a signing key, behind one public URL (instance A's).
fn pair(redis: &Redis, up: std::net::SocketAddr, extra: &str) -> (Gateway, Gateway) {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("shared.pem");
    run_cli(&["gen-key", "--out", key.to_str().unwrap()], None);
    let (pa, pb) = (free_port(), free_port());
    let config = |port: u16| {
        format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\npublic_url = \"http://127.0.0.1:{pa}\"\n[session]\nstore = \"redis\"\nredis_url = \"{}\"\n[tokens]\nsigning_key_file = \"{}\"\n{extra}\n{}\n[[routes]]\nhost = \"app.test\"\nupstreams = [\"{up}\"]\n[[routes]]\nhost = \"public.test\"\nupstreams = [\"{up}\"]\nauth = \"public\"\n",
            redis.url(),
            key.display(),
            identities()
        )
    };
    let a = Gateway::start_on(pa, &config(pa));
    let b = Gateway::start_on(pb, &config(pb));
    std::mem::forget(keys);
    (a, b)
}

fn at(port: u16, host: &str, path: &str) -> String {
    format!("http://{host}:{port}{path}")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_sessions_codes_and_logout() {
    let redis = Redis::start();
    let up = Upstream::start("app").await;
    let (a, b) = pair(&redis, up.addr, "");
    let http = browser(&a);
    // Sign in through A.
    let (_, r) = browse(&http, &a, &at(a.port, "app.test", "/x"), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 200);
    // The cookie jar sends app.test's cookie to any port: to B as well.
    let e: Echo = http
        .get(at(b.port, "app.test", "/y"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        e.header("x-forwarded-user"),
        Some("alice"),
        "the session made on A works on B"
    );

    // A code issued by A is redeemed at B.
    let r = http.get(a.url("/oauth2/authorize?client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.test%2Fcb&response_type=code&scope=openid")).send().await.unwrap();
    let code = param(&location(&r), "code").expect("code from A");
    let t: serde_json::Value = wiki_tokens(&b, &code).await;
    assert!(t["access_token"].is_string(), "{t}");
    // ... and only once, whichever instance is asked.
    let again = client(&a)
        .post(a.url("/oauth2/token"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://wiki.test/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);

    // Log out on A: B refuses within a second.
    http.get(at(a.port, "app.test", "/.authgate/logout"))
        .send()
        .await
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        let r = http
            .get(at(b.port, "app.test", "/y"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        if r.status() == 401 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "B still accepts the session after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn regulation_is_counted_across_instances() {
    let redis = Redis::start();
    let up = Upstream::start("app").await;
    let (a, b) = pair(&redis, up.addr, "[login]\nmax_failures = 3\n");
    let fail = |gw: &Gateway, pw: &'static str| {
        let http = browser(gw);
        let url = gw.url("/login");
        let gw_port = gw.port;
        async move {
            let r = http.get(&url).send().await.unwrap();
            // The login URL names the shared public URL (A); ask this instance for it.
            let mut login = url::Url::parse(&location(&r)).unwrap();
            login.set_port(Some(gw_port)).unwrap();
            let page = http.get(login).send().await.unwrap().text().await.unwrap();
            login_post(&http, &url, &page, "alice", pw)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(fail(&a, "x").await, 401);
    assert_eq!(fail(&b, "x").await, 401);
    assert_eq!(fail(&a, "x").await, 401);
    assert_eq!(
        fail(&b, ALICE_PW).await,
        429,
        "three failures across A and B lock alice on B"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_down_fails_closed_and_recovers_by_itself() {
    let mut redis = Redis::start();
    let up = Upstream::start("app").await;
    let (a, _b) = pair(&redis, up.addr, "");
    let http = browser(&a);
    browse(&http, &a, &at(a.port, "app.test", "/"), "alice", ALICE_PW).await;
    assert_eq!(
        http.get(at(a.port, "app.test", "/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    redis.kill();
    let r = http
        .get(at(a.port, "app.test", "/"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "protected routes fail closed");
    let r = http
        .get(at(a.port, "app.test", "/"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("unavailable"));
    assert_eq!(
        client(&a)
            .get(at(a.port, "public.test", "/"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "public routes keep working"
    );
    assert_eq!(
        client(&a)
            .get(a.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    let r = http.get(a.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 503, "logins fail cleanly");
    // What relying parties are told never carries the store's own words.
    let r = client(&a)
        .post(a.url("/oauth2/token"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "some-code"),
            ("redirect_uri", "https://wiki.test/cb"),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    let said = body["error_description"].as_str().unwrap().to_lowercase();
    for internal in ["redis", "refused", "127.0.0.1", "connection", "io error"] {
        assert!(!said.contains(internal), "{said}");
    }

    redis.restart();
    // No restart of authgate: the next requests reconnect. (This Redis kept no data, so the
    // old session is gone: the user is asked to sign in, and can.)
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = client(&a).get(a.url("/readyz")).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "authgate did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, r) = browse(
        &http,
        &a,
        &at(a.port, "app.test", "/back"),
        "alice",
        ALICE_PW,
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_survive_a_reload_with_redis() {
    use std::process::Command;
    let redis = Redis::start();
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("authgate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\npublic_url = \"http://127.0.0.1:{port}\"\n[session]\nstore = \"redis\"\nredis_url = \"{}\"\n[tokens]\nsigning_key_file = \"{}/k.pem\"\ncreate_key_if_missing = true\n{}\n[[routes]]\nhost = \"app.test\"\nupstreams = [\"{}\"]\n",
            redis.url(),
            dir.path().display(),
            identities(),
            up.addr
        ),
    )
    .unwrap();
    let spawn = |upgrade: bool| spawn_upgradable(&cfg, dir.path(), upgrade);
    let mut old = spawn(false);
    wait_for_port(port, "authgate", String::new);
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .resolve("app.test", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let gw_url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let r = http.get(gw_url("/login")).send().await.unwrap();
    let page = http
        .get(location(&r))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = login_post(&http, gw_url("/login"), &page, "alice", ALICE_PW)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = session_pair(&r);
    let app = format!("http://app.test:{port}/x");
    assert_eq!(client_get(&app, &cookie).await, 200);

    let mut new = spawn(true);
    assert!(Command::new("kill")
        .arg("-QUIT")
        .arg(old.id().to_string())
        .status()
        .unwrap()
        .success());
    tokio::task::spawn_blocking(move || old.wait())
        .await
        .unwrap()
        .unwrap();
    // Only the new process is left; the session made by the old one still works.
    assert_eq!(client_get(&app, &cookie).await, 200);
    let _ = new.kill();
    let _ = new.wait();
}

async fn client_get(url: &str, cookie: &str) -> u16 {
    let port = url::Url::parse(url).unwrap().port().unwrap();
    reqwest::Client::builder()
        .resolve("app.test", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap()
        .get(url)
        .header("Cookie", cookie)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
