//! Turns the TOML schema into the validated model, collecting every problem with its key path
//! (`routes[1].upstreams[0]: "10.0.0.1" is not host:port`). Never panics, whatever the input.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use url::Url;

mod acme;
mod branding;
pub use branding::logo_type;
mod clients;
mod federation;
mod ldap;
mod login;
mod people;
mod profile;
mod routes;
mod rules;
mod server;
mod session;
mod storage;
mod tokens;
mod upstream;
mod users;
mod values;

use super::file::*;
use super::model::*;
use super::{ConfigError, Problem};
use crate::http::host::Host;
use crate::secret::Secret;
use clients::{build_clients, check_bearer_clients};
use login::build_login;
use routes::{build_route, check_overlaps};
use server::build_server;
use session::build_session;
use storage::build_storage;
use tokens::build_tokens;
use users::{build_users, users_tables};
use values::*;

/// The keys a configuration file may have at its top level.
pub const TOP_LEVEL: &[&str] = &[
    "server",
    "branding",
    "session",
    "tokens",
    "login",
    "users",
    "users_file",
    "clients",
    "routes",
    "ldap",
    "storage",
    "upstream_providers",
    "networks",
    "demo",
    "smtp",
    "admin",
    "audit",
];

#[derive(Default)]
pub(super) struct Problems(Vec<Problem>);

impl Problems {
    pub(super) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Validates the text of a config file. `origin` names it in messages.
pub fn from_str(text: &str) -> Result<Config, ConfigError> {
    let mut p = Problems::default();
    let table = top_level(&mut p, text).ok_or_else(|| ConfigError {
        problems: p.0.clone(),
    })?;
    let server: Option<ServerFile> = match table.get("server") {
        Some(v) => section(&mut p, "server", v),
        None => {
            p.add("server", "missing table [server] (public_url is required)");
            None
        }
    };
    let session: SessionFile = opt_section(&mut p, &table, "session").unwrap_or_default();
    let tokens: TokensFile = opt_section(&mut p, &table, "tokens").unwrap_or_default();
    let login: LoginFile = opt_section(&mut p, &table, "login").unwrap_or_default();
    let demo: Option<DemoFile> = opt_section(&mut p, &table, "demo");
    let branding: BrandingFile = opt_section(&mut p, &table, "branding").unwrap_or_default();
    let branding = branding::build_branding(&mut p, branding);
    let (smtp, admin, audit) = people::build(&mut p, &table);
    let ldap: Option<LdapFile> = opt_section(&mut p, &table, "ldap");
    let storage: Option<StorageFile> = opt_section(&mut p, &table, "storage");
    let upstream: Vec<(usize, UpstreamProviderFile)> =
        array(&mut p, &table, "upstream_providers", "upstream_providers");
    let routes: Vec<(usize, RouteFile)> = array(&mut p, &table, "routes", "routes");
    let clients: Vec<(usize, ClientFile)> = array(&mut p, &table, "clients", "clients");
    let users = users_tables(&mut p, &table);

    let mut server = server.and_then(|s| build_server(&mut p, s));
    let session = build_session(&mut p, session);
    let tokens = build_tokens(&mut p, tokens);
    let login = build_login(&mut p, login);
    let users = build_users(&mut p, users);
    let clients = build_clients(&mut p, clients);
    let routes = build_routes(&mut p, routes, &table, server.as_mut());
    let ldap = ldap.and_then(|l| ldap::build_ldap(&mut p, l));
    let storage = storage.map(|s| build_storage(&mut p, s));
    let upstream_providers = federation::build_upstream_providers(&mut p, upstream);
    check_bearer_clients(&mut p, &routes, &clients);
    let demo = demo.and_then(|d| build_demo(&mut p, d));

    let cfg = match (server, session, tokens, login) {
        (Some(server), Some(session), Some(tokens), Some(login)) => Config {
            server,
            session,
            tokens,
            login,
            users,
            clients,
            routes,
            storage,
            ldap,
            upstream_providers,
            demo,
            branding,
            smtp,
            admin,
            audit,
        },
        _ => return Err(ConfigError { problems: p.0 }),
    };
    check_second_factor(&mut p, &cfg);
    profile::check_profiles(&mut p, &cfg);
    if p.0.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigError { problems: p.0 })
    }
}

/// `[[routes]]` with the `[networks]` their rules name, checked against each other and, for
/// `[server.acme]`, against the server's names.
fn build_routes(
    p: &mut Problems,
    routes: Vec<(usize, RouteFile)>,
    table: &toml::Table,
    server: Option<&mut Server>,
) -> Vec<Route> {
    let networks = rules::build_networks(p, table.get("networks"));
    let routes: Vec<Route> = routes
        .into_iter()
        .filter_map(|(i, r)| build_route(p, i, r, &networks))
        .collect();
    check_overlaps(p, &routes);
    if let Some(server) = server {
        acme::finish(p, server, &routes);
    }
    routes
}

/// `[demo]`: the echo upstream's address.
fn build_demo(p: &mut Problems, d: DemoFile) -> Option<Demo> {
    match d.echo_listen.parse() {
        Ok(echo_listen) => Some(Demo { echo_listen }),
        Err(_) => {
            p.add(
                "demo.echo_listen",
                format!("{:?} is not ip:port", d.echo_listen),
            );
            None
        }
    }
}

/// The file as a TOML table, its unknown top-level keys reported; `None` when it is not TOML.
fn top_level(p: &mut Problems, text: &str) -> Option<toml::Table> {
    let table: toml::Table = match toml::from_str(text) {
        Ok(t) => t,
        Err(e) => {
            p.add("(file)", format!("not valid TOML: {}", e.message()));
            return None;
        }
    };
    for key in table.keys() {
        if !TOP_LEVEL.contains(&key.as_str()) {
            p.add(key.as_str(), "unknown key");
        }
    }
    Some(table)
}

fn section<T: DeserializeOwned>(p: &mut Problems, path: &str, v: &toml::Value) -> Option<T> {
    match v.clone().try_into::<T>() {
        Ok(t) => Some(t),
        Err(e) => {
            p.add(path, e.message().trim().to_string());
            None
        }
    }
}

fn opt_section<T: DeserializeOwned>(p: &mut Problems, t: &toml::Table, key: &str) -> Option<T> {
    t.get(key).and_then(|v| section(p, key, v))
}

fn array<T: DeserializeOwned>(
    p: &mut Problems,
    t: &toml::Table,
    key: &str,
    path: &str,
) -> Vec<(usize, T)> {
    match t.get(key) {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| section(p, &format!("{path}[{i}]"), v).map(|t| (i, t)))
            .collect(),
        Some(_) => {
            p.add(path, format!("must be an array of tables ([[{key}]])"));
            Vec::new()
        }
    }
}

/// A second factor can only be required where one can be enrolled.
fn check_second_factor(p: &mut Problems, cfg: &Config) {
    let possible = cfg.login.second_factor != SecondFactor::Off && cfg.storage.is_some();
    if cfg.login.second_factor != SecondFactor::Off && cfg.storage.is_none() {
        p.add(
            "login.second_factor",
            "needs a [storage] table (where enrolled factors are kept)",
        );
    }
    for r in cfg
        .routes
        .iter()
        .filter(|r| r.app_passwords && cfg.storage.is_none())
    {
        p.add(
            format!("routes[{}].app_passwords", r.index),
            "needs a [storage] table (where app passwords are kept)",
        );
    }
    for r in cfg
        .routes
        .iter()
        .filter(|r| r.require_second_factor && !possible)
    {
        p.add(
            format!("routes[{}].require_second_factor", r.index),
            "needs [login] second_factor = \"optional\" or \"required\" and a [storage] table",
        );
    }
    for c in cfg
        .clients
        .values()
        .filter(|c| c.require_second_factor && !possible)
    {
        p.add(
            format!("clients({}).require_second_factor", c.client_id),
            "needs [login] second_factor = \"optional\" or \"required\" and a [storage] table",
        );
    }
}

/// Reads and validates `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => from_str(&text),
        Err(e) => Err(ConfigError {
            problems: vec![Problem {
                path: "(file)".into(),
                message: format!("cannot read {}: {e}", path.display()),
            }],
        }),
    }
}

#[cfg(test)]
mod tests;
