//! One test per RFC rule the provider enforces, asserting the exact `error` value.
//! Time-dependent rules (expired codes and refresh tokens) are tested with a fixed clock in
//! `src/oidc/grant.rs`; code replay, refresh-token reuse, PKCE downgrade, redirect URI
//! near-misses and the login CSRF token live in `tests/security.rs`, named after the attack.

mod common;

use common::oidc::*;
use common::*;

const WIKI: &str = "client_id=wiki&redirect_uri=https%3A%2F%2Fwiki.test%2Fcb";

async fn signed_in(gw: &Gateway) -> reqwest::Client {
    signed_in_as(gw, "alice", ALICE_PW).await.0
}

async fn authorize(http: &reqwest::Client, gw: &Gateway, query: &str) -> reqwest::Response {
    http.get(gw.url(&format!("/oauth2/authorize?{query}")))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
}

async fn redirect_error(http: &reqwest::Client, gw: &Gateway, query: &str) -> String {
    let r = authorize(http, gw, query).await;
    assert_eq!(r.status(), 302, "{query}");
    let back = location(&r);
    assert_eq!(
        param(&back, "iss").as_deref(),
        Some(gw.url("").as_str()),
        "RFC 9207 iss on errors: {back}"
    );
    param(&back, "error").unwrap_or_else(|| panic!("no error in {back}"))
}

async fn code(http: &reqwest::Client, gw: &Gateway, extra: &str) -> String {
    let r = authorize(
        http,
        gw,
        &format!("{WIKI}&response_type=code&scope=openid+offline_access&state=s{extra}"),
    )
    .await;
    param(&location(&r), "code").unwrap()
}

async fn token(
    http: &reqwest::Client,
    gw: &Gateway,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let r = http
        .post(gw.url("/oauth2/token"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (status, r.json().await.unwrap())
}

async fn exchange(http: &reqwest::Client, gw: &Gateway, code: &str) -> (u16, serde_json::Value) {
    token(
        http,
        gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "https://wiki.test/cb"),
        ],
    )
    .await
}

async fn userinfo_status(http: &reqwest::Client, gw: &Gateway, access: &str) -> u16 {
    http.get(gw.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

// --- authorize: errors shown to the user, never redirected (RFC 6749 §4.1.2.1) ---

#[tokio::test(flavor = "multi_thread")]
async fn authorize_unknown_client_is_a_page_not_a_redirect() {
    let gw = provider("");
    let r = authorize(
        &client(&gw),
        &gw,
        "client_id=nope&redirect_uri=https%3A%2F%2Fevil.test&response_type=code",
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("location").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_missing_redirect_uri_with_several_registered_is_a_page() {
    let gw = provider("");
    let r = authorize(&client(&gw), &gw, "client_id=wiki&response_type=code").await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_repeated_client_id_is_a_page() {
    let gw = provider("");
    let r = authorize(
        &client(&gw),
        &gw,
        &format!("{WIKI}&client_id=spa&response_type=code"),
    )
    .await;
    assert_eq!(r.status(), 400);
}

// --- authorize: errors redirected with error, state, iss ---

#[tokio::test(flavor = "multi_thread")]
async fn authorize_missing_response_type_is_invalid_request() {
    let gw = provider("");
    let r = authorize(&client(&gw), &gw, &format!("{WIKI}&state=xyz")).await;
    let back = location(&r);
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&back, "state").as_deref(), Some("xyz"));
    assert!(param(&back, "error_description").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_unknown_response_type_is_unsupported_response_type() {
    let gw = provider("");
    assert_eq!(
        redirect_error(&client(&gw), &gw, &format!("{WIKI}&response_type=token")).await,
        "unsupported_response_type"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_response_type_not_allowed_for_client_is_unauthorized_client() {
    let gw = provider("");
    let q = format!("{WIKI}&response_type=id_token&nonce=n");
    assert_eq!(
        redirect_error(&client(&gw), &gw, &q).await,
        "unauthorized_client"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_unknown_scope_is_invalid_scope() {
    let gw = provider("");
    assert_eq!(
        redirect_error(
            &client(&gw),
            &gw,
            &format!("{WIKI}&response_type=code&scope=openid+admin_everything")
        )
        .await,
        "invalid_scope"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_prompt_none_without_session_is_login_required() {
    let gw = provider("");
    assert_eq!(
        redirect_error(
            &client(&gw),
            &gw,
            &format!("{WIKI}&response_type=code&prompt=none")
        )
        .await,
        "login_required"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_plain_pkce_is_invalid_request() {
    let gw = provider("");
    let challenge = "a".repeat(43);
    for method in ["&code_challenge_method=plain", ""] {
        let q = format!("client_id=spa&redirect_uri=https%3A%2F%2Fspa.test%2Fcb&response_type=code&code_challenge={challenge}{method}");
        assert_eq!(
            redirect_error(&client(&gw), &gw, &q).await,
            "invalid_request",
            "{method}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_public_client_without_challenge_is_invalid_request() {
    let gw = provider("");
    let q = "client_id=spa&redirect_uri=https%3A%2F%2Fspa.test%2Fcb&response_type=code";
    assert_eq!(
        redirect_error(&client(&gw), &gw, q).await,
        "invalid_request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_repeated_parameter_is_invalid_request() {
    let gw = provider("");
    for dup in [
        "&scope=openid&scope=email",
        "&state=a&state=b",
        "&response_type=code",
    ] {
        let q = format!("{WIKI}&response_type=code{dup}");
        assert_eq!(
            redirect_error(&client(&gw), &gw, &q).await,
            "invalid_request",
            "{dup}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_request_object_of_a_client_without_keys_is_invalid_request_object() {
    let gw = provider("");
    assert_eq!(
        redirect_error(
            &client(&gw),
            &gw,
            &format!("{WIKI}&response_type=code&request=eyJ")
        )
        .await,
        "invalid_request_object"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_malformed_query_is_a_400_page() {
    let gw = provider("");
    let r = authorize(
        &client(&gw),
        &gw,
        &format!("{WIKI}&response_type=code&state=%zz"),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = authorize(
        &client(&gw),
        &gw,
        &format!("{WIKI}&response_type=code&state=%ff%fe"),
    )
    .await;
    assert_eq!(r.status(), 400);
}

// --- authorize: sessions, prompt, max_age, login_hint ---

#[tokio::test(flavor = "multi_thread")]
async fn authorize_with_session_issues_code_at_once() {
    let gw = provider("");
    let http = signed_in(&gw).await;
    let r = authorize(&http, &gw, &format!("{WIKI}&response_type=code&state=abc")).await;
    let back = location(&r);
    assert!(back.starts_with("https://wiki.test/cb?"), "{back}");
    assert!(param(&back, "code").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_prompt_login_forces_a_fresh_login() {
    let gw = provider("");
    let http = signed_in(&gw).await;
    let r = authorize(
        &http,
        &gw,
        &format!("{WIKI}&response_type=code&prompt=login"),
    )
    .await;
    assert!(location(&r).contains("/login?auth="));
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_max_age_exceeded_forces_login() {
    let gw = provider("");
    let http = signed_in(&gw).await;
    gw.advance_clock(2);
    let r = authorize(&http, &gw, &format!("{WIKI}&response_type=code&max_age=1")).await;
    assert!(location(&r).contains("/login?auth="));
    let r = authorize(
        &http,
        &gw,
        &format!("{WIKI}&response_type=code&max_age=3600"),
    )
    .await;
    assert!(param(&location(&r), "code").is_some());
    assert_eq!(
        redirect_error(
            &http,
            &gw,
            &format!("{WIKI}&response_type=code&max_age=soon")
        )
        .await,
        "invalid_request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_login_hint_prefills_the_form() {
    let gw = provider("");
    let http = browser(&gw);
    let r = authorize(
        &http,
        &gw,
        &format!("{WIKI}&response_type=code&login_hint=alice%22%3E%3Cscript%3E"),
    )
    .await;
    let page = http
        .get(location(&r))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("value=\"alice&#34;&#62;&#60;script&#62;\"")
            || page.contains("value=\"alice&quot;&gt;&lt;script&gt;\""),
        "{page}"
    );
    assert!(!page.contains("<script>"));
}

// --- token endpoint ---

#[tokio::test(flavor = "multi_thread")]
async fn token_redirect_uri_mismatch_is_invalid_grant() {
    let gw = provider("");
    let http = signed_in(&gw).await;
    let c = code(&http, &gw, "").await;
    let (_, r) = token(
        &http,
        &gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", "https://wiki.test/cb2"),
        ],
    )
    .await;
    assert_eq!(r["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread")]
async fn token_bad_client_secret_is_invalid_client_401() {
    let gw = provider("");
    let r = client(&gw)
        .post(gw.url("/oauth2/token"))
        .basic_auth("wiki", Some("wrong"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    let r = client(&gw)
        .post(gw.url("/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "wiki"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "confidential client without authentication"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_two_client_auth_methods_is_invalid_request() {
    let gw = provider("");
    let r = client(&gw)
        .post(gw.url("/oauth2/token"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_secret", WIKI_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_basic_credentials_are_form_urlencoded() {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
    let gw = provider("");
    let r = client(&gw)
        .post(gw.url("/oauth2/token"))
        .header(
            "Authorization",
            format!("Basic {}", base64_std("wiki:wiki%2Dsecret")),
        )
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant",
        "client authenticated, grant refused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_unknown_grant_type_is_unsupported_grant_type() {
    let gw = provider("");
    let (status, r) = token(
        &client(&gw),
        &gw,
        &[("grant_type", "password"), ("username", "alice")],
    )
    .await;
    assert_eq!(
        (status, r["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (_, r) = token(&client(&gw), &gw, &[("code", "x")]).await;
    assert_eq!(r["error"], "invalid_request");
}

#[tokio::test(flavor = "multi_thread")]
async fn token_unknown_code_is_invalid_grant() {
    let gw = provider("");
    let (_, r) = exchange(&client(&gw), &gw, "not-a-code").await;
    assert_eq!(r["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread")]
async fn token_refresh_with_wider_scope_is_invalid_scope() {
    let gw = provider("");
    let http = signed_in(&gw).await;
    let (_, first) = exchange(&http, &gw, &code(&http, &gw, "").await).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let (_, r) = token(
        &http,
        &gw,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", "openid email"),
        ],
    )
    .await;
    assert_eq!(r["error"], "invalid_scope");
}

// --- userinfo, introspection, revocation ---

#[tokio::test(flavor = "multi_thread")]
async fn userinfo_without_or_with_bad_token_is_401_invalid_token() {
    let gw = provider("");
    let r = client(&gw)
        .get(gw.url("/oauth2/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let r = client(&gw)
        .get(gw.url("/oauth2/userinfo"))
        .bearer_auth("eyJhbGciOiJub25lIn0.e30.")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn userinfo_accepts_post_and_id_token_is_not_an_access_token() {
    let gw = provider("");
    let http = signed_in(&gw).await;
    let (_, t) = exchange(&http, &gw, &code(&http, &gw, "").await).await;
    let r = http
        .post(gw.url("/oauth2/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        userinfo_status(&http, &gw, t["id_token"].as_str().unwrap()).await,
        401
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn introspection_requires_client_auth_and_reports_activity() {
    let gw = provider("");
    let http = signed_in(&gw).await;
    let (_, t) = exchange(&http, &gw, &code(&http, &gw, "").await).await;
    let access = t["access_token"].as_str().unwrap();
    let r = client(&gw)
        .post(gw.url("/oauth2/introspect"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r: serde_json::Value = client(&gw)
        .post(gw.url("/oauth2/introspect"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            r["active"].as_bool(),
            r["sub"].as_str(),
            r["client_id"].as_str()
        ),
        (Some(true), Some("alice"), Some("wiki"))
    );
    let r: serde_json::Value = client(&gw)
        .post(gw.url("/oauth2/introspect"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[("token", t["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["active"], true);
    let r: serde_json::Value = client(&gw)
        .post(gw.url("/oauth2/introspect"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[("token", "garbage")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, serde_json::json!({ "active": false }));
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_revokes_the_grant() {
    let gw = provider("");
    let http = signed_in(&gw).await;
    let (_, t) = exchange(&http, &gw, &code(&http, &gw, "").await).await;
    let r = client(&gw)
        .post(gw.url("/oauth2/revoke"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[("token", t["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        userinfo_status(&http, &gw, t["access_token"].as_str().unwrap()).await,
        401
    );
    let r = client(&gw)
        .post(gw.url("/oauth2/revoke"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[("token", "unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "RFC 7009 §2.2: unknown tokens are not an error"
    );
}

// --- login page ---

#[tokio::test(flavor = "multi_thread")]
async fn login_same_message_for_unknown_user_and_wrong_password() {
    let gw = provider("");
    let http = browser(&gw);
    let mut bodies = Vec::new();
    for (user, pw) in [("alice", "wrong"), ("nobody", "wrong"), ("carol", BOB_PW)] {
        let r = http.get(gw.url("/login")).send().await.unwrap();
        let r = submit_login(&http, &gw, &location(&r), user, pw).await;
        assert_eq!(r.status(), 401, "{user}");
        let body = r.text().await.unwrap();
        let msg = body
            .split("id=\"login-error\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string();
        bodies.push(msg);
    }
    assert!(
        bodies.iter().all(|m| m == "Invalid username or password."),
        "{bodies:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn login_session_cookie_attributes_and_fresh_id() {
    let gw = provider("");
    let http = browser(&gw);
    let r = http.get(gw.url("/login")).send().await.unwrap();
    let login = location(&r);
    // A session id planted before login (fixation) is never adopted.
    let planted = "authgate_session=attacker-chosen-value";
    let page = http
        .get(&login)
        .header("Cookie", planted)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = login_post(&http, gw.url("/login"), &page, "alice", ALICE_PW)
        .send()
        .await
        .unwrap();
    let cookie = set_session_cookie(&r);
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "http public_url: no Secure");
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("authgate_session=");
    assert_ne!(value, "attacker-chosen-value");
    assert!(value.len() >= 43, "256-bit id");
}

// --- logout, discovery, JWKS ---

#[tokio::test(flavor = "multi_thread")]
async fn logout_with_hint_redirects_exactly_and_ends_the_session() {
    let gw = provider("");
    let http = signed_in(&gw).await;
    let (_, t) = exchange(&http, &gw, &code(&http, &gw, "").await).await;
    let hint = t["id_token"].as_str().unwrap();
    let r = http.get(gw.url(&format!("/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fevil.test%2F&state=s"))).send().await.unwrap();
    assert_eq!(r.status(), 400, "unregistered post_logout_redirect_uri");
    let r = http.get(gw.url(&format!("/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fwiki.test%2Fbye&state=s1"))).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), "https://wiki.test/bye?state=s1");
    let r = authorize(&http, &gw, &format!("{WIKI}&response_type=code")).await;
    assert!(location(&r).contains("/login?auth="), "signed out");
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_and_jwks() {
    let gw = provider("");
    let d = gw.json("/.well-known/openid-configuration").await;
    assert_eq!(d["issuer"], gw.url(""));
    assert_eq!(d["token_endpoint"], gw.url("/oauth2/token"));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    let jwks: serde_json::Value = client(&gw)
        .get(d["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert!(key.get("d").is_none(), "no private part");
    assert_eq!(
        key["kid"].as_str().unwrap().len(),
        43,
        "RFC 7638 SHA-256 thumbprint"
    );
}

fn base64_std(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
