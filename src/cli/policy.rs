//! `authgate policy check`: the decision the gateway would make for one request, the rule
//! that made it, and why each earlier rule did not match; nothing is sent anywhere.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use crate::app::App;
use crate::http::host::Host;
use crate::policy::{self, rules, Credential, Decision, Principal, Requires};
use crate::routes::RouteTable;

use super::PolicyCheck;

/// The exit status of a usage error (sysexits' EX_USAGE).
pub const USAGE: i32 = 64;

struct Caller {
    name: String,
    groups: Vec<String>,
    second_factor: bool,
    client: Option<String>,
}

impl Principal for Caller {
    fn username(&self) -> &str {
        &self.name
    }
    fn groups(&self) -> &[String] {
        &self.groups
    }
    fn second_factor(&self) -> bool {
        self.second_factor
    }
    fn credential(&self) -> Credential {
        match self.client {
            Some(_) => Credential::Bearer,
            None => Credential::Session,
        }
    }
    fn client_id(&self) -> Option<&str> {
        self.client.as_deref()
    }
}

pub fn policy_check(config: &Path, args: &PolicyCheck) -> anyhow::Result<i32> {
    let Some(cfg) = super::load_config(config) else {
        return Ok(USAGE);
    };
    let target = match target(args) {
        Ok(t) => t,
        Err(why) => {
            eprintln!("{why}");
            return Ok(USAGE);
        }
    };
    let (host, path, query, method, ip) = target;
    let table = RouteTable::new(&cfg.routes);
    let Some(route) = table
        .find(&cfg.routes, &host, &path)
        .and_then(|i| cfg.routes.get(i))
    else {
        println!("not-found no route for {}{path}", host.authority());
        return Ok(3);
    };
    let req = policy::Request {
        path: &path,
        method: &method,
        client_ip: ip,
        query: query.as_deref(),
    };
    let label = format!("routes[{}]", route.index);
    let mut reasons = Vec::new();
    let mut matched = None;
    for rule in &route.rules {
        match rules::miss(rule, &req) {
            Some(m) => reasons.push(format!("{label}.rules[{}]: {}", rule.index, m.as_str())),
            None => {
                matched = Some(rule);
                break;
            }
        }
    }
    let decider = match matched {
        Some(rule) => format!("{label}.rules[{}]", rule.index),
        None => format!("{label} (no rule matched: the route's own policy)"),
    };
    let requires = Requires::of(route, &cfg.login);
    let caller = caller(&cfg, args, config)?;
    let decision = policy::decide_by(route, &req, matched, caller.as_ref(), requires);
    let (word, code) = match decision {
        Decision::Public | Decision::Allow => ("allow", 0),
        Decision::Deny => ("deny", 1),
        Decision::Login { .. } => ("sign-in", 2),
        Decision::StepUp => ("second-factor", 2),
    };
    let why = if reasons.is_empty() {
        String::new()
    } else {
        format!("; not matched: {}", reasons.join(", "))
    };
    println!("{word} {decider}{why}");
    Ok(code)
}

type Target = (Host, String, Option<String>, String, Option<IpAddr>);

/// `--url`, `--method` and `--ip` as the gateway would see them.
fn target(args: &PolicyCheck) -> Result<Target, String> {
    let url = url::Url::parse(&args.url).map_err(|e| format!("--url {:?}: {e}", args.url))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("--url {:?}: not an http(s) URL", args.url));
    }
    let authority = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => return Err(format!("--url {:?}: no host", args.url)),
    };
    let host = Host::parse(&authority).ok_or(format!("--url {:?}: not a host", args.url))?;
    let path = crate::http::path::normalize(url.path())
        .map_err(|e| format!("--url {:?}: the path cannot be normalised: {e}", args.url))?;
    let method = args.method.to_ascii_uppercase();
    let ip = match &args.ip {
        Some(s) => Some(
            s.parse()
                .map_err(|_| format!("--ip {s:?}: not an address"))?,
        ),
        None => None,
    };
    Ok((host, path, url.query().map(str::to_string), method, ip))
}

/// `--user` (groups from the configured directory) or `--client` (its configured groups).
fn caller(
    cfg: &crate::config::Config,
    args: &PolicyCheck,
    config: &Path,
) -> anyhow::Result<Option<Caller>> {
    if let Some(id) = &args.client {
        let client = cfg
            .clients
            .get(id)
            .ok_or_else(|| anyhow::anyhow!("--client {id:?} is not a configured client"))?;
        return Ok(Some(Caller {
            name: format!("{}{id}", cfg.tokens.client_user_prefix),
            groups: client.groups.clone(),
            second_factor: false,
            client: Some(id.clone()),
        }));
    }
    let Some(user) = &args.user else {
        return Ok(None);
    };
    let fresh = crate::config::load(config)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let app = App::start(fresh, Arc::new(crate::clock::SystemClock))?;
    let found = rt
        .block_on(app.directory().find(user))?
        .ok_or_else(|| anyhow::anyhow!("--user {user:?} is not in the directory"))?;
    Ok(Some(Caller {
        name: found.username.clone(),
        groups: found.groups.clone(),
        second_factor: args.second_factor,
        client: None,
    }))
}
