//! OIDC Back-Channel Logout 1.0 with a real relying party: Apache + Debian's
//! libapache2-mod-auth-openidc signs a user in through authgate; when the user signs out at
//! authgate (or the administrator ends the session), mod_auth_openidc's own session is gone.

mod common;

use std::time::{Duration, Instant};

use common::apache::Apache;
use common::oidc::*;
use common::*;

/// A provider with `apache` as a client (`extra` added to its table), and Apache signed in as
/// alice through it.
async fn signed_in_at_apache(extra: &str) -> (Gateway, Apache, reqwest::Client) {
    let aport = free_port();
    let gw = provider(&format!("{}{extra}", Apache::client_config(aport)));
    let apache = Apache::start(aport, &gw.url(""));
    let http = client_builder(&gw).cookie_store(true).build().unwrap();
    let (url, r) = browse(&http, &gw, &apache.url("/protected/"), "alice", ALICE_PW).await;
    assert_eq!(r.status(), 200, "{url}\n{}", apache.log());
    assert_eq!(r.text().await.unwrap(), "protected page\n");
    (gw, apache, http)
}

/// Waits up to 10 s for Apache to stop serving `/protected/` to `http` without a new sign-in.
async fn apache_session_ends(apache: &Apache, http: &reqwest::Client) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = http.get(apache.url("/protected/")).send().await.unwrap();
        if r.status() == 302 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "mod_auth_openidc still serves the page: {}",
            apache.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn backchannel_logout_ends_the_mod_auth_openidc_session_at_sign_out() {
    let (gw, apache, http) = signed_in_at_apache("").await;
    let discovery = gw.json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);
    // Still signed in at Apache, by its own session.
    let r = http.get(apache.url("/protected/")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let r = http.get(gw.url("/oauth2/logout")).send().await.unwrap();
    assert_eq!(r.status(), 200, "signed out at authgate");
    apache_session_ends(&apache, &http).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backchannel_logout_follows_an_administrators_revocation() {
    let (gw, apache, http) = signed_in_at_apache("").await;
    let out = std::process::Command::new(BIN)
        .args(["sessions", "revoke", "--user", "alice", "--config"])
        .arg(gw.config_file())
        .current_dir(gw.dir.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ended 1 session(s)"
    );
    apache_session_ends(&apache, &http).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backchannel_logout_reaches_a_pairwise_client() {
    // What the logout token's `sub` is, is checked in tests/consent.rs (mod_auth_openidc
    // matches the session by `sid`).
    let pairwise = "subject_type = \"pairwise\"\n[storage]\nurl = \"sqlite://{dir}/authgate.db\"\nencryption_key_file = \"{dir}/storage.key\"\ncreate_key_if_missing = true\n";
    let (gw, apache, http) = signed_in_at_apache(pairwise).await;
    let r = http.get(gw.url("/oauth2/logout")).send().await.unwrap();
    assert_eq!(r.status(), 200, "signed out at authgate");
    apache_session_ends(&apache, &http).await;
}
