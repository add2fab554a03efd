//! The command line: hash-password, hash-secret, gen-key, and startup errors.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

#[test]
fn hash_password_prints_an_argon2id_phc_string_that_verifies() {
    let (code, out, _) = run_cli(&["hash-password"], Some("correct horse\n"));
    assert_eq!(code, 0);
    let phc = out.trim();
    assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
    assert!(authgate::login::password::check(phc, "correct horse"));
    let (code, _, err) = run_cli(&["hash-password"], Some(""));
    assert_eq!(code, 1);
    assert!(err.contains("empty"));
}

#[test]
fn hash_secret_matches_sha256sum() {
    // printf %s "s3cret" | sha256sum
    let (code, out, _) = run_cli(&["hash-secret"], Some("s3cret"));
    assert_eq!(code, 0);
    assert_eq!(out.trim(), sha256_hex("s3cret"));
    let (_, with_newline, _) = run_cli(&["hash-secret"], Some("s3cret\n"));
    assert_eq!(
        with_newline, out,
        "a trailing newline from echo is not part of the secret"
    );
}

fn sha256_hex(s: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("printf %s '{s}' | sha256sum"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn gen_key_writes_0600_pkcs8_for_each_algorithm_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ["ES256", "RS256", "EdDSA"] {
        let path = dir.path().join(format!("{alg}.pem"));
        let p = path.to_str().unwrap();
        let (code, _, err) = run_cli(&["gen-key", "--out", p, "--alg", alg], None);
        assert_eq!(code, 0, "{err}");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8");
        let keys = authgate::keys::KeySet::from_pem(&pem).unwrap();
        assert_eq!(keys.active.alg.name(), alg);
        let (code, _, err) = run_cli(&["gen-key", "--out", p], None);
        assert_eq!(code, 1, "refuses to overwrite");
        assert!(err.contains("exists"), "{err}");
    }
}

#[test]
fn missing_signing_key_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("a.toml");
    let key = dir.path().join("nope.pem");
    std::fs::write(&cfg, format!("[server]\nlisten=[\"127.0.0.1:{}\"]\npublic_url=\"http://127.0.0.1\"\n[tokens]\nsigning_key_file=\"{}\"\n", free_port(), key.display())).unwrap();
    let (code, _, err) = run_cli(&["--config", cfg.to_str().unwrap()], None);
    assert_eq!(code, 1);
    assert!(err.contains("authgate gen-key --out"), "{err}");
}

#[test]
fn check_config_accepts_a_valid_file_with_a_one_line_summary() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    run_cli(&["gen-key", "--out", key.to_str().unwrap()], None);
    let cfg = dir.path().join("a.toml");
    std::fs::write(
        &cfg,
        format!("[server]\nlisten=[\"127.0.0.1:8080\"]\npublic_url=\"http://127.0.0.1:8080\"\n[tokens]\nsigning_key_file=\"{}\"\n[[routes]]\nupstreams=[\"127.0.0.1:3000\"]\n", key.display()),
    )
    .unwrap();
    let (code, out, _) = run_cli(&["check-config", "-c", cfg.to_str().unwrap()], None);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("ok (1 route(s)"), "{out}");
}

/// `trust_email`, and an email username without a prefix, are valid but warned about.
#[test]
fn check_config_warns_about_trusted_unverified_email_and_unprefixed_email_names() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    run_cli(&["gen-key", "--out", key.to_str().unwrap()], None);
    let cfg = dir.path().join("a.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten=[\"127.0.0.1:8080\"]\npublic_url=\"http://127.0.0.1:8080\"\n\
             [tokens]\nsigning_key_file=\"{}\"\n[[routes]]\nupstreams=[\"127.0.0.1:3000\"]\n\
             [[upstream_providers]]\nid = \"corp\"\nname = \"Corp\"\nissuer = \"https://idp.test\"\n\
             client_id = \"authgate\"\nusername_claim = \"email\"\ntrust_email = true\n",
            key.display()
        ),
    )
    .unwrap();
    let (code, out, err) = run_cli(&["check-config", "-c", cfg.to_str().unwrap()], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("warning: upstream_providers(corp).trust_email"),
        "{err}"
    );
    assert!(
        err.contains("warning: upstream_providers(corp).username_prefix"),
        "{err}"
    );
}
