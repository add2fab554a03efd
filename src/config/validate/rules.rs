//! `[networks]` and `[[routes.rules]]`: request conditions compiled once (globs and regexes to
//! regexes, network names to address sets), subject conditions, and the policy.

use std::collections::HashMap;
use std::net::IpAddr;

use globset::GlobBuilder;
use ipnet::IpNet;

use super::Problems;
use crate::config::file::RuleFile;
use crate::config::model::{Rule, RulePolicy};

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// `[networks]`: each name, a list of CIDRs or addresses.
pub(super) fn build_networks(
    p: &mut Problems,
    given: Option<&toml::Value>,
) -> HashMap<String, Vec<IpNet>> {
    let mut out = HashMap::new();
    let Some(given) = given else {
        return out;
    };
    let Some(table) = given.as_table() else {
        p.add("networks", "must be a table of name = [\"CIDR\", …]");
        return out;
    };
    for (name, list) in table {
        let path = format!("networks.{name}");
        let Some(items) = list.as_array() else {
            p.add(path, "must be a list of CIDRs or addresses");
            continue;
        };
        let nets = items
            .iter()
            .enumerate()
            .filter_map(|(j, v)| {
                let s = v.as_str().unwrap_or("");
                let net = network(s);
                if net.is_none() {
                    p.add(
                        format!("{path}[{j}]"),
                        format!("{s:?} is not a CIDR or an address"),
                    );
                }
                net
            })
            .collect();
        out.insert(name.clone(), nets);
    }
    out
}

fn network(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// `routes[i].rules`, in order.
pub(super) fn build_rules(
    p: &mut Problems,
    route: &str,
    rules: &[RuleFile],
    networks: &HashMap<String, Vec<IpNet>>,
) -> Vec<Rule> {
    let mut built: Vec<Rule> = Vec::new();
    let mut catch_all: Option<usize> = None;
    for (k, r) in rules.iter().enumerate() {
        let path = format!("{route}.rules[{k}]");
        if let Some(before) = catch_all {
            p.add(
                &path,
                format!(
                    "can never match: {route}.rules[{before}] before it has no request condition and matches every request"
                ),
            );
        }
        if r.paths.is_empty() && r.methods.is_empty() && r.networks.is_empty() && r.query.is_empty()
        {
            catch_all = catch_all.or(Some(k));
        }
        if let Some(rule) = build_rule(p, &path, k, r, networks) {
            built.push(rule);
        }
    }
    built
}

fn build_rule(
    p: &mut Problems,
    path: &str,
    index: usize,
    r: &RuleFile,
    networks: &HashMap<String, Vec<IpNet>>,
) -> Option<Rule> {
    let policy = match r.policy.as_str() {
        "bypass" => RulePolicy::Bypass,
        "deny" => RulePolicy::Deny,
        "one_factor" => RulePolicy::OneFactor,
        "two_factor" => RulePolicy::TwoFactor,
        other => {
            p.add(
                format!("{path}.policy"),
                format!(
                    "{other:?}: expected \"bypass\", \"deny\", \"one_factor\" or \"two_factor\""
                ),
            );
            return None;
        }
    };
    let has_subject = !(r.users.is_empty() && r.groups.is_empty() && r.clients.is_empty());
    if policy == RulePolicy::Bypass && has_subject {
        p.add(
            format!("{path}.policy"),
            "bypass lets everyone through: users, groups and clients cannot apply to it",
        );
    }
    Some(Rule {
        index,
        paths: paths(p, path, &r.paths),
        methods: methods(p, path, &r.methods),
        networks: rule_networks(p, path, &r.networks, networks),
        query: r
            .query
            .iter()
            .map(|q| match q.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (q.clone(), None),
            })
            .collect(),
        users: r.users.clone(),
        groups: r.groups.clone(),
        clients: r.clients.clone(),
        policy,
    })
}

/// Globs (`*` one segment, `**` any depth) and `^`-regexes, each compiled to one regex.
fn paths(p: &mut Problems, path: &str, given: &[String]) -> Vec<regex::bytes::Regex> {
    given
        .iter()
        .enumerate()
        .filter_map(|(j, pattern)| {
            let key = format!("{path}.paths[{j}]");
            let source = if pattern.starts_with('^') {
                Ok(pattern.clone())
            } else if !pattern.starts_with('/') {
                Err(format!(
                    "{pattern:?} must start with / (a glob) or ^ (a regex)"
                ))
            } else {
                GlobBuilder::new(pattern)
                    .literal_separator(true)
                    .build()
                    .map(|g| g.regex().to_string())
                    .map_err(|e| format!("{pattern:?} is not a glob: {e}"))
            };
            let compiled = source.and_then(|s| {
                regex::bytes::Regex::new(&s).map_err(|e| format!("{pattern:?} is not a regex: {e}"))
            });
            compiled.map_err(|e| p.add(key, e)).ok()
        })
        .collect()
}

fn methods(p: &mut Problems, path: &str, given: &[String]) -> Vec<http::Method> {
    given
        .iter()
        .enumerate()
        .filter_map(|(j, m)| {
            let upper = m.to_ascii_uppercase();
            if !METHODS.contains(&upper.as_str()) {
                p.add(
                    format!("{path}.methods[{j}]"),
                    format!("{m:?} is not an HTTP method"),
                );
                return None;
            }
            http::Method::from_bytes(upper.as_bytes()).ok()
        })
        .collect()
}

fn rule_networks(
    p: &mut Problems,
    path: &str,
    given: &[String],
    named: &HashMap<String, Vec<IpNet>>,
) -> Vec<IpNet> {
    let mut out = Vec::new();
    for (j, n) in given.iter().enumerate() {
        match (named.get(n), network(n)) {
            (Some(nets), _) => out.extend(nets.iter().copied()),
            (None, Some(net)) => out.push(net),
            (None, None) => p.add(
                format!("{path}.networks[{j}]"),
                format!("{n:?} is neither a name from [networks] nor a CIDR"),
            ),
        }
    }
    out
}
