//! The provider's modern profile, refused where it must be: pushed authorization requests
//! (RFC 9126), signed request objects (RFC 9101) and DPoP-bound tokens (RFC 9449), spoken by
//! hand with proofs and objects signed here. openid-client v6 runs the same flows as a
//! certified relying party (tests/browser/openid_client.mjs).

mod common;

use common::jose::{self, Key};
use common::oidc::*;
use common::*;

fn secret_hash() -> String {
    authgate::oidc::client_auth::hash_secret(WIKI_SECRET)
}

/// The error code in a redirect to the client (query), or "" when there is none.
fn redirect_error(r: &reqwest::Response) -> String {
    param(&location(r), "error").unwrap_or_default()
}

async fn json_of(r: reqwest::Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pushed_request_is_used_once_by_the_client_that_pushed_it() {
    let gw = provider(&format!(
        "[[clients]]\nclient_id = \"fapi\"\nclient_secret_sha256 = \"{}\"\nredirect_uris = [\"https://fapi.test/cb\"]\nrequire_pushed_authorization_requests = true\n",
        secret_hash()
    ));
    let discovery = gw.json("/.well-known/openid-configuration").await;
    assert_eq!(
        discovery["pushed_authorization_request_endpoint"],
        gw.url("/oauth2/par")
    );
    let http = browser(&gw);
    // A client that must push cannot send its parameters in the front channel.
    let plain = "/oauth2/authorize?client_id=fapi&response_type=code&state=s";
    let r = http.get(gw.url(plain)).send().await.unwrap();
    assert_eq!(redirect_error(&r), "invalid_request", "{}", location(&r));

    let push = |form: Vec<(&'static str, &'static str)>, secret: &'static str| {
        client(&gw)
            .post(gw.url("/oauth2/par"))
            .basic_auth("fapi", Some(secret))
            .form(&form)
            .send()
    };
    let form = vec![
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "pushed"),
    ];
    let (status, body) = json_of(push(form.clone(), WIKI_SECRET).await.unwrap()).await;
    assert_eq!(
        (status, body["expires_in"].as_u64()),
        (201, Some(60)),
        "{body}"
    );
    let uri = body["request_uri"].as_str().unwrap().to_string();
    assert!(
        uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{uri}"
    );

    let url = gw.url(&format!(
        "/oauth2/authorize?client_id=fapi&request_uri={}",
        enc(&uri)
    ));
    let back = authorize_with_login(&http, &gw, &url, "alice", ALICE_PW).await;
    assert!(back.starts_with("https://fapi.test/cb?code="), "{back}");
    assert_eq!(param(&back, "state").as_deref(), Some("pushed"));
    assert_eq!(param(&back, "iss").as_deref(), Some(gw.url("").as_str()));
    // Used once: the same request_uri again is refused.
    let again = curl(&[&url]);
    let to = again.header("location").unwrap_or_default();
    assert_eq!(
        param(to, "error").as_deref(),
        Some("invalid_request_uri"),
        "{to}"
    );

    // Bound to its client: another client cannot use it.
    let (_, body) = json_of(push(form.clone(), WIKI_SECRET).await.unwrap()).await;
    let other = gw.url(&format!(
        "/oauth2/authorize?client_id=pkce-api&request_uri={}",
        enc(body["request_uri"].as_str().unwrap())
    ));
    let r = http.get(&other).send().await.unwrap();
    assert!(
        location(&r).starts_with("https://api-client.test/callback?error=invalid_request_uri"),
        "{}",
        location(&r)
    );

    // The push authenticates the client and validates the request.
    let (status, body) = json_of(push(form.clone(), "wrong").await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let bad = vec![("response_type", "token")];
    let (status, body) = json_of(push(bad, WIKI_SECRET).await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let nested = vec![("response_type", "code"), ("request_uri", "urn:x")];
    let (status, _) = json_of(push(nested, WIKI_SECRET).await.unwrap()).await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_request_object_is_verified_once_and_its_claims_win() {
    let key = Key::new();
    let gw = provider(&format!(
        "[[clients]]\nclient_id = \"signed\"\njwks = '{}'\nredirect_uris = [\"https://signed.test/cb\"]\nrequire_signed_request_object = true\n",
        key.jwks("k1")
    ));
    let issuer = gw.url("");
    let http = browser(&gw);
    let at = |object: &str, query: &str| {
        gw.url(&format!(
            "/oauth2/authorize?client_id=signed&request={object}{query}"
        ))
    };
    let r = http
        .get(gw.url("/oauth2/authorize?client_id=signed&response_type=code"))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect_error(&r), "invalid_request", "must be signed");

    let params =
        serde_json::json!({"response_type": "code", "scope": "openid", "state": "from-object"});
    let object = key.request_object("k1", "signed", &issuer, params.clone());
    let back = authorize_with_login(
        &http,
        &gw,
        &at(&object, "&state=from-query"),
        "alice",
        ALICE_PW,
    )
    .await;
    assert!(back.starts_with("https://signed.test/cb?code="), "{back}");
    assert_eq!(
        param(&back, "state").as_deref(),
        Some("from-object"),
        "claims win"
    );

    let refused = |object: String, why: &'static str| {
        let http = http.clone();
        let url = at(&object, "");
        async move {
            let r = http.get(url).send().await.unwrap();
            assert_eq!(
                redirect_error(&r),
                "invalid_request_object",
                "{why}: {}",
                location(&r)
            );
        }
    };
    refused(object, "replayed (its jti)").await;
    let mut claims = params.clone();
    claims["iss"] = "signed".into();
    claims["aud"] = issuer.clone().into();
    claims["exp"] = (jose::now() + 60).into();
    claims["jti"] = "j-none".into();
    refused(jose::unsigned(&claims), "alg none").await;
    let mut expired = params.clone();
    expired["exp"] = (jose::now() - 5).into();
    refused(
        key.request_object("k1", "signed", &issuer, expired),
        "expired",
    )
    .await;
    let mut elsewhere = params.clone();
    elsewhere["aud"] = "https://other.test".into();
    refused(
        key.request_object("k1", "signed", &issuer, elsewhere),
        "another audience",
    )
    .await;
    refused(
        Key::new().request_object("k1", "signed", &issuer, params),
        "another key",
    )
    .await;
}

/// A public client that must use DPoP, a resource server, a client that must answer server
/// nonces, a client that may exchange the first one's tokens, and a route that takes the first
/// client's tokens.
fn dpop_clients(up: std::net::SocketAddr) -> String {
    format!(
        "[[clients]]\nclient_id = \"dpop-spa\"\nredirect_uris = [\"https://spa.dpop.test/cb\"]\nrequire_dpop = true\nrefresh_tokens = true\nmay_act = [\"gateway\"]\n\n\
         [[clients]]\nclient_id = \"rs\"\nclient_secret_sha256 = \"{h}\"\nintrospect_any = true\ngrant_types = [\"client_credentials\"]\n\n\
         [[clients]]\nclient_id = \"noncey\"\nclient_secret_sha256 = \"{h}\"\ngrant_types = [\"client_credentials\"]\nrequire_dpop = true\ndpop_nonce = true\n\n\
         [[clients]]\nclient_id = \"gateway\"\nclient_secret_sha256 = \"{h}\"\ngrant_types = [\"urn:ietf:params:oauth:grant-type:token-exchange\"]\n\n\
         [[routes]]\npath_prefix = \"/api\"\nupstreams = [\"{up}\"]\nbearer_clients = [\"dpop-spa\"]\n",
        h = secret_hash()
    )
}

async fn dpop_provider() -> (Gateway, Upstream) {
    let up = Upstream::start("api").await;
    (provider(&dpop_clients(up.addr)), up)
}

/// `dpop-spa`'s DPoP-bound tokens for alice, bound to `key`.
async fn spa_tokens(gw: &Gateway, key: &Key) -> serde_json::Value {
    let token_url = gw.url("/oauth2/token");
    let (code, verifier) = spa_code(gw).await;
    let r = client(gw)
        .post(&token_url)
        .header("DPoP", key.proof("POST", &token_url, None, None))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "dpop-spa"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    json_of(r).await.1
}

/// A code for `dpop-spa`, signed in as alice, and its PKCE verifier.
async fn spa_code(gw: &Gateway) -> (String, String) {
    let verifier = "v".repeat(43);
    let challenge = authgate::oidc::pkce::challenge(&verifier);
    let url = gw.url(&format!(
        "/oauth2/authorize?client_id=dpop-spa&response_type=code&scope=openid&code_challenge={challenge}&code_challenge_method=S256"
    ));
    let back = authorize_with_login(&browser(gw), gw, &url, "alice", ALICE_PW).await;
    (param(&back, "code").unwrap(), verifier)
}

#[tokio::test(flavor = "multi_thread")]
async fn dpop_bound_tokens_need_a_fresh_proof_of_their_key() {
    let (gw, _up) = dpop_provider().await;
    let key = Key::new();
    let token_url = gw.url("/oauth2/token");
    let http = client(&gw);
    let (code, verifier) = spa_code(&gw).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "dpop-spa"),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    // No proof: refused, and the code is not used up.
    let (status, body) = json_of(http.post(&token_url).form(&form).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof"))
    );
    let code_form = format!(
        "grant_type=authorization_code&client_id=dpop-spa&code={code}&code_verifier={verifier}"
    );
    let wrong_htu = key.proof("POST", &gw.url("/oauth2/other"), None, None);
    let dpop = format!("DPoP: {wrong_htu}");
    let r = curl(&["-H", &dpop, "-d", &code_form, &token_url]);
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "wrong htu"
    );
    let proof = key.proof("POST", &token_url, None, None);
    let r = http
        .post(&token_url)
        .header("DPoP", &proof)
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, tokens) = json_of(r).await;
    assert_eq!(
        (status, tokens["token_type"].as_str()),
        (200, Some("DPoP")),
        "{tokens}"
    );
    let access = tokens["access_token"].as_str().unwrap().to_string();
    assert_eq!(jose::claims(&access)["cnf"]["jkt"], key.thumbprint());
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("client_id", "dpop-spa"),
        ("refresh_token", refresh.as_str()),
    ];
    // A proof is accepted once.
    let refresh_body =
        format!("grant_type=refresh_token&client_id=dpop-spa&refresh_token={refresh}");
    let r = curl(&[
        "-H",
        &format!("DPoP: {proof}"),
        "-d",
        &refresh_body,
        &token_url,
    ]);
    assert_eq!(r.json()["error"], "invalid_dpop_proof", "replayed proof");

    // At userinfo: as DPoP with a proof of the key, never as Bearer.
    let userinfo = gw.url("/oauth2/userinfo");
    let r = curl(&["-H", &format!("Authorization: Bearer {access}"), &userinfo]);
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("DPoP ") && challenge.contains("invalid_token"),
        "{challenge}"
    );
    let ok = key.proof("GET", &userinfo, Some(&access), None);
    let r = http
        .get(&userinfo)
        .header("Authorization", format!("DPoP {access}"))
        .header("DPoP", ok)
        .send()
        .await
        .unwrap();
    let (status, info) = json_of(r).await;
    assert_eq!((status, info["sub"].as_str()), (200, Some("alice")));

    // At a route, with the query left out of htu.
    let api = gw.url("/api/whoami");
    let at_api = |proof: String| {
        http.get(format!("{api}?x=1"))
            .header("Authorization", format!("DPoP {access}"))
            .header("DPoP", proof)
            .send()
    };
    let r = at_api(key.proof("GET", &api, Some(&access), None))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let echo: Echo = r.json().await.unwrap();
    assert_eq!(echo.header("x-forwarded-user"), Some("alice"));
    let other_key = Key::new().proof("GET", &api, Some(&access), None);
    assert_eq!(
        at_api(other_key).await.unwrap().status(),
        401,
        "another key"
    );
    let r = http.get(&api).bearer_auth(&access).send().await.unwrap();
    assert_eq!(r.status(), 401, "a bound token as Bearer");
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("DPoP "));

    // Introspection shows the binding.
    let r = http
        .post(gw.url("/oauth2/introspect"))
        .basic_auth("rs", Some(WIKI_SECRET))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    let (_, seen) = json_of(r).await;
    assert_eq!(seen["token_type"], "DPoP");
    assert_eq!(seen["cnf"]["jkt"], key.thumbprint());

    // A public client's refresh token is bound to the same key.
    let stranger = Key::new().proof("POST", &token_url, None, None);
    let r = http
        .post(&token_url)
        .header("DPoP", stranger)
        .form(&refresh_form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(r).await.1["error"],
        "invalid_grant",
        "another key's refresh"
    );
    let r = http
        .post(&token_url)
        .header("DPoP", key.proof("POST", &token_url, None, None))
        .form(&refresh_form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(r).await.0,
        200,
        "not burnt by the attempt without the key"
    );

    // Exchanged only with a proof, to whose key the new token is bound: never a bearer token.
    let exchange = |proof: Option<String>| {
        let mut r = http
            .post(&token_url)
            .basic_auth("gateway", Some(WIKI_SECRET))
            .form(&[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", access.as_str()),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
                ("audience", "gateway"),
            ]);
        if let Some(p) = proof {
            r = r.header("DPoP", p);
        }
        r.send()
    };
    let r = exchange(None).await.unwrap();
    assert_eq!(json_of(r).await.1["error"], "invalid_grant", "no proof");
    let gateway_key = Key::new();
    let r = exchange(Some(gateway_key.proof("POST", &token_url, None, None)))
        .await
        .unwrap();
    let (status, body) = json_of(r).await;
    assert_eq!(
        (status, body["token_type"].as_str()),
        (200, Some("DPoP")),
        "{body}"
    );
    let exchanged = body["access_token"].as_str().unwrap();
    assert_eq!(
        jose::claims(exchanged)["cnf"]["jkt"],
        gateway_key.thumbprint(),
        "bound to the gateway's key"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dpop_refresh_with_the_same_key_and_server_nonces() {
    let (gw, _up) = dpop_provider().await;
    let key = Key::new();
    let token_url = gw.url("/oauth2/token");
    let http = client(&gw);
    let refresh = spa_tokens(&gw, &key).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http
        .post(&token_url)
        .header("DPoP", key.proof("POST", &token_url, None, None))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "dpop-spa"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (status, tokens) = json_of(r).await;
    assert_eq!(
        (status, tokens["token_type"].as_str()),
        (200, Some("DPoP")),
        "{tokens}"
    );
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(jose::claims(access)["cnf"]["jkt"], key.thumbprint());

    // A client asked for nonces gets one, then is served.
    let form = [("grant_type", "client_credentials")];
    let first = http
        .post(&token_url)
        .basic_auth("noncey", Some(WIKI_SECRET))
        .header("DPoP", key.proof("POST", &token_url, None, None))
        .form(&form)
        .send()
        .await
        .unwrap();
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_string();
    let (status, body) = json_of(first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("use_dpop_nonce"))
    );
    let r = http
        .post(&token_url)
        .basic_auth("noncey", Some(WIKI_SECRET))
        .header("DPoP", key.proof("POST", &token_url, None, Some(&nonce)))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(r).await;
    assert_eq!(
        (status, body["token_type"].as_str()),
        (200, Some("DPoP")),
        "{body}"
    );
    let discovery = gw.json("/.well-known/openid-configuration").await;
    assert_eq!(
        discovery["dpop_signing_alg_values_supported"],
        serde_json::json!(["ES256", "EdDSA"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_checks_a_dpop_proof_against_the_original_request() {
    let up = Upstream::start("api").await;
    let gw = behind_local_proxy(free_port(), &dpop_clients(up.addr));
    let key = Key::new();
    let access = spa_tokens(&gw, &key).await["access_token"]
        .as_str()
        .expect("a bound token")
        .to_string();
    let original = "http://app.test/api/report";
    let ask = |proof: String| {
        client(&gw)
            .get(gw.url("/oauth2/auth"))
            .header("X-Forwarded-Method", "DELETE")
            .header("X-Forwarded-Proto", "http")
            .header("X-Forwarded-Host", "app.test")
            .header("X-Forwarded-Uri", "/api/report?id=7")
            .header("Authorization", format!("DPoP {access}"))
            .header("DPoP", proof)
            .send()
    };
    let r = ask(key.proof("DELETE", original, Some(&access), None))
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "the original method and URL");
    assert_eq!(r.headers()["x-forwarded-user"], "alice");
    let subrequest = key.proof("GET", &gw.url("/oauth2/auth"), Some(&access), None);
    assert_eq!(
        ask(subrequest).await.unwrap().status(),
        401,
        "the subrequest's"
    );
    let other_method = key.proof("GET", original, Some(&access), None);
    assert_eq!(
        ask(other_method).await.unwrap().status(),
        401,
        "another method"
    );
}
