//! Bad configurations from strings, one table at a time: each mistake is reported at its key
//! path. (The binary's own fixtures, run through `check-config`, are in `tests/config.rs`.)

use super::from_str;

/// A valid base: a server, a key the validator may create, and one route.
const BASE: &str = r#"
[server]
listen = ["127.0.0.1:8080"]
public_url = "http://127.0.0.1:8080"

[tokens]
signing_key_file = "/nonexistent/ignored.pem"
create_key_if_missing = true
"#;

const ROUTE: &str = r#"
[[routes]]
host = "app.example.com"
upstreams = ["127.0.0.1:3000"]
"#;

/// The problems of `text`, each as `path: message`.
fn problems_of(text: &str) -> Vec<String> {
    match from_str(text) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

/// The problems of `BASE` plus `extra`.
fn problems(extra: &str) -> Vec<String> {
    problems_of(&format!("{BASE}{extra}"))
}

#[track_caller]
fn reports(extra: &str, expected: &str) {
    let found = problems(extra);
    assert!(
        found.iter().any(|p| p.starts_with(expected)),
        "expected a problem starting {expected:?}, got {found:#?}"
    );
}

#[test]
fn the_base_is_valid() {
    assert_eq!(problems(ROUTE), Vec::<String>::new());
}

#[test]
fn server() {
    let text = BASE.replace("http://127.0.0.1:8080", "ftp://auth.example.com");
    let found = problems_of(&format!("{text}{ROUTE}"));
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("server.public_url: \"ftp://auth.example.com\" must be")),
        "{found:#?}"
    );
}

#[test]
fn upstream_keepalive_defaults_to_1024_idle_connections_a_worker() {
    let cfg = |extra: &str| {
        let text = BASE.replace("[server]\n", &format!("[server]\n{extra}"));
        from_str(&format!("{text}{ROUTE}")).map(|c| c.server.upstream_keepalive)
    };
    assert_eq!(cfg("").ok(), Some(1024));
    assert_eq!(cfg("upstream_keepalive = 8192\n").ok(), Some(8192));
    assert!(cfg("upstream_keepalive = -1\n").is_err());
}

#[test]
fn session() {
    reports(
        &format!("{ROUTE}\n[session]\nlifetime = \"forever\"\n"),
        "session.lifetime: \"forever\" is not a duration",
    );
}

#[test]
fn login() {
    reports(
        &format!("{ROUTE}\n[login]\nmax_failures = 0\n"),
        "login.max_failures: must be at least 1",
    );
}

#[test]
fn storage() {
    reports(
        &format!("{ROUTE}\n[storage]\nurl = \"mysql://db\"\ncreate_key_if_missing = true\n"),
        "storage.url: \"mysql://db\": expected sqlite://PATH or postgres://",
    );
}

#[test]
fn ldap() {
    let ldap = r#"
[ldap]
url = "http://dc.example.com"
base_dn = "dc=example,dc=com"
bind_dn = "cn=authgate,dc=example,dc=com"
bind_password_file = "/nonexistent/ldap.secret"
"#;
    reports(
        &format!("{ROUTE}{ldap}"),
        "ldap.url: \"http://dc.example.com\" is not an ldap:// or ldaps:// URL",
    );
}

#[test]
fn routes() {
    reports(
        "[[routes]]\nhost = \"app.example.com\"\nupstreams = [\"127.0.0.1\"]\n",
        "routes[0].upstreams[0]: \"127.0.0.1\" is not host:port",
    );
    reports(
        &format!("{ROUTE}{ROUTE}"),
        "routes[1]: same host and path_prefix as an earlier route",
    );
}

#[test]
fn clients() {
    let client = r#"
[[clients]]
client_id = "app"
redirect_uris = ["/relative"]
"#;
    reports(
        &format!("{ROUTE}{client}"),
        "clients[0].redirect_uris[0]: \"/relative\" is not a URL",
    );
}

#[test]
fn users() {
    let user = r#"
[[users]]
username = "alice"
password_hash = "plain"
"#;
    reports(
        &format!("{ROUTE}{user}"),
        "users[0].password_hash: not an argon2id PHC string",
    );
}

#[test]
fn upstream_providers() {
    let upstream = r#"
[[upstream_providers]]
id = "Corp IdP"
issuer = "https://idp.example.com"
client_id = "authgate"
"#;
    reports(
        &format!("{ROUTE}{upstream}"),
        "upstream_providers[0].id: \"Corp IdP\": use [a-z0-9-]",
    );
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let found = problems(&format!(
        "{ROUTE}\n[session]\nlifetime = \"forever\"\n\n[login]\nmax_failures = 0\n"
    ));
    assert!(found.len() >= 2, "{found:#?}");
}

#[test]
fn rules() {
    let rules = r#"
[networks]
office = ["192.0.2.0/24", "not-a-network"]

[[routes]]
host = "wiki.example.com"
upstreams = ["127.0.0.1:3000"]

[[routes.rules]]
paths = ["/a/[", "relative"]
methods = ["FETCH"]
networks = ["lab"]
policy = "bypass"
groups = ["admins"]

[[routes.rules]]
policy = "one_factor"

[[routes.rules]]
paths = ["/late"]
policy = "sometimes"
"#;
    for expected in [
        "networks.office[1]: \"not-a-network\" is not a CIDR or an address",
        "routes[0].rules[0].paths[0]: \"/a/[\" is not a glob",
        "routes[0].rules[0].paths[1]: \"relative\" must start with / (a glob) or ^ (a regex)",
        "routes[0].rules[0].methods[0]: \"FETCH\" is not an HTTP method",
        "routes[0].rules[0].networks[0]: \"lab\" is neither a name from [networks] nor a CIDR",
        "routes[0].rules[0].policy: bypass lets everyone through",
        "routes[0].rules[2]: can never match: routes[0].rules[1] before it",
        "routes[0].rules[2].policy: \"sometimes\": expected",
    ] {
        reports(rules, expected);
    }
}

/// `[server.acme]` after `[server]` keys that put `public_url` on `host`.
fn acme(host: &str, server_extra: &str, acme_extra: &str) -> String {
    format!(
        "[server]\nlisten = [\"127.0.0.1:8080\"]\ntls_listen = [\"127.0.0.1:8443\"]\n\
         public_url = \"https://{host}\"\n{server_extra}\n\
         [server.acme]\ndirectory_url = \"https://acme.example.org/directory\"\n{acme_extra}\n\
         [tokens]\nsigning_key_file = \"/nonexistent/ignored.pem\"\ncreate_key_if_missing = true\n\
         {ROUTE}"
    )
}

#[test]
fn acme_names_default_to_public_url_and_the_route_hosts() {
    let cfg = from_str(&acme("auth.example.com", "", "")).unwrap();
    let a = cfg.server.acme.unwrap();
    assert_eq!(a.domains, ["auth.example.com", "app.example.com"]);
    assert_eq!(a.challenge, crate::config::model::Challenge::TlsAlpn01);
    assert_eq!(a.renew_before.as_secs(), 30 * 86_400);
    assert_eq!(a.hsts.as_deref(), Some("max-age=31536000"));
    assert!(a.redirect_http);
    // An address is not a name ACME can prove, so it is not a default one.
    let cfg = from_str(&acme("10.0.0.1", "", "")).unwrap();
    assert_eq!(cfg.server.acme.unwrap().domains, ["app.example.com"]);
}

#[test]
fn acme_refuses_what_a_public_ca_will_not_certify() {
    let found = problems_of(&acme("localhost", "", ""));
    assert!(
        found.iter().any(|p| p.starts_with(
            "server.acme.domains: \"localhost\" cannot get a certificate from a public CA"
        )),
        "{found:#?}"
    );
    let found = problems_of(&acme("auth.example.com", "", "domains = [\"10.0.0.1\"]"));
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("server.acme.domains[0]")),
        "{found:#?}"
    );
    let found = problems_of(&acme(
        "auth.example.com",
        "",
        "domains = [\"*.example.com\"]",
    ));
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("server.acme.domains[0]")),
        "{found:#?}"
    );
    // With a CA of one's own (ca_file), a lab name is fine.
    let own = acme("localhost", "", "ca_file = \"/etc/hostname\"");
    assert_eq!(problems_of(&own), Vec::<String>::new());
}

#[test]
fn acme_values() {
    for (extra, expected) in [
        (
            "challenge = \"dns-01\"",
            "server.acme.challenge: \"dns-01\" is not",
        ),
        (
            "contact = \"ops@example.com\"",
            "server.acme.contact: \"ops@example.com\" must be a mailto:",
        ),
        (
            "ca_file = \"/nonexistent/ca.pem\"",
            "server.acme.ca_file: cannot read",
        ),
        (
            "renew_before = \"soon\"",
            "server.acme.renew_before: \"soon\" is not a duration",
        ),
        ("domains = []", "server.acme.domains: is empty"),
    ] {
        let found = problems_of(&acme("auth.example.com", "", extra));
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "{extra}: {found:#?}"
        );
    }
    let http = acme("auth.example.com", "", "challenge = \"http-01\"")
        .replace("listen = [\"127.0.0.1:8080\"]\n", "");
    let found = problems_of(&http);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("server.acme.challenge: http-01 needs a plain listener")),
        "{found:#?}"
    );
    let no_tls =
        acme("auth.example.com", "", "").replace("tls_listen = [\"127.0.0.1:8443\"]\n", "");
    let found = problems_of(&no_tls);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("server.acme: needs tls_listen")),
        "{found:#?}"
    );
    let plain_directory = acme("auth.example.com", "", "")
        .replace("https://acme.example.org", "http://acme.example.org");
    let found = problems_of(&plain_directory);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("server.acme.directory_url: must be an https URL")),
        "{found:#?}"
    );
}

#[test]
fn acme_warns_when_the_challenge_port_is_not_listened_on() {
    let cfg = from_str(&acme("auth.example.com", "", "")).unwrap();
    let w = crate::config::warnings(&cfg);
    assert!(w.iter().any(|w| w.contains("port 443")), "{w:#?}");
    let on_443 = acme("auth.example.com", "", "").replace("127.0.0.1:8443", "127.0.0.1:443");
    let w = crate::config::warnings(&from_str(&on_443).unwrap());
    assert!(!w.iter().any(|w| w.contains("port 443")), "{w:#?}");
}

#[test]
fn the_modern_profile_is_checked_at_its_key_paths() {
    let client = |extra: &str| {
        format!("[[clients]]\nclient_id = \"rp\"\nclient_secret_sha256 = \"{}\"\nredirect_uris = [\"https://a.test/cb\", \"https://b.test/cb\"]\n{extra}\n", "0".repeat(64))
    };
    reports(
        &client("require_signed_request_object = true"),
        "clients[0].require_signed_request_object: needs the client's keys",
    );
    reports(&client("dpop_nonce = true"), "clients[0].dpop_nonce");
    reports(
        &client("subject_type = \"secret\""),
        "clients[0].subject_type",
    );
    reports(
        &client("subject_type = \"pairwise\""),
        "clients[0].sector_identifier: the redirect URIs are on several hosts",
    );
    reports(
        &client("subject_type = \"pairwise\"\nsector_identifier = \"a.test\""),
        "clients(rp).subject_type: needs a [storage] table",
    );
    reports(
        &client("consent = true"),
        "clients(rp).consent: needs a [storage] table",
    );
    reports(
        &client("may_act = [\"nobody\"]"),
        "clients(rp).may_act[0]: \"nobody\" is not a registered",
    );
    reports(
        &format!("{}[[clients]]\nclient_id = \"spa\"\nredirect_uris = [\"https://s.test/cb\"]\ngrant_types = [\"authorization_code\", \"urn:ietf:params:oauth:grant-type:token-exchange\"]\n", client("")),
        "clients[1].grant_types: a public client (no secret or keys) may not exchange tokens",
    );
}
