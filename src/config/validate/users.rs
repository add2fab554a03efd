//! `[[users]]` and `users_file`: the local users.

use super::*;

/// `[[users]]` and the tables of `users_file`, each with its key path.
pub(super) fn users_tables(p: &mut Problems, table: &toml::Table) -> Vec<(String, UserFile)> {
    let mut users: Vec<(String, UserFile)> = array(p, table, "users", "users")
        .into_iter()
        .map(|(i, u)| (format!("users[{i}]"), u))
        .collect();
    match table.get("users_file") {
        None => {}
        Some(toml::Value::String(file)) => users.extend(read_users_file(p, file)),
        Some(_) => p.add("users_file", "must be a string (a path)"),
    }
    users
}

pub(super) fn read_users_file(p: &mut Problems, file: &str) -> Vec<(String, UserFile)> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            p.add("users_file", format!("cannot read {file:?}: {e}"));
            return Vec::new();
        }
    };
    let table: toml::Table = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => {
            p.add(
                "users_file",
                format!("{file:?} is not valid TOML: {}", e.message()),
            );
            return Vec::new();
        }
    };
    for key in table.keys().filter(|k| k.as_str() != "users") {
        p.add(
            format!("users_file({file}).{key}"),
            "unknown key (only [[users]] tables)",
        );
    }
    let label = format!("users_file({file}).users");
    array(p, &table, "users", &label)
        .into_iter()
        .map(|(i, u)| (format!("{label}[{i}]"), u))
        .collect()
}

pub(super) fn build_users(
    p: &mut Problems,
    users: Vec<(String, UserFile)>,
) -> HashMap<String, User> {
    let mut out = HashMap::new();
    for (path, u) in users {
        if u.username.is_empty() || u.username.chars().any(|c| c.is_control() || c == ',') {
            p.add(
                format!("{path}.username"),
                format!(
                    "{:?}: must be non-empty, without ',' or control characters",
                    u.username
                ),
            );
            continue;
        }
        match argon2::PasswordHash::new(&u.password_hash) {
            Ok(h) if h.algorithm.as_str() == "argon2id" => {}
            Ok(h) => p.add(
                format!("{path}.password_hash"),
                format!("algorithm {} is not argon2id", h.algorithm),
            ),
            Err(_) => p.add(
                format!("{path}.password_hash"),
                "not an argon2id PHC string: create one with `authgate hash-password`",
            ),
        }
        for (i, g) in u.groups.iter().enumerate() {
            if g.is_empty() || g.contains(',') || g.chars().any(char::is_control) {
                p.add(
                    format!("{path}.groups[{i}]"),
                    format!("{g:?}: must be non-empty, without ','"),
                );
            }
        }
        if out.contains_key(&u.username) {
            p.add(
                format!("{path}.username"),
                format!("{:?} is defined twice", u.username),
            );
            continue;
        }
        out.insert(
            u.username.clone(),
            User {
                username: u.username,
                password_hash: Secret::new(u.password_hash),
                email: u.email,
                email_verified: u.email_verified.unwrap_or(true),
                name: u.name,
                groups: u.groups,
                disabled: u.disabled,
            },
        );
    }
    out
}
