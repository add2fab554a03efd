//! Ending people's access now: `authgate sessions list|revoke` against a running gateway
//! through its admin socket (memory store and Redis), the account page's own session list,
//! and a user disabled by a SIGHUP reload. Revocation ends the provider session, its app
//! sessions and the grants given in it: access and refresh tokens stop working.

mod common;

use common::oidc::*;
use common::*;

fn routes(up: std::net::SocketAddr) -> String {
    format!("[[routes]]\nhost = \"app.test\"\nupstreams = [\"{up}\"]\n")
}

/// `authgate sessions ARGS` against `gw`.
fn sessions_cli(gw: &Gateway, args: &[&str]) -> (i32, String, String) {
    gw.cli(&[&["sessions"], args].concat())
}

/// alice signed in at the app (a browser) and at `wiki` (its tokens, with a refresh token).
struct Alice {
    browser: reqwest::Client,
    access: String,
    refresh: String,
}

async fn alice(gw: &Gateway) -> Alice {
    let browser = browser(gw);
    let (_, r) = browse(
        &browser,
        gw,
        &format!("http://app.test:{}/", gw.port),
        "alice",
        ALICE_PW,
    )
    .await;
    assert_eq!(r.status(), 200);
    let back = browser
        .get(gw.url(&format!(
            "/oauth2/authorize?client_id=wiki&response_type=code&scope=openid%20offline_access&redirect_uri={}&nonce=n",
            enc("https://wiki.test/cb")
        )))
        .send()
        .await
        .unwrap();
    let code = param(&location(&back), "code").expect("a code from the live session");
    let tokens: serde_json::Value = wiki_tokens(gw, &code).await;
    Alice {
        browser,
        access: tokens["access_token"].as_str().unwrap().to_string(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_string(),
    }
}

/// Whether every credential alice holds is refused now.
async fn assert_cut_off(gw: &Gateway, a: &Alice) {
    let r = a
        .browser
        .get(format!("http://app.test:{}/", gw.port))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the app session ended");
    let r = client(gw)
        .get(gw.url("/oauth2/userinfo"))
        .bearer_auth(&a.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the access token is dead");
    let r = client(gw)
        .post(gw.url("/oauth2/token"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", a.refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "the refresh token is dead");
}

async fn list_and_revoke_user(gw: &Gateway) {
    let a = alice(gw).await;
    signed_in_as(gw, "bob", BOB_PW).await;
    let (code, out, err) = sessions_cli(gw, &["list"]);
    assert_eq!(code, 0, "{err}");
    let alice_line = out.lines().find(|l| l.contains("\talice\t")).expect(&out);
    assert!(
        alice_line.contains("127.0.0.1"),
        "the address: {alice_line}"
    );
    assert!(
        alice_line.ends_with("\twiki"),
        "the relying party: {alice_line}"
    );
    assert!(out.contains("\tbob\t"));

    let (code, out, _) = sessions_cli(gw, &["revoke", "--user", "alice"]);
    assert_eq!((code, out.trim()), (0, "ended 1 session(s)"));
    assert_cut_off(gw, &a).await;
    let (_, out, _) = sessions_cli(gw, &["list"]);
    assert!(
        !out.contains("\talice\t") && out.contains("\tbob\t"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_lists_and_revokes_a_user_with_the_memory_store() {
    let up = Upstream::start("app").await;
    let gw = provider(&routes(up.addr));
    let socket = std::fs::metadata(gw.dir.path().join("authgate.sock")).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(&socket.permissions());
    assert_eq!(
        mode & 0o777,
        0o600,
        "only the service user reaches the admin socket"
    );
    list_and_revoke_user(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_lists_and_revokes_a_user_with_redis() {
    let redis = Redis::start();
    let up = Upstream::start("app").await;
    let gw = provider(&format!(
        "[session]\nstore = \"redis\"\nredis_url = \"{}\"\n{}",
        redis.url(),
        routes(up.addr)
    ));
    list_and_revoke_user(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_revokes_one_session_by_its_id_and_says_so_for_a_bad_one() {
    let up = Upstream::start("app").await;
    let gw = provider(&routes(up.addr));
    let first = alice(&gw).await;
    let (second, _) = signed_in_as(&gw, "alice", ALICE_PW).await;
    let (_, out, _) = sessions_cli(&gw, &["list", "--user", "alice"]);
    let ids: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{out}");
    let with_wiki = out.lines().find(|l| l.ends_with("\twiki")).unwrap();
    let id = with_wiki.split('\t').next().unwrap();
    let (code, out, _) = sessions_cli(&gw, &["revoke", "--session", id]);
    assert_eq!((code, out.trim()), (0, "ended 1 session(s)"));
    assert_cut_off(&gw, &first).await;
    let r = second.get(gw.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the other session lives on");
    let (_, out, _) = sessions_cli(&gw, &["revoke", "--session", "-no-such-session"]);
    assert_eq!(out.trim(), "ended 0 session(s)");
    let (code, _, err) = sessions_cli(&gw, &["revoke"]);
    assert_ne!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn account_page_lists_own_sessions_and_ends_another() {
    let up = Upstream::start("app").await;
    let gw = provider(&routes(up.addr));
    let first = alice(&gw).await;
    let (here, _) = signed_in_as(&gw, "alice", ALICE_PW).await;
    let page = here
        .get(gw.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("this browser"), "{page}");
    assert!(
        page.contains("<td>wiki</td>"),
        "the other session's relying party"
    );
    assert!(page.contains("<td>127.0.0.1</td>"));
    let other = page
        .split("name=\"session\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a sign-out button for the other session")
        .to_string();
    let r = account_action(&here, &gw, "end-session", &[("session", other.as_str())]).await;
    assert!(r.text().await.unwrap().contains("Session signed out."));
    assert_cut_off(&gw, &first).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_disabled_by_a_reload_is_cut_off_at_once() {
    let up = Upstream::start("app").await;
    let gw = provider(&routes(up.addr));
    let a = alice(&gw).await;
    let cfg = std::fs::read_to_string(gw.config_file()).unwrap();
    let cfg = cfg.replacen(
        "username = \"alice\"\n",
        "username = \"alice\"\ndisabled = true\n",
        1,
    );
    std::fs::write(gw.config_file(), cfg).unwrap();
    gw.signal("HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !gw
        .stderr()
        .contains("alice is disabled or removed: ended 1 session(s)")
    {
        assert!(std::time::Instant::now() < deadline, "{}", gw.stderr());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_cut_off(&gw, &a).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lockout_ends_the_users_sessions_when_configured() {
    let up = Upstream::start("app").await;
    let gw = provider(&format!(
        "[login]\nlockout_ends_sessions = true\n{}",
        routes(up.addr)
    ));
    let a = alice(&gw).await;
    for _ in 0..5 {
        assert_eq!(login_attempt(&gw, "alice", "wrong").await, 401);
    }
    assert_cut_off(&gw, &a).await;
}

/// With `lockout_ends_sessions`, wrong app passwords lock the user out of signing in but do
/// not end her sessions: a client with a stale app password must not sign its owner out.
#[tokio::test(flavor = "multi_thread")]
async fn a_lockout_by_wrong_app_passwords_does_not_end_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&format!(
        "[login]\nlockout_ends_sessions = true\n\n[storage]\nurl = \"sqlite://{d}/authgate.db\"\n\
         encryption_key_file = \"{d}/storage.key\"\ncreate_key_if_missing = true\n\n{}\
         [[routes]]\nhost = \"dav.test\"\nupstreams = [\"{up}\"]\napp_passwords = true\n",
        routes(up.addr),
        d = dir.path().display(),
        up = up.addr,
    ));
    let a = alice(&gw).await;
    let dav = client_builder(&gw)
        .resolve("dav.test", gw.addr())
        .build()
        .unwrap();
    for _ in 0..5 {
        let r = dav
            .get(format!("http://dav.test:{}/", gw.port))
            .basic_auth("alice", Some("not-an-app-password"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    assert_eq!(
        login_attempt(&gw, "alice", ALICE_PW).await,
        429,
        "alice is locked out of signing in"
    );
    let r = a
        .browser
        .get(format!("http://app.test:{}/", gw.port))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "her session goes on");
}
