//! Validation of `[[routes]]`: hosts, prefixes, upstreams, policy, headers, and overlaps.

use std::collections::HashSet;

use super::upstream::build_upstream;
use super::{absolute_url, secret_file, Problems};
use crate::config::file::{HeadersFile, RouteFile};
use crate::config::model::{Auth, IdentityHeaders, Route, UpstreamBasic};
use crate::http::host::Host;
use crate::http::path;
use crate::secret::Secret;

fn header_name(p: &mut Problems, path: &str, v: Option<String>, default: &str) -> String {
    match v {
        None => default.to_string(),
        Some(h) => {
            if http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                p.add(path, format!("{h:?} is not a valid header name"));
            }
            h
        }
    }
}

fn prefix(p: &mut Problems, path: &str, s: &str) -> String {
    match path::normalize(s) {
        Ok(n) if n == s => {}
        Ok(n) => p.add(
            path,
            format!("{s:?} is not a normalised path (did you mean {n:?}?)"),
        ),
        Err(e) => p.add(path, format!("{s:?}: {e}")),
    }
    s.to_string()
}

/// `routes[i].headers`: the names of the identity headers, defaults as in the contract.
fn identity_headers(p: &mut Problems, path: &str, h: HeadersFile) -> IdentityHeaders {
    let d = IdentityHeaders::default();
    IdentityHeaders {
        user: header_name(p, &format!("{path}.headers.user"), h.user, &d.user),
        email: header_name(p, &format!("{path}.headers.email"), h.email, &d.email),
        groups: header_name(p, &format!("{path}.headers.groups"), h.groups, &d.groups),
        preferred_username: header_name(
            p,
            &format!("{path}.headers.preferred_username"),
            h.preferred_username,
            &d.preferred_username,
        ),
        assertion: header_name(
            p,
            &format!("{path}.headers.assertion"),
            h.assertion,
            &d.assertion,
        ),
    }
}

pub(super) fn build_route(
    p: &mut Problems,
    i: usize,
    r: RouteFile,
    networks: &std::collections::HashMap<String, Vec<ipnet::IpNet>>,
) -> Option<Route> {
    let path = format!("routes[{i}]");
    // A bad host is reported; the rest of the route is still checked for its own problems.
    let host = r.host.as_deref().map(|h| route_host(p, &path, h));
    let path_prefix = prefix(
        p,
        &format!("{path}.path_prefix"),
        r.path_prefix.as_deref().unwrap_or("/"),
    );
    let auth = match r.auth.as_deref() {
        None | Some("required") => Auth::Required,
        Some("public") => Auth::Public,
        Some(other) => {
            p.add(
                format!("{path}.auth"),
                format!("{other:?}: expected \"required\" or \"public\""),
            );
            Auth::Required
        }
    };
    let public_paths = r
        .public_paths
        .iter()
        .enumerate()
        .map(|(j, s)| prefix(p, &format!("{path}.public_paths[{j}]"), s))
        .collect();
    if let Some(hc) = &r.health_check {
        if !hc.starts_with('/') {
            p.add(
                format!("{path}.health_check"),
                format!("{hc:?} must be a path starting with '/'"),
            );
        }
    }
    let upstream_basic = upstream_basic(p, &path, &r);
    let headers = identity_headers(p, &path, r.headers.clone().unwrap_or_default());
    let upstream = build_upstream(p, &path, &r, (&path_prefix, &headers), upstream_basic);
    let rules = super::rules::build_rules(p, &path, &r.rules, networks);
    let logout_redirect = r
        .logout_redirect
        .as_deref()
        .and_then(|u| absolute_url(p, &format!("{path}.logout_redirect"), u));
    let route = Route {
        index: i,
        name: r.name.clone().filter(|n| !n.trim().is_empty()),
        host: host.clone().flatten(),
        path_prefix,
        upstream,
        auth,
        allow_users: r.allow_users,
        allow_groups: r.allow_groups,
        public_paths,
        headers,
        logout_redirect,
        bearer_clients: r.bearer_clients,
        require_second_factor: r.require_second_factor,
        app_passwords: r.app_passwords,
        app_passwords_satisfy_second_factor: r.app_passwords_satisfy_second_factor,
        rules,
    };
    (host != Some(None)).then_some(route)
}

/// `upstream_auth`, `upstream_basic_user` (its placeholders known) and the password file.
fn upstream_basic(p: &mut Problems, path: &str, r: &RouteFile) -> Option<UpstreamBasic> {
    match r.upstream_auth.as_deref() {
        None | Some("none") => {
            if r.upstream_basic_user.is_some() || r.upstream_basic_password_file.is_some() {
                p.add(
                    format!("{path}.upstream_auth"),
                    "set upstream_auth = \"basic\" to use upstream_basic_*",
                );
            }
            return None;
        }
        Some("basic") => {}
        Some(other) => {
            p.add(
                format!("{path}.upstream_auth"),
                format!("{other:?}: expected \"none\" or \"basic\""),
            );
            return None;
        }
    }
    let template = r
        .upstream_basic_user
        .clone()
        .unwrap_or_else(|| "{username}".into());
    let mut rest = template.as_str();
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        let placeholder = &rest[start..end];
        if !matches!(placeholder, "{username}" | "{email}") {
            p.add(
                format!("{path}.upstream_basic_user"),
                format!("{placeholder:?} is not a placeholder: use {{username}} or {{email}}"),
            );
        }
        rest = &rest[end..];
    }
    let password = match &r.upstream_basic_password_file {
        None => Secret::new(""),
        Some(file) => secret_file(p, &format!("{path}.upstream_basic_password_file"), file),
    };
    Some(UpstreamBasic {
        user_template: template,
        password,
    })
}

/// `routes[i].host`: a host name, or `None` (reported) when it is not one.
fn route_host(p: &mut Problems, path: &str, h: &str) -> Option<Host> {
    let host = Host::parse(h);
    if host.is_none() {
        p.add(
            format!("{path}.host"),
            format!("{h:?} is not a host name (name or name:port)"),
        );
    }
    host
}

pub(super) fn check_overlaps(p: &mut Problems, routes: &[Route]) {
    let mut seen: HashSet<(Option<&Host>, &str)> = HashSet::new();
    for r in routes {
        if !seen.insert((r.host.as_ref(), r.path_prefix.as_str())) {
            p.add(
                format!("routes[{}]", r.index),
                format!(
                    "same host and path_prefix as an earlier route ({})",
                    r.label()
                ),
            );
        }
    }
}
