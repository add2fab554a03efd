//! Consent and pairwise subjects with a real relying party (the `openidconnect` crate): a
//! third-party app is allowed once, asked again for more, refused with `consent_required`
//! under `prompt=none`, and loses its grants when the user withdraws consent at /account.
//! Pairwise clients know each user by a `sub` of their sector, the same in every token.

mod common;

use common::jose;
use common::oidc::*;
use common::*;
use openidconnect::core::{CoreAuthenticationFlow, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl,
    Scope, TokenResponse,
};

const STORAGE: &str = "[storage]\nurl = \"sqlite://{dir}/authgate.db\"\nencryption_key_file = \"{dir}/storage.key\"\ncreate_key_if_missing = true\n";

fn config(logout_port: u16) -> String {
    let h = authgate::oidc::client_auth::hash_secret(WIKI_SECRET);
    let client = |id: &str, host: &str, extra: &str| {
        format!(
            "[[clients]]\nclient_id = \"{id}\"\nname = \"{id} app\"\nclient_secret_sha256 = \"{h}\"\nredirect_uris = [\"https://{host}/cb\"]\nrefresh_tokens = true\n{extra}\n"
        )
    };
    [
        client("third", "third.test", "consent = true"),
        client("pw-a", "a.test", "subject_type = \"pairwise\""),
        client(
            "pw-a2",
            "a2.test",
            "subject_type = \"pairwise\"\nsector_identifier = \"a.test\"",
        ),
        client(
            "pw-b",
            "b.test",
            "subject_type = \"pairwise\"\nbackchannel_logout_uri = \"http://127.0.0.1:{logout_port}/logout\"",
        ),
        STORAGE.to_string(),
    ]
    .concat()
    .replace("{logout_port}", &logout_port.to_string())
}

/// A relying party's back-channel logout endpoint: the logout tokens POSTed to it.
async fn logout_receiver() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use http_body_util::BodyExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let body = req.into_body().collect().await?.to_bytes();
                        let form = form_urlencoded::parse(&body);
                        if let Some((_, t)) = form.into_iter().find(|(k, _)| k == "logout_token") {
                            let _ = tx.send(t.into_owned());
                        }
                        Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(
                            hyper::body::Bytes::new(),
                        )))
                    }
                });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, svc));
        }
    });
    (port, rx)
}

/// Signs in (or not, if the browser already has a session) through `url`; the answer after
/// the login form, or to the authorize request itself when no form was shown.
async fn through_sign_in(http: &reqwest::Client, gw: &Gateway, url: &str) -> reqwest::Response {
    let r = http.get(url).send().await.unwrap();
    let to = location(&r);
    if !to.contains("/login?auth=") {
        return r;
    }
    submit_login(http, gw, &to, "alice", ALICE_PW).await
}

/// Answers the consent page `page` with `answer`; the redirect to the client.
async fn answer(http: &reqwest::Client, gw: &Gateway, page: &str, answer: &str) -> String {
    let r = http
        .post(gw.url("/login/consent"))
        .form(&[
            (
                "consent",
                hidden(page, "consent").expect("a consent form").as_str(),
            ),
            ("csrf", hidden(page, "csrf").unwrap().as_str()),
            ("answer", answer),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    location(&r)
}

fn authorize(client: &str, host: &str, extra: &str) -> String {
    format!(
        "/oauth2/authorize?client_id={client}&response_type=code&scope=openid+email{extra}&redirect_uri=https%3A%2F%2F{host}%2Fcb"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn consent_is_asked_once_per_scope_set_and_withdrawn_at_the_account_page() {
    let gw = provider(&config(free_port()));
    let http = browser(&gw);
    let r = through_sign_in(
        &http,
        &gw,
        &gw.url(&authorize("third", "third.test", "&state=1")),
    )
    .await;
    assert_eq!(r.status(), 200, "the consent page");
    let page = r.text().await.unwrap();
    assert!(page.contains("third app"), "names the client: {page}");
    assert!(
        page.contains("See your email address"),
        "names the scopes: {page}"
    );
    let back = answer(&http, &gw, &page, "deny").await;
    assert_eq!(
        param(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );

    let r = through_sign_in(&http, &gw, &gw.url(&authorize("third", "third.test", ""))).await;
    let back = answer(&http, &gw, &r.text().await.unwrap(), "allow").await;
    let code = param(&back, "code").expect("a code once allowed");
    // The relying party redeems the code it was given once allowed.
    let (rp_http, rp) = rp(&gw, "third", Some(WIKI_SECRET)).await;
    let rp = rp.set_redirect_uri(RedirectUrl::new("https://third.test/cb".into()).unwrap());
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("tokens for the allowed client");
    let access = tokens.access_token().secret().clone();

    // Allowed: not asked again for the same scopes, asked for more, and with prompt=consent.
    let r = http
        .get(gw.url(&authorize("third", "third.test", "")))
        .send()
        .await
        .unwrap();
    assert!(param(&location(&r), "code").is_some(), "{}", location(&r));
    let r = http
        .get(gw.url(&authorize("third", "third.test", "+profile")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "more scopes: asked");
    let r = http
        .get(gw.url(&authorize("third", "third.test", "&prompt=consent")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "prompt=consent: asked");
    let r = http
        .get(gw.url(&authorize("third", "third.test", "+profile&prompt=none")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("consent_required")
    );

    // Connected apps at /account; withdrawing revokes the grant.
    let account = http
        .get(gw.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        account.contains("Connected apps") && account.contains("third app"),
        "{account}"
    );
    let r = account_action(&http, &gw, "withdraw-consent", &[("client_id", "third")]).await;
    let after = r.text().await.unwrap();
    assert!(after.contains("third app no longer has access"), "{after}");
    assert!(after.contains("No app has access"), "{after}");
    let r = client(&gw)
        .get(gw.url("/oauth2/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the grant was revoked");
    let r = http
        .get(gw.url(&authorize("third", "third.test", "")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "asked again");
}

/// alice's `sub` as client `id` sees it: from the ID token (verified by the relying party),
/// with userinfo's, the access token's and introspection's checked to be the same; and the
/// browser she signed in with.
async fn sub_as_seen_by(gw: &Gateway, id: &str, host: &str) -> (String, reqwest::Client) {
    let (http, rp) = rp(gw, id, Some(WIKI_SECRET)).await;
    let rp = rp.set_redirect_uri(RedirectUrl::new(format!("https://{host}/cb")).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let session = browser(gw);
    let back = authorize_with_login(&session, gw, url.as_str(), "alice", ALICE_PW).await;
    let code = param(&back, "code").unwrap();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    let claims = id_token.claims(&rp.id_token_verifier(), &nonce).unwrap();
    let sub = claims.subject().to_string();
    let info: CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.subject().as_str(), sub, "userinfo");
    let access = tokens.access_token().secret();
    assert_eq!(jose::claims(access)["sub"], sub, "access token");
    let seen: serde_json::Value = client(gw)
        .post(gw.url("/oauth2/introspect"))
        .basic_auth(id, Some(WIKI_SECRET))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (seen["active"].as_bool(), seen["sub"].as_str()),
        (Some(true), Some(sub.as_str()))
    );
    (sub, session)
}

#[tokio::test(flavor = "multi_thread")]
async fn pairwise_subjects_are_stable_per_sector_and_differ_across_sectors() {
    let (logout_port, mut logouts) = logout_receiver().await;
    let gw = provider(&config(logout_port));
    let discovery = gw.json("/.well-known/openid-configuration").await;
    assert_eq!(
        discovery["subject_types_supported"],
        serde_json::json!(["public", "pairwise"])
    );
    let a = sub_as_seen_by(&gw, "pw-a", "a.test").await.0;
    assert_ne!(a, "alice");
    assert_eq!(a.len(), 43, "{a}");
    assert_eq!(sub_as_seen_by(&gw, "pw-a", "a.test").await.0, a, "stable");
    let a2 = sub_as_seen_by(&gw, "pw-a2", "a2.test").await.0;
    assert_eq!(a2, a, "same sector");
    let (b, session) = sub_as_seen_by(&gw, "pw-b", "b.test").await;
    assert_ne!(b, a, "another sector");
    assert_eq!(
        sub_as_seen_by(&gw, "wiki", "wiki.test").await.0,
        "alice",
        "public"
    );

    // Signing out tells pw-b, with the subject it knows.
    let r = session.get(gw.url("/oauth2/logout")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let wait = std::time::Duration::from_secs(10);
    let token = tokio::time::timeout(wait, logouts.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(jose::claims(&token)["sub"], b, "the logout token's sub");
}
