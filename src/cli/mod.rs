//! The command line of the contract: run, check-config, hash-password, hash-secret, gen-key.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::config;

mod check;
mod factors;
mod import;
mod keys;
mod ldap;
mod policy;
mod sessions;
mod users;

use crate::keys::Alg;
use crate::server::RunOptions;
use check::check_config;
use factors::{app_passwords, mfa, open_storage};
use import::import;
use keys::gen_key;
use ldap::ldap_test;
use policy::policy_check;
pub use policy::USAGE;
use sessions::sessions;
use users::{audit_tail, users};

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
    /// authgate's own users, kept in `[storage]`.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The audit trail of `[audit] file`.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The `[ldap]` directory, step by step.
    Ldap {
        #[command(subcommand)]
        command: LdapCommand,
    },
    /// Access rules, without sending anything.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Write another gateway's configuration as authgate's (on stdout); what cannot be
    /// translated is listed on stderr. `--config` names the other gateway's file.
    Import {
        #[command(subcommand)]
        from: ImportCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// The decision for one request: `allow` (exit 0), `deny` (1), `sign-in` or `second-factor`
    /// (2), `not-found` (3), with the rule that decided and why earlier rules did not match.
    Check(PolicyCheck),
}

#[derive(clap::Args, Debug)]
pub struct PolicyCheck {
    /// The URL the client asks for.
    #[arg(long)]
    pub url: String,
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// The client's address (as the gateway sees it after trusted proxies).
    #[arg(long)]
    pub ip: Option<String>,
    /// Signed in as this user (groups from the configured directory).
    #[arg(long, conflicts_with = "client")]
    pub user: Option<String>,
    /// A bearer token of this client acting for itself.
    #[arg(long)]
    pub client: Option<String>,
    /// The user has used a second factor.
    #[arg(long)]
    pub second_factor: bool,
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Authelia: `--users users_database.yml` and, optionally, `--config configuration.yml`.
    Authelia {
        #[arg(long, value_name = "FILE")]
        users: PathBuf,
        /// Where the written configuration expects its signing and storage keys.
        #[arg(long, value_name = "DIR", default_value = "/etc/authgate/keys")]
        key_dir: PathBuf,
    },
    /// oauth2-proxy: `--config oauth2-proxy.cfg`.
    Oauth2Proxy {
        /// Where the written configuration expects its keys and the client secret.
        #[arg(long, value_name = "DIR", default_value = "/etc/authgate/keys")]
        key_dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a user without a password; with `--invite`, print an invitation link (and mail it
    /// when `[smtp]` is set).
    Add {
        #[arg(long, value_name = "NAME")]
        user: String,
        #[arg(long, value_name = "ADDRESS")]
        email: String,
        /// The name shown to applications.
        #[arg(long)]
        name: Option<String>,
        /// A group (repeat for several).
        #[arg(long, value_name = "GROUP")]
        group: Vec<String>,
        #[arg(long)]
        invite: bool,
    },
    /// The users: name, email, state (invited, active, disabled), groups.
    List {
        /// Only names or emails containing this.
        #[arg(long)]
        search: Option<String>,
    },
    /// Refuse the user's sign-ins and end their sessions within a second.
    Disable {
        #[arg(long, value_name = "NAME")]
        user: String,
    },
    Enable {
        #[arg(long, value_name = "NAME")]
        user: String,
    },
    /// Replace the user's groups (none: no `--group`).
    SetGroups {
        #[arg(long, value_name = "NAME")]
        user: String,
        #[arg(long, value_name = "GROUP")]
        group: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// The last lines of the trail.
    Tail {
        /// Only the events of this user (as actor or subject).
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        #[arg(long, default_value_t = 50)]
        lines: usize,
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
        Command::Run => run(&cli),
        Command::CheckConfig => Ok(check_config(&need_config(&cli)?)),
        Command::HashPassword => hashed("password", |p| Ok(crate::login::password::hash(p)?)),
        Command::HashSecret => hashed("secret", |s| Ok(crate::oidc::client_auth::hash_secret(s))),
        Command::Ldap {
            command: LdapCommand::Test { user },
        } => ldap_test(&need_config(&cli)?, user),
        Command::Mfa { command } => {
            with_storage(&cli, |rt, storage| rt.block_on(mfa(storage, command)))
        }
        Command::AppPasswords { command } => with_storage(&cli, |rt, storage| {
            rt.block_on(app_passwords(storage, command))
        }),
        Command::Sessions { command } => sessions(&need_config(&cli)?, command),
        Command::Users { command } => users(&need_config(&cli)?, command),
        Command::Audit {
            command: AuditCommand::Tail { user, lines },
        } => audit_tail(&need_config(&cli)?, user.as_deref(), *lines),
        Command::Import { from } => import(from, cli.config.as_deref()),
        Command::Policy {
            command: PolicyCommand::Check(args),
        } => match cli.config.as_deref() {
            Some(path) => policy_check(path, args),
            None => {
                eprintln!("--config FILE is required");
                Ok(USAGE)
            }
        },
        Command::GenKey {
            out,
            kind,
            alg,
            force,
        } => gen_key(out, *kind, *alg, *force),
    }
}

/// `authgate run` (the default): the gateway, until it is told to stop.
fn run(cli: &Cli) -> anyhow::Result<i32> {
    let path = need_config(cli)?;
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

/// `hash-password`, `hash-secret`: the `what` on stdin, printed as `hash` makes it.
fn hashed(what: &str, hash: impl Fn(&str) -> anyhow::Result<String>) -> anyhow::Result<i32> {
    let value = read_stdin_line()?;
    if value.is_empty() {
        anyhow::bail!("empty {what} on stdin");
    }
    println!("{}", hash(&value)?);
    Ok(0)
}

/// `f` on the `[storage]` of the config, with a runtime to use it on (1 without one).
fn with_storage(
    cli: &Cli,
    f: impl FnOnce(&tokio::runtime::Runtime, &crate::storage::Storage) -> anyhow::Result<i32>,
) -> anyhow::Result<i32> {
    match open_storage(&need_config(cli)?)? {
        Some((rt, storage)) => f(&rt, &storage),
        None => Ok(1),
    }
}

/// The config at `path`; `None` after printing its problems.
fn load_config(path: &Path) -> Option<config::Config> {
    config::load(path)
        .map_err(|e| eprintln!("{}: {e}", path.display()))
        .ok()
}

fn need_config(cli: &Cli) -> anyhow::Result<PathBuf> {
    cli.config
        .clone()
        .ok_or_else(|| anyhow::anyhow!("--config FILE is required"))
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
