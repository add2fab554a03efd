//! Authelia: `users_database.yml` (users, argon2id hashes, groups) and the parts of
//! `configuration.yml` that have a place in authgate.

use std::path::Path;

use serde_yaml_ng::Value;

use super::{duration, entry, strings, ImportError, Imported};
use crate::import::authelia_rules::access_control;

/// Where authgate answers when Authelia's portal URL cannot be found.
const PLACEHOLDER_URL: &str = "https://auth.example.com";

/// Authelia's `users` file, and its `configuration.yml` when given, as an authgate
/// configuration whose keys are in `key_dir`.
pub fn authelia(
    users: &str,
    config: Option<&str>,
    key_dir: &Path,
) -> Result<Imported, ImportError> {
    let users = yaml("users_database.yml", users)?;
    let config = match config {
        Some(text) => yaml("configuration.yml", text)?,
        None => Value::Null,
    };
    let (found_url, listen) = server(&config);
    let public_url = found_url
        .clone()
        .unwrap_or_else(|| PLACEHOLDER_URL.to_string());
    let mut out = Imported::new(&public_url, &listen, key_dir);
    if config.is_null() {
        out.note(
            "server.public_url",
            format!("no configuration.yml: {PLACEHOLDER_URL} is a placeholder"),
        );
    } else if found_url.is_none() {
        out.note(
            "session.cookies[0].authelia_url",
            format!("not found: {PLACEHOLDER_URL} is a placeholder"),
        );
    }
    import_users(&mut out, &users);
    session(&mut out, &config);
    login(&mut out, &config);
    access_control(&mut out, &config, key_dir);
    untranslated(&mut out, &config);
    Ok(out)
}

fn yaml(file: &'static str, text: &str) -> Result<Value, ImportError> {
    serde_yaml_ng::from_str(text).map_err(|e| ImportError {
        file,
        message: format!("not valid YAML: {e}"),
    })
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(key))
}

/// The portal URL and the listen address.
fn server(config: &Value) -> (Option<String>, String) {
    let cookie = at(config, &["session", "cookies"])
        .and_then(Value::as_sequence)
        .and_then(|c| c.first());
    let url = cookie
        .and_then(|c| text(c, &["authelia_url"]))
        .map(|u| u.trim_end_matches('/').to_string())
        .or_else(|| text(config, &["session", "domain"]).map(|d| format!("https://auth.{d}")));
    let listen = text(config, &["server", "address"])
        .and_then(|a| a.rsplit("://").next())
        .map(|a| a.trim_end_matches('/').to_string())
        .map(|a| {
            if a.starts_with(':') {
                format!("0.0.0.0{a}")
            } else {
                a
            }
        })
        .unwrap_or_else(|| "0.0.0.0:9091".to_string());
    (url, listen)
}

/// Users keep their argon2id hashes; any other hash is listed, and its user left out.
fn import_users(out: &mut Imported, users: &Value) {
    let Some(map) = users.get("users").and_then(Value::as_mapping) else {
        out.note("users", "no users found");
        return;
    };
    for (name, user) in map {
        let Some(name) = name.as_str() else { continue };
        let path = format!("users.{name}");
        let hash = text(user, &["password"]).unwrap_or("");
        if !hash.starts_with("$argon2id$") {
            let kind = hash.split('$').nth(1).unwrap_or("none");
            out.note(
                format!("{path}.password"),
                format!("a {kind} hash, which authgate cannot verify: not imported; give {name} a new one with `authgate hash-password`"),
            );
            continue;
        }
        let mut u = entry([("username", name.into()), ("password_hash", hash.into())]);
        if let Some(email) = text(user, &["email"]) {
            u.insert("email".into(), email.into());
        }
        if let Some(display) = text(user, &["displayname"]) {
            u.insert("name".into(), display.into());
        }
        let groups: Vec<&str> = user
            .get("groups")
            .and_then(Value::as_sequence)
            .map(|g| g.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !groups.is_empty() {
            u.insert("groups".into(), strings(&groups));
        }
        if user.get("disabled").and_then(Value::as_bool) == Some(true) {
            u.insert("disabled".into(), true.into());
        }
        out.push("users", u);
    }
}

/// A duration at `path` in `config`, written into `table.key`.
fn duration_of(out: &mut Imported, config: &Value, path: &[&str], table: &'static str, key: &str) {
    let Some(v) = at(config, path) else { return };
    let given = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    };
    match duration::convert(&given) {
        Some(d) => out.set(table, key, d),
        None => out.note(
            path.join("."),
            format!("{given:?} is not a duration authgate can write"),
        ),
    }
}

fn session(out: &mut Imported, config: &Value) {
    duration_of(
        out,
        config,
        &["session", "expiration"],
        "session",
        "lifetime",
    );
    duration_of(
        out,
        config,
        &["session", "inactivity"],
        "session",
        "idle_timeout",
    );
    if let Some(name) = text(config, &["session", "name"]) {
        out.set("session", "cookie_name", name);
    }
    if let Some(host) = text(config, &["session", "redis", "host"]) {
        let port = at(config, &["session", "redis", "port"])
            .and_then(Value::as_u64)
            .unwrap_or(6379);
        out.set("session", "store", "redis");
        out.set("session", "redis_url", format!("redis://{host}:{port}/0"));
        if at(config, &["session", "redis", "password"]).is_some() {
            out.note(
                "session.redis.password",
                "put it in redis_url (redis://:PASSWORD@host:port/0)",
            );
        }
    }
}

fn login(out: &mut Imported, config: &Value) {
    if let Some(n) = at(config, &["regulation", "max_retries"]).and_then(Value::as_u64) {
        if n > 0 {
            out.set(
                "login",
                "max_failures",
                i64::try_from(n).unwrap_or(i64::MAX),
            );
        }
    }
    duration_of(
        out,
        config,
        &["regulation", "find_time"],
        "login",
        "failure_window",
    );
    duration_of(out, config, &["regulation", "ban_time"], "login", "lockout");
    if let Some(issuer) = text(config, &["totp", "issuer"]) {
        out.set("login", "totp_issuer", issuer);
    }
}

/// What `configuration.yml` says that nothing above read.
fn untranslated(out: &mut Imported, config: &Value) {
    const READ: &[(&str, &[&str])] = &[
        ("server", &["address"]),
        (
            "session",
            &[
                "cookies",
                "domain",
                "name",
                "expiration",
                "inactivity",
                "redis",
            ],
        ),
        ("regulation", &["max_retries", "find_time", "ban_time"]),
        ("totp", &["issuer"]),
        ("access_control", &["rules", "default_policy", "networks"]),
    ];
    let Some(map) = config.as_mapping() else {
        return;
    };
    for (key, value) in map {
        let Some(key) = key.as_str() else { continue };
        let Some((_, read)) = READ.iter().find(|(k, _)| *k == key) else {
            out.note(key, "not translated");
            continue;
        };
        for sub in value.as_mapping().into_iter().flat_map(|m| m.keys()) {
            let sub = sub.as_str().unwrap_or("?");
            if !read.contains(&sub) {
                out.note(format!("{key}.{sub}"), "not translated");
            }
        }
    }
    match text(config, &["access_control", "default_policy"]) {
        None | Some("deny") => {}
        Some(p) => out.note("access_control.default_policy", format!("{p}: authgate refuses every host without a route; add a route for each host this allowed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = r#"
users:
  john:
    displayname: "John Doe"
    password: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
    email: john@example.com
    groups: [admins, dev]
  harry:
    password: "$6$rounds=50000$salt$hash"
    email: harry@example.com
"#;

    const CONFIG: &str = r#"
server:
  address: 'tcp://:9091/'
session:
  cookies:
    - domain: example.com
      authelia_url: https://auth.example.com
  expiration: 1h
  inactivity: 5 minutes
regulation:
  max_retries: 3
  find_time: 2m
  ban_time: 300
totp:
  issuer: example.com
  period: 30
access_control:
  default_policy: deny
  rules:
    - domain: public.example.com
      policy: bypass
    - domain: public.example.com
      policy: deny
      methods: [DELETE]
      subject: "group:admins"
      query: [[{key: debug, operator: pattern, value: x}]]
    - domain: secure.example.com
      resources: ['^/api']
      policy: bypass
    - domain: '*.example.com'
      policy: one_factor
    - domain: [secure.example.com]
      policy: two_factor
      subject: ["group:admins", "user:john"]
notifier:
  smtp: {}
"#;

    fn imported() -> Imported {
        authelia(USERS, Some(CONFIG), Path::new("/etc/authgate/keys")).unwrap()
    }

    #[test]
    fn users_keep_their_argon2id_hashes_and_others_are_listed() {
        let out = imported();
        let toml = out.toml();
        assert!(
            toml.contains("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
            "{toml}"
        );
        assert!(toml.contains("groups = [\"admins\", \"dev\"]"), "{toml}");
        assert!(!toml.contains("harry"), "{toml}");
        assert!(
            out.notes.iter().any(|n| n.path == "users.harry.password"),
            "{:?}",
            out.notes
        );
    }

    #[test]
    fn rules_become_route_rules_or_notes() {
        let out = imported();
        let cfg: toml::Table = toml::from_str(&out.toml()).unwrap();
        let routes = cfg["routes"].as_array().unwrap();
        assert_eq!(routes.len(), 2);
        let public = routes[0]["rules"].as_array().unwrap();
        assert_eq!(
            public.len(),
            1,
            "nothing after a rule that matches everything"
        );
        assert_eq!(public[0]["policy"].as_str(), Some("bypass"));
        let secure = routes[1]["rules"].as_array().unwrap();
        assert_eq!(secure[0]["paths"][0].as_str(), Some("^/api"));
        assert_eq!(secure[0]["policy"].as_str(), Some("bypass"));
        assert_eq!(secure[1]["policy"].as_str(), Some("two_factor"));
        assert_eq!(secure[1]["groups"][0].as_str(), Some("admins"));
        assert_eq!(
            secure.len(),
            2,
            "no default after a rule that matches everything"
        );
        assert_eq!(cfg["login"]["second_factor"].as_str(), Some("optional"));
        let paths: Vec<&str> = out.notes.iter().map(|n| n.path.as_str()).collect();
        for expected in [
            "access_control.rules[1]",
            "access_control.rules[3]",
            "notifier",
            "totp.period",
        ] {
            assert!(paths.contains(&expected), "{expected} not in {paths:?}");
        }
    }

    #[test]
    fn settings_are_translated() {
        let cfg: toml::Table = toml::from_str(&imported().toml()).unwrap();
        assert_eq!(
            cfg["server"]["public_url"].as_str(),
            Some("https://auth.example.com")
        );
        assert_eq!(cfg["server"]["listen"][0].as_str(), Some("0.0.0.0:9091"));
        assert_eq!(cfg["session"]["idle_timeout"].as_str(), Some("5m"));
        assert_eq!(cfg["login"]["max_failures"].as_integer(), Some(3));
        assert_eq!(cfg["login"]["lockout"].as_str(), Some("300s"));
        assert_eq!(cfg["login"]["totp_issuer"].as_str(), Some("example.com"));
    }

    #[test]
    fn bad_yaml_is_an_error_naming_the_file() {
        let e = authelia("users: [", None, Path::new("/k")).unwrap_err();
        assert_eq!(e.file, "users_database.yml");
    }
}
