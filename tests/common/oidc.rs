//! Provider fixtures: users, clients, and a browser-like sign-in.

use super::*;

pub const ALICE_PW: &str = "alice-password";
pub const BOB_PW: &str = "bob-password";
pub const WIKI_SECRET: &str = "wiki-secret";

/// Users and clients for provider tests (argon2 hashes made here, with the library).
pub fn identities() -> String {
    let alice = authgate::login::password::hash(ALICE_PW).unwrap();
    let bob = authgate::login::password::hash(BOB_PW).unwrap();
    let wiki = authgate::oidc::client_auth::hash_secret(WIKI_SECRET);
    format!(
        r#"
[[users]]
username = "alice"
password_hash = "{alice}"
email = "alice@example.com"
name = "Alice Example"
groups = ["staff", "admin"]

[[users]]
username = "bob"
password_hash = "{bob}"
email = "bob@example.com"
groups = ["guests"]

[[users]]
username = "carol"
password_hash = "{bob}"
disabled = true

[[clients]]
client_id = "wiki"
client_secret_sha256 = "{wiki}"
redirect_uris = ["https://wiki.test/cb", "https://wiki.test/cb2"]
post_logout_redirect_uris = ["https://wiki.test/bye"]
response_types = ["code", "code id_token"]

[[clients]]
client_id = "spa"
redirect_uris = ["https://spa.test/cb"]
response_types = ["code", "id_token"]

[[clients]]
client_id = "cU0L3GsEq1vuOJ5iQrRSu5AyPnKL8..."
client_secret_sha256 = "{wiki}"
redirect_uris = ["https://example.com"]

[[clients]]
client_id = "pkce-api"
redirect_uris = ["https://api-client.test/callback"]
"#
    )
}

/// A provider on a fresh port with `identities()` and `extra`.
pub fn provider(extra: &str) -> Gateway {
    Gateway::start(&format!("{}\n{extra}", identities()))
}

/// A client with a cookie jar that does not follow redirects.
pub fn browser(gw: &Gateway) -> reqwest::Client {
    client_builder(gw).cookie_store(true).build().unwrap()
}

/// The value of hidden input `name` in an HTML page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_string())
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Submits the login form at `login_url` and returns the response to the POST.
pub async fn submit_login(
    http: &reqwest::Client,
    gw: &Gateway,
    login_url: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let page = http.get(login_url).send().await.unwrap();
    assert_eq!(page.status(), 200, "login form at {login_url}");
    let page = page.text().await.unwrap();
    login_post(http, gw.url("/login"), &page, user, password)
        .send()
        .await
        .unwrap()
}

/// The POST of the login form in `page` (its hidden `auth` and `csrf`) with these credentials,
/// as a request the caller may still add headers to.
pub fn login_post(
    http: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    page: &str,
    user: &str,
    password: &str,
) -> reqwest::RequestBuilder {
    let auth = hidden(page, "auth").expect("auth field");
    let csrf = hidden(page, "csrf").expect("csrf field");
    http.post(url).form(&[
        ("auth", auth.as_str()),
        ("csrf", csrf.as_str()),
        ("username", user),
        ("password", password),
    ])
}

/// `s` form-urlencoded, for building query strings.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Follows an authorize URL through the login form; returns the final redirect to the client.
pub async fn authorize_with_login(
    http: &reqwest::Client,
    gw: &Gateway,
    authorize_url: &str,
    user: &str,
    password: &str,
) -> String {
    let r = http.get(authorize_url).send().await.unwrap();
    assert_eq!(
        r.status(),
        302,
        "{authorize_url}: {}",
        r.text().await.unwrap_or_default()
    );
    let login = location(&r);
    assert!(login.contains("/login?auth="), "{login}");
    let r = submit_login(http, gw, &login, user, password).await;
    assert_eq!(r.status(), 302, "sign-in failed");
    location(&r)
}

/// The value of `name` in a URL's query or fragment.
pub fn param(url: &str, name: &str) -> Option<String> {
    let u = url::Url::parse(url).unwrap();
    let from_query = u
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned());
    from_query.or_else(|| {
        u.fragment().and_then(|f| {
            form_urlencoded::parse(f.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
    })
}

/// A provider signing with a fresh `alg` key, publishing a retired key of `retired` too.
pub fn provider_with_keys(alg: &str, retired: Option<&str>) -> Gateway {
    let port = free_port();
    let keys = tempfile::tempdir().unwrap();
    let active = keys.path().join("active.pem");
    let (code, _, err) = run_cli(
        &["gen-key", "--out", active.to_str().unwrap(), "--alg", alg],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let mut retired_files = Vec::new();
    if let Some(r) = retired {
        let path = keys.path().join("retired.pem");
        run_cli(
            &["gen-key", "--out", path.to_str().unwrap(), "--alg", r],
            None,
        );
        retired_files.push(format!("\"{}\"", path.display()));
    }
    let gw = Gateway::start_on(
        port,
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{{port}}\"]\npublic_url = \"http://127.0.0.1:{{port}}\"\n[tokens]\nsigning_key_file = \"{}\"\nretired_key_files = [{}]\n{}",
            active.display(),
            retired_files.join(", "),
            identities()
        ),
    );
    std::mem::forget(keys); // the files must outlive the process; the OS cleans /tmp
    gw
}

/// Follows redirects like a browser, signing in as `user` when the login form appears.
/// Returns the final response and the URL it came from.
pub async fn browse(
    http: &reqwest::Client,
    gw: &Gateway,
    url: &str,
    user: &str,
    password: &str,
) -> (String, reqwest::Response) {
    browse_via(http, &gw.url("/login"), url, user, password).await
}

/// `browse` for a provider whose login form posts to `login_url`.
pub async fn browse_via(
    http: &reqwest::Client,
    login_url: &str,
    url: &str,
    user: &str,
    password: &str,
) -> (String, reqwest::Response) {
    let mut url = url.to_string();
    for _ in 0..12 {
        let r = http
            .get(&url)
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        if r.status().is_redirection() {
            url = absolute(&url, &location(&r));
            continue;
        }
        if url.contains("/login?auth=") && r.status() == 200 {
            let page = r.text().await.unwrap();
            let r = login_post(http, login_url, &page, user, password)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 302, "sign-in as {user} failed");
            url = absolute(&url, &location(&r));
            continue;
        }
        return (url, r);
    }
    panic!("too many redirects from {url}");
}

fn absolute(base: &str, loc: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(loc)
        .unwrap()
        .to_string()
}

/// The whole `Set-Cookie` value of the session cookie a response sets (`__Host-` prefixed
/// over HTTPS).
pub fn set_session_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| {
            c.trim_start_matches("__Host-")
                .starts_with("authgate_session=")
        })
        .expect("a session cookie")
}

/// `authgate_session=…` from a response, ready for a `Cookie` header.
pub fn session_pair(r: &reqwest::Response) -> String {
    set_session_cookie(r).split(';').next().unwrap().to_string()
}

/// One sign-in on the provider's form by a fresh browser; the status of the answer.
pub async fn login_attempt(gw: &Gateway, user: &str, password: &str) -> u16 {
    let http = browser(gw);
    let r = http.get(gw.url("/login")).send().await.unwrap();
    submit_login(&http, gw, &location(&r), user, password)
        .await
        .status()
        .as_u16()
}

/// A browser signed in at the provider (a plain visit to /login) as `user`, and its cookie.
pub async fn signed_in_as(gw: &Gateway, user: &str, password: &str) -> (reqwest::Client, String) {
    let http = browser(gw);
    let r = http.get(gw.url("/login")).send().await.unwrap();
    let r = submit_login(&http, gw, &location(&r), user, password).await;
    assert_eq!(r.status(), 200, "sign-in as {user}");
    let cookie = session_pair(&r);
    (http, cookie)
}

/// A client as the `openidconnect` crate's relying party sees it, after discovery.
pub type Rp = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The `openidconnect` client `id` (with `secret`, if confidential) of `gw`, discovery done,
/// and its HTTP client.
pub async fn rp(
    gw: &Gateway,
    id: &str,
    secret: Option<&str>,
) -> (openidconnect::reqwest::Client, Rp) {
    use openidconnect::core::{CoreClient, CoreProviderMetadata};
    use openidconnect::{ClientId, ClientSecret, IssuerUrl};
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(gw.url("")).unwrap(), &http)
        .await
        .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(id.into()),
        secret.map(|s| ClientSecret::new(s.into())),
    );
    (http, client)
}

/// The `wiki` relying party of `gw`, with its first redirect URI.
pub async fn wiki_rp(gw: &Gateway) -> (openidconnect::reqwest::Client, Rp) {
    let (http, client) = rp(gw, "wiki", Some(WIKI_SECRET)).await;
    let redirect = openidconnect::RedirectUrl::new("https://wiki.test/cb".into()).unwrap();
    (http, client.set_redirect_uri(redirect))
}

/// A POST of `/account` with `action` and its CSRF token (read from the page first).
pub async fn account_action(
    http: &reqwest::Client,
    gw: &Gateway,
    action: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let page = http.get(gw.url("/account")).send().await.unwrap();
    let page = page.text().await.unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    let mut form = vec![("csrf", csrf.as_str()), ("action", action)];
    form.extend_from_slice(extra);
    http.post(gw.url("/account"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The wiki client's token answer for `code` (issued for `https://wiki.test/cb`).
pub async fn wiki_tokens(gw: &Gateway, code: &str) -> serde_json::Value {
    client(gw)
        .post(gw.url("/oauth2/token"))
        .basic_auth("wiki", Some(WIKI_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", "https://wiki.test/cb"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A provider on `port` whose every caller is a trusted proxy on 127.0.0.1 (so each test
/// request can say which address it comes from), with the test identities and `extra`.
pub fn behind_local_proxy(port: u16, extra: &str) -> Gateway {
    Gateway::start_on(
        port,
        &format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\npublic_url = \"http://127.0.0.1:{port}\"\n\
             trusted_proxies = [\"127.0.0.1\"]\n[tokens]\nsigning_key_file = \"{{dir}}/s.pem\"\n\
             create_key_if_missing = true\n{}\n{extra}",
            identities(),
        ),
    )
}
