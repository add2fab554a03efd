//! Machine clients (RFC 6749 §4.4 client_credentials) with the `openidconnect` crate as the
//! client: a token for the client itself, accepted on routes that list it, with the client as
//! the user the upstream sees; clients without the grant are refused.

mod common;

use common::oidc::*;
use common::*;
use openidconnect::{OAuth2TokenResponse, Scope};

const REPORTS_SECRET: &str = "reports-secret";

fn machines(up: std::net::SocketAddr) -> Gateway {
    let secret = authgate::oidc::client_auth::hash_secret(REPORTS_SECRET);
    provider(&format!(
        r#"
[[clients]]
client_id = "reports"
client_secret_sha256 = "{secret}"
grant_types = ["client_credentials"]
groups = ["robots"]

[[routes]]
host = "app.test"
upstreams = ["{up}"]
allow_groups = ["robots"]
bearer_clients = ["reports", "wiki"]

[[routes]]
host = "app2.test"
upstreams = ["{up}"]
bearer_clients = ["wiki"]
"#
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_token_opens_routes_that_list_the_client_as_the_client() {
    let up = Upstream::start("app").await;
    let gw = machines(up.addr);
    let (http, client) = rp(&gw, "reports", Some(REPORTS_SECRET)).await;
    let token = client
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("reports:read".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert!(token.refresh_token().is_none(), "no refresh token (§4.4.3)");
    assert!(token.extra_fields().id_token().is_none(), "no ID token");
    let access = token.access_token().secret().clone();

    let r = common::client(&gw)
        .get(format!("http://app.test:{}/report", gw.port))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let e: Echo = r.json().await.unwrap();
    assert_eq!(e.header("x-forwarded-user"), Some("reports"));
    assert_eq!(e.header("x-forwarded-groups"), Some("robots"));

    // Not listed on app2: refused.
    let r = common::client(&gw)
        .get(format!("http://app2.test:{}/", gw.port))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // No user behind it: userinfo refuses it.
    let r = common::client(&gw)
        .get(gw.url("/oauth2/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Revoked, it opens nothing.
    let r = common::client(&gw)
        .post(gw.url("/oauth2/revoke"))
        .basic_auth("reports", Some(REPORTS_SECRET))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = common::client(&gw)
        .get(format!("http://app.test:{}/report", gw.port))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let discovery = gw.json("/.well-known/openid-configuration").await;
    assert!(discovery["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&"client_credentials".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_user_prefix_names_the_client_as_configured() {
    let up = Upstream::start("app").await;
    let mut gw = machines(up.addr);
    let cfg = std::fs::read_to_string(gw.config_file()).unwrap();
    std::fs::write(
        gw.config_file(),
        cfg.replace("[tokens]\n", "[tokens]\nclient_user_prefix = \"client:\"\n"),
    )
    .unwrap();
    gw.stop();
    gw.restart();
    let (http, client) = rp(&gw, "reports", Some(REPORTS_SECRET)).await;
    let token = client
        .exchange_client_credentials()
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let e: Echo = common::client(&gw)
        .get(format!("http://app.test:{}/", gw.port))
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e.header("x-forwarded-user"), Some("client:reports"));
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_without_the_grant_get_unauthorized_client() {
    let up = Upstream::start("app").await;
    let gw = machines(up.addr);
    let (http, client) = rp(&gw, "wiki", Some(WIKI_SECRET)).await;
    let err = client
        .exchange_client_credentials()
        .unwrap()
        .request_async(&http)
        .await
        .unwrap_err();
    let text = format!("{err:?}");
    assert!(text.contains("unauthorized_client"), "{text}");
    // And the machine client cannot send a browser to authorize.
    let r = common::client(&gw)
        .get(gw.url(
            "/oauth2/authorize?client_id=reports&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fx.test%2Fcb",
        ))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 302);
}

/// A client holding an ES256 key (private_key_jwt), its PEM and its key id.
fn key_holder() -> (String, String, String) {
    let pem = authgate::keys::generate(authgate::keys::Alg::ES256).unwrap();
    let jwks = authgate::keys::KeySet::from_pem(&pem).unwrap().jwks();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_string();
    let config = format!(
        "[[clients]]\nclient_id = \"signer\"\njwks = '{}'\ngrant_types = [\"client_credentials\"]\ngroups = [\"robots\"]\n",
        jwks
    );
    (config, pem, kid)
}

/// A client assertion (RFC 7523) for `aud`, signed with `pem`.
fn assertion(pem: &str, kid: &str, aud: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_string());
    let claims = serde_json::json!({
        "iss": "signer", "sub": "signer", "aud": aud, "iat": now, "exp": now + 60,
        "jti": authgate::secret::new_id(),
    });
    let key = jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

async fn token_with(gw: &Gateway, client_assertion: &str) -> reqwest::Response {
    common::client(gw)
        .post(gw.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", client_assertion),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn private_key_jwt_authenticates_once_per_assertion_and_only_with_the_clients_key() {
    let (config, pem, kid) = key_holder();
    let gw = provider(&config);
    let a = assertion(&pem, &kid, &gw.url("/oauth2/token"));
    let r = token_with(&gw, &a).await;
    assert_eq!(r.status(), 200);
    let access = r.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = token_with(&gw, &a).await;
    assert_eq!(r.status(), 401, "an assertion is used once");

    let (_, other_pem, _) = key_holder();
    let forged = assertion(&other_pem, &kid, &gw.url("/oauth2/token"));
    assert_eq!(token_with(&gw, &forged).await.status(), 401, "another key");
    let elsewhere = assertion(&pem, &kid, "https://someone-else.test/token");
    assert_eq!(
        token_with(&gw, &elsewhere).await.status(),
        401,
        "another audience"
    );
    let r = common::client(&gw)
        .post(gw.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "signer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no assertion, no token");

    // Other endpoints take it too: revocation, here with the issuer as the audience.
    let r = common::client(&gw)
        .post(gw.url("/oauth2/revoke"))
        .form(&[
            ("token", access.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "client_assertion",
                assertion(&pem, &kid, &gw.url("")).as_str(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let discovery = gw.json("/.well-known/openid-configuration").await;
    assert!(discovery["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&"private_key_jwt".into()));
}
