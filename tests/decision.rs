//! One access decision: the proxy in front of a route and forward-auth asked about the same
//! request answer alike, for every kind of caller. One table, run through both; a new policy
//! condition adds its rows here.

mod common;

use common::oidc::*;
use common::*;

/// What an answer means, whichever way the request came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Through, without identity headers.
    Public,
    /// Through, as this user.
    Allow(&'static str),
    /// Not signed in: 401.
    Login,
    /// Signed in without the second factor the route needs: 401 (a token:
    /// `insufficient_user_authentication`).
    StepUp,
    Deny,
    /// A bearer token the route does not accept: 401 `invalid_token`.
    InvalidToken,
}

#[derive(Debug, Clone, Copy)]
enum Caller {
    Nobody,
    Session(&'static str),
    /// wiki's access token for alice.
    Token,
    Garbage,
}

fn config(dir: &std::path::Path, up: std::net::SocketAddr) -> String {
    format!(
        "[login]\nsecond_factor = \"optional\"\n\n[storage]\nurl = \"sqlite://{d}/authgate.db\"\n\
         encryption_key_file = \"{d}/storage.key\"\ncreate_key_if_missing = true\n\n\
         [[routes]]\nhost = \"app.test\"\nupstreams = [\"{up}\"]\npublic_paths = [\"/static/\"]\n\
         allow_groups = [\"staff\"]\nbearer_clients = [\"wiki\"]\n\n\
         [[routes]]\nhost = \"app2.test\"\nupstreams = [\"{up}\"]\nrequire_second_factor = true\n\
         bearer_clients = [\"wiki\"]\n\n\
         [[routes]]\nhost = \"public.test\"\nupstreams = [\"{up}\"]\nauth = \"public\"\n\n\
         [[routes]]\nhost = \"other.test\"\nupstreams = [\"{up}\"]\nallow_users = [\"bob\"]\n",
        d = dir.display()
    )
}

/// The table: host, path, caller, what both must say.
const TABLE: &[(&str, &str, Caller, Seen)] = &[
    ("app.test", "/x", Caller::Nobody, Seen::Login),
    (
        "app.test",
        "/x",
        Caller::Session("alice"),
        Seen::Allow("alice"),
    ),
    ("app.test", "/x", Caller::Session("bob"), Seen::Deny),
    ("app.test", "/x", Caller::Token, Seen::Allow("alice")),
    ("app.test", "/x", Caller::Garbage, Seen::InvalidToken),
    ("app.test", "/static/a.css", Caller::Nobody, Seen::Public),
    ("app.test", "/static/a.css", Caller::Garbage, Seen::Public),
    (
        "app.test",
        "/static/../x",
        Caller::Session("bob"),
        Seen::Deny,
    ),
    ("app2.test", "/", Caller::Nobody, Seen::Login),
    ("app2.test", "/", Caller::Session("alice"), Seen::StepUp),
    ("app2.test", "/", Caller::Token, Seen::StepUp),
    ("public.test", "/", Caller::Nobody, Seen::Public),
    ("public.test", "/", Caller::Session("bob"), Seen::Public),
    ("other.test", "/", Caller::Nobody, Seen::Login),
    ("other.test", "/", Caller::Session("alice"), Seen::Deny),
    (
        "other.test",
        "/",
        Caller::Session("bob"),
        Seen::Allow("bob"),
    ),
    ("other.test", "/", Caller::Token, Seen::InvalidToken),
];

/// What a response says, for the proxy (`via_proxy`) or forward-auth.
async fn seen(r: reqwest::Response, via_proxy: bool) -> Seen {
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let user = |r: &reqwest::Response| {
        r.headers()
            .get("x-forwarded-user")
            .map(|v| v.to_str().unwrap().to_string())
    };
    match status {
        200 if via_proxy => {
            let e: Echo = r.json().await.unwrap();
            match e.header("x-forwarded-user") {
                Some(u) => Seen::Allow(Box::leak(u.to_string().into_boxed_str())),
                None => Seen::Public,
            }
        }
        202 if !via_proxy => match user(&r) {
            Some(u) => Seen::Allow(Box::leak(u.into_boxed_str())),
            None => Seen::Public,
        },
        401 if challenge.contains("invalid_token") => Seen::InvalidToken,
        401 if challenge.contains("insufficient_user_authentication") => Seen::StepUp,
        401 => {
            let body = r.text().await.unwrap();
            if body.contains("second_factor_required") {
                Seen::StepUp
            } else {
                Seen::Login
            }
        }
        403 => Seen::Deny,
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_and_forward_auth_decide_alike() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start("app").await;
    let port = free_port();
    let gw = behind_local_proxy(port, &config(dir.path(), up.addr));
    let alice = signed_in_as(&gw, "alice", ALICE_PW).await.1;
    let bob = signed_in_as(&gw, "bob", BOB_PW).await.1;
    let token = wiki_access_token(&gw).await;
    let http = client(&gw);
    for &(host, path, caller, want) in TABLE {
        let credential = |rb: reqwest::RequestBuilder| match caller {
            Caller::Nobody => rb,
            Caller::Session("alice") => rb.header("Cookie", &alice),
            Caller::Session(_) => rb.header("Cookie", &bob),
            Caller::Token => rb.bearer_auth(&token),
            Caller::Garbage => rb.bearer_auth("not-a-token"),
        };
        let proxied = credential(http.get(format!("http://{host}:{port}{path}")))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let asked = credential(http.get(gw.url("/oauth2/auth")))
            .header("X-Forwarded-Host", host)
            .header("X-Forwarded-Uri", path)
            .header("X-Forwarded-Method", "GET")
            .send()
            .await
            .unwrap();
        let (proxy, forward) = (seen(proxied, true).await, seen(asked, false).await);
        assert_eq!(proxy, want, "proxy: {host}{path} as {caller:?}");
        assert_eq!(forward, want, "forward-auth: {host}{path} as {caller:?}");
    }
}

/// wiki's access token for alice (authorization code flow).
async fn wiki_access_token(gw: &Gateway) -> String {
    let (http, _) = signed_in_as(gw, "alice", ALICE_PW).await;
    let q = format!(
        "client_id=wiki&redirect_uri={}&response_type=code&scope=openid",
        enc("https://wiki.test/cb")
    );
    let r = http
        .get(gw.url(&format!("/oauth2/authorize?{q}")))
        .send()
        .await
        .unwrap();
    let code = param(&location(&r), "code").unwrap();
    let t: serde_json::Value = wiki_tokens(gw, &code).await;
    t["access_token"].as_str().unwrap().to_string()
}

const RULES: &str = r#"
[networks]
office = ["192.0.2.0/24"]
ci = ["198.51.100.7"]

[[routes]]
host = "rules.test"
upstreams = ["{up}"]

[[routes.rules]]
paths = ["/.git/**"]
policy = "deny"

[[routes.rules]]
paths = ["/api/hooks/*"]
methods = ["POST"]
networks = ["ci"]
policy = "bypass"

[[routes.rules]]
paths = ["/admin/**"]
methods = ["DELETE", "PUT", "POST"]
groups = ["staff"]
policy = "two_factor"

[[routes.rules]]
paths = ["/doc"]
query = ["preview"]
policy = "bypass"

[[routes.rules]]
networks = ["office"]
policy = "one_factor"

[[routes.rules]]
policy = "two_factor"
"#;

/// Method, target, client address, caller, and the word every judge must say.
const RULE_TABLE: &[(&str, &str, &str, Caller, &str)] = &[
    ("GET", "/.git/config", "203.0.113.9", Caller::Nobody, "deny"),
    (
        "GET",
        "/.git/config",
        "192.0.2.5",
        Caller::Session("alice"),
        "deny",
    ),
    (
        "POST",
        "/api/hooks/build",
        "198.51.100.7",
        Caller::Nobody,
        "allow",
    ),
    (
        "POST",
        "/api/hooks/build",
        "203.0.113.9",
        Caller::Nobody,
        "sign-in",
    ),
    (
        "GET",
        "/api/hooks/build",
        "198.51.100.7",
        Caller::Nobody,
        "sign-in",
    ),
    (
        "DELETE",
        "/admin/x",
        "192.0.2.5",
        Caller::Session("alice"),
        "second-factor",
    ),
    (
        "DELETE",
        "/admin/x",
        "192.0.2.5",
        Caller::Session("bob"),
        "deny",
    ),
    (
        "GET",
        "/admin/x",
        "192.0.2.5",
        Caller::Session("bob"),
        "allow",
    ),
    (
        "GET",
        "/doc?preview",
        "203.0.113.9",
        Caller::Nobody,
        "allow",
    ),
    (
        "GET",
        "/doc?print",
        "203.0.113.9",
        Caller::Nobody,
        "sign-in",
    ),
    ("GET", "/page", "192.0.2.5", Caller::Nobody, "sign-in"),
    (
        "GET",
        "/page",
        "192.0.2.5",
        Caller::Session("alice"),
        "allow",
    ),
    (
        "GET",
        "/page",
        "203.0.113.9",
        Caller::Session("alice"),
        "second-factor",
    ),
];

fn word(seen: Seen) -> &'static str {
    match seen {
        Seen::Public | Seen::Allow(_) => "allow",
        Seen::Deny => "deny",
        Seen::Login => "sign-in",
        Seen::StepUp => "second-factor",
        Seen::InvalidToken => "invalid-token",
    }
}

/// `authgate policy check` for the same inputs: its first word.
fn dry_run(gw: &Gateway, method: &str, target: &str, ip: &str, caller: Caller) -> String {
    let url = format!("http://rules.test{target}");
    let config = gw.config_file();
    let mut args = vec!["policy", "check", "--config", config.to_str().unwrap()];
    args.extend(["--url", &url, "--method", method, "--ip", ip]);
    if let Caller::Session(user) = caller {
        args.extend(["--user", user]);
    }
    let (_, out, err) = run_cli(&args, None);
    let word = out.split_whitespace().next().unwrap_or("").to_string();
    assert!(!word.is_empty(), "no answer from policy check: {err}");
    word
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_decide_alike_in_the_proxy_forward_auth_and_the_dry_run() {
    let up = Upstream::start("app").await;
    let port = free_port();
    let gw = behind_local_proxy(port, &RULES.replace("{up}", &up.addr.to_string()));
    let alice = signed_in_as(&gw, "alice", ALICE_PW).await.1;
    let bob = signed_in_as(&gw, "bob", BOB_PW).await.1;
    let http = client(&gw);
    for &(method, target, ip, caller, want) in RULE_TABLE {
        let method_of = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let as_caller = |rb: reqwest::RequestBuilder| {
            let rb = rb.header("X-Forwarded-For", ip);
            match caller {
                Caller::Session("alice") => rb.header("Cookie", &alice),
                Caller::Session(_) => rb.header("Cookie", &bob),
                _ => rb,
            }
        };
        let url = format!("http://rules.test:{port}{target}");
        let proxied = as_caller(http.request(method_of, url))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let asked = as_caller(http.get(gw.url("/oauth2/auth")))
            .header("X-Forwarded-Host", "rules.test")
            .header("X-Forwarded-Uri", target)
            .header("X-Forwarded-Method", method)
            .send()
            .await
            .unwrap();
        let case = format!("{method} {target} from {ip} as {caller:?}");
        assert_eq!(word(seen(proxied, true).await), want, "proxy: {case}");
        assert_eq!(word(seen(asked, false).await), want, "forward-auth: {case}");
        assert_eq!(
            dry_run(&gw, method, target, ip, caller),
            want,
            "policy check: {case}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dry_run_says_not_found_and_refuses_bad_usage() {
    let up = Upstream::start("app").await;
    let gw = behind_local_proxy(free_port(), &RULES.replace("{up}", &up.addr.to_string()));
    let config = gw.config_file();
    let config = config.to_str().unwrap();
    let run = |url: &str| run_cli(&["policy", "check", "--config", config, "--url", url], None);
    let (code, out, _) = run("http://nowhere.test/");
    assert_eq!(
        (code, out.split_whitespace().next()),
        (3, Some("not-found"))
    );
    assert_eq!(run("not a url").0, 64);
    let (code, _, _) = run_cli(&["policy", "check", "--config", config], None);
    assert_eq!(code, 64, "--url is required");
}
