//! The command line of the contract: run, check-config, hash-password, hash-secret, gen-key.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::config;
use crate::keys::Alg;
use crate::server::RunOptions;

#[derive(Parser, Debug)]
#[command(
    name = "authgate",
    version,
    about = "Authentication gateway: OpenID Provider and identity-aware reverse proxy"
)]
pub struct Cli {
    /// The TOML configuration file.
    #[arg(short = 'c', long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Take over the listeners of the running authgate (graceful upgrade / reload).
    #[arg(short = 'u', long, global = true)]
    pub upgrade: bool,
    /// Run in the background (for systemd Type=forking).
    #[arg(short = 'd', long, global = true)]
    pub daemon: bool,
    /// PID file written by the daemon (absolute path).
    #[arg(long, global = true, value_name = "FILE")]
    pub pid_file: Option<String>,
    /// Unix socket the old and new process use to hand over listeners during an upgrade.
    #[arg(long, global = true, value_name = "FILE")]
    pub upgrade_sock: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the gateway (the default).
    Run,
    /// Validate the configuration; print every problem with its key path.
    CheckConfig,
    /// Read a password on stdin, print an argon2id PHC string for `password_hash`.
    HashPassword,
    /// Read a client secret on stdin, print what `client_secret_sha256` takes.
    HashSecret,
    /// Write a new signing key (PKCS#8 PEM, mode 0600), or with `--kind storage` the
    /// `[storage] encryption_key_file`.
    GenKey {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = KeyKind::Signing)]
        kind: KeyKind,
        #[arg(long, value_enum, default_value_t = AlgArg::ES256)]
        alg: AlgArg,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Users' second factors in `[storage]`.
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// Users' app passwords in `[storage]`.
    AppPasswords {
        #[command(subcommand)]
        command: AppPasswordCommand,
    },
    /// Sessions of the running gateway (through its admin socket).
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// The `[ldap]` directory, step by step.
    Ldap {
        #[command(subcommand)]
        command: LdapCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum MfaCommand {
    /// List users and their factors (never a secret).
    List,
    /// Remove every factor and recovery code of a user (a lost phone).
    Reset {
        #[arg(long, value_name = "NAME")]
        user: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SessionsCommand {
    /// The live sessions: who, since when, last seen, from where, which relying parties.
    List {
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
    },
    /// End every session of a user (and revoke their tokens), or one session by its id.
    Revoke {
        #[arg(long, value_name = "NAME", required_unless_present = "session")]
        user: Option<String>,
        /// As `sessions list` shows it (ids may start with `-`).
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        session: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AppPasswordCommand {
    /// List app passwords (never the passwords), of one user or everyone.
    List {
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
    },
    /// Revoke a user's app password `--id`, or all of them.
    Revoke {
        #[arg(long, value_name = "NAME")]
        user: String,
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KeyKind {
    /// A token signing key (`[tokens] signing_key_file`).
    Signing,
    /// The key that seals secrets in the database (`[storage] encryption_key_file`).
    Storage,
}

#[derive(Subcommand, Debug)]
pub enum LdapCommand {
    /// Read a password on stdin and sign `--user` in against the directory, printing each step
    /// (search, groups, bind).
    Test {
        #[arg(long, value_name = "NAME")]
        user: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
#[allow(clippy::upper_case_acronyms)]
pub enum AlgArg {
    #[value(name = "ES256")]
    ES256,
    #[value(name = "RS256")]
    RS256,
    #[value(name = "EdDSA")]
    EdDSA,
}

impl From<AlgArg> for Alg {
    fn from(a: AlgArg) -> Alg {
        match a {
            AlgArg::ES256 => Alg::ES256,
            AlgArg::RS256 => Alg::RS256,
            AlgArg::EdDSA => Alg::EdDSA,
        }
    }
}

/// Runs the command line; the return value is the process exit code.
pub fn main(cli: Cli) -> anyhow::Result<i32> {
    match cli.command.as_ref().unwrap_or(&Command::Run) {
        Command::Run => {
            let path = need_config(&cli)?;
            let Some(cfg) = load_config(&path) else {
                return Ok(1);
            };
            let opts = RunOptions {
                config_file: path.clone(),
                upgrade: cli.upgrade,
                daemon: cli.daemon,
                pid_file: cli.pid_file.clone(),
                upgrade_sock: cli.upgrade_sock.clone(),
            };
            crate::server::run(cfg, opts)?;
            Ok(0)
        }
        Command::CheckConfig => {
            let path = need_config(&cli)?;
            Ok(check_config(&path))
        }
        Command::HashPassword => {
            let password = read_stdin_line()?;
            if password.is_empty() {
                anyhow::bail!("empty password on stdin");
            }
            println!("{}", crate::login::password::hash(&password)?);
            Ok(0)
        }
        Command::HashSecret => {
            let secret = read_stdin_line()?;
            if secret.is_empty() {
                anyhow::bail!("empty secret on stdin");
            }
            println!("{}", crate::oidc::client_auth::hash_secret(&secret));
            Ok(0)
        }
        Command::Ldap {
            command: LdapCommand::Test { user },
        } => {
            let path = need_config(&cli)?;
            ldap_test(&path, user)
        }
        Command::Mfa { command } => {
            let path = need_config(&cli)?;
            match open_storage(&path)? {
                Some((rt, storage)) => rt.block_on(mfa(&storage, command)),
                None => Ok(1),
            }
        }
        Command::AppPasswords { command } => {
            let path = need_config(&cli)?;
            match open_storage(&path)? {
                Some((rt, storage)) => rt.block_on(app_passwords(&storage, command)),
                None => Ok(1),
            }
        }
        Command::Sessions { command } => {
            let path = need_config(&cli)?;
            sessions(&path, command)
        }
        Command::GenKey {
            out,
            kind,
            alg,
            force,
        } => gen_key(out, *kind, *alg, *force),
    }
}

/// `authgate sessions list|revoke`, through the running process's admin socket.
fn sessions(path: &Path, command: &SessionsCommand) -> anyhow::Result<i32> {
    use crate::admin::{request, Answer, Command as Admin};
    let Some(cfg) = load_config(path) else {
        return Ok(1);
    };
    let Some(socket) = cfg.server.admin_socket else {
        eprintln!("{}: server.admin_socket is off", path.display());
        return Ok(1);
    };
    let command = match command {
        SessionsCommand::List { user } => Admin::List { user: user.clone() },
        SessionsCommand::Revoke { user, session } => Admin::Revoke {
            user: user.clone(),
            session: session.clone(),
        },
    };
    match request(&socket, &command)? {
        Answer::Sessions(rows) => {
            println!("SESSION\tUSER\tSTARTED\tLAST SEEN\tADDRESS\tCLIENTS");
            for r in rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    r.session,
                    r.user,
                    crate::clock::rfc3339(r.started),
                    crate::clock::rfc3339(r.last_seen),
                    r.address.as_deref().unwrap_or("-"),
                    r.clients.join(",")
                );
            }
            Ok(0)
        }
        Answer::Revoked(n) => {
            println!("ended {n} session(s)");
            Ok(0)
        }
        Answer::Error(e) => {
            eprintln!("authgate: {e}");
            Ok(1)
        }
    }
}

/// The config at `path`; `None` after printing its problems.
fn load_config(path: &Path) -> Option<config::Config> {
    config::load(path)
        .map_err(|e| eprintln!("{}: {e}", path.display()))
        .ok()
}

/// `authgate gen-key`: a signing key, or the storage key.
fn gen_key(out: &Path, kind: KeyKind, alg: AlgArg, force: bool) -> anyhow::Result<i32> {
    match kind {
        KeyKind::Storage => {
            crate::storage::generate_key_file(out, force)
                .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
            eprintln!("wrote a new storage key to {} (mode 0600)", out.display());
        }
        KeyKind::Signing => {
            crate::keys::write_new(out, alg.into(), force)?;
            let alg = Alg::from(alg);
            eprintln!(
                "wrote a new {alg:?} signing key to {} (mode 0600)",
                out.display()
            );
        }
    }
    Ok(0)
}

/// The `[storage]` of the config at `path`, with a runtime to use it on; `None` (after saying
/// why) when there is none. Works while the service runs (SQLite waits on its lock).
fn open_storage(
    path: &Path,
) -> anyhow::Result<Option<(tokio::runtime::Runtime, crate::storage::Storage)>> {
    let Some(cfg) = load_config(path) else {
        return Ok(None);
    };
    let Some(s) = cfg.storage else {
        eprintln!("{}: there is no [storage] table", path.display());
        return Ok(None);
    };
    let key = crate::storage::StorageKey::load(&s.encryption_key_file)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let storage = rt.block_on(crate::storage::Storage::open(&s.url, &key))?;
    Ok(Some((rt, storage)))
}

/// `authgate mfa list|reset`.
async fn mfa(storage: &crate::storage::Storage, command: &MfaCommand) -> anyhow::Result<i32> {
    match command {
        MfaCommand::List => {
            for f in storage.all_factors().await? {
                let used = f
                    .last_used_at
                    .map_or("never".to_string(), |t| t.to_string());
                println!(
                    "{}\t{:?}\t{}\tadded {}\tlast used {used}",
                    f.username, f.kind, f.name, f.created_at
                );
            }
        }
        MfaCommand::Reset { user } => {
            let n = storage.reset(user).await?;
            println!("removed {n} factor(s) and the recovery codes of {user}");
        }
    }
    Ok(0)
}

/// `authgate app-passwords list|revoke`.
async fn app_passwords(
    storage: &crate::storage::Storage,
    command: &AppPasswordCommand,
) -> anyhow::Result<i32> {
    match command {
        AppPasswordCommand::List { user } => {
            for a in storage.app_passwords(user.as_deref()).await? {
                let used = a
                    .last_used_at
                    .map_or("never".to_string(), |t| t.to_string());
                println!(
                    "{}\t{}\t{}\tadded {}\tlast used {used}",
                    a.username, a.id, a.name, a.created_at
                );
            }
        }
        AppPasswordCommand::Revoke { user, id } => {
            let n = storage.revoke_app_passwords(user, id.as_deref()).await?;
            println!("revoked {n} app password(s) of {user}");
        }
    }
    Ok(0)
}

/// `authgate ldap test`: what an operator runs first when directory sign-ins fail.
fn ldap_test(path: &Path, user: &str) -> anyhow::Result<i32> {
    let Some(cfg) = load_config(path) else {
        return Ok(1);
    };
    let Some(ldap) = cfg.ldap else {
        eprintln!("{}: there is no [ldap] table", path.display());
        return Ok(1);
    };
    eprint!("password for {user}: ");
    let password = read_stdin_line()?;
    println!(
        "directory: {}",
        ldap.urls
            .iter()
            .map(|u| u.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "search: {} under {}",
        ldap.user_filter
            .replace("{username}", &ldap3::ldap_escape(user)),
        ldap.base_dn
    );
    let clock: std::sync::Arc<dyn crate::clock::Clock> =
        std::sync::Arc::new(crate::clock::SystemClock);
    let dir = crate::directory::ldap::LdapDirectory::new(ldap, clock, None)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let Some(found) = dir.lookup(user).await? else {
            println!("search: no single entry matches: a sign-in would fail");
            return Ok(1);
        };
        println!("search: found {}", found.dn);
        let u = &found.user;
        println!(
            "user: {} email={} name={} disabled={}",
            u.username,
            u.email.as_deref().unwrap_or("-"),
            u.name.as_deref().unwrap_or("-"),
            u.disabled
        );
        println!(
            "groups: {}",
            if u.groups.is_empty() {
                "(none)".to_string()
            } else {
                u.groups.join(", ")
            }
        );
        let ok = dir.bind(&found.dn, &password).await?;
        println!(
            "bind as {}: {}",
            found.dn,
            if ok { "ok" } else { "invalid credentials" }
        );
        let name = crate::login::regulation::canonical_name(&u.username);
        let shadowed = cfg
            .users
            .keys()
            .any(|k| crate::login::regulation::canonical_name(k) == name);
        if shadowed {
            println!("refused: a local user has this name; the directory user cannot sign in");
        }
        Ok(if ok && !u.disabled && !shadowed { 0 } else { 1 })
    })
}

fn need_config(cli: &Cli) -> anyhow::Result<PathBuf> {
    cli.config
        .clone()
        .ok_or_else(|| anyhow::anyhow!("--config FILE is required"))
}

fn check_config(path: &Path) -> i32 {
    let checked = config::load(path).map_err(|e| e.problems).and_then(|cfg| {
        // A key the config asks authgate to create at startup is not created by a check.
        let will_create = cfg.tokens.create_key_if_missing && !cfg.tokens.signing_key_file.exists();
        if will_create {
            return Ok(cfg);
        }
        match crate::keys::KeySet::load(&cfg.tokens) {
            Ok(_) => Ok(cfg),
            Err(e) => Err(vec![config::Problem {
                path: "tokens".into(),
                message: e.to_string(),
            }]),
        }
    });
    match checked {
        Ok(cfg) => {
            for warning in warnings(&cfg) {
                eprintln!("warning: {warning}");
            }
            println!(
                "{}: ok ({} route(s), {} user(s), {} client(s), listening on {})",
                path.display(),
                cfg.routes.len(),
                cfg.users.len(),
                cfg.clients.len(),
                cfg.server
                    .listen
                    .iter()
                    .chain(&cfg.server.tls_listen)
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            0
        }
        Err(problems) => {
            for p in &problems {
                println!("{p}");
            }
            eprintln!("{}: {} problem(s)", path.display(), problems.len());
            1
        }
    }
}

/// Reads stdin and drops one trailing newline (so `echo secret |` and `printf %s secret |` agree).
fn read_stdin_line() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    Ok(s)
}

/// What is valid but worth a second look, with its key path.
fn warnings(cfg: &crate::config::Config) -> Vec<String> {
    let mut w = Vec::new();
    if cfg.ldap.is_some() && !cfg.users.is_empty() {
        w.push(format!(
            "users and [ldap]: a directory user named like a local user (in any case) is refused ({} local user(s))",
            cfg.users.len()
        ));
    }
    for p in &cfg.upstream_providers {
        if p.trust_email {
            w.push(format!(
                "upstream_providers({}).trust_email: emails this provider has not verified are used as if it had",
                p.id
            ));
        }
        if p.username_claim.as_deref() == Some("email") && p.username_prefix.is_empty() {
            w.push(format!(
                "upstream_providers({}).username_prefix: with username_claim = \"email\" and no prefix, this provider's users share one namespace with every other source",
                p.id
            ));
        }
    }
    w
}
