//! `authgate import`: sample files written from Authelia's and oauth2-proxy's documented
//! formats become configurations that `check-config` accepts, and an imported Authelia user
//! signs in with the original password.

mod common;

use std::path::Path;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use common::oidc::*;
use common::*;

const JOHN_PW: &str = "john-original-password";

/// A hash as Authelia writes it by default: argon2id, m=65536, t=3, p=4, 32 bytes.
fn authelia_hash(password: &str) -> String {
    let params = Params::new(65536, 3, 4, Some(32)).unwrap();
    let salt = SaltString::encode_b64(b"authelia-salt-16").unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn users_database() -> String {
    format!(
        r#"# users_database.yml, as Authelia documents it
users:
  john:
    disabled: false
    displayname: "John Doe"
    password: "{}"
    email: john.doe@example.com
    groups:
      - admins
      - dev
  harry:
    displayname: "Harry Potter"
    password: "$6$rounds=50000$BpLnfgDsc2WD8F2q$Zis.ixdg9s/UOJYrs56b5QEZFiZECu0qZVNsIYxBaNJ7ucIL.nlxVCT5tqh8KHG8X4tlwCFm5r6NTOZZ5qRFN/"
    email: harry.potter@example.com
    groups: []
"#,
        authelia_hash(JOHN_PW)
    )
}

const AUTHELIA_CONFIG: &str = r#"
server:
  address: 'tcp://:9091/'
log:
  level: debug
totp:
  issuer: example.com
session:
  name: authelia_session
  expiration: 1h
  inactivity: 5m
  cookies:
    - domain: example.com
      authelia_url: https://auth.example.com
regulation:
  max_retries: 3
  find_time: 2m
  ban_time: 5m
access_control:
  default_policy: deny
  rules:
    - domain: public.example.com
      policy: bypass
    - domain: traefik.example.com
      policy: one_factor
    - domain: secure.example.com
      policy: two_factor
      subject:
        - 'group:admins'
    - domain: '*.example.com'
      policy: one_factor
    - domain: dev.example.com
      resources:
        - '^/groups/dev/.*$'
      subject: 'group:dev'
      policy: two_factor
storage:
  local:
    path: /config/db.sqlite3
notifier:
  filesystem:
    filename: /config/notification.txt
"#;

/// `authgate import …`, with its exit code, stdout and stderr.
fn import(args: &[&str]) -> (String, String) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let (code, out, err) = run_cli(&all, None);
    assert_eq!(code, 0, "{err}");
    (out, err)
}

/// The keys an imported configuration names in `dir`.
fn make_keys(dir: &Path) {
    let key = |name: &str| dir.join(name).to_string_lossy().into_owned();
    run_cli(&["gen-key", "--out", &key("signing.pem")], None);
    run_cli(
        &["gen-key", "--kind", "storage", "--out", &key("storage.key")],
        None,
    );
}

fn check(dir: &Path, toml: &str) {
    let path = dir.join("authgate.toml");
    std::fs::write(&path, toml).unwrap();
    let (code, out, err) = run_cli(&["check-config", "--config", &path.to_string_lossy()], None);
    assert_eq!(code, 0, "{toml}\n{out}{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imported_authelia_user_signs_in_with_the_original_password() {
    let dir = tempfile::tempdir().unwrap();
    let (users, config) = (
        dir.path().join("users.yml"),
        dir.path().join("configuration.yml"),
    );
    std::fs::write(&users, users_database()).unwrap();
    std::fs::write(&config, AUTHELIA_CONFIG).unwrap();
    let keys = dir.path().to_string_lossy().into_owned();
    let (toml, notes) = import(&[
        "authelia",
        "--users",
        &users.to_string_lossy(),
        "--config",
        &config.to_string_lossy(),
        "--key-dir",
        &keys,
    ]);
    assert!(
        !notes.contains("authelia_url"),
        "the portal URL was found: {notes}"
    );
    for expected in [
        "users.harry.password",
        "access_control.rules[3]: the wildcard domain",
        "storage: not translated",
        "notifier: not translated",
        "log: not translated",
    ] {
        assert!(notes.contains(expected), "{expected} not in:\n{notes}");
    }
    assert!(!toml.contains("harry"), "{toml}");
    // dev.example.com's rule, with its resources, methods and subject, is a route rule.
    let parsed: toml::Table = toml::from_str(&toml).unwrap();
    let dev = parsed["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["host"].as_str() == Some("dev.example.com"))
        .expect("a route for dev.example.com");
    assert_eq!(
        dev["rules"][0]["paths"][0].as_str(),
        Some("^/groups/dev/.*$")
    );
    assert_eq!(dev["rules"][0]["groups"][0].as_str(), Some("dev"));
    assert_eq!(
        dev["rules"][1]["policy"].as_str(),
        Some("deny"),
        "default_policy"
    );
    make_keys(dir.path());
    check(dir.path(), &toml);

    // The imported configuration, served on a test port with a store of its own.
    let mut cfg: toml::Table = toml::from_str(&toml).unwrap();
    let port = free_port();
    let server = cfg["server"].as_table_mut().unwrap();
    server.insert("listen".into(), vec![format!("127.0.0.1:{port}")].into());
    server.insert(
        "public_url".into(),
        format!("http://127.0.0.1:{port}").into(),
    );
    let storage = cfg["storage"].as_table_mut().unwrap();
    storage.insert("url".into(), format!("sqlite://{keys}/authgate.db").into());
    let gw = Gateway::start_on(port, &toml::to_string(&cfg).unwrap());
    assert_eq!(login_attempt(&gw, "john", JOHN_PW).await, 200);
    assert_eq!(login_attempt(&gw, "john", "not-johns-password").await, 401);
    assert_eq!(login_attempt(&gw, "harry", "anything").await, 401);
}

const OAUTH2_PROXY_CFG: &str = r#"
## oauth2-proxy.cfg, with options as oauth2-proxy documents them
http_address = "0.0.0.0:4180"
upstreams = ["http://127.0.0.1:8080/", "http://127.0.0.1:9000/api/"]
provider = "keycloak-oidc"
provider_display_name = "Keycloak"
oidc_issuer_url = "https://keycloak.example.com/realms/corp"
client_id = "oauth2-proxy"
client_secret = "72341b6d-7065-4518-a0e4-50ee15025608"
redirect_url = "https://internal.example.com/oauth2/callback"
email_domains = ["example.com"]
allowed_groups = ["/admins"]
skip_auth_routes = ["^/health$", "GET=^/api/public/", "^/static/"]
cookie_secret = "OQINaROshtE9TcZkNAm-5Zs2Pv3xaWytBmc5W7sPX7w="
cookie_expire = "168h"
cookie_secure = true
pass_access_token = true
set_xauthrequest = true
"#;

#[test]
fn an_oauth2_proxy_configuration_is_imported_and_checks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("oauth2-proxy.cfg");
    std::fs::write(&cfg, OAUTH2_PROXY_CFG).unwrap();
    let keys = dir.path().to_string_lossy().into_owned();
    let (toml, notes) = import(&[
        "oauth2-proxy",
        "--config",
        &cfg.to_string_lossy(),
        "--key-dir",
        &keys,
    ]);
    for expected in [
        "skip_auth_routes[1]",
        "cookie_secure: not translated",
        "pass_access_token: not translated",
        "client_secret",
    ] {
        assert!(notes.contains(expected), "{expected} not in:\n{notes}");
    }
    let parsed: toml::Table = toml::from_str(&toml).unwrap();
    assert_eq!(parsed["routes"].as_array().unwrap().len(), 2, "{toml}");
    assert_eq!(
        parsed["upstream_providers"][0]["issuer"].as_str(),
        Some("https://keycloak.example.com/realms/corp")
    );
    make_keys(dir.path());
    std::fs::write(dir.path().join("keycloak-oidc-client-secret"), "72341b6d\n").unwrap();
    check(dir.path(), &toml);
}

#[test]
fn a_file_that_is_not_yaml_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.yml");
    std::fs::write(&users, "users: [").unwrap();
    let (code, _, err) = run_cli(
        &["import", "authelia", "--users", &users.to_string_lossy()],
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("users_database.yml: not valid YAML"), "{err}");
}
