//! The live configuration: the `App` requests use, swapped whole by a reload (SIGHUP). A
//! request holds the `App` it started with until it ends; the stores, the clock and the
//! password workers pass from one configuration to the next, so nobody is signed out.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use super::{App, StartError};
use crate::config::{self, Config, ConfigError};

pub struct Live {
    current: ArcSwap<App>,
    /// The file a reload reads.
    config_file: PathBuf,
    /// Counts configurations, so that tasks tied to one (health checks) can follow.
    generation: watch::Sender<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Start(#[from] StartError),
}

/// What a reload applied.
#[derive(Debug, Default)]
pub struct Reloaded {
    /// Settings that changed but take effect only after a restart (they stayed as they were).
    pub needs_restart: Vec<&'static str>,
    /// Users the new configuration disables or removes, whose sessions must end now.
    pub cut_off: Vec<String>,
}

impl Live {
    pub fn new(app: App, config_file: PathBuf) -> Live {
        Live {
            current: ArcSwap::from_pointee(app),
            config_file,
            generation: watch::channel(0).0,
        }
    }

    /// The configuration a new request uses.
    pub fn load(&self) -> Arc<App> {
        self.current.load_full()
    }

    /// Told each time a reload replaces the configuration.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Reads the config file again and, if it is valid, makes it the live configuration.
    /// Blocking (it reads files and may prepare the database): call it off the async workers.
    pub fn reload(&self) -> Result<Reloaded, ReloadError> {
        let result = self.rebuild();
        crate::metrics::config_reload(if result.is_ok() { "applied" } else { "refused" });
        result
    }

    fn rebuild(&self) -> Result<Reloaded, ReloadError> {
        let cfg = config::load(&self.config_file)?;
        let old = self.load();
        let needs_restart = needs_restart(&old.cfg, &cfg);
        let cut_off = old
            .cfg
            .users
            .values()
            .filter(|u| !u.disabled)
            .filter(|u| cfg.users.get(&u.username).is_none_or(|n| n.disabled))
            .map(|u| u.username.clone())
            .collect();
        // The stores (and their sessions) stay as they are, even if their settings changed:
        // those need a restart.
        let app = App::new(cfg, old.kept())?;
        self.current.store(Arc::new(app));
        self.generation.send_modify(|g| *g += 1);
        Ok(Reloaded {
            needs_restart,
            cut_off,
        })
    }
}

/// The settings of `new` that differ from `old` and need new sockets, threads or stores.
pub fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let (a, b) = (&old.server, &new.server);
    let (sa, sb) = (&old.session, &new.session);
    let checks = [
        (a.listen != b.listen, "server.listen"),
        (a.tls_listen != b.tls_listen, "server.tls_listen"),
        (
            a.tls_cert != b.tls_cert || a.tls_key != b.tls_key,
            "server.tls_cert",
        ),
        (
            a.metrics_listen != b.metrics_listen,
            "server.metrics_listen",
        ),
        (a.threads != b.threads, "server.threads"),
        (
            a.upstream_keepalive != b.upstream_keepalive,
            "server.upstream_keepalive",
        ),
        (a.acme != b.acme, "server.acme"),
        (a.admin_socket != b.admin_socket, "server.admin_socket"),
        (
            sa.store != sb.store
                || sa.redis != sb.redis
                || sa.key_prefix != sb.key_prefix
                || sa.max_entries != sb.max_entries,
            "session store",
        ),
        (
            old.demo.as_ref().map(|d| d.echo_listen) != new.demo.as_ref().map(|d| d.echo_listen),
            "demo.echo_listen",
        ),
    ];
    checks
        .into_iter()
        .filter_map(|(changed, what)| changed.then_some(what))
        .collect()
}
