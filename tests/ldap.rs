//! Directory users from a real OpenLDAP server (`slapd` started by the test): sign-in through
//! the proxy and through an OpenID relying party, groups from the directory, hostile usernames,
//! re-checks with the injected clock, the directory going away and coming back, LDAPS and
//! StartTLS with a generated CA.

mod common;

use common::ldap::*;
use common::oidc::*;
use common::*;

fn routes(up: std::net::SocketAddr) -> String {
    format!(
        "[[routes]]\nhost = \"app.test\"\nupstreams = [\"{up}\"]\nallow_groups = [\"staff\"]\n\n\
         [[routes]]\nhost = \"other.test\"\nupstreams = [\"{up}\"]\n"
    )
}

async fn setup(extra_ldap: &str) -> (Slapd, Upstream, Gateway) {
    let slapd = Slapd::start();
    let up = Upstream::start("app").await;
    let gw = provider(&format!(
        "{}\n{}",
        slapd.config(&slapd.url(), extra_ldap),
        routes(up.addr)
    ));
    (slapd, up, gw)
}

fn at(gw: &Gateway, host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", gw.port)
}

/// The status and body of a login POST as `user`.
async fn try_login(gw: &Gateway, user: &str, password: &str) -> (u16, String) {
    let http = browser(gw);
    let r = http.get(gw.url("/login")).send().await.unwrap();
    let page = http
        .get(location(&r))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = login_post(&http, gw.url("/login"), &page, user, password)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn ldap_user_signs_in_through_the_proxy_with_the_directory_groups() {
    let (_slapd, _up, gw) = setup("").await;
    let http = browser(&gw);
    let (_, r) = browse(&http, &gw, &at(&gw, "app.test", "/"), "dave", DAVE_PW).await;
    assert_eq!(r.status(), 200);
    let e: Echo = r.json().await.unwrap();
    assert_eq!(e.header("x-forwarded-user"), Some("dave"));
    assert_eq!(e.header("x-forwarded-email"), Some("dave@corp.test"));
    assert_eq!(e.header("x-forwarded-groups"), Some("ops,staff"));
    // erin is in no group: signed in, but app.test wants staff.
    let http = browser(&gw);
    let (_, r) = browse(&http, &gw, &at(&gw, "other.test", "/"), "erin", ERIN_PW).await;
    assert_eq!(r.status(), 200);
    let r = http
        .get(at(&gw, "app.test", "/"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    let r = http.get(location(&r)).send().await.unwrap();
    let r = http.get(location(&r)).send().await.unwrap();
    let r = http.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn ldap_user_signs_in_through_an_openid_relying_party() {
    use openidconnect::core::CoreAuthenticationFlow;
    use openidconnect::{
        AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, Scope, TokenResponse,
    };
    let (_slapd, _up, gw) = setup("").await;
    let (rp_http, client) = wiki_rp(&gw).await;
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("groups".into()))
        .url();
    let back = authorize_with_login(&browser(&gw), &gw, url.as_str(), "dave", DAVE_PW).await;
    let code = param(&back, "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request_async(&rp_http)
        .await
        .unwrap();
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(claims.subject().as_str(), "dave");
    assert_eq!(claims.email().unwrap().as_str(), "dave@corp.test");
    let info: serde_json::Value = client_for(&gw)
        .get(gw.url("/oauth2/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["groups"], serde_json::json!(["ops", "staff"]));
}

fn client_for(gw: &Gateway) -> reqwest::Client {
    client(gw)
}

#[tokio::test(flavor = "multi_thread")]
async fn ldap_wrong_password_unknown_user_and_empty_password_look_the_same() {
    let (_slapd, _up, gw) = setup("").await;
    let (wrong, wrong_body) = try_login(&gw, "dave", "not-it").await;
    let (unknown, unknown_body) = try_login(&gw, "nobody", DAVE_PW).await;
    assert_eq!((wrong, unknown), (401, 401));
    for body in [&wrong_body, &unknown_body] {
        assert!(body.contains("Invalid username or password."));
    }
    let (empty, _) = try_login(&gw, "dave", "").await;
    assert_eq!(empty, 400, "an empty password is never a bind");
    assert_eq!(try_login(&gw, "dave", DAVE_PW).await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn ldap_injection_usernames_never_sign_in() {
    let (_slapd, _up, gw) = setup("").await;
    for user in [
        "*",
        "a)(uid=*",
        "*)(|(uid=*",
        "dave)(uid=*",
        "dave\0",
        "*)(uid=*))(|(uid=*",
    ] {
        for pw in [DAVE_PW, ERIN_PW, "x"] {
            // 401, or 429 once the address is locked out: never a sign-in.
            let (status, body) = try_login(&gw, user, pw).await;
            assert!(matches!(status, 401 | 429), "{user:?}: {status}");
            assert!(body.contains("Invalid username or password."));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ldap_empty_password_is_never_a_bind_at_the_directory_itself() {
    use authgate::directory::Directory;
    let slapd = Slapd::start();
    let cfg = authgate::config::from_str(&format!(
        "[server]\nlisten = [\"127.0.0.1:1\"]\npublic_url = \"http://a.test\"\n\
         [tokens]\nsigning_key_file = \"/x\"\ncreate_key_if_missing = true\n{}",
        slapd.config(&slapd.url(), "")
    ))
    .unwrap();
    let clock = std::sync::Arc::new(authgate::clock::ManualClock::at(1_700_000_000));
    let dir =
        authgate::directory::ldap::LdapDirectory::new(cfg.ldap.unwrap(), clock, None).unwrap();
    assert!(dir.verify_password("dave", "").await.unwrap().is_none());
    assert!(dir
        .verify_password("dave", DAVE_PW)
        .await
        .unwrap()
        .is_some());
    let found = dir.lookup("dave").await.unwrap().unwrap();
    assert!(!dir.bind(&found.dn, "").await.unwrap());
}

/// dave's tokens at `wiki` (with a refresh token), from a sign-in of his own.
async fn dave_wiki_tokens(gw: &Gateway) -> serde_json::Value {
    let c = authorize_with_login(
        &browser(gw),
        gw,
        &gw.url("/oauth2/authorize?client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.test%2Fcb&response_type=code&scope=openid+offline_access"),
        "dave",
        DAVE_PW,
    )
    .await;
    wiki_tokens(gw, &param(&c, "code").unwrap()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn ldap_user_deleted_from_the_directory_loses_access_at_the_next_recheck() {
    let (slapd, _up, gw) = setup("recheck = \"15m\"").await;
    let http = browser(&gw);
    let (_, r) = browse(&http, &gw, &at(&gw, "app.test", "/"), "dave", DAVE_PW).await;
    assert_eq!(r.status(), 200);
    // A refresh token, to see it refused after the deletion.
    let t = dave_wiki_tokens(&gw).await;
    let refresh = |rt: String| {
        client(&gw)
            .post(gw.url("/oauth2/token"))
            .basic_auth("wiki", Some(WIKI_SECRET))
            .form(&[
                ("grant_type", "refresh_token".to_string()),
                ("refresh_token", rt),
            ])
            .send()
    };
    slapd.delete(&format!("uid=dave,ou=people,{BASE}"));
    let page = |http: &reqwest::Client| {
        http.get(at(&gw, "app.test", "/"))
            .header("Accept", "text/html")
            .send()
    };
    assert_eq!(
        page(&http).await.unwrap().status(),
        200,
        "until the re-check"
    );
    let r = refresh(t["refresh_token"].as_str().unwrap().into())
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["error"], "invalid_grant",
        "a refresh re-checks at once"
    );
    gw.advance_clock(16 * 60);
    assert_eq!(
        page(&http).await.unwrap().status(),
        302,
        "the session ended"
    );
    gw.advance_clock(1);
    assert_eq!(page(&http).await.unwrap().status(), 302);
    assert_eq!(try_login(&gw, "dave", DAVE_PW).await.0, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn ldap_directory_down_is_503_local_users_still_sign_in_and_it_recovers() {
    let (mut slapd, _up, gw) = setup("timeout = \"1s\"").await;
    slapd.kill();
    let (status, body) = try_login(&gw, "dave", DAVE_PW).await;
    assert_eq!(status, 503);
    assert!(body.contains("directory is unavailable"), "{body}");
    assert_eq!(
        try_login(&gw, "alice", ALICE_PW).await.0,
        200,
        "local users"
    );
    let ready = client(&gw).get(gw.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["directory"], false);
    slapd.restart();
    assert_eq!(try_login(&gw, "dave", DAVE_PW).await.0, 200, "recovered");
    let ready = client(&gw).get(gw.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn ldaps_and_starttls_are_verified_against_a_generated_ca() {
    let slapd = Slapd::start();
    let ca = slapd.ca_file();
    for (url, extra) in [
        (slapd.ldaps_url(), format!("ca_file = \"{}\"", ca.display())),
        (
            slapd.url(),
            format!("starttls = true\nca_file = \"{}\"", ca.display()),
        ),
    ] {
        let gw = provider(&slapd.config(&url, &extra));
        assert_eq!(try_login(&gw, "dave", DAVE_PW).await.0, 200, "{url}");
    }
    // Without the CA, the server's certificate is not trusted: nothing is let through.
    let gw = provider(&slapd.config(&slapd.ldaps_url(), ""));
    assert_eq!(try_login(&gw, "dave", DAVE_PW).await.0, 503);
}

#[test]
fn ldap_test_command_prints_the_steps_and_check_config_needs_the_placeholder() {
    let slapd = Slapd::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("a.toml");
    let base = format!(
        "[server]\nlisten = [\"127.0.0.1:1\"]\npublic_url = \"http://a.test\"\n[tokens]\n\
         signing_key_file = \"{}/k.pem\"\ncreate_key_if_missing = true\n",
        dir.path().display()
    );
    std::fs::write(&cfg, format!("{base}{}", slapd.config(&slapd.url(), ""))).unwrap();
    let args = [
        "ldap",
        "test",
        "--config",
        cfg.to_str().unwrap(),
        "--user",
        "dave",
    ];
    let (code, out, _) = run_cli(&args, Some(DAVE_PW));
    assert_eq!(code, 0, "{out}");
    for step in [
        "search: found uid=dave",
        "groups: ops, staff",
        "bind as uid=dave",
    ] {
        assert!(out.contains(step), "{out}");
    }
    let (code, out, _) = run_cli(&args, Some("wrong"));
    assert_eq!(code, 1);
    assert!(out.contains("invalid credentials"), "{out}");
    let bad = slapd.config(&slapd.url(), "user_filter = \"(uid=dave)\"");
    std::fs::write(&cfg, format!("{base}{bad}")).unwrap();
    let (code, out, _) = run_cli(&["check-config", "--config", cfg.to_str().unwrap()], None);
    assert_eq!(code, 1);
    assert!(
        out.contains("ldap.user_filter") && out.contains("{username}"),
        "{out}"
    );
}

/// hardening: identity shadowing. The directory's `ALICE` is named like the
/// local `alice` in another case: neither name signs in with the directory's password, and
/// alice keeps her own.
#[tokio::test(flavor = "multi_thread")]
async fn identity_shadowing_a_directory_user_named_like_a_local_one_is_refused() {
    let (_slapd, _up, gw) = setup("").await;
    for name in ["ALICE", "alice", " Alice"] {
        assert_eq!(try_login(&gw, name, SHADOW_PW).await.0, 401, "{name:?}");
    }
    assert_eq!(try_login(&gw, "alice", ALICE_PW).await.0, 200);
    let cfg = gw.config_file();
    let args = [
        "ldap",
        "test",
        "--config",
        cfg.to_str().unwrap(),
        "--user",
        "ALICE",
    ];
    let (code, out, _) = run_cli(&args, Some(SHADOW_PW));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("bind as uid=ALICE"), "{out}");
    assert!(out.contains("refused: a local user has this name"), "{out}");
}

/// hardening: group splitting. dave is in `ops,admin` too; it never reaches
/// the app, where it would read as the groups `ops` and `admin`.
#[tokio::test(flavor = "multi_thread")]
async fn group_splitting_a_group_name_with_a_comma_is_dropped() {
    let (_slapd, _up, gw) = setup("").await;
    let http = browser(&gw);
    let (_, r) = browse(&http, &gw, &at(&gw, "app.test", "/"), "dave", DAVE_PW).await;
    let e: Echo = r.json().await.unwrap();
    assert_eq!(e.header("x-forwarded-groups"), Some("ops,staff"));
}

/// A hung directory cannot collect every sign-in: beyond `max_connections` operations in
/// flight, the answer is at once "busy", as when the password pool is full.
#[tokio::test(flavor = "multi_thread")]
async fn ldap_operations_in_flight_are_capped_and_beyond_it_sign_in_is_busy() {
    let (slapd, _up, gw) = setup("max_connections = 1\ntimeout = \"2s\"").await;
    slapd.freeze(true);
    let attempts = futures::future::join_all((0..8).map(|_| try_login(&gw, "dave", DAVE_PW))).await;
    slapd.freeze(false);
    let busy = attempts
        .iter()
        .filter(|(s, body)| *s == 503 && body.contains("Too many sign-ins"))
        .count();
    let unavailable = attempts
        .iter()
        .filter(|(s, body)| *s == 503 && body.contains("directory is unavailable"))
        .count();
    assert_eq!((busy, unavailable), (7, 1), "{attempts:?}");
    // Thawed, the directory answers again.
    assert_eq!(try_login(&gw, "dave", DAVE_PW).await.0, 200);
}

/// hardening: the source of a name is part of the identity. dave signs in from the directory;
/// a reload then adds a local `dave`. What the directory's dave was given — his session, his
/// access token, his refresh token — opens nothing for the local one, who signs in afresh.
#[tokio::test(flavor = "multi_thread")]
async fn identity_is_a_name_and_its_source_a_new_local_namesake_inherits_nothing() {
    let (_slapd, _up, gw) = setup("").await;
    let http = browser(&gw);
    let (_, r) = browse(&http, &gw, &at(&gw, "app.test", "/"), "dave", DAVE_PW).await;
    assert_eq!(r.status(), 200);
    let t = dave_wiki_tokens(&gw).await;
    let token = |form: Vec<(&'static str, String)>| {
        client(&gw)
            .post(gw.url("/oauth2/token"))
            .basic_auth("wiki", Some(WIKI_SECRET))
            .form(&form)
            .send()
    };
    let access = t["access_token"].as_str().unwrap().to_string();
    let userinfo = || {
        client(&gw)
            .get(gw.url("/oauth2/userinfo"))
            .bearer_auth(&access)
            .send()
    };
    assert_eq!(userinfo().await.unwrap().status(), 200);

    // A reload adds a local dave, in the group the app wants.
    let hash = authgate::login::password::hash("local-dave-password").unwrap();
    let cfg = std::fs::read_to_string(gw.config_file()).unwrap()
        + &format!(
            "\n[[users]]\nusername = \"dave\"\npassword_hash = \"{hash}\"\ngroups = [\"staff\"]\n"
        );
    std::fs::write(gw.config_file(), cfg).unwrap();
    gw.signal("HUP");
    // The reload is applied in the background: wait for the session to stop opening the app
    // (it never would without the source check; the deadline fails the test then).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = http
            .get(at(&gw, "app.test", "/"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        if r.status() == 401 {
            break;
        }
        assert_eq!(r.status(), 200);
        assert!(
            std::time::Instant::now() < deadline,
            "the directory's dave's session still opens the app for the local dave"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(userinfo().await.unwrap().status(), 401);
    let r: serde_json::Value = token(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", t["refresh_token"].as_str().unwrap().into()),
    ])
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(r["error"], "invalid_grant");
    // The directory password no longer signs in as dave; the local one does.
    assert_eq!(try_login(&gw, "dave", DAVE_PW).await.0, 401);
    assert_eq!(try_login(&gw, "dave", "local-dave-password").await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_user_changes_and_resets_the_password_through_rfc_3062() {
    use common::smtp::{link, Smtp, Tls};
    let smtp = Smtp::start(Tls::Starttls, None);
    let mail = format!(
        "[smtp]\nurl = \"{}\"\nfrom = \"auth@example.com\"\nca_file = \"{}\"\n\n\
         [storage]\nurl = \"sqlite://{{dir}}/authgate.db\"\nencryption_key_file = \"{{dir}}/storage.key\"\ncreate_key_if_missing = true\n",
        smtp.url(None),
        smtp.ca_file.as_ref().unwrap().display()
    );
    let (_slapd, _up, gw) = setup(&format!("allow_password_change = true\n{mail}")).await;
    let (http, _) = signed_in_as(&gw, "dave", "dave-password").await;
    let account = http
        .get(gw.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(account.contains("id=\"change-password\""), "{account}");
    async fn change(http: &reqwest::Client, gw: &Gateway, current: &str, new: &str) -> String {
        let form = [("current", current), ("password", new), ("again", new)];
        let r = account_action(http, gw, "change-password", &form).await;
        r.text().await.unwrap()
    }
    let wrong = change(&http, &gw, "not-his", "lantern-mosaic-quiet-7").await;
    assert!(wrong.contains("The current password is wrong"), "{wrong}");
    let done = change(&http, &gw, "dave-password", "lantern-mosaic-quiet-7").await;
    assert!(done.contains("Your password was changed"), "{done}");
    assert_eq!(
        try_login(&gw, "dave", "dave-password").await.0,
        401,
        "the directory has the new one"
    );
    assert_eq!(
        try_login(&gw, "dave", "lantern-mosaic-quiet-7").await.0,
        200
    );

    // Forgotten: a mailed link, and the service account sets the new one.
    let browser = browser(&gw);
    let page = browser
        .get(gw.url("/login/forgot"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    let form = [("csrf", csrf.as_str()), ("who", "dave")];
    assert_eq!(
        browser
            .post(gw.url("/login/forgot"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let mails = smtp.wait_for(2).await; // the notice of the change, then the link
    let reset = mails
        .iter()
        .find_map(|m| link(&m.text, "/login/reset?token="))
        .expect("a reset link");
    let token = param(&reset, "token").unwrap();
    let r = browser
        .post(gw.url("/login/reset"))
        .form(&[
            ("token", token.as_str()),
            ("password", "harbour-violet-anchor-5"),
            ("again", "harbour-violet-anchor-5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(
        try_login(&gw, "dave", "harbour-violet-anchor-5").await.0,
        200
    );
}
