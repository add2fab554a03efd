//! The sign-in pages people see: in their language (the menu, the browser, the default), with
//! the name of the application they are going to, and in the deployment's brand.

mod common;

use common::oidc::{browser, enc, location};
use common::{client, Gateway, Upstream};

/// The login page the authorize request of `client_id` leads to, asked for with `headers`.
async fn login_page(
    gw: &Gateway,
    client_id: &str,
    redirect: &str,
    headers: &[(&str, &str)],
) -> (reqwest::header::HeaderMap, String) {
    let http = browser(gw);
    let url = gw.url(&format!(
        "/oauth2/authorize?client_id={client_id}&response_type=code&scope=openid&redirect_uri={}&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        enc(redirect)
    ));
    let r = http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let mut req = http.get(location(&r));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    (r.headers().clone(), r.text().await.unwrap())
}

fn provider(extra: &str) -> Gateway {
    common::oidc::provider(&format!(
        "{extra}\n[[clients]]\nclient_id = \"payroll-app\"\nname = \"Payroll\"\nredirect_uris = [\"https://payroll.test/cb\"]\n"
    ))
}

#[tokio::test]
async fn the_browsers_language_the_menus_choice_and_the_default() {
    let gw = provider("");
    let (h, page) = login_page(
        &gw,
        "pkce-api",
        "https://api-client.test/callback",
        &[("Accept-Language", "de-AT,de;q=0.9,en;q=0.5")],
    )
    .await;
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    assert!(page.contains("<h1>Anmelden</h1>"), "{page}");
    assert!(
        page.contains("<label for=\"password\">Passwort</label>"),
        "{page}"
    );
    assert_eq!(h["content-language"], "de");

    let (_, page) = login_page(
        &gw,
        "pkce-api",
        "https://api-client.test/callback",
        &[("Accept-Language", "ja")],
    )
    .await;
    assert!(
        page.contains("<html lang=\"ja\">") && page.contains("サインイン"),
        "{page}"
    );

    // The menu: every language, each link keeping the page's own query.
    let (_, page) = login_page(&gw, "pkce-api", "https://api-client.test/callback", &[]).await;
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    for code in [
        "en", "de", "es", "fr", "it", "nl", "pl", "pt-BR", "ja", "zh-CN",
    ] {
        assert!(
            page.contains(&format!("lang={code}\" lang=\"{code}\"")),
            "{code}: {page}"
        );
    }
    assert!(page.contains("/login?auth="), "{page}");

    // Choosing French sets a cookie, and the choice wins over the browser's language.
    let http = client(&gw);
    let r = http.get(gw.url("/login?lang=fr")).send().await.unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("authgate_lang=fr"))
        .expect("the language cookie");
    assert!(cookie.contains("Path=/"), "{cookie}");
    let r = http
        .get(gw.url("/oauth2/logout"))
        .header("Cookie", "authgate_lang=fr")
        .header("Accept-Language", "de")
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<html lang=\"fr\">") && page.contains("Vous êtes déconnecté."),
        "{page}"
    );

    // Nothing offered: [login] default_language.
    let es = provider("[login]\ndefault_language = \"es\"\n");
    let r = client(&es)
        .get(es.url("/oauth2/logout"))
        .header("Accept-Language", "sv")
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(
        page.contains("<html lang=\"es\">") && page.contains("Has cerrado la sesión."),
        "{page}"
    );
}

#[tokio::test]
async fn an_error_page_and_a_failed_sign_in_speak_the_language_too() {
    let gw = provider("");
    let r = client(&gw)
        .get(gw.url("/login?auth=expired"))
        .header("Accept-Language", "pl")
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains("Logowanie wygasło"), "{page}");
    let (_, login) = login_page(&gw, "pkce-api", "https://api-client.test/callback", &[]).await;
    assert!(login.contains("id=\"username\""), "{login}");
}

#[tokio::test]
async fn the_login_page_names_the_application() {
    let gw = provider("");
    let (_, page) = login_page(&gw, "payroll-app", "https://payroll.test/cb", &[]).await;
    assert!(page.contains("Sign in to continue to Payroll"), "{page}");
    assert!(
        page.contains("<title>Sign in to continue to Payroll · authgate</title>"),
        "{page}"
    );
    // Without a name, the client id (and the title stays plain).
    let (_, page) = login_page(&gw, "pkce-api", "https://api-client.test/callback", &[]).await;
    assert!(page.contains("Sign in to continue to pkce-api"), "{page}");
    assert!(page.contains("<title>Sign in · authgate</title>"), "{page}");

    // A route: its name, on the page the proxy's own sign-in reaches.
    let up = Upstream::start("payroll").await;
    let gw = Gateway::start(&format!(
        "{}\n[[routes]]\nname = \"Payroll\"\nhost = \"app.test\"\nupstreams = [\"{}\"]\n",
        common::oidc::identities(),
        up.addr
    ));
    let http = browser(&gw);
    let mut next = url::Url::parse("http://app.test/").unwrap();
    for _ in 0..4 {
        let r = http
            .get(next.clone())
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        next = next.join(&location(&r)).unwrap();
        if next.as_str().contains("/login?auth=") {
            break;
        }
    }
    let page = http
        .get(next.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Sign in to continue to Payroll"),
        "{next}: {page}"
    );
}

#[tokio::test]
async fn the_brand_name_logo_colour_and_help_link() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    std::fs::write(
        &logo,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>",
    )
    .unwrap();
    let gw = provider(&format!(
        "[branding]\nname = \"Example Corp\"\nlogo_file = \"{}\"\nprimary_color = \"#0b5394\"\nsupport_url = \"https://help.example.com/\"\n",
        logo.display()
    ));
    let (h, page) = login_page(&gw, "pkce-api", "https://api-client.test/callback", &[]).await;
    assert!(page.contains("· Example Corp</title>"), "{page}");
    assert!(page.contains("--primary:#0b5394"), "{page}");
    assert!(
        page.contains("href=\"https://help.example.com/\""),
        "{page}"
    );
    assert!(page.contains("prefers-color-scheme:dark"), "a dark theme");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let start = page.find("src=\"/assets/logo-").expect("the logo") + 5;
    let href = &page[start..start + page[start..].find('"').unwrap()];
    assert!(href.ends_with(".svg"), "{href}");
    let r = client(&gw).get(gw.url(href)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    let r = client(&gw)
        .get(gw.url("/assets/logo-0000.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let (code, _, err) = gw.cli(&["check-config"]);
    assert_eq!(code, 0, "{err}");
    let low = gw.config_file();
    let text = std::fs::read_to_string(&low)
        .unwrap()
        .replace("#0b5394", "#7aa7ff");
    std::fs::write(&low, text).unwrap();
    let (code, out, err) = gw.cli(&["check-config"]);
    assert_ne!(code, 0);
    assert!(format!("{out}{err}").contains("WCAG AA"), "{out}{err}");
}
