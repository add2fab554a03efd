//! The three vendors' documented authorize requests, replayed as the seed documents write them.

mod common;

use common::oidc::*;
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn seed_000_oneaccess_example_request() {
    let gw = provider("");
    let http = browser(&gw);
    // Verbatim from the OneAccess document (redirect_uri unencoded, client_id as printed).
    let request = gw.url("/api/v1/oauth2/authorize?response_type=code&client_id=cU0L3GsEq1vuOJ5iQrRSu5AyPnKL8...&redirect_uri=https://example.com&scope=openid&state=test");
    // Not signed in: 302 to the login page.
    let r = http.get(&request).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert!(location(&r).contains("/login?auth="));
    // Signed in: 302 to redirect_uri with code and state.
    let back = authorize_with_login(&http, &gw, &request, "alice", ALICE_PW).await;
    assert!(back.starts_with("https://example.com"), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("test"));
    let code = param(&back, "code").unwrap();
    // A confidential client without PKCE exchanges the code at the OneAccess token path.
    let tokens: serde_json::Value = http
        .post(gw.url("/api/v1/oauth2/token"))
        .basic_auth("cU0L3GsEq1vuOJ5iQrRSu5AyPnKL8...", Some(WIKI_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://example.com"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tokens["id_token"].is_string(), "{tokens}");
    let info: serde_json::Value = http
        .get(gw.url("/api/v1/oauth2/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], "alice");
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_000_optional_parameters_may_be_omitted() {
    let gw = provider("");
    let http = browser(&gw);
    let back = authorize_with_login(&http, &gw, &gw.url("/api/v1/oauth2/authorize?response_type=code&client_id=cU0L3GsEq1vuOJ5iQrRSu5AyPnKL8..."), "alice", ALICE_PW).await;
    assert!(back.starts_with("https://example.com"), "{back}");
    assert!(param(&back, "code").is_some());
    assert_eq!(param(&back, "state"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_001_pkce_api_with_session_cookie() {
    let gw = provider("");
    // Sign in first (plain visit to /login), keep the session cookie.
    let jar_client = browser(&gw);
    let r = jar_client.get(gw.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let r = submit_login(&jar_client, &gw, &location(&r), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 200);
    let cookie = session_pair(&r);

    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    // Every parameter as the document lists it, the session in the Cookie header.
    let plain = client(&gw);
    let r = plain
        .get(gw.url(&format!("/api/id/v1/auth/authorize?redirect_uri=https%3A%2F%2Fapi-client.test%2Fcallback&response_type=code&client_id=pkce-api&scope=openid&state=af0ifjsldkj&code_challenge={challenge}&code_challenge_method=S256")))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let back = location(&r);
    assert!(
        back.starts_with("https://api-client.test/callback?"),
        "{back}"
    );
    assert_eq!(param(&back, "state").as_deref(), Some("af0ifjsldkj"));
    let code = param(&back, "code").unwrap();
    let r = plain
        .post(gw.url("/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://api-client.test/callback"),
            ("client_id", "pkce-api"),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Without a challenge, the public client is refused.
    let r = plain
        .get(gw.url("/api/id/v1/auth/authorize?redirect_uri=https%3A%2F%2Fapi-client.test%2Fcallback&response_type=code&client_id=pkce-api&scope=openid&state=s"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_002_idcs_confidential_client_code() {
    let gw = provider("");
    let http = browser(&gw);
    let back = authorize_with_login(
        &http,
        &gw,
        &gw.url("/oauth2/v1/authorize?client_id=wiki&response_type=code&redirect_uri=https://wiki.test/cb&scope=openid&nonce=n-0S6_WzA2Mj&state=1234"),
        "alice",
        ALICE_PW,
    )
    .await;
    assert!(back.starts_with("https://wiki.test/cb?"), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("1234"));
    let code = param(&back, "code").unwrap();
    let r = http
        .post(gw.url("/oauth2/v1/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://wiki.test/cb"),
            ("client_id", "wiki"),
            ("client_secret", WIKI_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    let id_token = body["id_token"].as_str().unwrap();
    let claims = decode_jwt_payload(id_token);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_002_idcs_public_client_id_token_in_fragment() {
    let gw = provider("");
    let http = browser(&gw);
    let back = authorize_with_login(
        &http,
        &gw,
        &gw.url("/oauth2/v1/authorize?client_id=spa&response_type=id_token&redirect_uri=https://spa.test/cb&scope=openid&nonce=abc123&state=1234"),
        "alice",
        ALICE_PW,
    )
    .await;
    let url = url::Url::parse(&back).unwrap();
    assert_eq!(url.query(), None, "tokens never travel in the query");
    assert_eq!(param(&back, "state").as_deref(), Some("1234"));
    let claims = decode_jwt_payload(&param(&back, "id_token").unwrap());
    assert_eq!(claims["nonce"], "abc123");
    assert_eq!(claims["aud"], "spa");
    assert_eq!(param(&back, "code"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_002_id_token_without_nonce_is_invalid_request() {
    let gw = provider("");
    let r = client(&gw)
        .get(gw.url("/oauth2/v1/authorize?client_id=spa&response_type=id_token&redirect_uri=https://spa.test/cb&scope=openid&state=1234"))
        .send()
        .await
        .unwrap();
    let back = location(&r);
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
    assert!(url::Url::parse(&back).unwrap().fragment().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_002_unknown_client_is_401_page() {
    let gw = provider("");
    let r = client(&gw)
        .get(gw.url("/oauth2/v1/authorize?client_id=nobody&response_type=code&redirect_uri=https://evil.test/&scope=openid&state=1234"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("location").is_none());
}

fn decode_jwt_payload(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}
