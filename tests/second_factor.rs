//! The second factor end to end, on the real binary with a real SQLite file (and PostgreSQL in
//! tests/storage.rs): TOTP enrolment from `/account`, codes computed here from the secret shown,
//! replay, recovery codes used once, lockout after wrong codes, `required` forcing enrolment,
//! step-up on a route, `amr`/`acr` checked by the `openidconnect` relying party, and factors
//! surviving a restart.

mod common;

use authgate::login::totp;
use authgate::storage::{FactorKind, Storage, StorageKey};
use common::oidc::*;
use common::*;

const SEED: &[u8] = b"alice's totp seed 20";

fn config(dir: &std::path::Path, policy: &str, up: std::net::SocketAddr) -> String {
    format!(
        "[login]\nsecond_factor = \"{policy}\"\n\n[storage]\nurl = \"sqlite://{d}/authgate.db\"\n\
         encryption_key_file = \"{d}/storage.key\"\ncreate_key_if_missing = true\n\n\
         [[routes]]\nhost = \"app.test\"\nupstreams = [\"{up}\"]\n\n\
         [[routes]]\nhost = \"app2.test\"\nupstreams = [\"{up}\"]\nrequire_second_factor = true\n",
        d = dir.display()
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {page}"))
        + start.len();
    let to = page[from..].find(end).unwrap() + from;
    &page[from..to]
}

/// Signs in with a password; the response to the password POST.
async fn password(http: &reqwest::Client, gw: &Gateway, user: &str, pw: &str) -> String {
    let r = http.get(gw.url("/login")).send().await.unwrap();
    let r = submit_login(http, gw, &location(&r), user, pw).await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// Answers the second-factor page `page` with `otp`.
async fn answer(http: &reqwest::Client, gw: &Gateway, page: &str, otp: &str) -> reqwest::Response {
    assert!(page.contains("name=\"otp\""), "{page}");
    http.post(gw.url("/login/second-factor"))
        .form(&[
            ("mfa", hidden(page, "mfa").unwrap().as_str()),
            ("csrf", hidden(page, "csrf").unwrap().as_str()),
            ("otp", otp),
        ])
        .send()
        .await
        .unwrap()
}

/// Confirms the enrolment page `page`; returns the seed shown and the recovery-codes page.
async fn enrol(http: &reqwest::Client, gw: &Gateway, page: &str, at: u64) -> (Vec<u8>, String) {
    assert!(page.contains("otpauth://totp/"), "{page}");
    assert!(page.contains("id=\"totp-qr\""));
    let secret = between(page, "<code id=\"totp-secret\">", "<");
    let seed = totp_rs::Secret::Encoded(secret.to_string())
        .to_bytes()
        .unwrap();
    let r = http
        .post(gw.url("/login/enrol"))
        .form(&[
            ("enrol", hidden(page, "enrol").unwrap().as_str()),
            ("csrf", hidden(page, "csrf").unwrap().as_str()),
            ("otp", totp::code_at(&seed, at).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    (seed, r.text().await.unwrap())
}

/// The Continue button of the recovery-codes page `codes_page`.
async fn continue_after(
    http: &reqwest::Client,
    gw: &Gateway,
    codes_page: &str,
) -> reqwest::Response {
    let cont = hidden(codes_page, "cont").unwrap();
    let csrf = hidden(codes_page, "csrf").unwrap();
    let form = [("cont", cont.as_str()), ("csrf", csrf.as_str())];
    http.post(gw.url("/login/continue"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn recovery_codes(page: &str) -> Vec<String> {
    let list = between(page, "<ol id=\"recovery-codes\">", "</ol>");
    list.split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn totp_enrolment_replay_recovery_codes_and_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), "optional", up.addr));
    let http = browser(&gw);
    assert!(password(&http, &gw, "alice", ALICE_PW)
        .await
        .contains("Signed in"));
    let account = http
        .get(gw.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&account, "csrf").unwrap();
    let add = [("csrf", csrf.as_str()), ("action", "add-totp")];
    let page = http
        .post(gw.url("/account"))
        .form(&add)
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    // One instant for the enrolment and its replay: the replay is of the very step enrolled
    // with, even when a 30-second boundary passes in between.
    let at = now();
    let (seed, codes_page) = enrol(&http, &gw, &page, at).await;
    let codes = recovery_codes(&codes_page);
    assert_eq!(codes.len(), 10);
    let r = continue_after(&http, &gw, &codes_page).await;
    assert_eq!(location(&r), gw.url("/account"));
    // Signing in again asks for the second factor; the code already used is refused.
    let http = browser(&gw);
    let page2 = password(&http, &gw, "alice", ALICE_PW).await;
    let replay = answer(&http, &gw, &page2, &totp::code_at(&seed, at)).await;
    assert_eq!(replay.status(), 401, "a step is used once");
    gw.advance_clock(30);
    let next = answer(&http, &gw, &page2, &totp::code_at(&seed, at + 30)).await;
    assert_eq!(next.status(), 200);
    assert!(next
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("authgate_session=")));
    // A recovery code works once.
    let code = &codes[0];
    let page = password(&http, &gw, "alice", ALICE_PW).await;
    assert_eq!(answer(&http, &gw, &page, code).await.status(), 200);
    let again = password(&http, &gw, "alice", ALICE_PW).await;
    assert_eq!(
        answer(&http, &gw, &again, code).await.status(),
        401,
        "used once"
    );
    // Wrong codes count towards the lockout: then even the right code is refused.
    for _ in 0..5 {
        let r = answer(&http, &gw, &again, "000000").await;
        assert!(matches!(r.status().as_u16(), 401 | 429));
    }
    gw.advance_clock(30);
    let locked = answer(&http, &gw, &again, &totp::code_at(&seed, now() + 60)).await;
    assert_eq!(locked.status(), 429);
}

#[tokio::test(flavor = "multi_thread")]
async fn second_factor_required_forces_enrolment_before_any_session() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), "required", up.addr));
    let http = browser(&gw);
    let r = http.get(gw.url("/login")).send().await.unwrap();
    let r = submit_login(&http, &gw, &location(&r), "bob", BOB_PW).await;
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("authgate_session=")),
        "no session before enrolment"
    );
    let page = r.text().await.unwrap();
    let (_, codes_page) = enrol(&http, &gw, &page, now()).await;
    assert!(codes_page.contains("id=\"recovery-codes\""));
    let r = continue_after(&http, &gw, &codes_page).await;
    let body = r.text().await.unwrap();
    assert!(body.contains("signed in as bob"), "{body}");
}

fn assertion_claims(echo: &Echo) -> serde_json::Value {
    let jwt = echo.header("x-authgate-assertion").unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn step_up_sends_a_password_only_session_through_the_second_factor() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), "optional", up.addr));
    let http = browser(&gw);
    let at = |host: &str| format!("http://{host}:{}/report?x=1", gw.port);
    let (_, r) = browse(&http, &gw, &at("app.test"), "bob", BOB_PW).await;
    let e: Echo = r.json().await.unwrap();
    assert_eq!(assertion_claims(&e)["amr"], serde_json::json!(["pwd"]));
    // The step-up route: proxy → authorize (acr_values=mfa) → enrolment, as bob has no factor.
    let r = http
        .get(at("app2.test"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    let authorize = location(&r);
    assert!(authorize.contains("acr_values=mfa"), "{authorize}");
    let page = http
        .get(&authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, codes_page) = enrol(&http, &gw, &page, now()).await;
    let r = continue_after(&http, &gw, &codes_page).await;
    let callback = location(&r);
    assert!(callback.starts_with(&format!("http://app2.test:{}/.authgate/callback", gw.port)));
    let r = http.get(&callback).send().await.unwrap();
    assert_eq!(
        location(&r),
        at("app2.test"),
        "back to the URL first asked for"
    );
    let r = http
        .get(at("app2.test"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let claims = assertion_claims(&r.json().await.unwrap());
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "mfa");
}

async fn seed_alice(dir: &std::path::Path) {
    let key = StorageKey::load(&dir.join("storage.key")).unwrap();
    let url = format!("sqlite://{}/authgate.db", dir.display());
    let s = Storage::open(&url, &key).await.unwrap();
    let alice = authgate::storage::Owner {
        name: "alice",
        source: &authgate::directory::Source::Local,
    };
    s.add(&alice, FactorKind::Totp, "phone", SEED, 0)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn amr_and_acr_reach_the_relying_party_and_factors_survive_a_restart() {
    use openidconnect::core::CoreAuthenticationFlow;
    use openidconnect::{
        AuthenticationContextClass, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse,
        TokenResponse,
    };
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let first = provider(&config(dir.path(), "optional", up.addr));
    seed_alice(dir.path()).await;
    drop(first);
    // A new process on the same database: alice's factor is still there.
    let gw = provider(&config(dir.path(), "optional", up.addr));
    let (rp_http, client) = wiki_rp(&gw).await;
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_auth_context_value(AuthenticationContextClass::new("mfa".into()))
        .url();
    let http = browser(&gw);
    let r = http.get(url.as_str()).send().await.unwrap();
    let r = submit_login(&http, &gw, &location(&r), "alice", ALICE_PW).await;
    let page = r.text().await.unwrap();
    let r = answer(&http, &gw, &page, &totp::code_at(SEED, now())).await;
    let code = param(&location(&r), "code").unwrap();
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
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(claims.auth_context_ref().unwrap().as_str(), "mfa");
    let info: serde_json::Value = client_of(&gw)
        .get(gw.url("/oauth2/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["acr"], "mfa");
}

fn client_of(gw: &Gateway) -> reqwest::Client {
    client(gw)
}

#[test]
fn mfa_list_and_reset_work_while_the_service_runs() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let up = rt.block_on(Upstream::start("app"));
    let cfg_text = config(dir.path(), "optional", up.addr);
    let gw = provider(&cfg_text);
    rt.block_on(seed_alice(dir.path()));
    let (code, out, _) = run_cli(
        &[
            "mfa",
            "list",
            "--config",
            gw.dir.path().join("authgate.toml").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("alice") && out.contains("Totp") && out.contains("phone"),
        "{out}"
    );
    assert!(
        !out.contains(&String::from_utf8_lossy(SEED).to_string()),
        "no secret listed"
    );
    let (code, out, _) = run_cli(
        &[
            "mfa",
            "reset",
            "--user",
            "alice",
            "--config",
            gw.dir.path().join("authgate.toml").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.contains("removed 1 factor"), "{out}");
    let page = rt.block_on(password(&browser(&gw), &gw, "alice", ALICE_PW));
    assert!(
        page.contains("Signed in"),
        "no factor left: a password alone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn account_keeps_the_last_factor_renews_codes_and_ends_other_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), "required", up.addr));
    let http = browser(&gw);
    let page = password(&http, &gw, "bob", BOB_PW).await;
    let (seed, codes_page) = enrol(&http, &gw, &page, now()).await;
    let old_codes = recovery_codes(&codes_page);
    // A second browser signs in too (with a recovery code).
    let other = browser(&gw);
    let page = password(&other, &gw, "bob", BOB_PW).await;
    assert_eq!(
        answer(&other, &gw, &page, &old_codes[0]).await.status(),
        200
    );
    let other_account = other.get(gw.url("/account")).send().await.unwrap();
    assert_eq!(other_account.status(), 200);
    // The last factor stays while one is required.
    let account = http
        .get(gw.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = between(&account, "name=\"id\" value=\"", "\"").to_string();
    let r = account_action(&http, &gw, "remove", &[("id", &id)]).await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("add another before removing"));
    // New recovery codes: the old ones stop working.
    let r = account_action(&http, &gw, "recovery-codes", &[]).await;
    let new_codes = recovery_codes(&r.text().await.unwrap());
    assert_eq!(new_codes.len(), 10);
    let third = browser(&gw);
    let page = password(&third, &gw, "bob", BOB_PW).await;
    assert_eq!(
        answer(&third, &gw, &page, &old_codes[1]).await.status(),
        401
    );
    // Signing out the other sessions ends the second browser's, not this one.
    let r = account_action(&http, &gw, "end-others", &[]).await;
    assert!(r.text().await.unwrap().contains("Signed out"));
    let gone = other.get(gw.url("/account")).send().await.unwrap();
    assert_eq!(gone.status(), 302, "the other session ended");
    assert_eq!(
        http.get(gw.url("/account")).send().await.unwrap().status(),
        200
    );
    assert!(!seed.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_right_password_does_not_reset_the_count_of_wrong_codes() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let port = free_port();
    // Behind a trusted proxy, every attempt from its own address: only the user's count locks.
    let gw = behind_local_proxy(port, &config(dir.path(), "optional", up.addr));
    seed_alice(dir.path()).await;
    let http = browser(&gw);
    let mut n = 0;
    let mut from = || {
        n += 1;
        format!("198.51.100.{n}")
    };
    for round in 0..3 {
        let r = http
            .get(gw.url("/login"))
            .header("X-Forwarded-For", from())
            .send()
            .await
            .unwrap();
        let page = http
            .get(location(&r))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let r = login_post(&http, gw.url("/login"), &page, "alice", ALICE_PW)
            .header("X-Forwarded-For", from())
            .send()
            .await
            .unwrap();
        if round == 2 {
            // Five wrong codes, with right passwords in between: the user is locked.
            assert_eq!(r.status(), 429, "the password did not reset the count");
            return;
        }
        let page = r.text().await.unwrap();
        for _ in 0..(3 - round) {
            let r = http
                .post(gw.url("/login/second-factor"))
                .header("X-Forwarded-For", from())
                .form(&[
                    ("mfa", hidden(&page, "mfa").unwrap().as_str()),
                    ("csrf", hidden(&page, "csrf").unwrap().as_str()),
                    ("otp", "000000"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_a_factor_on_account_ends_the_sessions_opened_before() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), "optional", up.addr));
    let earlier = browser(&gw);
    assert!(password(&earlier, &gw, "alice", ALICE_PW)
        .await
        .contains("Signed in"));
    let http = browser(&gw);
    assert!(password(&http, &gw, "alice", ALICE_PW)
        .await
        .contains("Signed in"));
    let page = account_action(&http, &gw, "add-totp", &[])
        .await
        .text()
        .await
        .unwrap();
    enrol(&http, &gw, &page, now()).await;
    let r = earlier.get(gw.url("/account")).send().await.unwrap();
    assert_eq!(
        r.status(),
        302,
        "the password-only session opened before has ended"
    );
    assert_eq!(
        http.get(gw.url("/account")).send().await.unwrap().status(),
        200
    );
}

/// hardening: races on counters. Thirty wrong codes at once on one pending
/// second factor: each is counted before it is checked, so at most `max_failures` of them are
/// told "wrong code"; the rest, and then the right code, meet the lockout.
#[tokio::test(flavor = "multi_thread")]
async fn races_on_counters_thirty_concurrent_wrong_codes_get_at_most_max_failures_answers() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), "optional", up.addr));
    seed_alice(dir.path()).await;
    let http = browser(&gw);
    let page = password(&http, &gw, "alice", ALICE_PW).await;
    let form = |otp: &'static str| {
        let (mfa, csrf) = (
            hidden(&page, "mfa").unwrap(),
            hidden(&page, "csrf").unwrap(),
        );
        let (http, url) = (http.clone(), gw.url("/login/second-factor"));
        async move {
            let form = [("mfa", mfa.as_str()), ("csrf", csrf.as_str()), ("otp", otp)];
            http.post(url).form(&form).send().await.unwrap().status()
        }
    };
    let answers = futures::future::join_all((0..30).map(|_| form("000000"))).await;
    let wrong = answers.iter().filter(|s| s.as_u16() == 401).count();
    let locked = answers.iter().filter(|s| s.as_u16() == 429).count();
    assert!(wrong <= 5, "{wrong} wrong-code answers: {answers:?}");
    assert_eq!(wrong + locked, 30, "{answers:?}");
    let right = totp::code_at(SEED, now());
    let right: &'static str = Box::leak(right.into_boxed_str());
    assert_eq!(
        form(right).await.as_u16(),
        429,
        "locked: the right code too"
    );
}

/// hardening: session id kept across step-up. The provider session gets a new
/// id when the second factor is added to it; the cookie from before no longer works.
#[tokio::test(flavor = "multi_thread")]
async fn session_id_kept_across_step_up_no_longer_works() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), "optional", up.addr));
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = client_builder(&gw)
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let provider_cookie = || {
        use reqwest::cookie::CookieStore;
        let all = jar.cookies(&gw.url("/").parse().unwrap()).unwrap();
        all.to_str()
            .unwrap()
            .split("; ")
            .find(|c| c.starts_with("authgate_session="))
            .unwrap()
            .to_string()
    };
    assert!(password(&http, &gw, "bob", BOB_PW)
        .await
        .contains("Signed in"));
    let before = provider_cookie();
    // Step up from /account: enrol an authenticator app in the signed-in session.
    let page = account_action(&http, &gw, "add-totp", &[])
        .await
        .text()
        .await
        .unwrap();
    let (_, codes_page) = enrol(&http, &gw, &page, now()).await;
    continue_after(&http, &gw, &codes_page).await;
    let after = provider_cookie();
    assert_ne!(before, after, "a new session id at the step-up");
    let with = |cookie: String| {
        client(&gw)
            .get(gw.url("/account"))
            .header("Cookie", cookie)
            .send()
    };
    let r = with(before).await.unwrap();
    assert_eq!(r.status(), 302, "the old cookie is signed out");
    assert!(location(&r).contains("/login?auth="));
    assert_eq!(with(after).await.unwrap().status(), 200);
}

/// Adding a way in — a factor or an app password — needs a recent sign-in: someone at an
/// unlocked browser is asked for the password first.
#[tokio::test(flavor = "multi_thread")]
async fn adding_a_credential_long_after_sign_in_asks_for_the_password_again() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let gw = provider(&config(dir.path(), "optional", up.addr));
    let http = browser(&gw);
    assert!(password(&http, &gw, "bob", BOB_PW)
        .await
        .contains("Signed in"));
    gw.advance_clock(301);
    for action in ["add-totp", "new-app-password"] {
        let r = account_action(&http, &gw, action, &[]).await;
        assert_eq!(r.status(), 302, "{action}");
        assert!(location(&r).contains("/login?auth="), "{action}");
    }
    // Signed in again: allowed.
    assert!(password(&http, &gw, "bob", BOB_PW)
        .await
        .contains("Signed in"));
    let r = account_action(&http, &gw, "add-totp", &[]).await;
    assert_eq!(r.status(), 200);
}
