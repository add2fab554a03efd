//! Protected upstream apps end to end: sign-in through the built-in provider for one host and
//! for two, the policy matrix, bearer tokens, session lifetime, logout everywhere, identity
//! header stripping, and the assertion.

mod common;

use common::oidc::*;
use common::*;

fn routes(up: std::net::SocketAddr, extra_session: &str) -> String {
    format!(
        r#"
[session]
{extra_session}

[[routes]]
host = "app.test"
upstreams = ["{up}"]
public_paths = ["/static/", "/healthz"]
bearer_clients = ["wiki"]

[[routes]]
host = "app2.test"
upstreams = ["{up}"]
allow_groups = ["admin"]

[[routes]]
host = "other.test"
upstreams = ["{up}"]
allow_users = ["bob"]

[[routes]]
host = "public.test"
upstreams = ["{up}"]
auth = "public"

[[routes]]
upstreams = ["{up}"]
"#
    )
}

async fn setup(extra_session: &str) -> (Upstream, Gateway) {
    let up = Upstream::start("app").await;
    let gw = provider(&routes(up.addr, extra_session));
    (up, gw)
}

fn at(gw: &Gateway, host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", gw.port)
}

async fn echo_of(r: reqwest::Response) -> Echo {
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_on_the_provider_host_returns_to_the_original_url() {
    let (_up, gw) = setup("").await;
    let http = browser(&gw);
    let (url, r) = browse(&http, &gw, &gw.url("/report?x=1&y=%20z"), "alice", ALICE_PW).await;
    assert_eq!(url, gw.url("/report?x=1&y=%20z"));
    let e = echo_of(r).await;
    assert_eq!(e.uri, "/report?x=1&y=%20z");
    assert_eq!(e.header("x-forwarded-user"), Some("alice"));
    assert_eq!(e.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(e.header("x-forwarded-groups"), Some("staff,admin"));
    assert_eq!(e.header("x-forwarded-preferred-username"), Some("alice"));
    assert!(e.header("x-authgate-assertion").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_across_two_unrelated_hosts() {
    let (_up, gw) = setup("").await;
    let http = browser(&gw);
    let (url, r) = browse(&http, &gw, &at(&gw, "app.test", "/a"), "alice", ALICE_PW).await;
    assert_eq!(url, at(&gw, "app.test", "/a"));
    assert_eq!(echo_of(r).await.header("x-forwarded-user"), Some("alice"));
    // The second host signs in through the provider session, without the form.
    let (url, r) = browse(
        &http,
        &gw,
        &at(&gw, "app2.test", "/b"),
        "nobody",
        "no password needed",
    )
    .await;
    assert_eq!(url, at(&gw, "app2.test", "/b"));
    assert_eq!(echo_of(r).await.header("x-forwarded-user"), Some("alice"));
}

#[tokio::test(flavor = "multi_thread")]
async fn app_session_cookie_is_host_only_and_not_sent_upstream() {
    let (_up, gw) = setup("").await;
    let http = browser(&gw);
    let r = http
        .get(at(&gw, "app.test", "/"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    let authorize = location(&r);
    let (cb, _) = {
        let r = http.get(&authorize).send().await.unwrap();
        let login = location(&r);
        let r = submit_login(&http, &gw, &login, "alice", ALICE_PW).await;
        (location(&r), ())
    };
    assert!(
        cb.starts_with(&at(&gw, "app.test", "/.authgate/callback?")),
        "{cb}"
    );
    let r = http.get(&cb).send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("authgate_session=") && !cookie.to_ascii_lowercase().contains("domain="),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let session = cookie.split(';').next().unwrap();
    let e = echo_of(
        client(&gw)
            .get(at(&gw, "app.test", "/"))
            .header("Cookie", format!("theme=dark; {session}; lang=en"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let sent = e.header("cookie").unwrap_or_default();
    assert_eq!(sent, "theme=dark; lang=en");
}

#[tokio::test(flavor = "multi_thread")]
async fn xhr_and_api_clients_get_401_json() {
    let (_up, gw) = setup("").await;
    let http = client(&gw);
    for req in [
        http.get(at(&gw, "app.test", "/api"))
            .header("Accept", "application/json"),
        http.get(at(&gw, "app.test", "/api"))
            .header("Accept", "text/html")
            .header("X-Requested-With", "XMLHttpRequest"),
    ] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"authgate\"");
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"],
            "unauthenticated"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_post_without_session_is_303() {
    let (_up, gw) = setup("").await;
    let r = client(&gw)
        .post(at(&gw, "app.test", "/form"))
        .header("Accept", "text/html")
        .body("a=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("/oauth2/authorize?client_id=authgate-proxy"));
    let r = client(&gw)
        .head(at(&gw, "app.test", "/x"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
}

#[tokio::test(flavor = "multi_thread")]
async fn public_route_and_public_paths_need_no_sign_in() {
    let (_up, gw) = setup("").await;
    let http = client(&gw);
    assert_eq!(
        http.get(at(&gw, "public.test", "/anything"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(at(&gw, "app.test", "/static/app.js"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(at(&gw, "app.test", "/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Only the normalised path counts: not the query, not tricks.
    for p in [
        "/admin?/static/",
        "/static/../admin",
        "/static/%2e%2e/admin",
        "//admin",
        "/healthzz",
        "/admin#/static/",
        "/admin;/static/",
    ] {
        let r = http.get(at(&gw, "app.test", p)).send().await.unwrap();
        assert!(
            r.status() == 401 || r.status() == 400,
            "{p}: {}",
            r.status()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn allowed_and_denied_users_and_groups() {
    let (_up, gw) = setup("").await;
    let alice = browser(&gw);
    browse(&alice, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    let (_, r) = browse(&alice, &gw, &at(&gw, "app2.test", "/"), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 200, "admin group allowed");
    let (_, r) = browse(&alice, &gw, &at(&gw, "other.test", "/"), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 403, "only bob");
    assert!(r.text().await.unwrap().contains("Access denied"));
    let r = alice
        .get(at(&gw, "other.test", "/"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "forbidden"
    );

    let bob = browser(&gw);
    let (_, r) = browse(&bob, &gw, &at(&gw, "other.test", "/"), "bob", BOB_PW).await;
    assert_eq!(echo_of(r).await.header("x-forwarded-user"), Some("bob"));
    let (_, r) = browse(&bob, &gw, &at(&gw, "app2.test", "/"), "bob", BOB_PW).await;
    assert_eq!(r.status(), 403, "bob is not in admin");
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_access_token_is_accepted_and_bad_ones_are_401() {
    let (_up, gw) = setup("").await;
    let http = browser(&gw);
    let back = authorize_with_login(&http, &gw, &gw.url("/oauth2/authorize?client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.test%2Fcb&response_type=code&scope=openid"), "alice", ALICE_PW).await;
    let code = param(&back, "code").unwrap();
    let t: serde_json::Value = wiki_tokens(&gw, &code).await;
    let access = t["access_token"].as_str().unwrap();
    let e = echo_of(
        client(&gw)
            .get(at(&gw, "app.test", "/api"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(e.header("x-forwarded-user"), Some("alice"));
    for bad in [
        "garbage",
        t["id_token"].as_str().unwrap(),
        &format!("{access}x"),
    ] {
        let r = client(&gw)
            .get(at(&gw, "app.test", "/api"))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
    }
    // Revoked: refused.
    client(&gw)
        .post(gw.url("/oauth2/revoke"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        client(&gw)
            .get(at(&gw, "app.test", "/api"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn session_ends_at_its_absolute_lifetime() {
    let (_up, gw) = setup("lifetime = \"2s\"").await;
    let http = browser(&gw);
    let (_, r) = browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 200);
    gw.advance_clock(3);
    let r = http
        .get(at(&gw, "app.test", "/"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let r = http.get(location(&r)).send().await.unwrap();
    assert!(
        location(&r).contains("/login?auth="),
        "provider session ended too"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_session_ends_and_activity_keeps_it_alive() {
    let (_up, gw) = setup("idle_timeout = \"2s\"").await;
    let http = browser(&gw);
    browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    for _ in 0..6 {
        gw.advance_clock(1);
        let r = http
            .get(at(&gw, "app.test", "/"))
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "active session stays alive");
    }
    gw.advance_clock(3);
    let r = http
        .get(at(&gw, "app.test", "/"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "idle session ended");
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_on_one_host_is_seen_on_another() {
    let (_up, gw) = setup("").await;
    let http = browser(&gw);
    browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    let (_, r) = browse(&http, &gw, &at(&gw, "app2.test", "/"), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 200);
    let r = http
        .get(at(&gw, "app.test", "/.authgate/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), gw.url("/login"));
    for host in ["app.test", "app2.test"] {
        let r = http
            .get(at(&gw, host, "/"))
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "{host}");
        let r = http.get(location(&r)).send().await.unwrap();
        assert!(
            location(&r).contains("/login?auth="),
            "{host}: the provider session ended too"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_headers_from_the_client_are_stripped_everywhere() {
    let (_up, gw) = setup("").await;
    let spoof = |rb: reqwest::RequestBuilder| {
        rb.header("X-Forwarded-User", "mallory")
            .header("x_forwarded_user", "mallory")
            .header("X-FORWARDED-EMAIL", "m@evil.test")
            .header("X_Forwarded_Groups", "admin")
            .header("x-authgate-assertion", "forged")
            .header("X-Forwarded-Preferred-Username", "mallory")
    };
    let e = echo_of(
        spoof(client(&gw).get(at(&gw, "public.test", "/")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for h in [
        "x-forwarded-user",
        "x_forwarded_user",
        "x-forwarded-email",
        "x_forwarded_groups",
        "x-authgate-assertion",
        "x-forwarded-preferred-username",
    ] {
        assert_eq!(e.header(h), None, "public route: {h}");
    }
    let http = browser(&gw);
    browse(&http, &gw, &at(&gw, "app.test", "/"), "bob", BOB_PW).await;
    let e = echo_of(
        spoof(http.get(at(&gw, "app.test", "/")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(e.headers["x-forwarded-user"], ["bob"]);
    assert_eq!(e.headers["x-forwarded-groups"], ["guests"]);
    assert_eq!(e.header("x_forwarded_user"), None);
    assert_ne!(e.header("x-authgate-assertion"), Some("forged"));
    // Naming our header in Connection does not make it disappear.
    let e = echo_of(
        http.get(at(&gw, "app.test", "/"))
            .header(
                "Connection",
                "keep-alive, X-Forwarded-User, X-Authgate-Assertion",
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(e.header("x-forwarded-user"), Some("bob"));
    assert!(e.header("x-authgate-assertion").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn assertion_verifies_with_jwks_and_is_reused() {
    let (_up, gw) = setup("").await;
    let http = browser(&gw);
    let (_, r) = browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    let first = echo_of(r)
        .await
        .header("x-authgate-assertion")
        .unwrap()
        .to_string();
    let second = echo_of(
        http.get(at(&gw, "app.test", "/again"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .header("x-authgate-assertion")
    .unwrap()
    .to_string();
    assert_eq!(
        first, second,
        "one assertion per session, not one per request"
    );
    let jwks: serde_json::Value = client(&gw)
        .get(gw.url("/oauth2/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let header = jsonwebtoken::decode_header(&first).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(set.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&["app.test"]);
    v.set_issuer(&[gw.url("")]);
    let claims: serde_json::Value = jsonwebtoken::decode(&first, &key, &v).unwrap().claims;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["groups"], serde_json::json!(["staff", "admin"]));
    assert!(claims["jti"].is_string() && claims["iat"].is_u64());
    assert!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap() <= 300,
        "short-lived"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn callback_never_redirects_to_a_url_from_the_query() {
    let (_up, gw) = setup("").await;
    let http = client(&gw);
    for q in [
        "?code=x&state=unknown",
        "?code=x&state=unknown&rd=https://evil.test",
        "?state=",
        "",
    ] {
        let r = http
            .get(at(&gw, "app.test", &format!("/.authgate/callback{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
        assert!(r.headers().get("location").is_none());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn route_without_host_signs_in_on_loopback_names_but_not_foreign_hosts() {
    let (_up, gw) = setup("").await;
    let http = browser(&gw);
    let (url, r) = browse(
        &http,
        &gw,
        &format!("http://localhost:{}/dev", gw.port),
        "alice",
        ALICE_PW,
    )
    .await;
    assert_eq!(url, format!("http://localhost:{}/dev", gw.port));
    assert_eq!(echo_of(r).await.header("x-forwarded-user"), Some("alice"));
    // A foreign Host on the catch-all route cannot receive the proxy's codes.
    let r = client(&gw)
        .get(gw.url("/x"))
        .header("Host", "evil.example")
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    let authorize = location(&r);
    let r = http.get(&authorize).send().await.unwrap();
    assert_eq!(r.status(), 400, "{authorize}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_listener_serves_https_and_session_cookies_are_secure() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is required to make a test certificate");
    assert!(ok.success());
    let (plain, tls) = (free_port(), free_port());
    let _gw = Gateway::start_on(
        tls,
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{plain}\"]\ntls_listen = [\"127.0.0.1:{tls}\"]\ntls_cert = \"{}\"\ntls_key = \"{}\"\npublic_url = \"https://localhost:{tls}\"\n[tokens]\nsigning_key_file = \"{{dir}}/k.pem\"\ncreate_key_if_missing = true\n{}\n[[routes]]\nupstreams = [\"{}\"]\n",
            cert.display(),
            key.display(),
            identities(),
            up.addr
        ),
    );
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let r = http
        .get(format!("https://localhost:{tls}/login"))
        .send()
        .await
        .unwrap();
    let login = location(&r);
    assert!(
        login.starts_with(&format!("https://localhost:{tls}/login?auth=")),
        "{login}"
    );
    let page = http.get(&login).send().await.unwrap().text().await.unwrap();
    let r = login_post(
        &http,
        format!("https://localhost:{tls}/login"),
        &page,
        "alice",
        ALICE_PW,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = set_session_cookie(&r);
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // hardening: cookie injection. Over HTTPS the cookie is `__Host-`: only
    // this host, over HTTPS, for the whole host, can set it; an unprefixed one is not read.
    assert!(cookie.starts_with("__Host-authgate_session="), "{cookie}");
    assert!(cookie.contains("Path=/") && !cookie.to_ascii_lowercase().contains("domain="));
    let id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-");
    let planted = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("https://localhost:{tls}/hello"))
        .header("Cookie", id)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        planted.status(),
        401,
        "an unprefixed cookie is no session on HTTPS"
    );
    let e: Echo = http
        .get(format!("https://localhost:{tls}/hello"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e.header("x-forwarded-user"), Some("alice"));
    assert_eq!(e.header("x-forwarded-proto"), Some("https"));
}
