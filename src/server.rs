//! Builds the Pingora server from a validated config and runs it: the services, the signals
//! (SIGHUP reloads in place; SIGQUIT hands over to a new process; SIGTERM stops), and the
//! session snapshot around them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch, ShutdownWatch};
use pingora::services::background::{background_service, BackgroundService};
use pingora::services::listening::Service;
use tokio::signal::unix::{signal, SignalKind};

use crate::acme::Acme;
use crate::app::live::Live;
use crate::app::snapshot::Snapshots;
use crate::app::{balancer, App, MemoryStores};
use crate::config::Config;
use crate::proxy::Gateway;
use crate::session::Kind;
use crate::tls::terminate::Terminate;

/// Process options that belong to the command line, not the config file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The config file, read again on SIGHUP.
    pub config_file: PathBuf,
    /// Take over the listeners of a running authgate (Pingora's graceful upgrade).
    pub upgrade: bool,
    pub daemon: bool,
    pub pid_file: Option<String>,
    pub upgrade_sock: Option<String>,
}

/// Runs until the process is told to stop.
pub fn run(cfg: Config, opts: RunOptions) -> anyhow::Result<()> {
    // Until the signal loop listens for it, a SIGHUP (an early `systemctl reload`) must not
    // end the process, which is its default action.
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    // SAFETY: as above; SIGUSR1 (log rotation) would end the process too.
    unsafe { libc::signal(libc::SIGUSR1, libc::SIG_IGN) };
    raise_descriptor_limit();
    let mut server = Server::new_with_opt_and_conf(
        Opt {
            upgrade: opts.upgrade,
            daemon: opts.daemon,
            ..Opt::default()
        },
        server_conf(&cfg, &opts),
    );
    // During an upgrade this waits for the old process's listeners, which it sends only once
    // it has written its snapshot.
    server.bootstrap();

    let clock = crate::clock::for_process();
    for warning in crate::config::warnings(&cfg) {
        log::warn!("{warning}");
    }
    let demo_echo = cfg.demo.as_ref().map(|d| d.echo_listen);
    let app = App::start(cfg, Arc::clone(&clock))?;
    if let Some((snapshots, memory)) = snapshots(&app) {
        snapshots.load(memory, clock.now().saturating_mul(1000));
    }
    let live = Arc::new(Live::new(app, opts.config_file.clone()));
    let app = live.load();

    if let Some(addr) = demo_echo {
        let mut echo = Service::new("demo echo".to_string(), crate::echo::Echo);
        echo.add_tcp(&addr.to_string());
        server.add_service(echo);
    }
    add_proxy(&mut server, &live)?;
    add_operations(&mut server, &app, &live);
    server.add_service(background_service(
        "upkeep",
        Upkeep {
            live: Arc::clone(&live),
            upgrading: opts.upgrade,
        },
    ));
    log::info!("authgate listening on {:?}", app.cfg.server.listen);
    drop(app);

    let handed_over = Arc::new(AtomicBool::new(false));
    server.run(RunArgs {
        shutdown_signal: Box::new(Signals {
            live: Arc::clone(&live),
            handed_over: Arc::clone(&handed_over),
        }),
    });
    // Every request has finished: what the store holds now is final.
    let app = live.load();
    if let Some((snapshots, memory)) = snapshots(&app) {
        let now_ms = app.now().saturating_mul(1000);
        if handed_over.load(Ordering::SeqCst) {
            snapshots.write_journal(memory, now_ms);
        } else {
            snapshots.write(memory, now_ms);
        }
    }
    Ok(())
}

/// Each proxied connection holds two descriptors, so a shell's default soft limit (1024) runs
/// out at ~500 clients. Like nginx's `worker_rlimit_nofile` and Go's runtime, the soft limit is
/// raised to the hard limit at start (the systemd unit sets `LimitNOFILE=65536`), and what was
/// obtained is logged.
fn raise_descriptor_limit() {
    use rlimit::Resource;
    match Resource::NOFILE.get() {
        Ok((soft, hard)) if soft < hard => match Resource::NOFILE.set(hard, hard) {
            Ok(()) => log::info!("open descriptors: limit raised from {soft} to {hard}"),
            Err(e) => log::warn!("open descriptors: limit {soft}; raising it to {hard}: {e}"),
        },
        Ok((soft, _)) => log::info!("open descriptors: limit {soft}"),
        Err(e) => log::warn!("open descriptors: cannot read the limit: {e}"),
    }
}

/// The metrics listener and the admin socket, when the configuration asks for them.
fn add_operations(server: &mut Server, app: &App, live: &Arc<Live>) {
    if let Some(addr) = app.cfg.server.metrics_listen {
        let mut metrics = Service::new(
            "metrics".to_string(),
            MetricsApp {
                live: Arc::clone(live),
            },
        );
        metrics.add_tcp(&addr.to_string());
        server.add_service(metrics);
    }
    if let Some(path) = &app.cfg.server.admin_socket {
        server.add_service(background_service(
            "admin socket",
            crate::admin::AdminService {
                live: Arc::clone(live),
                path: path.clone(),
            },
        ));
    }
}

/// The snapshot file of a process that keeps its sessions in memory, and those stores.
fn snapshots(app: &App) -> Option<(Snapshots, &MemoryStores)> {
    Some((Snapshots::of(&app.cfg)?, app.stores.memory.as_ref()?))
}

fn server_conf(cfg: &Config, opts: &RunOptions) -> ServerConf {
    let mut conf = ServerConf {
        threads: cfg.server.threads,
        upstream_keepalive_pool_size: cfg.server.upstream_keepalive,
        daemon: opts.daemon,
        // With systemd Type=forking, start returns only once we serve.
        daemon_wait_for_ready: opts.daemon,
        // One single-threaded runtime per worker thread: no cross-thread wakeups on the hot path.
        work_stealing: false,
        ..ServerConf::default()
    };
    if let Some(p) = &opts.pid_file {
        conf.pid_file = p.clone();
    }
    if let Some(s) = &opts.upgrade_sock {
        conf.upgrade_sock = s.clone();
    }
    // Old process: hand over the listeners, finish what is in flight, then leave.
    conf.grace_period_seconds = Some(1);
    conf.graceful_shutdown_timeout_seconds = Some(10);
    conf
}

/// The process's signals. SIGHUP reloads the configuration in place and carries on (and, like
/// SIGUSR1, reopens the audit file after log rotation); SIGQUIT
/// (an upgrade) first writes the snapshot the new process loads, then starts a journal of what
/// changes until this process has drained; SIGTERM and SIGINT stop.
struct Signals {
    live: Arc<Live>,
    handed_over: Arc<AtomicBool>,
}

#[async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        let (Ok(mut hup), Ok(mut quit), Ok(mut term), Ok(mut int), Ok(mut usr1)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::quit()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::user_defined1()),
        ) else {
            log::error!("cannot listen for signals: stopping");
            return ShutdownSignal::GracefulTerminate;
        };
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    // The audit file is reopened whether or not the new configuration applies.
                    self.live.load().reopen_audit();
                    reload(&self.live).await;
                }
                // Log rotation: the audit file only.
                _ = usr1.recv() => self.live.load().reopen_audit(),
                _ = quit.recv() => {
                    self.hand_over();
                    return ShutdownSignal::GracefulUpgrade;
                }
                _ = term.recv() => return ShutdownSignal::GracefulTerminate,
                _ = int.recv() => return ShutdownSignal::FastShutdown,
            }
        }
    }
}

impl Signals {
    /// Before the listeners go to the new process: the snapshot it will load, and from then on
    /// a journal of changes for it to merge.
    fn hand_over(&self) {
        let app = self.live.load();
        if let Some((snapshots, memory)) = snapshots(&app) {
            Snapshots::start_journal(memory);
            snapshots.write(memory, app.now().saturating_mul(1000));
            self.handed_over.store(true, Ordering::SeqCst);
        }
    }
}

/// SIGHUP: the config file again, applied if valid; every problem is logged otherwise.
async fn reload(live: &Arc<Live>) {
    let reloading = Arc::clone(live);
    match tokio::task::spawn_blocking(move || reloading.reload()).await {
        Ok(Ok(done)) => {
            for what in &done.needs_restart {
                log::warn!("reload: {what} changed and needs a restart; the rest is applied");
            }
            log::info!("reload: configuration applied");
            let app = live.load();
            for user in &done.cut_off {
                match crate::app::revocation::end_user(&app, user).await {
                    Ok(n) => {
                        log::warn!("reload: {user} is disabled or removed: ended {n} session(s)")
                    }
                    Err(e) => log::error!("reload: cannot end the sessions of {user}: {e}"),
                }
            }
        }
        Ok(Err(e)) => log::error!("reload refused, still serving the previous configuration: {e}"),
        Err(e) => log::error!("reload failed: {e}"),
    }
}

/// Work of the live configuration that runs beside requests: its upstream health checks
/// (restarted when a reload replaces them) and, after an upgrade, merging the old process's
/// journal once it has written it.
struct Upkeep {
    live: Arc<Live>,
    upgrading: bool,
}

#[async_trait]
impl BackgroundService for Upkeep {
    async fn start(&self, shutdown: ShutdownWatch) {
        if self.upgrading {
            tokio::spawn(merge_journal(Arc::clone(&self.live)));
        }
        let mut changes = self.live.changes();
        loop {
            let app = self.live.load();
            tokio::select! {
                _ = balancer::checks(&app.routes, shutdown.clone()) => return,
                changed = changes.changed() => if changed.is_err() { return },
            }
        }
    }
}

/// Waits (up to a minute) for the journal of the process this one took over from.
async fn merge_journal(live: Arc<Live>) {
    for _ in 0..240 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let app = live.load();
        let Some((snapshots, memory)) = snapshots(&app) else {
            return;
        };
        if snapshots.merge_journal(memory, app.now().saturating_mul(1000)) {
            return;
        }
    }
}

/// The proxy on the plain listeners, and on the TLS listeners behind `Certificates`.
fn add_proxy(server: &mut Server, live: &Arc<Live>) -> anyhow::Result<()> {
    let app = live.load();
    let s = &app.cfg.server;
    let certs = if s.tls_listen.is_empty() {
        None
    } else {
        let manual = match (&s.tls_cert, &s.tls_key) {
            (Some(cert), Some(key)) => Some(crate::tls::Served::from_files(cert, key)?),
            _ => None,
        };
        Some(Arc::new(crate::tls::Certificates::new(manual)))
    };
    let acme = match (&s.acme, &certs) {
        (Some(cfg), Some(certs)) => {
            let store = app.factors.as_ref().map(|f| Arc::clone(&f.store));
            let acme = Acme::new(
                cfg.clone(),
                Arc::clone(certs),
                store,
                Arc::clone(&app.clock),
            );
            server.add_service(background_service("acme", AcmeService(Arc::clone(&acme))));
            Some(acme)
        }
        _ => None,
    };
    let gateway = || Gateway {
        live: Arc::clone(live),
        acme: acme.clone(),
    };
    let mut plain = Service::new(
        "authgate".to_string(),
        http_proxy(&server.configuration, gateway()),
    );
    for addr in &s.listen {
        plain.add_tcp(&addr.to_string());
    }
    server.add_service(plain);
    if let Some(certs) = certs {
        let tls_app = Terminate::new(
            http_proxy(&server.configuration, gateway()),
            certs.server_config()?,
        );
        let mut tls = Service::new("authgate tls".to_string(), tls_app);
        for addr in &s.tls_listen {
            tls.add_tcp(&addr.to_string());
        }
        server.add_service(tls);
    }
    Ok(())
}

/// One proxy application. Plain listeners also take HTTP/2 with prior knowledge (gRPC
/// without TLS); on TLS, h2 is offered by ALPN. HTTP/1.1 works on both.
fn http_proxy(conf: &Arc<ServerConf>, gateway: Gateway) -> pingora::proxy::HttpProxy<Gateway> {
    let mut proxy = pingora::proxy::http_proxy(conf, gateway);
    let mut options = pingora::apps::HttpServerOptions::default();
    options.h2c = true;
    proxy.server_options = Some(options);
    proxy
}

/// Keeps the ACME certificates fresh.
struct AcmeService(Arc<Acme>);

#[async_trait]
impl BackgroundService for AcmeService {
    async fn start(&self, shutdown: ShutdownWatch) {
        Arc::clone(&self.0).run(shutdown).await;
    }
}

/// `GET /metrics` on the metrics listener; refreshes the session gauge from the store first.
struct MetricsApp {
    live: Arc<Live>,
}

#[async_trait]
impl ServeHttp for MetricsApp {
    async fn response(&self, _session: &mut ServerSession) -> http::Response<Vec<u8>> {
        if let Ok(n) = self.live.load().stores.records.count(Kind::Session).await {
            crate::metrics::sessions(n);
        }
        let (body, content_type) = crate::metrics::render();
        http::Response::builder()
            .status(200)
            .header("Content-Type", content_type)
            .header("Content-Length", body.len())
            .body(body)
            .unwrap_or_default()
    }
}
