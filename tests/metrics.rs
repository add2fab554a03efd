//! `/metrics` on `metrics_listen` shows the counters moving; the access log has one line per
//! request and never a secret.

mod common;

use common::oidc::*;
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn metrics_move_after_a_sign_in_and_access_log_has_no_secrets() {
    let up = Upstream::start("app").await;
    let (port, mport) = (free_port(), free_port());
    let gw = Gateway::start_on(
        port,
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\npublic_url = \"http://127.0.0.1:{port}\"\nmetrics_listen = \"127.0.0.1:{mport}\"\n[tokens]\nsigning_key_file = \"{{dir}}/k.pem\"\ncreate_key_if_missing = true\n{}\n[[routes]]\nhost = \"app.test\"\nupstreams = [\"{}\"]\n",
            identities(),
            up.addr
        ),
    );
    let before = metrics(mport).await;
    assert_eq!(
        metric(&before, "authgate_sign_ins_total{result=\"ok\"}"),
        0.0
    );

    let http = browser(&gw);
    let (_, r) = browse(
        &http,
        &gw,
        &format!("http://app.test:{port}/x"),
        "alice",
        ALICE_PW,
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = http.get(gw.url("/oauth2/authorize?client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.test%2Fcb&response_type=code&scope=openid")).send().await.unwrap();
    let code = param(&location(&r), "code").unwrap();
    let t = client(&gw)
        .post(gw.url("/oauth2/token"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://wiki.test/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(t.status(), 200);

    let after = metrics(mport).await;
    assert_eq!(
        metric(&after, "authgate_sign_ins_total{result=\"ok\"}"),
        1.0,
        "{after}"
    );
    assert_eq!(
        metric(
            &after,
            "authgate_tokens_issued_total{grant=\"authorization_code\"}"
        ),
        1.0
    );
    assert!(
        metric(&after, "authgate_active_sessions") >= 2.0,
        "provider + app session"
    );
    assert!(
        metric(
            &after,
            "authgate_requests_total{route=\"app.test/\",status=\"200\"}"
        ) >= 1.0,
        "{after}"
    );
    assert!(
        metric(
            &after,
            "authgate_upstream_seconds_count{route=\"app.test/\"}"
        ) >= 1.0
    );

    let cookie = http
        .get(format!("http://app.test:{port}/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie.status(), 200);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let log = gw.stderr();
    assert!(
        log.lines().any(|l| l.contains("route=app.test/")
            && l.contains("status=200")
            && l.contains("user=alice")),
        "{log}"
    );
    assert!(
        !log.contains(ALICE_PW) && !log.contains(WIKI_SECRET) && !log.contains(&code),
        "secrets in the log"
    );
}
