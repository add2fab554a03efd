//! A real relying party — the `openidconnect` crate — against the running provider: discovery,
//! authorize, the login form, code, token, ID token verification (nonce, signature via JWKS,
//! at_hash), userinfo and refresh, for a confidential and a public (PKCE) client.

mod common;

use common::oidc::*;
use common::Gateway;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

async fn full_flow(gw: &Gateway, client_id: &str, secret: Option<&str>, redirect: &str) {
    let rp_http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let issuer = IssuerUrl::new(gw.url("")).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &rp_http)
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = browser(gw);
    let back = authorize_with_login(&browser, gw, auth_url.as_str(), "alice", ALICE_PW).await;
    assert!(back.starts_with(redirect), "{back}");
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(param(&back, "iss").as_deref(), Some(gw.url("").as_str()));
    let code = param(&back, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("id_token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("id_token verifies (signature via JWKS, nonce, aud, iss, exp)");
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    assert!(claims.auth_time().is_some());

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().to_owned(), None)
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), "alice");
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));

    let refresh = tokens
        .refresh_token()
        .expect("refresh token for offline_access");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    let rotated = refreshed.refresh_token().expect("rotated refresh token");
    assert_ne!(rotated.secret(), refresh.secret());
    // The refreshed access token works; the first refresh token is spent.
    let info: CoreUserInfoClaims = client
        .user_info(refreshed.access_token().to_owned(), None)
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("userinfo after refresh");
    assert_eq!(info.subject().as_str(), "alice");
    assert!(client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&rp_http)
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn confidential_client_full_flow() {
    full_flow(
        &provider(""),
        "wiki",
        Some(WIKI_SECRET),
        "https://wiki.test/cb",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn public_pkce_client_full_flow() {
    full_flow(&provider(""), "spa", None, "https://spa.test/cb").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rs256_key_with_a_retired_key_in_jwks() {
    let gw = provider_with_keys("RS256", Some("ES256"));
    let jwks: serde_json::Value = reqwest::get(gw.url("/oauth2/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(
        algs,
        ["RS256", "ES256"],
        "active first, retired still published"
    );
    full_flow(&gw, "wiki", Some(WIKI_SECRET), "https://wiki.test/cb").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn eddsa_key_full_flow() {
    let gw = provider_with_keys("EdDSA", None);
    full_flow(&gw, "spa", None, "https://spa.test/cb").await;
}
