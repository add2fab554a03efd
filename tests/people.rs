//! People run from a browser: users kept by authgate, invited and reset by mail through a real
//! SMTP server (aiosmtpd, STARTTLS required, AUTH, a private CA), the password policy, the
//! admin console, and the audit trail, checked line by line for what it must and must not say.

mod common;

use authgate::login::totp;
use authgate::storage::{FactorKind, Storage, StorageKey};
use common::oidc::*;
use common::smtp::{link, Smtp, Tls};
use common::*;

const SEED: &[u8] = b"admin's totp seed 20";
const STRONG: &str = "quiet-lantern-mosaic-41";
const LEAKED: &str = "correct horse battery staple";

/// A gateway with `[storage]`, `[smtp]` through `smtp`, an audit file, a breached-password
/// list, and alice (of `identities()`) as an administrator.
fn gateway(smtp: &Smtp, extra: &str) -> (Gateway, tempfile::TempDir) {
    // Read again by every CLI call: kept as long as the gateway.
    let files = tempfile::tempdir().unwrap();
    let dir = files.path();
    let breached = dir.join("breached.txt");
    let sha = {
        use sha1::Digest;
        hex::encode_upper(sha1::Sha1::digest(LEAKED.as_bytes()))
    };
    std::fs::write(&breached, format!("{sha}:12345\n")).unwrap();
    std::fs::write(dir.join("smtp-password"), "mail-secret\n").unwrap();
    let gw = provider(&format!(
        "[login]\nsecond_factor = \"optional\"\nbreached_passwords_file = \"{b}\"\n\n\
         [storage]\nurl = \"sqlite://{{dir}}/authgate.db\"\nencryption_key_file = \"{{dir}}/storage.key\"\ncreate_key_if_missing = true\n\n\
         [smtp]\nurl = \"{url}\"\npassword_file = \"{p}\"\nfrom = \"Example Corp <auth@example.com>\"\nca_file = \"{ca}\"\n\n\
         [branding]\nname = \"Example Corp\"\n\n[admin]\ngroups = [\"admin\"]\n\n[audit]\nfile = \"{{dir}}/audit.jsonl\"\n{extra}",
        b = breached.display(),
        url = smtp.url(Some("mailer")),
        p = dir.join("smtp-password").display(),
        ca = smtp.ca_file.as_ref().unwrap().display(),
    ));
    (gw, files)
}

/// The text of the page at `path`, as `http` sees it.
async fn text_of(http: &reqwest::Client, gw: &Gateway, path: &str) -> String {
    let r = http.get(gw.url(path)).send().await.unwrap();
    r.text().await.unwrap()
}

fn mail_server() -> Smtp {
    Smtp::start(Tls::Starttls, Some(("mailer", "mail-secret")))
}

fn audit_lines(gw: &Gateway) -> Vec<serde_json::Value> {
    std::fs::read_to_string(gw.dir.path().join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The audit line of `event` about `subject`, the last one.
fn audited(gw: &Gateway, event: &str, subject: &str) -> serde_json::Value {
    audit_lines(gw)
        .into_iter()
        .rev()
        .find(|l| l["event"] == event && l["subject"] == subject)
        .unwrap_or_else(|| panic!("no {event} for {subject} in {:?}", audit_lines(gw)))
}

/// Posts the set-password form at `url` with `password` twice.
async fn set_password(
    http: &reqwest::Client,
    url: &str,
    password: &str,
    again: &str,
) -> (u16, String) {
    let token = param(url, "token").unwrap();
    let r = http
        .post(url.split('?').next().unwrap())
        .header("User-Agent", "people-test/1")
        .form(&[
            ("token", token.as_str()),
            ("password", password),
            ("again", again),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_by_mail_sets_a_password_once_under_the_policy() {
    let smtp = mail_server();
    let (gw, _files) = gateway(&smtp, "");
    let (code, out, err) = gw.cli(&[
        "users",
        "add",
        "--user",
        "dana",
        "--email",
        "dana@example.com",
        "--group",
        "staff",
        "--invite",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let printed = out
        .lines()
        .find_map(|l| l.split(": ").nth(1).filter(|u| u.starts_with("http")))
        .unwrap()
        .to_string();
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].rcpt_tos, ["dana@example.com"]);
    assert!(
        mails[0].subject.contains("Example Corp"),
        "{}",
        mails[0].subject
    );
    let invite = link(&mails[0].text, "/invite?token=").expect("a link in the mail");
    assert_eq!(invite, printed);
    assert_eq!(
        link(&mails[0].html, "/invite?token=").as_deref(),
        Some(invite.as_str())
    );

    let http = browser(&gw);
    // Opening it (a mail scanner does) uses nothing up.
    for _ in 0..2 {
        let r = http.get(&invite).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("dana"));
    }
    let refusals = [
        ("short1", "at least 12 characters"),
        ("passwordpassword", "too easy to guess"),
        (LEAKED, "list of leaked passwords"),
    ];
    for (pw, why) in refusals {
        let (status, page) = set_password(&http, &invite, pw, pw).await;
        assert_eq!(status, 400, "{pw}");
        assert!(page.contains(why), "{pw}: {page}");
    }
    let (status, page) = set_password(&http, &invite, STRONG, "different").await;
    assert!(status == 400 && page.contains("differ"), "{page}");
    let (status, page) = set_password(&http, &invite, STRONG, STRONG).await;
    assert_eq!(status, 200, "{page}");
    let (status, _) = set_password(
        &http,
        &invite,
        "another-long-phrase-77",
        "another-long-phrase-77",
    )
    .await;
    assert_eq!(status, 410, "used once");
    assert_eq!(http.get(&invite).send().await.unwrap().status(), 410);

    assert_eq!(
        login_attempt(&gw, "dana", STRONG).await,
        200,
        "dana signs in"
    );
    let (code, out, _) = gw.cli(&["users", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("dana\tdana@example.com\tactive\tstaff"),
        "{out}"
    );
    // The password-changed notice follows the invitation.
    let mails = smtp.wait_for(2).await;
    assert!(mails[1].subject.contains("changed"), "{}", mails[1].subject);

    let set = audited(&gw, "password.set", "dana");
    assert_eq!(
        (set["actor"].as_str(), set["outcome"].as_str()),
        (Some("dana"), Some("ok"))
    );
    assert_eq!(set["client_ip"], "127.0.0.1");
    assert!(set["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(set["user_agent"], "people-test/1");
    let signed_in = audited(&gw, "sign_in.succeeded", "dana");
    assert_eq!(signed_in["outcome"], "ok");
    let trail = std::fs::read_to_string(gw.dir.path().join("audit.jsonl")).unwrap();
    let token = param(&invite, "token").unwrap();
    for secret in [
        STRONG,
        LEAKED,
        "passwordpassword",
        token.as_str(),
        "mail-secret",
    ] {
        assert!(!trail.contains(secret), "{secret} is in the audit trail");
    }

    // An invitation 72 hours old no longer works.
    let (code, out, _) = gw.cli(&[
        "users",
        "add",
        "--user",
        "erin",
        "--email",
        "erin@example.com",
        "--invite",
    ]);
    assert_eq!(code, 0);
    let late = out
        .lines()
        .find_map(|l| l.split(": ").nth(1).filter(|u| u.starts_with("http")))
        .unwrap()
        .to_string();
    gw.advance_clock(72 * 3600 + 1);
    assert_eq!(http.get(&late).send().await.unwrap().status(), 410);
}

/// dana, invited and with `STRONG` as password, signed in in the returned browser.
async fn dana(gw: &Gateway, smtp: &Smtp) -> reqwest::Client {
    let (code, _, err) = gw.cli(&[
        "users",
        "add",
        "--user",
        "dana",
        "--email",
        "dana@example.com",
        "--invite",
    ]);
    assert_eq!(code, 0, "{err}");
    let mails = smtp.wait_for(1).await;
    let invite = link(&mails[0].text, "/invite?token=").unwrap();
    let http = browser(gw);
    assert_eq!(set_password(&http, &invite, STRONG, STRONG).await.0, 200);
    let (session, _) = signed_in_as(gw, "dana", STRONG).await;
    session
}

async fn forgot(gw: &Gateway, who: &str) -> String {
    let http = browser(gw);
    let page = text_of(&http, gw, "/login/forgot").await;
    let csrf = hidden(&page, "csrf").unwrap();
    let r = http
        .post(gw.url("/login/forgot"))
        .form(&[("csrf", csrf.as_str()), ("who", who)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forgotten_password_is_reset_by_mail_and_every_session_ends() {
    let smtp = mail_server();
    let (gw, _files) = gateway(&smtp, "");
    let session = dana(&gw, &smtp).await;
    assert_eq!(
        session
            .get(gw.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    smtp.wait_for(2).await; // the invitation, and the notice of the new password

    let login = browser(&gw).get(gw.url("/login")).send().await.unwrap();
    let page = browser(&gw)
        .get(location(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("href=\"/login/forgot\""),
        "offered on the login page"
    );
    // The same answer for an unknown name, an unknown address and a known one.
    let unknown = forgot(&gw, "nobody").await;
    let unknown_mail = forgot(&gw, "nobody@example.com").await;
    let known = forgot(&gw, "dana@example.com").await;
    assert_eq!(unknown, known);
    assert_eq!(unknown_mail, known);
    let mails = smtp.wait_for(3).await;
    assert_eq!(mails.len(), 3, "one mail, for dana only");
    let reset = link(&mails[2].text, "/login/reset?token=").expect("a reset link");
    // Per user, one mail a minute.
    forgot(&gw, "dana").await;
    let again = audited(&gw, "password.reset_requested", "dana");
    assert_eq!(again["outcome"], "rate_limited");

    let http = browser(&gw);
    assert_eq!(http.get(&reset).send().await.unwrap().status(), 200);
    let (status, page) =
        set_password(&http, &reset, "new-quiet-phrase-92", "new-quiet-phrase-92").await;
    assert_eq!(status, 200, "{page}");
    let r = session.get(gw.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 302, "the old session ended");
    assert_eq!(
        login_attempt(&gw, "dana", STRONG).await,
        401,
        "the old password is gone"
    );
    assert_eq!(login_attempt(&gw, "dana", "new-quiet-phrase-92").await, 200);
    assert_eq!(
        set_password(&http, &reset, "x-another-phrase-3", "x-another-phrase-3")
            .await
            .0,
        410
    );
    assert_eq!(audited(&gw, "password.reset", "dana")["outcome"], "ok");

    // A reset link is good for 15 minutes.
    let (code, _, _) = gw.cli(&[
        "users",
        "add",
        "--user",
        "gail",
        "--email",
        "gail@example.com",
    ]);
    assert_eq!(code, 0);
    let store = open_store(&gw).await;
    let hash = authgate::login::password::hash(STRONG).unwrap();
    assert!(store.set_password_hash("gail", &hash).await.unwrap());
    let before = smtp.messages().len();
    forgot(&gw, "gail@example.com").await;
    let mails = smtp.wait_for(before + 1).await;
    let late = link(&mails.last().unwrap().text, "/login/reset?token=").unwrap();
    gw.advance_clock(15 * 60 + 1);
    assert_eq!(http.get(&late).send().await.unwrap().status(), 410);
}

async fn open_store(gw: &Gateway) -> Storage {
    let dir = gw.dir.path();
    let key = StorageKey::load(&dir.join("storage.key")).unwrap();
    Storage::open(&format!("sqlite://{}/authgate.db", dir.display()), &key)
        .await
        .unwrap()
}

async fn seed_admin_factor(gw: &Gateway) {
    let s = open_store(gw).await;
    let alice = authgate::storage::Owner {
        name: "alice",
        source: &authgate::directory::Source::Local,
    };
    s.add(&alice, FactorKind::Totp, "phone", SEED, 0)
        .await
        .unwrap();
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// alice signed in with her password and her authenticator app.
async fn admin_session(gw: &Gateway) -> reqwest::Client {
    let http = browser(gw);
    let r = http.get(gw.url("/admin")).send().await.unwrap();
    let r = submit_login(&http, gw, &location(&r), "alice", ALICE_PW).await;
    let page = r.text().await.unwrap();
    let r = http
        .post(gw.url("/login/second-factor"))
        .form(&[
            ("mfa", hidden(&page, "mfa").unwrap().as_str()),
            ("csrf", hidden(&page, "csrf").unwrap().as_str()),
            ("otp", totp::code_at(SEED, now()).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "signed in with the second factor");
    http
}

async fn admin_post(
    http: &reqwest::Client,
    gw: &Gateway,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let page = text_of(http, gw, path).await;
    let csrf = hidden(&page, "csrf").expect("a console form");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(form);
    let r = http.post(gw.url(path)).form(&all).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_is_for_administrators_with_a_fresh_second_factor() {
    let smtp = mail_server();
    let root = authgate::login::password::hash("root-password").unwrap();
    let (gw, _files) = gateway(
        &smtp,
        &format!(
            "\n[[users]]\nusername = \"root\"\npassword_hash = \"{root}\"\ngroups = [\"admin\"]\n"
        ),
    );
    seed_admin_factor(&gw).await;
    // bob is no administrator: 403, even signed in.
    let (bob, _) = signed_in_as(&gw, "bob", BOB_PW).await;
    assert_eq!(
        bob.get(gw.url("/admin")).send().await.unwrap().status(),
        403
    );
    // An administrator signed in with a password alone is sent to a second factor first.
    let (password_only, _) = signed_in_as(&gw, "root", "root-password").await;
    let r = password_only.get(gw.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("name=\"otp\"") && !page.contains("Administration"),
        "a step-up: {page}"
    );

    let admin = admin_session(&gw).await;
    let r = admin.get(gw.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Administration"), "{page}");
    let csp = "default-src 'none'";
    assert!(
        admin.get(gw.url("/admin")).send().await.unwrap().headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(csp)
    );

    // A user created and invited from the console.
    let (status, page) = admin_post(
        &admin,
        &gw,
        "/admin",
        &[
            ("action", "create"),
            ("user", "frank"),
            ("email", "frank@example.com"),
            ("groups", "staff, ops"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("frank was invited"), "{page}");
    assert!(!page.contains("token="), "no link on the page");
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].rcpt_tos, ["frank@example.com"]);
    let (_, page) = admin_post(
        &admin,
        &gw,
        "/admin",
        &[("action", "disable"), ("user", "frank")],
    )
    .await;
    assert!(page.contains("disabled"), "{page}");
    let (_, page) = admin_post(
        &admin,
        &gw,
        "/admin",
        &[
            ("action", "set-groups"),
            ("user", "frank"),
            ("groups", "finance"),
        ],
    )
    .await;
    assert!(page.contains("finance"), "{page}");
    // Without the CSRF token, nothing.
    let r = admin
        .post(gw.url("/admin"))
        .form(&[("action", "enable"), ("user", "frank")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    for (path, expect) in [
        ("/admin/sessions", "alice"),
        ("/admin/clients", "wiki"),
        ("/admin/app-passwords", "admin-app-passwords"),
        ("/admin/audit", "admin.user_invited"),
    ] {
        let page = text_of(&admin, &gw, path).await;
        assert!(page.contains(expect), "{path}: {page}");
        assert!(
            !page.contains("client_secret") && !page.contains("$argon2"),
            "{path} shows a secret"
        );
    }
    let filtered = text_of(
        &admin,
        &gw,
        "/admin/audit?user=frank&event=admin.user_disabled",
    )
    .await;
    assert!(
        filtered.contains("admin.user_disabled") && !filtered.contains("admin.user_invited"),
        "{filtered}"
    );

    let line = audited(&gw, "admin.user_disabled", "frank");
    assert_eq!(
        (line["actor"].as_str(), line["outcome"].as_str()),
        (Some("alice"), Some("ok"))
    );
    let (code, out, _) = gw.cli(&["audit", "tail", "--user", "frank"]);
    assert_eq!(code, 0);
    assert!(
        out.lines().all(|l| l.contains("frank")) && out.contains("admin.groups_set"),
        "{out}"
    );

    // alice is a user of the configuration file: her password is not authgate's to change.
    let account = text_of(&admin, &gw, "/account").await;
    assert!(
        account.contains("managed by the operator") && !account.contains("id=\"change-password\""),
        "{account}"
    );

    // Log rotation: the file moved away, SIGUSR1, and the next event is in a new file.
    let trail = gw.dir.path().join("audit.jsonl");
    std::fs::rename(&trail, gw.dir.path().join("audit.jsonl.1")).unwrap();
    gw.signal("USR1");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let _ = admin_post(
            &admin,
            &gw,
            "/admin",
            &[("action", "unlock"), ("user", "frank")],
        )
        .await;
        if std::fs::read_to_string(&trail).is_ok_and(|t| t.contains("admin.user_unlocked")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the audit file was not reopened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Fifteen minutes after the sign-in, the console asks for it again.
    gw.advance_clock(16 * 60);
    let r = admin.get(gw.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert!(location(&r).contains("/login?auth="), "{}", location(&r));
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_goes_over_implicit_tls_and_a_mail_server_that_is_down_holds_up_no_page() {
    let mut smtp = Smtp::start(Tls::Implicit, Some(("mailer", "mail-secret")));
    let (gw, _files) = gateway(&smtp, "");
    let (code, out, err) = gw.cli(&[
        "users",
        "add",
        "--user",
        "hank",
        "--email",
        "hank@example.com",
        "--invite",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("mailed to hank@example.com"), "{out}");
    let mails = smtp.wait_for(1).await;
    let invite = link(&mails[0].text, "/invite?token=").unwrap();
    let http = browser(&gw);
    assert_eq!(set_password(&http, &invite, STRONG, STRONG).await.0, 200);

    // The mail server goes away: the page answers as ever, and the failure is logged and
    // retried in the background.
    smtp.stop();
    let page = forgot(&gw, "hank").await;
    assert!(page.contains("forgot-sent"), "{page}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !gw.stderr().contains("trying again in 10s") {
        assert!(
            std::time::Instant::now() < deadline,
            "no retry logged:\n{}",
            gw.stderr()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The CLI says when it could not mail, and prints the link all the same.
    let (code, out, err) = gw.cli(&[
        "users",
        "add",
        "--user",
        "ivy",
        "--email",
        "ivy@example.com",
        "--invite",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("/invite?token=") && err.contains("could not be mailed"),
        "{out}{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_changes_the_password_at_the_account_page() {
    let smtp = mail_server();
    let (gw, _files) = gateway(&smtp, "");
    let session = dana(&gw, &smtp).await;
    smtp.wait_for(2).await;
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let form = [("current", current), ("password", new), ("again", again)];
        let (session, gw) = (session.clone(), &gw);
        async move {
            account_action(&session, gw, "change-password", &form)
                .await
                .text()
                .await
                .unwrap()
        }
    };
    let page = change(STRONG, "mosaic-harbour-lantern-8", "something else").await;
    assert!(page.contains("differ"), "{page}");
    let page = change(
        "wrong-current",
        "mosaic-harbour-lantern-8",
        "mosaic-harbour-lantern-8",
    )
    .await;
    assert!(page.contains("The current password is wrong"), "{page}");
    assert_eq!(
        login_attempt(&gw, "dana", STRONG).await,
        200,
        "unchanged so far"
    );
    let page = change(
        STRONG,
        "mosaic-harbour-lantern-8",
        "mosaic-harbour-lantern-8",
    )
    .await;
    assert!(page.contains("Your password was changed"), "{page}");
    assert_eq!(
        login_attempt(&gw, "dana", "mosaic-harbour-lantern-8").await,
        200
    );
    let mails = smtp.wait_for(3).await;
    assert!(mails[2].subject.contains("changed"), "{}", mails[2].subject);
    assert_eq!(audited(&gw, "password.changed", "dana")["outcome"], "ok");
}
