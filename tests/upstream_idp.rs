//! Sign-in with an upstream OpenID Provider. The upstream is a second authgate process: a real,
//! independent OP with its own users. The gateway under test is its relying party (the
//! `openidconnect` crate at run time).

mod common;

use common::oidc::*;
use common::*;

struct Pair {
    upstream: Gateway,
    gateway: Gateway,
    _app: Upstream,
}

const SECRET: &str = "downstream-secret";
/// eve, at the upstream, whose address it does not vouch for (`email_verified = false`).
const EVE_PW: &str = "eve-password";

/// The upstream OP (its users: `identities()`), and the gateway under test signing in through
/// it, with `extra` in its `[[upstream_providers]]` table.
async fn pair(extra: &str) -> Pair {
    pair_with(extra, "").await
}

/// `pair`, with `login` in the gateway's `[login]` table.
async fn pair_with(extra: &str, login: &str) -> Pair {
    let app = Upstream::start("app").await;
    let down = free_port();
    let up = free_port();
    let upstream = Gateway::start_on(
        up,
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{up}\"]\npublic_url = \"http://127.0.0.1:{up}\"\nthreads = 2\n\
             [session]\ncookie_name = \"upstream_session\"\n\
             [tokens]\nsigning_key_file = \"{{dir}}/signing.pem\"\ncreate_key_if_missing = true\n{}\n\
             [[clients]]\nclient_id = \"authgate-down\"\nclient_secret_sha256 = \"{}\"\n\
             redirect_uris = [\"http://127.0.0.1:{down}/login/upstream/callback\"]\n\
             post_logout_redirect_uris = [\"http://127.0.0.1:{down}/login\"]\n\
             [[users]]\nusername = \"eve\"\npassword_hash = \"{eve}\"\nemail = \"eve@example.com\"\n\
             email_verified = false\n",
            identities(),
            authgate::oidc::client_auth::hash_secret(SECRET),
            eve = authgate::login::password::hash(EVE_PW).unwrap(),
        ),
    );
    let local = authgate::login::password::hash("local-password").unwrap();
    let gateway = Gateway::start_on(
        down,
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{down}\"]\npublic_url = \"http://127.0.0.1:{down}\"\nthreads = 2\n\
             [tokens]\nsigning_key_file = \"{{dir}}/signing.pem\"\ncreate_key_if_missing = true\n\
             [login]\n{login}\n\
             [[users]]\nusername = \"localuser\"\npassword_hash = \"{local}\"\n\
             [[clients]]\nclient_id = \"wiki\"\nclient_secret_sha256 = \"{wiki}\"\nredirect_uris = [\"https://wiki.test/cb\"]\n\
             [[routes]]\nhost = \"app.test\"\nupstreams = [\"{a}\"]\n\
             [[upstream_providers]]\nid = \"corp\"\nname = \"Corp SSO\"\nissuer = \"http://127.0.0.1:{up}\"\n\
             client_id = \"authgate-down\"\nclient_secret_file = \"{{dir}}/corp-secret\"\n\
             scopes = [\"openid\", \"email\", \"profile\", \"groups\"]\ngroups_claim = \"groups\"\n\
             username_prefix = \"corp:\"\n{extra}\n",
            wiki = authgate::oidc::client_auth::hash_secret(WIKI_SECRET),
            a = app.addr,
        )
        .replace("{dir}/corp-secret", &write_secret()),
    );
    Pair {
        upstream,
        gateway,
        _app: app,
    }
}

fn write_secret() -> String {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("corp-secret");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    path.display().to_string()
}

/// From a login page of the gateway, through "Sign in with Corp SSO" and the upstream's own
/// login form, back to the gateway's callback; returns the callback's response.
async fn via_corp(
    http: &reqwest::Client,
    p: &Pair,
    login_url: &str,
    user: &str,
    pw: &str,
) -> reqwest::Response {
    let callback = corp_callback(http, p, login_url, user, pw).await;
    http.get(&callback).send().await.unwrap()
}

/// The upstream's redirect back to the gateway, not yet followed.
async fn corp_callback(
    http: &reqwest::Client,
    p: &Pair,
    login_url: &str,
    user: &str,
    pw: &str,
) -> String {
    let page = http
        .get(login_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign in with Corp SSO"), "{page}");
    let start = page.find("href=\"/login/upstream/corp?auth=").unwrap() + 6;
    let href = &page[start..start + page[start..].find('"').unwrap()];
    let r = http.get(p.gateway.url(href)).send().await.unwrap();
    let upstream_authorize = location(&r);
    assert!(
        upstream_authorize.starts_with(&p.upstream.url("/oauth2/authorize")),
        "{upstream_authorize}"
    );
    let r = http.get(&upstream_authorize).send().await.unwrap();
    let r = submit_login(http, &p.upstream, &location(&r), user, pw).await;
    assert_eq!(r.status(), 302, "signed in at the upstream");
    let callback = location(&r);
    assert!(
        callback.starts_with(&p.gateway.url("/login/upstream/callback?")),
        "{callback}"
    );
    callback
}

fn at(gw: &Gateway, path: &str) -> String {
    format!("http://app.test:{}{path}", gw.port)
}

/// Follows redirects from `url` until the login page of the gateway; returns its URL.
async fn to_login(http: &reqwest::Client, url: &str) -> String {
    let mut url = url.to_string();
    for _ in 0..5 {
        if url.contains("/login?auth=") {
            return url;
        }
        let r = http
            .get(&url)
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        url = location(&r);
    }
    panic!("no login page from {url}");
}

#[tokio::test(flavor = "multi_thread")]
async fn federated_sign_in_lands_on_the_original_url_with_mapped_claims() {
    let p = pair("").await;
    let http = browser(&p.gateway);
    let target = at(&p.gateway, "/report?x=1");
    let login = to_login(&http, &target).await;
    let r = via_corp(&http, &p, &login, "alice", ALICE_PW).await;
    let app_callback = location(&r);
    assert!(
        app_callback.contains("/.authgate/callback?"),
        "{app_callback}"
    );
    let r = http.get(&app_callback).send().await.unwrap();
    assert_eq!(location(&r), target);
    let r = http
        .get(&target)
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    let e: Echo = r.json().await.unwrap();
    assert_eq!(e.header("x-forwarded-user"), Some("corp:alice"));
    assert_eq!(e.header("x-forwarded-email"), Some("alice@example.com"));
    assert_eq!(e.header("x-forwarded-groups"), Some("staff,admin"));
    // Replaying the callback: the flow cookie is gone and the code is used.
    let page = http.get(p.gateway.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), 302);
}

#[tokio::test(flavor = "multi_thread")]
async fn allowed_groups_refuse_users_outside_them() {
    let p = pair("allowed_groups = [\"admin\"]").await;
    let http = browser(&p.gateway);
    let login = to_login(&http, &at(&p.gateway, "/")).await;
    let r = via_corp(&http, &p, &login, "bob", BOB_PW).await;
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("not allowed to sign in here"));
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_state_and_replayed_callbacks_are_refused() {
    let p = pair("").await;
    let http = browser(&p.gateway);
    let login = to_login(&http, &at(&p.gateway, "/")).await;
    let page = http.get(&login).send().await.unwrap().text().await.unwrap();
    let start = page.find("href=\"/login/upstream/corp?auth=").unwrap() + 6;
    let href = page[start..start + page[start..].find('"').unwrap()].to_string();
    let r = http.get(p.gateway.url(&href)).send().await.unwrap();
    let r = http.get(location(&r)).send().await.unwrap();
    let r = submit_login(&http, &p.upstream, &location(&r), "alice", ALICE_PW).await;
    let callback = location(&r);
    let tampered = callback.replace("state=", "state=x");
    let r = http.get(&tampered).send().await.unwrap();
    assert_eq!(r.status(), 400, "tampered state");
    // The flow cookie was cleared by the refusal; the genuine callback now finds no flow.
    let r = http.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400, "replayed after the flow ended");
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_down_gives_an_error_page_naming_it_and_local_users_still_sign_in() {
    let mut p = pair("").await;
    let http = browser(&p.gateway);
    let login = to_login(&http, &at(&p.gateway, "/")).await;
    let _ = p.upstream.child.kill();
    let _ = p.upstream.child.wait();
    let page = http.get(&login).send().await.unwrap().text().await.unwrap();
    let start = page.find("href=\"/login/upstream/corp?auth=").unwrap() + 6;
    let href = &page[start..start + page[start..].find('"').unwrap()];
    let r = http.get(p.gateway.url(href)).send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Corp SSO cannot be reached"));
    let r = login_post(
        &http,
        p.gateway.url("/login"),
        &page,
        "localuser",
        "local-password",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 302, "local users still sign in");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_gets_authgate_tokens_for_a_federated_user() {
    use openidconnect::core::CoreAuthenticationFlow;
    use openidconnect::{AuthorizationCode, CsrfToken, Nonce, Scope, TokenResponse};
    let p = pair("").await;
    let (rp_http, client) = wiki_rp(&p.gateway).await;
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("groups".into()))
        .url();
    let http = browser(&p.gateway);
    let r = http.get(url.as_str()).send().await.unwrap();
    let r = via_corp(&http, &p, &location(&r), "alice", ALICE_PW).await;
    let back = location(&r);
    let code = param(&back, "code").unwrap_or_else(|| panic!("{back}"));
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request_async(&rp_http)
        .await
        .unwrap();
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(claims.subject().as_str(), "corp:alice");
    assert_eq!(claims.email().unwrap().as_str(), "alice@example.com");
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(amr, ["fed"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_here_then_at_the_upstream_when_asked() {
    let p = pair("logout_upstream = true").await;
    let http = browser(&p.gateway);
    let login = to_login(&http, &at(&p.gateway, "/")).await;
    via_corp(&http, &p, &login, "alice", ALICE_PW).await;
    let r = http
        .get(p.gateway.url("/oauth2/logout"))
        .send()
        .await
        .unwrap();
    let upstream_logout = location(&r);
    assert!(
        upstream_logout.starts_with(&p.upstream.url("/oauth2/logout?client_id=authgate-down")),
        "{upstream_logout}"
    );
    let r = http.get(&upstream_logout).send().await.unwrap();
    assert_eq!(location(&r), p.gateway.url("/login"), "back to authgate");
    // Signed out at the upstream too: it asks for a password again.
    let again = format!(
        "/oauth2/authorize?client_id=authgate-down&response_type=code&scope=openid&redirect_uri={}",
        enc(&p.gateway.url("/login/upstream/callback"))
    );
    let r = http.get(p.upstream.url(&again)).send().await.unwrap();
    assert!(location(&r).contains("/login?auth="), "{}", location(&r));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_password_form_the_only_provider_is_used_at_once() {
    let p = pair_with("auto_redirect = true", "password_form = false").await;
    let http = browser(&p.gateway);
    let r = http.get(p.gateway.url("/login")).send().await.unwrap();
    let r = http.get(location(&r)).send().await.unwrap();
    assert!(
        location(&r).starts_with(&p.gateway.url("/login/upstream/corp?auth=")),
        "{}",
        location(&r)
    );
    let r = http
        .get(p.gateway.url(&location(&r)[p.gateway.url("").len()..]))
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with(&p.upstream.url("/oauth2/authorize")));
}

/// RFC 9207 (mix-up): the upstream advertises `iss` in its authorization responses, so a
/// callback naming another issuer, or none, is refused.
#[tokio::test(flavor = "multi_thread")]
async fn mix_up_a_callback_from_another_issuer_is_refused() {
    let p = pair("").await;
    let issuer = p.upstream.url("");
    let forgeries = [
        |cb: &str, iss: &str| {
            cb.replace(&format!("iss={}", enc(iss)), "iss=https%3A%2F%2Fevil.test")
        },
        |cb: &str, iss: &str| cb.replace(&format!("&iss={}", enc(iss)), ""),
    ];
    for forge in forgeries {
        let http = browser(&p.gateway);
        let login = to_login(&http, &at(&p.gateway, "/")).await;
        let callback = corp_callback(&http, &p, &login, "alice", ALICE_PW).await;
        assert!(
            callback.contains(&format!("iss={}", enc(&issuer))),
            "{callback}"
        );
        let forged = forge(&callback, &issuer);
        assert_ne!(forged, callback);
        let r = http.get(&forged).send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("not from this identity provider"));
    }
}

/// Signs in through the upstream as `user`; the status, and the email the app was sent.
async fn email_seen(p: &Pair, user: &str, pw: &str) -> (u16, Option<String>) {
    let http = browser(&p.gateway);
    let login = to_login(&http, &at(&p.gateway, "/")).await;
    let r = via_corp(&http, p, &login, user, pw).await;
    if !r.status().is_redirection() {
        return (r.status().as_u16(), None);
    }
    let r = http.get(location(&r)).send().await.unwrap();
    let r = http
        .get(location(&r))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    let e: Echo = r.json().await.unwrap();
    (200, e.header("x-forwarded-email").map(str::to_string))
}

/// hardening: unverified email. The upstream does not vouch for eve's address: it is dropped,
/// so a domain rule refuses her and apps never see it; `trust_email` takes it anyway.
#[tokio::test(flavor = "multi_thread")]
async fn unverified_email_from_an_upstream_is_dropped_unless_trusted() {
    let domains = pair("allowed_email_domains = [\"example.com\"]").await;
    assert_eq!(email_seen(&domains, "eve", EVE_PW).await.0, 403);
    let alice = email_seen(&domains, "alice", ALICE_PW).await;
    assert_eq!(alice, (200, Some("alice@example.com".to_string())));
    let open = pair("").await;
    assert_eq!(email_seen(&open, "eve", EVE_PW).await, (200, None));
    let trusting = pair("trust_email = true").await;
    let eve = email_seen(&trusting, "eve", EVE_PW).await;
    assert_eq!(eve, (200, Some("eve@example.com".to_string())));
}
