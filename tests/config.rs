//! `check-config`: one fixture per class of mistake, each reported with its key path; the
//! shipped configs are valid.

mod common;

use common::run_cli;

fn check(file: &str) -> (i32, String) {
    let (code, out, err) = run_cli(&["check-config", "--config", file], None);
    (code, format!("{out}{err}"))
}

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/config/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn each_class_of_mistake_is_reported_with_its_key_path() {
    let cases = [
        ("unknown_key", "routes[0]: unknown field `upstream`"),
        ("bad_upstream", "routes[0].upstreams[0]: \"10.0.0.1\" is not host:port"),
        ("bad_duration", "session.lifetime: \"twelve hours\" is not a duration"),
        ("duplicate_route", "routes[1]: same host and path_prefix as an earlier route"),
        ("unreadable_file", "users_file: cannot read \"/nonexistent/users.toml\""),
        ("bad_auth", "routes[0].auth: \"sometimes\": expected \"required\" or \"public\""),
        ("bad_host", "routes[0].host: \"app.example.com/admin\" is not a host name"),
        ("bad_path_prefix", "routes[0].path_prefix: \"/app/../admin\" is not a normalised path"),
        ("bad_password_hash", "users[0].password_hash: not an argon2id PHC string"),
        ("bad_client_secret", "clients[0].client_secret_sha256: must be 64 lowercase hex digits"),
        ("bad_redirect_uri", "clients[0].redirect_uris[0]: \"/relative/cb\" is not a URL"),
        ("bad_public_url", "server.public_url: \"not a url\" is not a URL"),
        ("not_toml", "(file): not valid TOML"),
        ("bad_jwks", "clients[0].jwks: needs at least one key, each an RSA, EC or OKP public key"),
        ("bad_grant_type", "clients[0].grant_types[0]: \"password\": expected one of"),
        ("bad_sentinels", "session.redis_sentinels[0]: \"10.0.0.1\": expected host:port"),
        ("missing_key", "tokens.signing_key_file: /nonexistent/signing.pem does not exist: create it with `authgate gen-key"),
    ];
    for (name, expected) in cases {
        let (code, out) = check(&fixture(name));
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.contains(expected),
            "{name}: expected {expected:?} in:\n{out}"
        );
    }
}

#[test]
fn five_mistakes_are_all_listed() {
    let (code, out) = check(&fixture("five_mistakes"));
    assert_eq!(code, 1);
    for expected in [
        "server.public_url: \"ftp://auth.example.com\" must be an absolute http(s) URL",
        "session.idle_timeout: \"1 fortnight\" is not a duration",
        "routes[0].upstreams[1]: \"10.0.0.1\" is not host:port",
        "routes[1]: unknown field `colour`",
        "routes[2].auth: \"maybe\"",
    ] {
        assert!(out.contains(expected), "expected {expected:?} in:\n{out}");
    }
    assert!(out.contains("5 problem(s)"), "{out}");
}

#[test]
fn shipped_configs_are_valid() {
    let dir = format!("{}/conf", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml")
            && !path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("users")
        {
            let (code, out) = check(path.to_str().unwrap());
            assert_eq!(code, 0, "{}: {out}", path.display());
            assert!(out.contains(": ok ("), "{out}");
            seen += 1;
        }
    }
    assert!(seen >= 1);
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "",
        "\0\0\0",
        "[server]\npublic_url = 5",
        "[[routes]]\n[[routes]]",
        "routes = 3",
        "[server]\nlisten = [1,2]\npublic_url=\"http://x\"",
        "[server]\npublic_url = \"http://[::1\"",
        "[server]\npublic_url=\"http://a\"\nthreads = -1",
        "[session]\nlifetime = \"0s\"",
    ];
    for s in samples {
        let _ = authgate::config::from_str(s);
    }
}
