//! Turns the TOML schema into the validated model, collecting every problem with its key path
//! (`routes[1].upstreams[0]: "10.0.0.1" is not host:port`). Never panics, whatever the input.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use url::Url;

mod clients;
mod ldap;
mod routes;
mod upstream;

use super::file::*;
use super::model::*;
use super::{ConfigError, Problem};
use crate::http::host::Host;
use crate::secret::Secret;
use clients::{build_clients, check_bearer_clients};
use routes::{build_route, check_overlaps};

const TOP_LEVEL: &[&str] = &[
    "server",
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
    "demo",
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
    let ldap: Option<LdapFile> = opt_section(&mut p, &table, "ldap");
    let storage: Option<StorageFile> = opt_section(&mut p, &table, "storage");
    let upstream: Vec<(usize, UpstreamProviderFile)> =
        array(&mut p, &table, "upstream_providers", "upstream_providers");
    let routes: Vec<(usize, RouteFile)> = array(&mut p, &table, "routes", "routes");
    let clients: Vec<(usize, ClientFile)> = array(&mut p, &table, "clients", "clients");
    let users = users_tables(&mut p, &table);

    let server = server.and_then(|s| build_server(&mut p, s));
    let session = build_session(&mut p, session);
    let tokens = build_tokens(&mut p, tokens);
    let login = build_login(&mut p, login);
    let users = build_users(&mut p, users);
    let clients = build_clients(&mut p, clients);
    let routes: Vec<Route> = routes
        .into_iter()
        .filter_map(|(i, r)| build_route(&mut p, i, r))
        .collect();
    check_overlaps(&mut p, &routes);
    let ldap = ldap.and_then(|l| ldap::build_ldap(&mut p, l));
    let storage = storage.map(|s| build_storage(&mut p, s));
    let upstream_providers = upstream::build_upstream_providers(&mut p, upstream);
    check_bearer_clients(&mut p, &routes, &clients);
    let demo = demo.and_then(|d| match d.echo_listen.parse() {
        Ok(echo_listen) => Some(Demo { echo_listen }),
        Err(_) => {
            p.add(
                "demo.echo_listen",
                format!("{:?} is not ip:port", d.echo_listen),
            );
            None
        }
    });

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
        },
        _ => return Err(ConfigError { problems: p.0 }),
    };
    check_second_factor(&mut p, &cfg);
    if p.0.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigError { problems: p.0 })
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

/// `[[users]]` and the tables of `users_file`, each with its key path.
fn users_tables(p: &mut Problems, table: &toml::Table) -> Vec<(String, UserFile)> {
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

fn read_users_file(p: &mut Problems, file: &str) -> Vec<(String, UserFile)> {
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

pub(super) fn duration(
    p: &mut Problems,
    path: &str,
    v: Option<&str>,
    default: Duration,
) -> Duration {
    match v {
        None => default,
        Some(s) => match humantime::parse_duration(s) {
            Ok(d) if d > Duration::ZERO => d,
            Ok(_) => {
                p.add(path, "must be longer than zero");
                default
            }
            Err(e) => {
                p.add(
                    path,
                    format!("{s:?} is not a duration like \"90s\", \"12h\", \"14d\" ({e})"),
                );
                default
            }
        },
    }
}

fn socket_addr(p: &mut Problems, path: &str, s: &str) -> Option<SocketAddr> {
    match s.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            p.add(path, format!("{s:?} is not ip:port"));
            None
        }
    }
}

/// `host:port`, where host may be a name resolved once at load.
pub(super) fn upstream_addr(p: &mut Problems, path: &str, s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    let has_port = s
        .rsplit_once(':')
        .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok());
    if !has_port {
        p.add(path, format!("{s:?} is not host:port"));
        return None;
    }
    match s.to_socket_addrs().map(|mut it| it.next()) {
        Ok(Some(a)) => Some(a),
        _ => {
            p.add(path, format!("{s:?}: the host name does not resolve"));
            None
        }
    }
}

pub(super) fn absolute_url(p: &mut Problems, path: &str, s: &str) -> Option<Url> {
    match Url::parse(s) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {
            if u.fragment().is_some() {
                p.add(path, format!("{s:?} must not have a #fragment"));
                return None;
            }
            Some(u)
        }
        Ok(_) => {
            p.add(path, format!("{s:?} must be an absolute http(s) URL"));
            None
        }
        Err(e) => {
            p.add(path, format!("{s:?} is not a URL: {e}"));
            None
        }
    }
}

/// The secret in `file` (one trailing newline is not part of it), reported at `path` when the
/// file cannot be read.
pub(super) fn secret_file(p: &mut Problems, path: &str, file: &str) -> Secret {
    match std::fs::read_to_string(file) {
        Ok(s) => Secret::new(s.trim_end_matches(['\n', '\r'])),
        Err(e) => {
            p.add(path, format!("cannot read {file:?}: {e}"));
            Secret::new("")
        }
    }
}

fn readable(p: &mut Problems, path: &str, file: &str) -> PathBuf {
    if let Err(e) = std::fs::File::open(file) {
        p.add(path, format!("cannot read {file:?}: {e}"));
    }
    PathBuf::from(file)
}

/// `server.tls_cert` and `tls_key`: both or neither, and only with `tls_listen`.
fn tls_files(
    p: &mut Problems,
    s: &ServerFile,
    no_tls_listener: bool,
) -> (Option<PathBuf>, Option<PathBuf>) {
    match (&s.tls_cert, &s.tls_key, no_tls_listener) {
        (Some(c), Some(k), false) => (
            Some(readable(p, "server.tls_cert", c)),
            Some(readable(p, "server.tls_key", k)),
        ),
        (_, _, false) => {
            p.add("server.tls_listen", "needs both tls_cert and tls_key");
            (None, None)
        }
        (None, None, true) => (None, None),
        (_, _, true) => {
            p.add(
                "server.tls_cert",
                "tls_cert/tls_key given but no tls_listen",
            );
            (None, None)
        }
    }
}

/// `server.trusted_proxies`: addresses or CIDR networks.
fn trusted_proxies(p: &mut Problems, nets: &[String]) -> Vec<ipnet::IpNet> {
    nets.iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let parsed = n
                .parse::<ipnet::IpNet>()
                .ok()
                .or_else(|| n.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from));
            if parsed.is_none() {
                p.add(
                    format!("server.trusted_proxies[{i}]"),
                    format!("{n:?} is not an IP address or CIDR network"),
                );
            }
            parsed
        })
        .collect()
}

fn build_server(p: &mut Problems, s: ServerFile) -> Option<Server> {
    let listen: Vec<SocketAddr> = s
        .listen
        .iter()
        .enumerate()
        .filter_map(|(i, a)| socket_addr(p, &format!("server.listen[{i}]"), a))
        .collect();
    let tls_listen: Vec<SocketAddr> = s
        .tls_listen
        .iter()
        .enumerate()
        .filter_map(|(i, a)| socket_addr(p, &format!("server.tls_listen[{i}]"), a))
        .collect();
    if s.listen.is_empty() && s.tls_listen.is_empty() {
        p.add("server.listen", "no listener: set listen or tls_listen");
    }
    let (tls_cert, tls_key) = tls_files(p, &s, tls_listen.is_empty());
    let trusted_proxies = trusted_proxies(p, &s.trusted_proxies);
    let metrics_listen = s
        .metrics_listen
        .as_deref()
        .and_then(|a| socket_addr(p, "server.metrics_listen", a));
    let threads = match s.threads {
        Some(0) => {
            p.add("server.threads", "must be at least 1");
            1
        }
        Some(n) => n,
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    let after_logout_url = s
        .after_logout_url
        .as_deref()
        .and_then(|u| absolute_url(p, "server.after_logout_url", u));
    let public_url = absolute_url(p, "server.public_url", &s.public_url)?;
    if public_url.path() != "/" || public_url.query().is_some() {
        p.add(
            "server.public_url",
            format!(
                "{:?} must be scheme://host[:port] with no path or query",
                s.public_url
            ),
        );
        return None;
    }
    let Some(public_host) = Host::from_url(&public_url) else {
        p.add(
            "server.public_url",
            format!("{:?} has a host authgate cannot match", s.public_url),
        );
        return None;
    };
    let issuer = public_url.as_str().trim_end_matches('/').to_string();
    Some(Server {
        listen,
        issuer,
        public_url,
        public_host,
        tls_listen,
        tls_cert,
        tls_key,
        trusted_proxies,
        metrics_listen,
        threads,
        access_log: s.access_log.unwrap_or(true),
        after_logout_url,
        admin_socket: match s.admin_socket.as_deref() {
            Some("") => None,
            other => Some(PathBuf::from(other.unwrap_or("authgate.sock"))),
        },
    })
}

fn build_session(p: &mut Problems, mut s: SessionFile) -> Option<SessionCfg> {
    let cookie_name = s
        .cookie_name
        .take()
        .unwrap_or_else(|| "authgate_session".into());
    if cookie_name.is_empty()
        || !cookie_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        p.add(
            "session.cookie_name",
            format!("{cookie_name:?}: use letters, digits, '_' and '-'"),
        );
    }
    let lifetime = duration(
        p,
        "session.lifetime",
        s.lifetime.as_deref(),
        Duration::from_secs(12 * 3600),
    );
    let idle_timeout = duration(
        p,
        "session.idle_timeout",
        s.idle_timeout.as_deref(),
        Duration::from_secs(3600),
    );
    let store = match s.store.as_deref() {
        None | Some("memory") => StoreKind::Memory,
        Some("redis") => StoreKind::Redis,
        Some(other) => {
            p.add(
                "session.store",
                format!("{other:?}: expected \"memory\" or \"redis\""),
            );
            StoreKind::Memory
        }
    };
    let redis = redis_target(p, &mut s, store);
    let snapshot_file = s
        .snapshot_file
        .as_deref()
        .unwrap_or("authgate-sessions.snap");
    Some(SessionCfg {
        cookie_name,
        lifetime,
        idle_timeout,
        store,
        redis,
        key_prefix: s.key_prefix.unwrap_or_else(|| "authgate:".into()),
        max_entries: s.max_entries.unwrap_or(1_000_000),
        snapshot_file: (!snapshot_file.is_empty()).then(|| PathBuf::from(snapshot_file)),
        snapshot_key_file: PathBuf::from(
            s.snapshot_key_file
                .as_deref()
                .unwrap_or("authgate-snapshot.key"),
        ),
    })
}

/// `redis_url`, or `redis_sentinels` with `redis_master_name`: exactly one of them, and only
/// with `store = "redis"`.
fn redis_target(p: &mut Problems, s: &mut SessionFile, store: StoreKind) -> Option<RedisTarget> {
    let sentinels = std::mem::take(&mut s.redis_sentinels);
    let target = match (s.redis_url.take(), sentinels.is_empty()) {
        (Some(_), false) => {
            p.add(
                "session.redis_sentinels",
                "set either redis_url or redis_sentinels, not both",
            );
            return None;
        }
        (Some(u), true) => {
            if !(u.starts_with("redis://")
                || u.starts_with("rediss://")
                || u.starts_with("unix://"))
            {
                p.add(
                    "session.redis_url",
                    "must start with redis://, rediss:// or unix://",
                );
            }
            Some(RedisTarget::Url(Secret::new(u)))
        }
        (None, false) => Some(RedisTarget::Sentinel(sentinel(p, s, sentinels))),
        (None, true) => None,
    };
    if store == StoreKind::Redis && target.is_none() {
        p.add(
            "session.redis_url",
            "required when store = \"redis\" (or redis_sentinels)",
        );
    }
    target
}

fn sentinel(p: &mut Problems, s: &mut SessionFile, sentinels: Vec<String>) -> Sentinel {
    for (i, addr) in sentinels.iter().enumerate() {
        let port = addr
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse::<u16>().ok());
        if port.is_none() {
            p.add(
                format!("session.redis_sentinels[{i}]"),
                format!("{addr:?}: expected host:port"),
            );
        }
    }
    let master_name = s.redis_master_name.take().unwrap_or_default();
    if master_name.is_empty() {
        p.add(
            "session.redis_master_name",
            "required with redis_sentinels (the name the sentinels monitor)",
        );
    }
    Sentinel {
        sentinels,
        master_name,
        sentinel_password: s.redis_sentinel_password.take().map(Secret::new),
        password: s
            .redis_password_file
            .take()
            .map(|f| secret_file(p, "session.redis_password_file", &f)),
    }
}

fn build_tokens(p: &mut Problems, t: TokensFile) -> Option<Tokens> {
    let create = t.create_key_if_missing.unwrap_or(false);
    let signing_key_file = PathBuf::from(
        t.signing_key_file
            .unwrap_or_else(|| "conf/keys/signing.pem".into()),
    );
    if !create && !signing_key_file.exists() {
        p.add(
            "tokens.signing_key_file",
            format!(
                "{} does not exist: create it with `authgate gen-key --out {}`",
                signing_key_file.display(),
                signing_key_file.display()
            ),
        );
    }
    let retired_key_files = t
        .retired_key_files
        .iter()
        .enumerate()
        .map(|(i, f)| readable(p, &format!("tokens.retired_key_files[{i}]"), f))
        .collect();
    Some(Tokens {
        signing_key_file,
        retired_key_files,
        create_key_if_missing: create,
        access_token_ttl: duration(
            p,
            "tokens.access_token_ttl",
            t.access_token_ttl.as_deref(),
            Duration::from_secs(600),
        ),
        id_token_ttl: duration(
            p,
            "tokens.id_token_ttl",
            t.id_token_ttl.as_deref(),
            Duration::from_secs(600),
        ),
        refresh_token_ttl: duration(
            p,
            "tokens.refresh_token_ttl",
            t.refresh_token_ttl.as_deref(),
            Duration::from_secs(14 * 86400),
        ),
        code_ttl: duration(
            p,
            "tokens.code_ttl",
            t.code_ttl.as_deref(),
            Duration::from_secs(60),
        ),
        client_user_prefix: t.client_user_prefix.unwrap_or_default(),
        max_pending_device_codes: t.max_pending_device_codes.unwrap_or(1000),
    })
}

fn build_login(p: &mut Problems, l: LoginFile) -> Option<Login> {
    if l.max_failures == Some(0) {
        p.add("login.max_failures", "must be at least 1");
    }
    Some(Login {
        max_failures: l.max_failures.unwrap_or(5).max(1),
        lockout_ends_sessions: l.lockout_ends_sessions.unwrap_or(false),
        failure_window: duration(
            p,
            "login.failure_window",
            l.failure_window.as_deref(),
            Duration::from_secs(300),
        ),
        lockout: duration(
            p,
            "login.lockout",
            l.lockout.as_deref(),
            Duration::from_secs(900),
        ),
        rate_limit: l.rate_limit.unwrap_or(300),
        rate_window: duration(
            p,
            "login.rate_window",
            l.rate_window.as_deref(),
            Duration::from_secs(60),
        ),
        second_factor: match l.second_factor.as_deref() {
            None | Some("off") => SecondFactor::Off,
            Some("optional") => SecondFactor::Optional,
            Some("required") => SecondFactor::Required,
            Some(other) => {
                p.add(
                    "login.second_factor",
                    format!("{other:?}: expected \"off\", \"optional\" or \"required\""),
                );
                SecondFactor::Off
            }
        },
        totp_issuer: l.totp_issuer.unwrap_or_else(|| "authgate".into()),
        password_form: l.password_form.unwrap_or(true),
        reauthenticate_after: duration(
            p,
            "login.reauthenticate_after",
            l.reauthenticate_after.as_deref(),
            Duration::from_secs(300),
        ),
    })
}

fn build_users(p: &mut Problems, users: Vec<(String, UserFile)>) -> HashMap<String, User> {
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
                name: u.name,
                groups: u.groups,
                disabled: u.disabled,
            },
        );
    }
    out
}

/// `[storage]`: `sqlite://` or `postgres://`, and the key file (or the demo's promise to make one).
fn build_storage(p: &mut Problems, s: StorageFile) -> StorageCfg {
    let url = s.url.unwrap_or_else(|| "sqlite://authgate.db".into());
    if !["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        p.add(
            "storage.url",
            format!("{url:?}: expected sqlite://PATH or postgres://…"),
        );
    }
    let create = s.create_key_if_missing.unwrap_or(false);
    let file = PathBuf::from(
        s.encryption_key_file
            .unwrap_or_else(|| "conf/keys/storage.key".into()),
    );
    if !create && !file.exists() {
        p.add(
            "storage.encryption_key_file",
            format!(
                "{} does not exist: create it with `authgate gen-key --kind storage --out {}`",
                file.display(),
                file.display()
            ),
        );
    }
    StorageCfg {
        url,
        encryption_key_file: file,
        create_key_if_missing: create,
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
