//! The security regression suite: one test per class of the README's Hardening section and per RFC rule,
//! each named after the attack. Every attempt must fail safely, and the gateway keeps serving.

mod common;

use std::time::Duration;

use common::oidc::*;
use common::*;

fn gateway_config(up: std::net::SocketAddr, extra_top: &str) -> String {
    format!(
        r#"
{extra_top}
[[routes]]
host = "app.test"
upstreams = ["{up}"]
public_paths = ["/static/", "/healthz"]
allow_groups = ["staff", "guests"]
bearer_clients = ["wiki"]

[[routes]]
host = "public.test"
upstreams = ["{up}"]
auth = "public"
"#
    )
}

async fn setup() -> (Upstream, Gateway) {
    let up = Upstream::start("app").await;
    let gw = provider(&gateway_config(up.addr, ""));
    (up, gw)
}

fn at(gw: &Gateway, host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", gw.port)
}

/// The gateway still answers after an attack.
async fn still_serving(gw: &Gateway) {
    let r = client(gw).get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

// --- open redirect after login ---

#[tokio::test(flavor = "multi_thread")]
async fn open_redirect_variants_in_start_rd_stay_on_the_host() {
    let (_up, gw) = setup().await;
    let origin = at(&gw, "app.test", "");
    for rd in [
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
        "%09//evil.example",
        "/%09/evil.example",
        "https://app.test@evil.example/",
        &format!("HTTPS://evil.example:{}/", gw.port),
        "HtTpS://evil.example",
        "javascript:alert(1)",
        "\\\\evil.example",
        "/%2F%2Fevil.example",
    ] {
        let http = browser(&gw);
        let start = format!("{origin}/.authgate/start?rd={}", enc(rd));
        let (url, r) = browse(&http, &gw, &start, "alice", ALICE_PW).await;
        assert!(
            url.starts_with(&format!("{origin}/")),
            "{rd}: ended at {url}"
        );
        assert_eq!(r.status(), 200, "{rd}");
    }
    still_serving(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn open_redirect_via_callback_query_is_impossible() {
    let (_up, gw) = setup().await;
    for q in [
        "?state=x&code=y&rd=https://evil.example",
        "?state=x&redirect=//evil.example",
        "?next=https://evil.example",
    ] {
        let r = client(&gw)
            .get(at(&gw, "app.test", &format!("/.authgate/callback{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
        assert!(r.headers().get("location").is_none());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_uri_near_misses_get_a_page_never_a_redirect() {
    let (_up, gw) = setup().await;
    for uri in [
        "https://wiki.test/cb/",
        "https://wiki.test/cb/../cb",
        "https://wiki.test/CB",
        "https://WIKI.test/cb",
        "https://wiki.test:443/cb",
        "https://wiki.test:8443/cb",
        "https://wiki.test/cb?extra=1",
        "https://wiki.test/cb#frag",
        "https://wiki.test/c",
        "https://wiki.test.evil.example/cb",
        "https://evil.example/https://wiki.test/cb",
        "http://wiki.test/cb",
    ] {
        let q = format!(
            "client_id=wiki&response_type=code&redirect_uri={}",
            enc(uri)
        );
        let r = client(&gw)
            .get(gw.url(&format!("/oauth2/authorize?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{uri}");
        assert!(r.headers().get("location").is_none(), "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_client_redirect_to_a_foreign_host_is_refused() {
    let (_up, gw) = setup().await;
    for cb in [
        "https://evil.example/.authgate/callback",
        "http://app.test.evil.example/.authgate/callback",
        "http://app.test/.authgate/callback?x=1",
        "http://app.test/other",
    ] {
        let q = format!(
            "client_id=authgate-proxy&response_type=code&code_challenge={}&code_challenge_method=S256&redirect_uri={}",
            "a".repeat(43),
            enc(cb)
        );
        let r = client(&gw)
            .get(gw.url(&format!("/oauth2/authorize?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{cb}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn post_logout_redirect_near_misses_are_refused() {
    let (_up, gw) = setup().await;
    for uri in [
        "https://wiki.test/bye/",
        "https://evil.example/",
        "//evil.example",
        "https://wiki.test/bye?x=1",
    ] {
        let q = format!("client_id=wiki&post_logout_redirect_uri={}", enc(uri));
        let r = client(&gw)
            .get(gw.url(&format!("/oauth2/logout?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{uri}");
    }
}

// --- identity header smuggling ---

#[tokio::test(flavor = "multi_thread")]
async fn identity_header_spoofing_case_underscore_public_route_and_connection() {
    let (_up, gw) = setup().await;
    let forged = [
        ("X-Forwarded-User", "admin"),
        ("X_Forwarded_User", "admin"),
        ("x-forwarded-USER", "admin"),
        ("X-Forwarded_Email", "admin@evil"),
        ("X-FORWARDED-GROUPS", "admin"),
        ("X_AUTHGATE_ASSERTION", "forged"),
        ("X-Forwarded-Preferred_Username", "admin"),
    ];
    let send = |rb: reqwest::RequestBuilder| forged.iter().fold(rb, |rb, (k, v)| rb.header(*k, *v));
    // Public route and public path: no identity at all reaches the app.
    for url in [
        at(&gw, "public.test", "/"),
        at(&gw, "app.test", "/static/x.js"),
    ] {
        let e: Echo = send(client(&gw).get(&url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let leaked: Vec<&String> = e
            .headers
            .keys()
            .filter(|k| {
                k.replace('_', "-").starts_with("x-forwarded-u")
                    || k.contains("assertion")
                    || k.replace('_', "-").contains("forwarded-groups")
                    || k.replace('_', "-").contains("forwarded-email")
                    || k.replace('_', "-").contains("preferred")
            })
            .collect();
        assert!(leaked.is_empty(), "{url}: {leaked:?}");
    }
    // Signed in as bob: the app sees bob, once.
    let http = browser(&gw);
    browse(&http, &gw, &at(&gw, "app.test", "/"), "bob", BOB_PW).await;
    let e: Echo = send(
        http.get(at(&gw, "app.test", "/"))
            .header("Connection", "X-Forwarded-User, X-Authgate-Assertion"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(e.headers["x-forwarded-user"], ["bob"]);
    assert_eq!(e.headers["x-forwarded-groups"], ["guests"]);
    assert!(e
        .header("x-authgate-assertion")
        .is_some_and(|a| a != "forged"));
    assert!(!e.headers.contains_key("x_forwarded_user"));
}

// --- skip-auth matched on more than the path / decision on another path ---

#[tokio::test(flavor = "multi_thread")]
async fn path_tricks_around_public_paths_do_not_skip_auth() {
    let (_up, gw) = setup().await;
    let http = client(&gw);
    for p in [
        "/static/../admin",
        "/static/%2e%2e/admin",
        "/static/%2E%2E/admin",
        "/static/.%2e/admin",
        "//admin",
        "/admin;/static/",
        "/static/..;/admin",
        "/admin?/static/",
        "/admin?x=/static/",
        "/healthz/../admin",
        "/Static/admin",
        "/static%2fadmin",
        "/static/%2fadmin",
        "/static\\..\\admin",
        "/admin%00/static/",
    ] {
        let r = http.get(at(&gw, "app.test", p)).send().await.unwrap();
        let status = r.status().as_u16();
        assert!(status == 401 || status == 400, "{p}: {status}");
    }
    // The normalised public path is public, and the upstream receives exactly it.
    let e: Echo = http
        .get(at(&gw, "app.test", "/admin/../static/./app.js"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e.uri, "/static/app.js");
    still_serving(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn health_check_bypass_by_headers_is_impossible() {
    let (_up, gw) = setup().await;
    for (k, v) in [
        ("User-Agent", "kube-probe/1.29"),
        ("User-Agent", "authgate-health-check"),
        ("X-Forwarded-Uri", "/healthz"),
        ("X-Original-URL", "/healthz"),
        ("X-Rewrite-URL", "/static/"),
    ] {
        let r = client(&gw)
            .get(at(&gw, "app.test", "/admin"))
            .header(k, v)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{k}: {v}");
    }
}

// --- hosts ---

#[tokio::test(flavor = "multi_thread")]
async fn mixed_case_and_trailing_dot_hosts_get_the_same_policy() {
    let (_up, gw) = setup().await;
    for host in ["APP.TEST", "App.Test.", "app.test.", "aPp.tEsT"] {
        let r = client(&gw)
            .get(gw.url("/admin"))
            .header("Host", format!("{host}:{}", gw.port))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{host}");
    }
    for host in ["app.test/admin", "app.test@evil", "", "app..test", "[zz]"] {
        let r = client(&gw)
            .get(gw.url("/admin"))
            .header("Host", host)
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 400 || r.status() == 404,
            "{host:?}: {}",
            r.status()
        );
    }
}

// --- forwarded headers ---

#[tokio::test(flavor = "multi_thread")]
async fn forged_x_forwarded_headers_from_an_untrusted_peer_are_replaced() {
    let (_up, gw) = setup().await;
    let e: Echo = client(&gw)
        .get(at(&gw, "public.test", "/"))
        .header("X-Forwarded-For", "10.0.0.1")
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "admin.internal")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(e.header("x-forwarded-proto"), Some("http"));
    assert_eq!(
        e.header("x-forwarded-host"),
        Some(format!("public.test:{}", gw.port).as_str())
    );
    // Nor can a forged X-Forwarded-Proto make authgate think the browser used https.
    let r = client(&gw)
        .get(at(&gw, "app.test", "/"))
        .header("Accept", "text/html")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert!(
        location(&r).contains("redirect_uri=http%3A%2F%2Fapp.test"),
        "{}",
        location(&r)
    );
}

// --- session fixation ---

#[tokio::test(flavor = "multi_thread")]
async fn session_fixation_cookie_sent_to_login_is_ignored() {
    let (_up, gw) = setup().await;
    // The attacker signs in and plants their own session id in the victim's browser.
    let attacker = browser(&gw);
    let r = attacker.get(gw.url("/login")).send().await.unwrap();
    let r = submit_login(&attacker, &gw, &location(&r), "bob", BOB_PW).await;
    let planted = session_pair(&r);
    // The victim signs in with that cookie present: a new id is issued, the planted one dies.
    let victim = client(&gw);
    let r = victim.get(gw.url("/login")).send().await.unwrap();
    let login = location(&r);
    let page = victim.get(&login).send().await.unwrap();
    let csrf_cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = page.text().await.unwrap();
    let r = login_post(&victim, gw.url("/login"), &page, "alice", ALICE_PW)
        .header("Cookie", format!("{planted}; {csrf_cookie}"))
        .send()
        .await
        .unwrap();
    let issued = set_session_cookie(&r);
    assert_ne!(issued.split(';').next().unwrap(), planted);
    let r = client(&gw)
        .get(at(&gw, "app.test", "/"))
        .header("Cookie", &planted)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the planted session was ended");
}

// --- code and refresh replay, PKCE downgrade ---

async fn signed_in(gw: &Gateway) -> reqwest::Client {
    signed_in_as(gw, "alice", ALICE_PW).await.0
}

async fn code(
    http: &reqwest::Client,
    gw: &Gateway,
    client_id: &str,
    redirect: &str,
    extra: &str,
) -> String {
    let q = format!("client_id={client_id}&redirect_uri={}&response_type=code&scope=openid+offline_access{extra}", enc(redirect));
    let r = http
        .get(gw.url(&format!("/oauth2/authorize?{q}")))
        .send()
        .await
        .unwrap();
    param(&location(&r), "code").unwrap_or_else(|| panic!("no code: {}", location(&r)))
}

async fn token(gw: &Gateway, form: &[(&str, &str)], secret: bool) -> serde_json::Value {
    let mut rb = client(gw).post(gw.url("/oauth2/token")).form(form);
    if secret {
        rb = rb.basic_auth("wiki", Some(WIKI_SECRET));
    }
    rb.send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn code_replay_fails_and_revokes_what_the_first_use_issued() {
    let (_up, gw) = setup().await;
    let http = signed_in(&gw).await;
    let c = code(&http, &gw, "wiki", "https://wiki.test/cb", "").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", c.as_str()),
        ("redirect_uri", "https://wiki.test/cb"),
    ];
    let first = token(&gw, &form, true).await;
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(
        client(&gw)
            .get(at(&gw, "app.test", "/"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(token(&gw, &form, true).await["error"], "invalid_grant");
    assert_eq!(
        client(&gw)
            .get(at(&gw, "app.test", "/"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let rt = first["refresh_token"].as_str().unwrap();
    assert_eq!(
        token(
            &gw,
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
            true
        )
        .await["error"],
        "invalid_grant"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_code_redemption_succeeds_at_most_once() {
    let (_up, gw) = setup().await;
    let http = signed_in(&gw).await;
    let c = code(&http, &gw, "wiki", "https://wiki.test/cb", "").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = gw.url("/oauth2/token");
        let c = c.clone();
        let http = client(&gw);
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .basic_auth("wiki", Some(WIKI_SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", c.as_str()),
                    ("redirect_uri", "https://wiki.test/cb"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap() == 200);
    }
    assert_eq!(ok, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn pkce_downgrade_plain_missing_wrong_verifier_and_missing_challenge() {
    let (_up, gw) = setup().await;
    let http = signed_in(&gw).await;
    let spa = "client_id=spa&redirect_uri=https%3A%2F%2Fspa.test%2Fcb&response_type=code";
    // plain, and a challenge without method (defaults to plain): refused.
    for extra in [
        format!(
            "&code_challenge={}&code_challenge_method=plain",
            "a".repeat(43)
        ),
        format!("&code_challenge={}", "a".repeat(43)),
    ] {
        let r = http
            .get(gw.url(&format!("/oauth2/authorize?{spa}{extra}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            param(&location(&r), "error").as_deref(),
            Some("invalid_request"),
            "{extra}"
        );
    }
    // A public client without a challenge: refused.
    let r = http
        .get(gw.url(&format!("/oauth2/authorize?{spa}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
    // Missing and wrong verifiers: invalid_grant.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let with =
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    for bad in [None, Some("wrong-verifier-wrong-verifier-wrong-verifier-x")] {
        let c = code(&http, &gw, "spa", "https://spa.test/cb", with).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", c.as_str()),
            ("redirect_uri", "https://spa.test/cb"),
            ("client_id", "spa"),
        ];
        if let Some(v) = bad {
            form.push(("code_verifier", v));
        }
        assert_eq!(
            token(&gw, &form, false).await["error"],
            "invalid_grant",
            "{bad:?}"
        );
    }
    // A verifier for a code issued without challenge (confidential client): invalid_grant.
    let c = code(&http, &gw, "wiki", "https://wiki.test/cb", "").await;
    let r = token(
        &gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", "https://wiki.test/cb"),
            ("code_verifier", verifier),
        ],
        true,
    )
    .await;
    assert_eq!(r["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_token_reuse_revokes_the_family() {
    let (_up, gw) = setup().await;
    let http = signed_in(&gw).await;
    let c = code(&http, &gw, "wiki", "https://wiki.test/cb", "").await;
    let t = token(
        &gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", "https://wiki.test/cb"),
        ],
        true,
    )
    .await;
    let r1 = t["refresh_token"].as_str().unwrap().to_string();
    let t2 = token(
        &gw,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        true,
    )
    .await;
    let r2 = t2["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        token(
            &gw,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
            true
        )
        .await["error"],
        "invalid_grant"
    );
    assert_eq!(
        token(
            &gw,
            &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
            true
        )
        .await["error"],
        "invalid_grant"
    );
    let access = t2["access_token"].as_str().unwrap();
    assert_eq!(
        client(&gw)
            .get(gw.url("/oauth2/userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

// --- XSS, clickjacking, CSRF ---

#[tokio::test(flavor = "multi_thread")]
async fn state_and_other_values_reflected_in_pages_are_escaped() {
    let (_up, gw) = setup().await;
    let xss = "\"><script>alert(1)</script><img src=x onerror=alert(1)>";
    let enc: String = form_urlencoded::byte_serialize(xss.as_bytes()).collect();
    let urls = [
        gw.url(&format!("/oauth2/authorize?client_id=wiki&redirect_uri=https%3A%2F%2Fevil.test&response_type=code&state={enc}")),
        gw.url(&format!("/oauth2/authorize?client_id={enc}&response_type=code&state={enc}")),
        gw.url(&format!("/oauth2/authorize?client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.test%2Fcb&response_type=code&login_hint={enc}&state={enc}")),
        gw.url(&format!("/login?auth={enc}")),
        at(&gw, "app.test", &format!("/.authgate/callback?state={enc}&code={enc}")),
    ];
    let http = browser(&gw);
    for url in urls {
        let mut r = http
            .get(&url)
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        if r.status().is_redirection() && location(&r).contains("/login") {
            r = http.get(location(&r)).send().await.unwrap();
        }
        let headers = r.headers().clone();
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("<script>alert") && !body.contains("<img src=x"),
            "{url}:\n{body}"
        );
        if headers
            .get("content-type")
            .is_some_and(|c| c.to_str().unwrap().starts_with("text/html"))
        {
            let csp = headers["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("frame-ancestors 'none'")
                    && !csp.contains("unsafe-inline")
                    && !csp.contains("script-src"),
                "{csp}"
            );
            assert_eq!(headers["x-frame-options"], "DENY");
            assert_eq!(headers["referrer-policy"], "no-referrer");
            assert_eq!(headers["cache-control"], "no-store");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_without_csrf_token_or_cookie_is_refused() {
    let (_up, gw) = setup().await;
    let http = browser(&gw);
    let r = http.get(gw.url("/login")).send().await.unwrap();
    let page = http
        .get(location(&r))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let auth = hidden(&page, "auth").unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    for form in [
        vec![
            ("auth", auth.as_str()),
            ("username", "alice"),
            ("password", ALICE_PW),
        ],
        vec![
            ("auth", auth.as_str()),
            ("csrf", "forged"),
            ("username", "alice"),
            ("password", ALICE_PW),
        ],
    ] {
        assert_eq!(
            http.post(gw.url("/login"))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status(),
            403
        );
    }
    // A cross-site form post carries the token but not the cookie.
    let r = client(&gw)
        .post(gw.url("/login"))
        .form(&[
            ("auth", auth.as_str()),
            ("csrf", csrf.as_str()),
            ("username", "alice"),
            ("password", ALICE_PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

// --- brute force, enumeration ---

#[tokio::test(flavor = "multi_thread")]
async fn brute_force_locks_the_user_and_the_ip_with_the_same_message() {
    let up = Upstream::start("app").await;
    let gw = provider(&gateway_config(
        up.addr,
        "[login]\nmax_failures = 3\nfailure_window = \"1m\"\nlockout = \"1m\"\n",
    ));
    let http = browser(&gw);
    let attempt = |user: &'static str, pw: &'static str| {
        let http = http.clone();
        let gw_url = gw.url("/login");
        async move {
            let r = http.get(&gw_url).send().await.unwrap();
            let page = http
                .get(location(&r))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let r = login_post(&http, &gw_url, &page, user, pw)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    for _ in 0..3 {
        assert_eq!(attempt("alice", "guess").await.0, 401);
    }
    let (status, body) = attempt("alice", ALICE_PW).await;
    assert_eq!(status, 429, "locked: even the right password is refused");
    assert!(body.contains("Invalid username or password."));
    // The IP reached 3 failures too: other users from it are locked as well.
    assert_eq!(attempt("bob", BOB_PW).await.0, 429);
    still_serving(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_enumeration_unknown_user_costs_like_a_known_one() {
    let (_up, gw) = setup().await;
    let mut times = Vec::new();
    // Several rounds, each from an address of its own (the lockout counts per address too, and
    // per user: four of each stays under it): the fastest of each is compared, so a busy
    // machine does not decide.
    let rounds = ["alice", "no-such-user"].repeat(4);
    for (i, user) in rounds.into_iter().enumerate() {
        let from = std::net::IpAddr::from([127, 0, 0, 10 + u8::try_from(i).unwrap()]);
        let http = client_builder(&gw)
            .cookie_store(true)
            .local_address(from)
            .build()
            .unwrap();
        let r = http.get(gw.url("/login")).send().await.unwrap();
        let page = http
            .get(location(&r))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let start = std::time::Instant::now();
        let r = login_post(&http, gw.url("/login"), &page, user, "wrong")
            .send()
            .await
            .unwrap();
        times.push((user, start.elapsed()));
        assert_eq!(r.status(), 401);
    }
    let known = times
        .iter()
        .filter(|t| t.0 == "alice")
        .map(|t| t.1)
        .min()
        .unwrap();
    let unknown = times
        .iter()
        .filter(|t| t.0 != "alice")
        .map(|t| t.1)
        .min()
        .unwrap();
    // Both run argon2: an unknown user is not answered an order of magnitude faster.
    assert!(
        unknown * 3 > known,
        "unknown {unknown:?} vs known {known:?}"
    );
}

// --- bad input ---

#[tokio::test(flavor = "multi_thread")]
async fn oversized_and_malformed_input_gets_clear_errors() {
    let (_up, gw) = setup().await;
    let http = client(&gw);
    let r = http
        .post(gw.url("/oauth2/token"))
        .body("a=".to_string() + &"x".repeat(17 * 1024))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = http
        .get(gw.url(&format!("/oauth2/authorize?x={}", "y".repeat(9 * 1024))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 414);
    let r = http
        .get(gw.url("/oauth2/authorize?client_id=%ZZ"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(gw.url("/oauth2/token"))
        .body(vec![0xff, 0xfe, b'=', 0x80])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http.get(gw.url(&format!("/oauth2/authorize?client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.test%2Fcb&response_type=code&state={}", "s".repeat(5000)))).send().await.unwrap();
    assert_eq!(r.status(), 400, "parameter values are bounded");
    still_serving(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_garbage_on_the_socket_never_takes_the_gateway_down() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_up, gw) = setup().await;
    for junk in [
        &b"\x00\x01\x02\x03\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: app.test\r\nContent-Length: -1\r\n\r\n",
        b"GET /%%%% HTTP/1.1\r\nHost: app.test\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzzzz\r\n",
        b"GET http://evil.example/ HTTP/1.1\r\nHost: app.test\r\n\r\n",
    ] {
        let mut s = tokio::net::TcpStream::connect(gw.addr()).await.unwrap();
        let _ = s.write_all(junk).await;
        let mut buf = [0u8; 1024];
        let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
    }
    still_serving(&gw).await;
}

// --- second round: audience-bound bearer tokens ---

/// A gateway whose `app.test` accepts `wiki`'s tokens, `app2.test` none, behind a trusted
/// loopback proxy (so tests can speak for many client addresses with `X-Forwarded-For`).
fn round2_config(up: std::net::SocketAddr, extra: &str) -> String {
    format!(
        r#"
{extra}
[[clients]]
client_id = "rs"
client_secret_sha256 = "{rs}"
redirect_uris = ["https://rs.test/cb"]
introspect_any = true

[[clients]]
client_id = "other"
client_secret_sha256 = "{rs}"
redirect_uris = ["https://other.test/cb"]

[[routes]]
host = "app.test"
upstreams = ["{up}"]
bearer_clients = ["wiki"]

[[routes]]
host = "app2.test"
upstreams = ["{up}"]
"#,
        rs = authgate::oidc::client_auth::hash_secret("rs-secret"),
    )
}

/// A provider for the second-round tests: `[server]` gets `trusted_proxies = ["127.0.0.1"]`.
fn round2(up: std::net::SocketAddr, extra: &str) -> Gateway {
    with_tokens(up, "", extra)
}

/// `round2` with more `[tokens]` settings.
fn with_tokens(up: std::net::SocketAddr, tokens: &str, extra: &str) -> Gateway {
    let port = free_port();
    let text = format!(
        "[server]\nlisten = [\"127.0.0.1:{port}\"]\npublic_url = \"http://127.0.0.1:{port}\"\nthreads = 2\ntrusted_proxies = [\"127.0.0.1\"]\n\n[tokens]\nsigning_key_file = \"{{dir}}/signing.pem\"\ncreate_key_if_missing = true\n{tokens}\n{}\n{}",
        identities(),
        round2_config(up, extra)
    );
    Gateway::start_on(port, &text)
}

/// An access token of `wiki` for alice (authorization code flow, confidential client).
async fn wiki_tokens(gw: &Gateway) -> serde_json::Value {
    let http = signed_in(gw).await;
    let c = code(&http, gw, "wiki", "https://wiki.test/cb", "").await;
    token(
        gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", "https://wiki.test/cb"),
        ],
        true,
    )
    .await
}

/// An access token of the public client `spa` for alice (PKCE).
async fn spa_access_token(gw: &Gateway) -> String {
    let http = signed_in(gw).await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let extra = format!("&code_challenge={challenge}&code_challenge_method=S256");
    let c = code(&http, gw, "spa", "https://spa.test/cb", &extra).await;
    let t = token(
        gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", "https://spa.test/cb"),
            ("client_id", "spa"),
            ("code_verifier", verifier),
        ],
        false,
    )
    .await;
    t["access_token"].as_str().unwrap().to_string()
}

async fn status_with_bearer(gw: &Gateway, url: &str, token: &str) -> reqwest::Response {
    client(gw).get(url).bearer_auth(token).send().await.unwrap()
}

fn assert_invalid_token(r: &reqwest::Response) {
    assert_eq!(r.status(), 401);
    let h = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        h.starts_with("Bearer realm=\"authgate\", error=\"invalid_token\""),
        "{h}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_audience_confusion_a_route_accepts_only_its_bearer_clients() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "");
    let wiki = wiki_tokens(&gw).await;
    let wiki = wiki["access_token"].as_str().unwrap();
    let ok = status_with_bearer(&gw, &at(&gw, "app.test", "/"), wiki).await;
    assert_eq!(ok.status(), 200);
    // A route with no bearer_clients accepts no bearer token at all.
    assert_invalid_token(&status_with_bearer(&gw, &at(&gw, "app2.test", "/"), wiki).await);
    // A public single-page client's token does not open a route that lists only wiki.
    let spa = spa_access_token(&gw).await;
    assert_invalid_token(&status_with_bearer(&gw, &at(&gw, "app.test", "/"), &spa).await);
    still_serving(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn token_audience_confusion_an_id_token_is_never_an_access_token() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "");
    let t = wiki_tokens(&gw).await;
    let id_token = t["id_token"].as_str().unwrap();
    assert_invalid_token(&status_with_bearer(&gw, &at(&gw, "app.test", "/"), id_token).await);
    let r = status_with_bearer(&gw, &gw.url("/oauth2/userinfo"), id_token).await;
    assert_eq!(r.status(), 401, "typ: JWT is not at+jwt");
    let access = t["access_token"].as_str().unwrap();
    let header = access.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
}

#[tokio::test(flavor = "multi_thread")]
async fn token_audience_confusion_forward_auth_applies_the_identified_route() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "");
    let t = wiki_tokens(&gw).await;
    let wiki = t["access_token"].as_str().unwrap();
    let ask = |host: Option<&'static str>| {
        let mut rb = client(&gw).get(gw.url("/oauth2/auth")).bearer_auth(wiki);
        if let Some(h) = host {
            rb = rb
                .header("X-Forwarded-Host", h)
                .header("X-Forwarded-Uri", "/x")
                .header("X-Forwarded-Method", "GET");
        }
        rb.send()
    };
    assert_eq!(ask(Some("app.test")).await.unwrap().status(), 202);
    assert_eq!(ask(Some("app2.test")).await.unwrap().status(), 401);
    assert_eq!(
        ask(None).await.unwrap().status(),
        403,
        "no route identified: no policy to apply, for anyone"
    );
    // Nor for a session cookie (third round: fail-open on no route).
    let (_, cookie) = signed_in_as(&gw, "alice", ALICE_PW).await;
    let r = client(&gw)
        .get(gw.url("/oauth2/auth"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[test]
fn token_audience_confusion_check_config_reports_unknown_bearer_clients() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("a.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = [\"127.0.0.1:1\"]\npublic_url = \"http://a.test\"\n[tokens]\nsigning_key_file = \"{}/k.pem\"\ncreate_key_if_missing = true\n[[routes]]\nupstreams = [\"127.0.0.1:2\"]\nbearer_clients = [\"nobody\"]\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let (code, out, err) = run_cli(&["check-config", "--config", cfg.to_str().unwrap()], None);
    assert_eq!(code, 1);
    assert!(
        format!("{out}{err}").contains("routes[0].bearer_clients[0]"),
        "{out}{err}"
    );
}

// --- second round: who may introspect ---

async fn introspect(gw: &Gateway, who: (&str, Option<&str>), token: &str) -> reqwest::Response {
    let (id, secret) = who;
    let rb = client(gw).post(gw.url("/oauth2/introspect"));
    let rb = match secret {
        Some(s) => rb.basic_auth(id, Some(s)).form(&[("token", token)]),
        None => rb.form(&[("token", token), ("client_id", id)]),
    };
    rb.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn introspection_leak_public_clients_are_refused_and_others_see_their_own() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "");
    let t = wiki_tokens(&gw).await;
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    let r = introspect(&gw, ("spa", None), access).await;
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    for token in [access, refresh] {
        let own: serde_json::Value = introspect(&gw, ("wiki", Some(WIKI_SECRET)), token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(own["active"], true);
        let other: serde_json::Value = introspect(&gw, ("other", Some("rs-secret")), token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(other, serde_json::json!({ "active": false }));
        let rs: serde_json::Value = introspect(&gw, ("rs", Some("rs-secret")), token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(rs["active"], true, "introspect_any");
    }
}

// --- second round: state that floods cannot evict, lockout per real client ---

/// Sends `n` unauthenticated sign-in starts (proxied route, authorize, plain /login) and
/// failed logins, each from its own client address.
async fn flood(gw: &Gateway, n: u32) {
    let c = client(gw);
    for i in 0..n {
        let ip = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
        let url = match i % 3 {
            0 => at(gw, "app.test", &format!("/page{i}")),
            1 => gw.url(&format!("/oauth2/authorize?client_id=wiki&response_type=code&redirect_uri=https%3A%2F%2Fwiki.test%2Fcb&state=s{i}")),
            _ => gw.url("/login"),
        };
        let r = c
            .get(url)
            .header("Accept", "text/html")
            .header("X-Forwarded-For", &ip)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "{ip}");
    }
}

async fn survives_a_flood(gw: &Gateway) {
    let http = browser(gw);
    let (_, r) = browse(&http, gw, &at(gw, "app.test", "/"), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 200);
    flood(gw, 2_000).await;
    let r = http
        .get(at(gw, "app.test", "/"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the signed-in user survived the flood");
    let fresh = browser(gw);
    let (_, r) = browse(&fresh, gw, &at(gw, "app.test", "/"), "bob", BOB_PW).await;
    assert_eq!(r.status(), 200, "a fresh user can still sign in");
}

#[tokio::test(flavor = "multi_thread")]
async fn state_flooding_cannot_evict_a_session_memory_store() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "[session]\nmax_entries = 64\n");
    survives_a_flood(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn state_flooding_writes_nothing_to_the_redis_store() {
    let redis = Redis::start();
    let up = Upstream::start("app").await;
    let gw = round2(
        up.addr,
        &format!(
            "[session]\nstore = \"redis\"\nredis_url = \"{}\"\n",
            redis.url()
        ),
    );
    survives_a_flood(&gw).await;
    let keys = redis.keys("*");
    let state: Vec<&String> = keys
        .iter()
        .filter(|k| !k.contains(":rate:") && !k.contains(":sess:") && !k.contains(":kids:"))
        .filter(|k| !k.contains(":user-sess:"))
        .filter(|k| !k.contains(":code") && !k.contains(":grant:"))
        .collect();
    assert!(state.is_empty(), "{state:?}");
    let sessions = keys.iter().filter(|k| k.contains(":sess:")).count();
    assert_eq!(
        sessions, 4,
        "two users, each a provider and an app session: {keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn state_flooding_sign_in_starts_are_rate_limited_per_client_address() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "[login]\nrate_limit = 3\nrate_window = \"1m\"\n");
    let c = client(&gw);
    let start = |ip: &'static str| {
        c.get(at(&gw, "app.test", "/"))
            .header("Accept", "text/html")
            .header("X-Forwarded-For", ip)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(start("198.51.100.1").await.unwrap().status(), 302);
    }
    let limited = start("198.51.100.1").await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "60");
    assert_eq!(start("198.51.100.2").await.unwrap().status(), 302);
}

#[tokio::test(flavor = "multi_thread")]
async fn lockout_denial_of_service_counts_the_client_behind_a_trusted_proxy() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "[login]\nmax_failures = 3\n");
    let attacker = browser(&gw);
    for i in 0..5 {
        let r = attacker
            .get(gw.url("/login"))
            .header("X-Forwarded-For", "203.0.113.66")
            .send()
            .await
            .unwrap();
        let page = attacker.get(location(&r)).send().await.unwrap();
        let page = page.text().await.unwrap();
        let r = login_post(
            &attacker,
            gw.url("/login"),
            &page,
            &format!("guess{i}"),
            "x",
        )
        .header("X-Forwarded-For", "203.0.113.66")
        .send()
        .await
        .unwrap();
        assert!(matches!(r.status().as_u16(), 401 | 429), "{}", r.status());
    }
    // alice, behind the same proxy but from her own address, is not locked out.
    let http = browser(&gw);
    let r = http
        .get(gw.url("/login"))
        .header("X-Forwarded-For", "198.51.100.20")
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
        .header("X-Forwarded-For", "198.51.100.20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = gw.stderr();
    assert!(
        log.contains("198.51.100.20"),
        "the access log shows the client address: {log}"
    );
}

// --- second round: revocation wins over concurrent writes (both stores) ---

mod revocation {
    use std::sync::Arc;
    use std::time::Duration;

    use authgate::config::SessionCfg;
    use authgate::session::memory::MemoryStore;
    use authgate::session::redis::RedisStore;
    use authgate::session::{Key, Kind, Records, Sessions, Store};

    use super::common::Redis;

    fn cfg() -> SessionCfg {
        SessionCfg {
            cookie_name: "s".into(),
            lifetime: Duration::from_secs(3600),
            idle_timeout: Duration::from_secs(600),
            store: authgate::config::StoreKind::Memory,
            redis: None,
            key_prefix: "t:".into(),
            max_entries: 1000,
            snapshot_file: None,
            snapshot_key_file: "unused".into(),
        }
    }

    const NOW: u64 = 1_700_000_000;

    /// A touch that read the session before a logout cannot write it back after.
    async fn idle_touch_after_logout(store: &dyn Store) {
        let cfg = cfg();
        let s = Sessions { store, cfg: &cfg };
        let (id, _) = s
            .create(
                ("alice", &authgate::directory::Source::Local),
                vec!["pwd".into()],
                None,
                NOW,
            )
            .await
            .unwrap();
        let read = s
            .read(&Key::secret(Kind::Session, &id), NOW)
            .await
            .unwrap()
            .unwrap();
        s.end(&read.key).await.unwrap();
        assert!(s.touch(read, NOW + 120).await.unwrap().is_none());
        assert!(s.lookup(&id, NOW + 120).await.unwrap().is_none());
    }

    /// App sessions made at once are all recorded, so logout everywhere ends every one; and one
    /// made after the provider session ended is refused.
    async fn children_survive_no_logout(store: Arc<dyn Store>) {
        let cfg = Arc::new(cfg());
        let s = Sessions {
            store: store.as_ref(),
            cfg: &cfg,
        };
        let (_, parent) = s
            .create(
                ("alice", &authgate::directory::Source::Local),
                vec!["pwd".into()],
                None,
                NOW,
            )
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (store, cfg, key) = (Arc::clone(&store), Arc::clone(&cfg), parent.key.clone());
            tasks.push(tokio::spawn(async move {
                let s = Sessions {
                    store: store.as_ref(),
                    cfg: &cfg,
                };
                s.create_child(&key, NOW).await.unwrap().unwrap().0
            }));
        }
        let mut children = Vec::new();
        for t in tasks {
            children.push(t.await.unwrap());
        }
        s.end(&parent.key).await.unwrap();
        for child in &children {
            assert!(
                s.lookup(child, NOW).await.unwrap().is_none(),
                "a child survived"
            );
        }
        assert!(s.create_child(&parent.key, NOW).await.unwrap().is_none());
    }

    /// A refresh that read its grant before reuse detection revoked it cannot renew it after.
    async fn refresh_after_revocation(store: &dyn Store) {
        let records = Records(store);
        let grant = Key::id(Kind::Grant, "g1");
        let ttl = Duration::from_secs(3600);
        records.put(&grant, &"grant", ttl).await.unwrap();
        let read: Option<String> = records.get(&grant).await.unwrap();
        assert!(read.is_some());
        store.revoke(&grant, ttl).await.unwrap();
        assert!(!records.replace(&grant, &read.unwrap(), ttl).await.unwrap());
        assert_eq!(records.get::<String>(&grant).await.unwrap(), None);
    }

    fn redis_store(redis: &Redis) -> Arc<dyn Store> {
        Arc::new(RedisStore::open(&redis.url(), "t:").unwrap())
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn lost_update_idle_touch_cannot_resurrect_a_logged_out_session() {
        idle_touch_after_logout(&MemoryStore::new(100)).await;
        let redis = Redis::start();
        idle_touch_after_logout(redis_store(&redis).as_ref()).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn lost_update_concurrent_app_sessions_all_end_at_logout_everywhere() {
        children_survive_no_logout(Arc::new(MemoryStore::new(1000))).await;
        let redis = Redis::start();
        children_survive_no_logout(redis_store(&redis)).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn lost_update_refresh_cannot_rewrite_a_revoked_grant() {
        refresh_after_revocation(&MemoryStore::new(100)).await;
        let redis = Redis::start();
        refresh_after_revocation(redis_store(&redis).as_ref()).await;
    }
}

// --- second round: fail closed, HEAD changes nothing ---

#[tokio::test(flavor = "multi_thread")]
async fn fail_open_rp_logout_with_the_store_down_is_503_not_signed_out() {
    let mut redis = Redis::start();
    let gw = provider(&format!(
        "[session]\nstore = \"redis\"\nredis_url = \"{}\"\n",
        redis.url()
    ));
    let (_, cookie) = signed_in_as(&gw, "alice", ALICE_PW).await;
    redis.kill();
    let r = client(&gw)
        .get(gw.url("/oauth2/logout"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(!r.text().await.unwrap().contains("signed out"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unsafe_head_on_logout_and_authorize_changes_nothing() {
    let (_up, gw) = setup().await;
    let http = browser(&gw);
    let (_, r) = browse(&http, &gw, &at(&gw, "app.test", "/"), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 200);
    for url in [
        gw.url("/oauth2/logout"),
        at(&gw, "app.test", "/.authgate/logout"),
        gw.url("/oauth2/authorize?client_id=wiki&response_type=code&redirect_uri=https%3A%2F%2Fwiki.test%2Fcb"),
    ] {
        let r = http.head(&url).send().await.unwrap();
        assert_eq!(r.status(), 405, "{url}");
        assert!(r.headers().get("allow").is_some());
    }
    let r = http
        .get(at(&gw, "app.test", "/"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "still signed in on the app");
    let r = http
        .get(gw.url("/oauth2/authorize?client_id=wiki&response_type=code&redirect_uri=https%3A%2F%2Fwiki.test%2Fcb"))
        .send()
        .await
        .unwrap();
    assert!(
        param(&location(&r), "code").is_some(),
        "still signed in at the provider"
    );
}

// --- third round ---

/// One login POST as `user` from `xff` (sent by the trusted proxy on loopback).
async fn login_from(gw: &Gateway, user: &str, pw: &str, xff: &str) -> u16 {
    let http = browser(gw);
    let r = http.get(gw.url("/login")).send().await.unwrap();
    let page = http.get(location(&r)).send().await.unwrap();
    let page = page.text().await.unwrap();
    login_post(&http, gw.url("/login"), &page, user, pw)
        .header("X-Forwarded-For", xff)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn lockout_key_fallback_garbage_forwarded_for_never_becomes_the_proxy() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "[login]\nmax_failures = 3\n");
    // Garbage before the attacker's real address: the nearest valid entry is counted.
    for i in 0..3 {
        let xff = format!("not-an-ip, 203.0.113.66, junk{i}");
        assert_eq!(login_from(&gw, "mallory", "x", &xff).await, 401);
    }
    assert_eq!(
        login_from(&gw, "bob", BOB_PW, "203.0.113.66").await,
        429,
        "the attacker's address is locked"
    );
    // The proxy's own address was never charged: everyone else behind it signs in.
    assert_eq!(
        login_from(&gw, "alice", ALICE_PW, "198.51.100.20").await,
        200
    );
    // A header with no address at all is refused.
    let r = client(&gw)
        .get(gw.url("/login"))
        .header("X-Forwarded-For", "unknown, junk")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn lockout_by_variants_of_one_name_shares_one_counter() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "[login]\nmax_failures = 3\n");
    for (i, variant) in ["Alice", " alice", "ALICE "].iter().enumerate() {
        let from = format!("198.51.100.{}", i + 1);
        assert_eq!(login_from(&gw, variant, "guess", &from).await, 401);
    }
    assert_eq!(
        login_from(&gw, "alice", ALICE_PW, "198.51.100.9").await,
        429,
        "alice is locked, from any address"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lockout_by_ipv6_addresses_counts_the_whole_64() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "[login]\nmax_failures = 3\n");
    for i in 1..=3 {
        let from = format!("2001:db8:1:2::{i}");
        assert_eq!(login_from(&gw, &format!("guess{i}"), "x", &from).await, 401);
    }
    assert_eq!(
        login_from(&gw, "bob", BOB_PW, "2001:db8:1:2:ffff::9").await,
        429
    );
    assert_eq!(login_from(&gw, "bob", BOB_PW, "2001:db8:1:3::9").await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn unthrottled_device_codes_are_rate_limited_and_capped_per_client() {
    const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
    let ask = |gw: &Gateway, client_id: &str, from: &str| {
        client(gw)
            .post(gw.url("/oauth2/device_authorization"))
            .header("X-Forwarded-For", from.to_string())
            .form(&[("client_id", client_id.to_string())])
            .send()
    };
    let up = Upstream::start("app").await;
    let clients = format!(
        "[[clients]]\nclient_id = \"tv\"\ngrant_types = [\"{DEVICE}\"]\n\
         [[clients]]\nclient_id = \"tv2\"\ngrant_types = [\"{DEVICE}\"]\n"
    );
    // Per address: the sign-in rate limit.
    let gw = round2(up.addr, &format!("[login]\nrate_limit = 3\n{clients}"));
    for _ in 0..3 {
        assert_eq!(ask(&gw, "tv", "203.0.113.7").await.unwrap().status(), 200);
    }
    let r = ask(&gw, "tv", "203.0.113.7").await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(ask(&gw, "tv", "203.0.113.8").await.unwrap().status(), 200);
    // Per client: at most max_pending_device_codes, whatever the address.
    let gw = with_tokens(up.addr, "max_pending_device_codes = 2", &clients);
    for from in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(ask(&gw, "tv", from).await.unwrap().status(), 200);
    }
    let r = ask(&gw, "tv", "203.0.113.3").await.unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "slow_down");
    assert_eq!(ask(&gw, "tv2", "203.0.113.3").await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn cookie_injection_by_an_app_never_reaches_the_browser() {
    let up = Upstream::start("app").await;
    let gw = provider(&gateway_config(up.addr, ""));
    for url in [at(&gw, "public.test", "/set-cookies")] {
        let r = client(&gw).get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let set: Vec<_> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert_eq!(set, ["theme=dark; Path=/", "lang=en"], "{url}");
    }
    // And on a protected route, signed in.
    let http = browser(&gw);
    let (_, r) = browse(
        &http,
        &gw,
        &at(&gw, "app.test", "/set-cookies"),
        "alice",
        ALICE_PW,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|v| !v.to_str().unwrap().contains("authgate_session")));
}

#[tokio::test(flavor = "multi_thread")]
async fn id_token_hint_must_be_an_id_token_issued_to_a_client() {
    let up = Upstream::start("app").await;
    let gw = round2(up.addr, "");
    // An assertion as forward-auth hands it out: signed by the same key, typ JWT, for a host.
    let (_, cookie) = signed_in_as(&gw, "alice", ALICE_PW).await;
    let r = client(&gw)
        .get(gw.url("/oauth2/auth"))
        .header("Cookie", &cookie)
        .header("X-Forwarded-Host", "app.test")
        .header("X-Forwarded-Uri", "/")
        .header("X-Forwarded-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let assertion = r.headers()["x-authgate-assertion"]
        .to_str()
        .unwrap()
        .to_string();
    let t = wiki_tokens(&gw).await;
    let logout = |hint: String| {
        client(&gw)
            .get(gw.url("/oauth2/logout"))
            .query(&[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", "https://wiki.test/bye"),
            ])
            .send()
    };
    for hint in [assertion, t["access_token"].as_str().unwrap().to_string()] {
        let r = logout(hint).await.unwrap();
        assert_eq!(r.status(), 400, "an assertion or access token is no hint");
    }
    let id_token = t["id_token"].as_str().unwrap().to_string();
    let r = logout(id_token).await.unwrap();
    assert_ne!(r.status(), 400);
}

/// One account looping authorize → token: the grants remembered for it stay bounded, the
/// oldest live ones being revoked, so neither memory nor each sign-in's cost grows.
#[tokio::test(flavor = "multi_thread")]
async fn grant_flooding_by_one_account_keeps_the_grant_set_bounded() {
    let up = Upstream::start("app").await;
    let gw = provider(&gateway_config(up.addr, ""));
    let http = signed_in(&gw).await;
    let mut first = None;
    let mut last = String::new();
    for _ in 0..=authgate::app::revocation::MAX_REMEMBERED_GRANTS {
        let c = code(&http, &gw, "wiki", "https://wiki.test/cb", "").await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", c.as_str()),
            ("redirect_uri", "https://wiki.test/cb"),
        ];
        let t = token(&gw, &form, true).await;
        last = t["refresh_token"].as_str().unwrap().to_string();
        first.get_or_insert(last.clone());
    }
    let refresh = |rt: String| {
        let gw = &gw;
        async move {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
            ];
            token(gw, &form, true).await
        }
    };
    let oldest = refresh(first.unwrap()).await;
    assert_eq!(
        oldest["error"], "invalid_grant",
        "the oldest grant was revoked"
    );
    let newest = refresh(last).await;
    assert!(newest["access_token"].is_string(), "{newest}");
}
