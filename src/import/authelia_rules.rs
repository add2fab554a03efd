//! Authelia's `access_control`: one route per domain, its `[[routes.rules]]` Authelia's rules
//! for that domain in their order, then the `default_policy`; named `networks` become
//! `[networks]`. What has no equivalent (wildcard domains, `domain_regex`, an AND of subjects,
//! query operators other than presence and equality) is listed, never guessed.

use std::path::Path;

use serde_yaml_ng::Value;

use super::{entry, strings, Imported};

pub(super) fn access_control(out: &mut Imported, config: &Value, key_dir: &Path) {
    let Some(ac) = config.get("access_control") else {
        return;
    };
    networks(out, ac);
    let mut routes: Vec<(String, Vec<toml::Value>)> = Vec::new();
    for (i, rule) in ac
        .get("rules")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let path = format!("access_control.rules[{i}]");
        match translate(rule) {
            Ok((domains, rule)) => {
                for domain in domains {
                    let at = match routes.iter().position(|(d, _)| *d == domain) {
                        Some(at) => at,
                        None => {
                            routes.push((domain.clone(), Vec::new()));
                            routes.len() - 1
                        }
                    };
                    let Some((_, rules)) = routes.get_mut(at) else {
                        continue;
                    };
                    if rules.iter().any(unconditional) {
                        out.note(&path, format!("an earlier rule for {domain} matches every request: this one never applies (in Authelia either)"));
                        continue;
                    }
                    rules.push(toml::Value::Table(rule.clone()));
                }
            }
            Err(why) => out.note(path, why),
        }
    }
    let default = ac
        .get("default_policy")
        .and_then(Value::as_str)
        .unwrap_or("deny");
    let two_factor = routes
        .iter()
        .flat_map(|(_, r)| r)
        .any(|r| r.get("policy").and_then(toml::Value::as_str) == Some("two_factor"))
        || default == "two_factor";
    for (domain, mut rules) in routes.clone() {
        if default != "one_factor" && !rules.iter().any(unconditional) {
            rules.push(toml::Value::Table(entry([("policy", default.into())])));
        }
        let mut route = entry([
            ("host", domain.as_str().into()),
            ("upstreams", strings(&["127.0.0.1:80"])),
        ]);
        route.insert("rules".into(), toml::Value::Array(rules));
        out.push("routes", route);
    }
    if !routes.is_empty() {
        out.note("access_control.rules", "Authelia does not know the apps' addresses: each route's upstreams is 127.0.0.1:80, which forward-auth does not use; set the real one to let authgate proxy the app itself");
        out.note("access_control.rules", "Authelia matches resources against the path and query; authgate's paths match the path (use query = [...] for parameters)");
    }
    if two_factor {
        out.set("login", "second_factor", "optional");
        out.storage(key_dir);
    }
}

/// A rule without request conditions: it matches every request.
fn unconditional(rule: &toml::Value) -> bool {
    ["paths", "methods", "networks", "query"]
        .iter()
        .all(|k| rule.get(k).is_none())
}

/// `access_control.networks: [{name, networks: [...]}]` as `[networks]`.
fn networks(out: &mut Imported, ac: &Value) {
    for (i, n) in ac
        .get("networks")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = n.get("name").and_then(Value::as_str);
        let list: Vec<&str> = n
            .get("networks")
            .and_then(Value::as_sequence)
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match name {
            Some(name) if !list.is_empty() => out.set("networks", name, strings(&list)),
            _ => out.note(
                format!("access_control.networks[{i}]"),
                "needs a name and networks",
            ),
        }
    }
}

/// The domains of one rule and the rule as authgate writes it, or why it has no translation.
fn translate(rule: &Value) -> Result<(Vec<String>, toml::Table), String> {
    let map = rule.as_mapping().ok_or("not a rule")?;
    for key in map.keys().filter_map(Value::as_str) {
        if !matches!(
            key,
            "domain" | "policy" | "subject" | "resources" | "methods" | "networks" | "query"
        ) {
            return Err(format!(
                "`{key}` has no authgate equivalent: translate this rule by hand"
            ));
        }
    }
    let domains: Vec<String> = list(rule.get("domain"));
    if domains.is_empty() {
        return Err("no domain".into());
    }
    if let Some(d) = domains.iter().find(|d| d.contains('*')) {
        return Err(format!(
            "the wildcard domain {d:?} has no authgate equivalent: add a route per host"
        ));
    }
    let policy = rule.get("policy").and_then(Value::as_str).unwrap_or("");
    if !matches!(policy, "bypass" | "deny" | "one_factor" | "two_factor") {
        return Err(format!("policy {policy:?} is unknown"));
    }
    let mut out = toml::Table::new();
    let resources: Vec<String> = list(rule.get("resources"))
        .into_iter()
        .map(|r| {
            if r.starts_with('^') {
                r
            } else {
                format!("^.*{r}")
            }
        })
        .collect();
    for (key, values) in [
        ("paths", resources),
        (
            "methods",
            list(rule.get("methods"))
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .collect(),
        ),
        ("networks", list(rule.get("networks"))),
        ("query", query(rule.get("query"))?),
    ] {
        if !values.is_empty() {
            out.insert(key.into(), strings(&values));
        }
    }
    let (users, groups) = subjects(rule.get("subject"))?;
    if policy == "bypass" && !(users.is_empty() && groups.is_empty()) {
        return Err("bypass with a subject: Authelia refuses it too".into());
    }
    for (key, values) in [("users", users), ("groups", groups)] {
        if !values.is_empty() {
            out.insert(key.into(), strings(&values));
        }
    }
    out.insert("policy".into(), policy.into());
    Ok((domains, out))
}

/// A string or a list of strings.
fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// `query: [[{key, value, operator}]]`: presence and equality, one condition per inner list.
fn query(v: Option<&Value>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for group in v.and_then(Value::as_sequence).into_iter().flatten() {
        let items: Vec<&Value> = match group {
            Value::Sequence(s) => s.iter().collect(),
            one => vec![one],
        };
        for item in items {
            let key = item
                .get("key")
                .and_then(Value::as_str)
                .ok_or("a query condition without a key")?;
            let value = item.get("value").and_then(Value::as_str);
            match (item.get("operator").and_then(Value::as_str), value) {
                (Some("present"), _) | (None, None) => out.push(key.to_string()),
                (Some("equal") | None, Some(v)) => out.push(format!("{key}={v}")),
                (op, _) => {
                    return Err(format!(
                        "the query operator {op:?} has no authgate equivalent"
                    ))
                }
            }
        }
    }
    Ok(out)
}

/// `user:` and `group:` subjects, any of which allows; an AND of subjects has no translation.
fn subjects(subject: Option<&Value>) -> Result<(Vec<String>, Vec<String>), String> {
    let items: Vec<&Value> = match subject {
        None => Vec::new(),
        Some(Value::Sequence(s)) => s.iter().collect(),
        Some(one) => vec![one],
    };
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    for item in items {
        let Some(s) = item.as_str() else {
            return Err(
                "a list of subjects that must all match: authgate allows on any one".into(),
            );
        };
        match s.split_once(':') {
            Some(("user", u)) => users.push(u.to_string()),
            Some(("group", g)) => groups.push(g.to_string()),
            _ => {
                return Err(format!(
                    "subject {s:?}: only user: and group: have an equivalent"
                ))
            }
        }
    }
    Ok((users, groups))
}
