//! The device authorization grant (RFC 8628) against the real binary: the whole flow with the
//! `openidconnect` crate as the device, and a named test for each §3.5 answer. Time between
//! polls passes on the gateway's injected clock, not by sleeping.

mod common;

use std::time::Duration;

use common::oidc::*;
use common::*;
use openidconnect::core::CoreDeviceAuthorizationResponse;
use openidconnect::{DeviceAuthorizationUrl, OAuth2TokenResponse, Scope};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn gateway() -> Gateway {
    provider(&format!(
        "[[clients]]\nclient_id = \"cli\"\ngrant_types = [\"{DEVICE_GRANT}\", \"refresh_token\"]\nrefresh_tokens = true\n"
    ))
}

/// `POST /oauth2/device_authorization` as `client_id`; the JSON answer.
async fn start(gw: &Gateway, client_id: &str) -> (u16, serde_json::Value) {
    let r = client(gw)
        .post(gw.url("/oauth2/device_authorization"))
        .form(&[("client_id", client_id), ("scope", "openid profile")])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// One poll of the token endpoint: status and `error` (or the whole body on success).
async fn poll(gw: &Gateway, device_code: &str) -> (u16, serde_json::Value) {
    let r = client(gw)
        .post(gw.url("/oauth2/token"))
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", "cli"),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// alice, signed in, approves (or denies) `user_code` on `/device`.
async fn decide(gw: &Gateway, user_code: &str, action: &str) -> reqwest::Response {
    let (http, _) = signed_in_as(gw, "alice", ALICE_PW).await;
    let page = http
        .get(gw.url(&format!("/device?user_code={}", user_code.to_lowercase())))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("<strong>cli</strong>"),
        "the client is named: {page}"
    );
    assert!(page.contains("openid profile"), "the scopes are shown");
    let csrf = hidden(&page, "csrf").unwrap();
    http.post(gw.url("/device"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("user_code", user_code),
            ("action", action),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn device_flow_with_the_openidconnect_crate_issues_tokens_once() {
    let gw = gateway();
    let (http, rp) = rp(&gw, "cli", None).await;
    let rp = rp.set_device_authorization_url(
        DeviceAuthorizationUrl::new(gw.url("/oauth2/device_authorization")).unwrap(),
    );
    let details: CoreDeviceAuthorizationResponse = rp
        .exchange_device_code()
        .add_scope(Scope::new("profile".into()))
        .request_async(&http)
        .await
        .unwrap();
    let user_code = details.user_code().secret().clone();
    assert_eq!(user_code.len(), 9);
    assert_eq!(
        details.verification_uri().as_str(),
        gw.url("/device"),
        "verification_uri is {{public_url}}/device"
    );

    // The device polls in the background; each wait moves the gateway's clock instead.
    let clock = gw.dir.path().join("clock");
    let polling = {
        let (rp, http, details) = (rp.clone(), http.clone(), details.clone());
        tokio::spawn(async move {
            let wait = move |d: Duration| {
                let clock = clock.clone();
                async move {
                    let now: u64 = std::fs::read_to_string(&clock)
                        .ok()
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(0);
                    std::fs::write(&clock, (now + d.as_secs()).to_string()).unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            rp.exchange_device_access_token(&details)
                .unwrap()
                .request_async(&http, wait, None)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = decide(&gw, &user_code, "approve").await;
    assert_eq!(r.status(), 200);
    let token = polling.await.unwrap().unwrap();
    assert!(token.refresh_token().is_some());
    assert!(token.extra_fields().id_token().is_some());
    let userinfo: serde_json::Value = client(&gw)
        .get(gw.url("/oauth2/userinfo"))
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], "alice");

    let (status, body) = poll(&gw, details.device_code().secret()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn device_authorization_pending_until_the_user_decides() {
    let gw = gateway();
    let (status, start) = start(&gw, "cli").await;
    assert_eq!(status, 200);
    for field in ["device_code", "user_code", "verification_uri_complete"] {
        assert!(start[field].is_string(), "{field}");
    }
    assert_eq!(start["interval"], 5);
    assert_eq!(start["expires_in"], 600);
    let (status, body) = poll(&gw, start["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn device_slow_down_when_polling_faster_than_the_interval() {
    let gw = gateway();
    let (_, start) = start(&gw, "cli").await;
    let code = start["device_code"].as_str().unwrap();
    assert_eq!(poll(&gw, code).await.1["error"], "authorization_pending");
    assert_eq!(poll(&gw, code).await.1["error"], "slow_down");
    // The interval is now 10 s: 6 s later is still too soon, 11 s later is fine.
    gw.advance_clock(6);
    assert_eq!(poll(&gw, code).await.1["error"], "slow_down");
    gw.advance_clock(16);
    assert_eq!(poll(&gw, code).await.1["error"], "authorization_pending");
}

#[tokio::test(flavor = "multi_thread")]
async fn device_access_denied_when_the_user_denies() {
    let gw = gateway();
    let (_, start) = start(&gw, "cli").await;
    let r = decide(&gw, start["user_code"].as_str().unwrap(), "deny").await;
    assert_eq!(r.status(), 200);
    let (status, body) = poll(&gw, start["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn device_expired_token_after_ten_minutes() {
    let gw = gateway();
    let (_, start) = start(&gw, "cli").await;
    gw.advance_clock(601);
    let (status, body) = poll(&gw, start["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("expired_token"))
    );
    // Nor can the user approve it any more.
    let (http, _) = signed_in_as(&gw, "alice", ALICE_PW).await;
    let page = http
        .get(gw.url(&format!(
            "/device?user_code={}",
            start["user_code"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn device_grant_is_refused_to_a_client_without_it() {
    let gw = gateway();
    let (status, body) = start(&gw, "spa").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn device_page_sends_a_stranger_to_sign_in_first_and_back() {
    let gw = gateway();
    let (_, start) = start(&gw, "cli").await;
    let code = start["user_code"].as_str().unwrap();
    let http = browser(&gw);
    let r = http
        .get(gw.url(&format!("/device?user_code={code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let r = submit_login(&http, &gw, &location(&r), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), gw.url(&format!("/device?user_code={code}")));
}

#[tokio::test(flavor = "multi_thread")]
async fn device_page_asks_for_the_second_factor_when_the_client_requires_it() {
    let gw = provider(&format!(
        "[login]\nsecond_factor = \"optional\"\n[storage]\nurl = \"sqlite://{{dir}}/authgate.db\"\nencryption_key_file = \"{{dir}}/storage.key\"\ncreate_key_if_missing = true\n[[clients]]\nclient_id = \"cli\"\ngrant_types = [\"{DEVICE_GRANT}\"]\nrequire_second_factor = true\n"
    ));
    let (_, start) = start(&gw, "cli").await;
    let (http, _) = signed_in_as(&gw, "alice", ALICE_PW).await;
    let page = http
        .get(gw.url(&format!(
            "/device?user_code={}",
            start["user_code"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Set up a second factor"), "{page}");
    assert!(
        !page.contains("value=\"approve\""),
        "no approval before the second factor"
    );
}
