//! oauth2-proxy: its TOML configuration file (`oauth2-proxy.cfg`). The provider becomes an
//! `[[upstream_providers]]` entry, each upstream a route.

use std::path::Path;

use toml::{Table, Value};
use url::Url;

use super::{duration, entry, strings, ImportError, Imported};

/// Options read here; any other is listed as not translated.
const READ: &[&str] = &[
    "http_address",
    "upstreams",
    "provider",
    "provider_display_name",
    "oidc_issuer_url",
    "client_id",
    "client_secret",
    "client_secret_file",
    "redirect_url",
    "scope",
    "oidc_email_claim",
    "oidc_groups_claim",
    "user_id_claim",
    "email_domains",
    "allowed_groups",
    "skip_auth_routes",
    "insecure_oidc_allow_unverified_email",
    "cookie_name",
    "cookie_expire",
    "cookie_secret",
    "skip_provider_button",
    "set_xauthrequest",
    "pass_user_headers",
    "reverse_proxy",
];

/// The file `cfg` as an authgate configuration whose keys and secrets are in `key_dir`.
pub fn oauth2_proxy(cfg: &str, key_dir: &Path) -> Result<Imported, ImportError> {
    let cfg: Table = toml::from_str(cfg).map_err(|e| ImportError {
        file: "oauth2-proxy.cfg",
        message: format!("not valid TOML: {}", e.message()),
    })?;
    let s = |k: &str| cfg.get(k).and_then(Value::as_str);
    let app = s("redirect_url").and_then(|u| Url::parse(u).ok());
    let app_host = app.as_ref().and_then(|u| u.host_str()).map(str::to_string);
    let public_url = match &app {
        Some(u) => format!(
            "{}://auth.{}",
            u.scheme(),
            app_host.as_deref().unwrap_or("")
        ),
        None => "https://auth.example.com".to_string(),
    };
    let listen = s("http_address")
        .map(|a| a.trim_start_matches("http://"))
        .map(|a| {
            if a.starts_with(':') {
                format!("0.0.0.0{a}")
            } else {
                a.to_string()
            }
        })
        .unwrap_or_else(|| "127.0.0.1:4180".to_string());
    let mut out = Imported::new(&public_url, &listen, key_dir);
    out.note("redirect_url", format!("authgate signs in on a host of its own: {public_url} is assumed; register {public_url}/login/upstream/callback at the provider"));
    let id = provider(&mut out, &cfg, key_dir);
    routes(&mut out, &cfg, app_host.as_deref());
    if let Some(name) = s("cookie_name") {
        out.set("session", "cookie_name", name);
    }
    if let Some(expire) = s("cookie_expire") {
        match duration::convert(expire) {
            Some(d) => out.set("session", "lifetime", d),
            None => out.note(
                "cookie_expire",
                format!("{expire:?} is not a duration authgate can write"),
            ),
        }
    }
    if id.is_some() && s("skip_provider_button").is_none() {
        out.set("login", "password_form", false);
    }
    for key in cfg.keys().filter(|k| !READ.contains(&k.as_str())) {
        out.note(key.as_str(), "not translated");
    }
    Ok(out)
}

/// The `[[upstream_providers]]` entry, and its id.
fn provider(out: &mut Imported, cfg: &Table, key_dir: &Path) -> Option<String> {
    let s = |k: &str| cfg.get(k).and_then(Value::as_str);
    let kind = s("provider").unwrap_or("google");
    let issuer = match (kind, s("oidc_issuer_url")) {
        (_, Some(url)) => url.trim_end_matches('/').to_string(),
        ("google", None) => "https://accounts.google.com".to_string(),
        (other, None) => {
            out.note("provider", format!("{other:?} without oidc_issuer_url: authgate speaks OpenID Connect to any provider; set its issuer by hand"));
            return None;
        }
    };
    let id: String = kind
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut p = entry([
        ("id", id.as_str().into()),
        ("name", s("provider_display_name").unwrap_or(kind).into()),
        ("issuer", issuer.into()),
        ("client_id", s("client_id").unwrap_or("CLIENT-ID").into()),
    ]);
    if s("client_secret").is_some() || s("client_secret_file").is_some() {
        let file = key_dir
            .join(format!("{id}-client-secret"))
            .to_string_lossy()
            .into_owned();
        out.note(
            "client_secret",
            format!(
                "authgate reads it from a file: write it to {file} (mode 0600, owner authgate)"
            ),
        );
        p.insert("client_secret_file".into(), file.into());
    }
    if let Some(scope) = s("scope") {
        let scopes: Vec<&str> = scope.split_whitespace().collect();
        p.insert("scopes".into(), strings(&scopes));
    }
    let claim = s("user_id_claim")
        .or(s("oidc_email_claim"))
        .unwrap_or("email");
    p.insert("username_claim".into(), claim.into());
    p.insert(
        "groups_claim".into(),
        s("oidc_groups_claim").unwrap_or("groups").into(),
    );
    let domains = list(cfg, "email_domains");
    if !domains.is_empty() && !domains.iter().any(|d| d == "*") {
        p.insert("allowed_email_domains".into(), strings(&domains));
    }
    if cfg
        .get("insecure_oidc_allow_unverified_email")
        .and_then(Value::as_bool)
        == Some(true)
    {
        p.insert("trust_email".into(), true.into());
    }
    p.insert("auto_redirect".into(), true.into());
    out.push("upstream_providers", p);
    Some(id)
}

fn list(cfg: &Table, key: &str) -> Vec<String> {
    match cfg.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// A route per upstream, on the host of `redirect_url`.
fn routes(out: &mut Imported, cfg: &Table, host: Option<&str>) {
    let public_paths = public_paths(out, cfg);
    let groups = list(cfg, "allowed_groups");
    for (i, upstream) in list(cfg, "upstreams").iter().enumerate() {
        let path = format!("upstreams[{i}]");
        let url = match Url::parse(upstream) {
            Ok(u) if u.scheme() == "http" => u,
            Ok(u) => {
                out.note(
                    path,
                    format!("a {} upstream has no authgate equivalent yet", u.scheme()),
                );
                continue;
            }
            Err(e) => {
                out.note(path, format!("{upstream:?}: {e}"));
                continue;
            }
        };
        let addr = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(80)
        );
        let mut route = entry([("upstreams", strings(&[addr]))]);
        if let Some(h) = host {
            route.insert("host".into(), h.into());
        }
        if url.path() != "/" {
            route.insert(
                "path_prefix".into(),
                url.path().trim_end_matches('/').into(),
            );
        }
        if !public_paths.is_empty() {
            route.insert("public_paths".into(), strings(&public_paths));
        }
        if !groups.is_empty() {
            route.insert("allow_groups".into(), strings(&groups));
        }
        out.push("routes", route);
    }
}

/// `skip_auth_routes` that are plain prefixes (`^/static/`) or paths (`^/health$`).
fn public_paths(out: &mut Imported, cfg: &Table) -> Vec<String> {
    let mut paths = Vec::new();
    for (i, rule) in list(cfg, "skip_auth_routes").iter().enumerate() {
        let plain = rule
            .strip_prefix('^')
            .map(|p| p.strip_suffix('$').unwrap_or(p))
            .filter(|p| {
                p.starts_with('/') && !p.contains(['*', '(', '[', '|', '?', '+', '\\', '.', '='])
            });
        match plain {
            Some(p) => paths.push(p.to_string()),
            None => out.note(format!("skip_auth_routes[{i}]"), format!("{rule:?} is not a plain path prefix: authgate's public_paths match prefixes only")),
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"
http_address = "127.0.0.1:4180"
upstreams = ["http://127.0.0.1:8080/", "http://127.0.0.1:9000/api/", "file:///var/www/static/#/static/"]
provider = "oidc"
provider_display_name = "Corp SSO"
oidc_issuer_url = "https://idp.example.com/realms/corp"
client_id = "oauth2-proxy"
client_secret = "s3cret"
redirect_url = "https://app.example.com/oauth2/callback"
email_domains = ["example.com"]
allowed_groups = ["staff"]
skip_auth_routes = ["^/health$", "^/static/", "GET=^/api/public"]
cookie_secret = "0123456789abcdef0123456789abcdef"
cookie_expire = "168h"
htpasswd_file = "/etc/oauth2-proxy/htpasswd"
"#;

    #[test]
    fn the_provider_routes_and_notes() {
        let out = oauth2_proxy(CFG, Path::new("/etc/authgate/keys")).unwrap();
        let cfg: Table = toml::from_str(&out.toml()).unwrap();
        let p = &cfg["upstream_providers"][0];
        assert_eq!(p["id"].as_str(), Some("oidc"));
        assert_eq!(
            p["issuer"].as_str(),
            Some("https://idp.example.com/realms/corp")
        );
        assert_eq!(
            p["client_secret_file"].as_str(),
            Some("/etc/authgate/keys/oidc-client-secret")
        );
        assert_eq!(p["allowed_email_domains"][0].as_str(), Some("example.com"));
        let routes = cfg["routes"].as_array().unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0]["upstreams"][0].as_str(), Some("127.0.0.1:8080"));
        assert_eq!(routes[1]["path_prefix"].as_str(), Some("/api"));
        assert_eq!(routes[0]["public_paths"].as_array().unwrap().len(), 2);
        assert_eq!(
            cfg["server"]["public_url"].as_str(),
            Some("https://auth.app.example.com")
        );
        assert_eq!(cfg["session"]["lifetime"].as_str(), Some("168h"));
        let paths: Vec<&str> = out.notes.iter().map(|n| n.path.as_str()).collect();
        for expected in [
            "upstreams[2]",
            "skip_auth_routes[2]",
            "htpasswd_file",
            "client_secret",
        ] {
            assert!(paths.contains(&expected), "{expected} not in {paths:?}");
        }
    }
}
