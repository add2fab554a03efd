//! Active Directory for real: a Samba AD domain controller provisioned by the test. Users and
//! groups as `samba-tool` makes them, `memberOf` groups, and the account states AD keeps —
//! disabled, locked out by AD's own lockout policy, expired — each seen by authgate at sign-in
//! and at the next re-check (time passes on the gateway's injected clock). The DC binds fixed
//! ports, so this file holds one test.

mod common;

use common::oidc::*;
use common::samba::*;
use common::*;

const FRANK_PW: &str = "Frank-pass-1";
const GINA_PW: &str = "Gina-pass-1";
const HANK_PW: &str = "Hank-pass-1";

fn at(gw: &Gateway, path: &str) -> String {
    format!("http://app.test:{}{path}", gw.port)
}

/// A browser signed in as `user` at the app, and what the app saw.
async fn signed_in(gw: &Gateway, user: &str, pw: &str) -> (reqwest::Client, Echo) {
    let http = browser(gw);
    let (_, r) = browse(&http, gw, &at(gw, "/"), user, pw).await;
    assert_eq!(r.status(), 200, "{user} signs in");
    (http, r.json().await.unwrap())
}

/// The app as `http` sees it now: 200, or 401 once the session is cut.
async fn app_status(gw: &Gateway, http: &reqwest::Client) -> u16 {
    let r = http
        .get(at(gw, "/"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn active_directory_users_groups_and_account_state() {
    let dc = SambaDc::start();
    for (user, pw) in [("frank", FRANK_PW), ("gina", GINA_PW), ("hank", HANK_PW)] {
        let mail = format!("--mail-address={user}@corp.test");
        dc.tool(&["user", "create", user, pw, &mail]);
    }
    dc.tool(&["group", "add", "Finance"]);
    dc.tool(&["group", "addmembers", "Finance", "frank,gina,hank"]);
    dc.tool(&["user", "setexpiry", "gina", "--days=1"]);
    dc.tool(&[
        "domain",
        "passwordsettings",
        "set",
        "--account-lockout-threshold=3",
    ]);
    let up = Upstream::start("app").await;
    let gw = provider(&format!(
        "[login]\nmax_failures = 50\n\n{}\n\
         [[routes]]\nhost = \"app.test\"\nupstreams = [\"{}\"]\nallow_groups = [\"Finance\"]\n",
        dc.config("recheck = \"1m\""),
        up.addr
    ));

    // Users and memberOf groups, as AD has them.
    let (frank, seen) = signed_in(&gw, "frank", FRANK_PW).await;
    assert_eq!(seen.header("x-forwarded-user"), Some("frank"));
    assert_eq!(seen.header("x-forwarded-email"), Some("frank@corp.test"));
    assert_eq!(seen.header("x-forwarded-groups"), Some("Finance"));
    let (hank, _) = signed_in(&gw, "hank", HANK_PW).await;
    let (gina, _) = signed_in(&gw, "gina", GINA_PW).await;

    // Locked out by AD's own policy (three wrong binds): the right password is refused, and
    // the session hank already had ends at the next re-check.
    for _ in 0..3 {
        assert_eq!(login_attempt(&gw, "hank", "wrong-password").await, 401);
    }
    assert_eq!(login_attempt(&gw, "hank", HANK_PW).await, 401);
    // Disabled in AD: frank's session ends at the next re-check too.
    dc.tool(&["user", "disable", "frank"]);
    assert_eq!(app_status(&gw, &frank).await, 200, "until the re-check");
    gw.advance_clock(61);
    assert_eq!(app_status(&gw, &hank).await, 401, "locked out in AD");
    assert_eq!(app_status(&gw, &frank).await, 401, "disabled in AD");
    assert_eq!(login_attempt(&gw, "frank", FRANK_PW).await, 401);
    assert_eq!(app_status(&gw, &gina).await, 200);

    // Expired: accountExpires passes (on authgate's clock) and gina can no longer sign in.
    gw.advance_clock(2 * 86_400);
    assert_eq!(login_attempt(&gw, "gina", GINA_PW).await, 401);
}
