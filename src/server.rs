//! Builds the Pingora server from a validated config and runs it.

use std::sync::Arc;

use async_trait::async_trait;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::Server;
use pingora::services::listening::Service;

use crate::app::{upstream, App};
use crate::config::Config;
use crate::proxy::Gateway;
use crate::session::Kind;

/// Process options that belong to the command line, not the config file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Take over the listeners of a running authgate (Pingora's graceful upgrade).
    pub upgrade: bool,
    pub daemon: bool,
    pub pid_file: Option<String>,
    pub upgrade_sock: Option<String>,
}

/// Runs until the process is told to stop.
pub fn run(cfg: Config, opts: RunOptions) -> anyhow::Result<()> {
    let mut conf = ServerConf {
        threads: cfg.server.threads,
        daemon: opts.daemon,
        // With systemd Type=forking, start and reload return only once we serve.
        daemon_wait_for_ready: opts.daemon,
        // One single-threaded runtime per worker thread: no cross-thread wakeups on the hot path.
        work_stealing: false,
        ..ServerConf::default()
    };
    if let Some(p) = opts.pid_file {
        conf.pid_file = p;
    }
    if let Some(s) = opts.upgrade_sock {
        conf.upgrade_sock = s;
    }
    // Old process: hand over the listeners, finish what is in flight, then leave.
    conf.grace_period_seconds = Some(1);
    conf.graceful_shutdown_timeout_seconds = Some(10);
    let opt = Opt {
        upgrade: opts.upgrade,
        daemon: opts.daemon,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();

    let mut balancers = Vec::with_capacity(cfg.routes.len());
    for route in &cfg.routes {
        let (balancer, health) = upstream::build(route);
        balancers.push(balancer);
        if let Some(service) = health {
            server.add_service(service);
        }
    }
    if let Some(demo) = &cfg.demo {
        let mut echo = Service::new("demo echo".to_string(), crate::echo::Echo);
        echo.add_tcp(&demo.echo_listen.to_string());
        server.add_service(echo);
    }

    let app = Arc::new(App::new(cfg, balancers, crate::clock::for_process())?);
    let proxy = proxy_service(&server, &app)?;
    if let Some(addr) = app.cfg.server.metrics_listen {
        let mut metrics = Service::new(
            "metrics".to_string(),
            MetricsApp {
                app: Arc::clone(&app),
            },
        );
        metrics.add_tcp(&addr.to_string());
        server.add_service(metrics);
    }
    server.add_service(proxy);
    log::info!("authgate listening on {:?}", app.cfg.server.listen);
    server.run_forever()
}

/// The proxy service on every plain and TLS listener of the configuration.
fn proxy_service(
    server: &Server,
    app: &Arc<App>,
) -> anyhow::Result<Service<pingora::proxy::HttpProxy<Gateway>>> {
    let mut proxy = pingora::proxy::http_proxy_service_with_name(
        &server.configuration,
        Gateway {
            app: Arc::clone(app),
        },
        "authgate",
    );
    let s = &app.cfg.server;
    for addr in &s.listen {
        proxy.add_tcp(&addr.to_string());
    }
    if let (Some(cert), Some(key)) = (&s.tls_cert, &s.tls_key) {
        let (cert, key) = (cert.to_string_lossy(), key.to_string_lossy());
        for addr in &s.tls_listen {
            proxy.add_tls(&addr.to_string(), &cert, &key)?;
        }
    }
    Ok(proxy)
}

/// `GET /metrics` on the metrics listener; refreshes the session gauge from the store first.
struct MetricsApp {
    app: Arc<App>,
}

#[async_trait]
impl ServeHttp for MetricsApp {
    async fn response(&self, _session: &mut ServerSession) -> http::Response<Vec<u8>> {
        if let Ok(n) = self.app.store.count(Kind::Session).await {
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
