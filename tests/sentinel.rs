//! Redis Sentinel with real processes: a master, a replica and three sentinels
//! (`redis-server --sentinel`, `down-after-milliseconds 1000`). The master is killed; during the
//! failover protected routes fail closed with 503, and within 20 s the session made before it
//! works again on the promoted replica and a new sign-in succeeds, without a restart.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::oidc::*;
use common::*;

/// A `redis-server` process with `args`, killed on drop.
struct Process(Child);

impl Process {
    fn start(args: &[String], port: u16) -> Process {
        let child = Command::new("redis-server")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test installs it)");
        wait_for_port(port, "redis-server", String::new);
        Process(child)
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn redis_args(port: u16, dir: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A sentinel on `port` watching the master on `master` as "authgate" (quorum 2).
fn sentinel(port: u16, master: u16, dir: &std::path::Path) -> Process {
    let conf = dir.join(format!("sentinel-{port}.conf"));
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor authgate 127.0.0.1 {master} 2\nsentinel down-after-milliseconds authgate 1000\nsentinel failover-timeout authgate 5000\nsentinel parallel-syncs authgate 1\n",
            dir.display()
        ),
    )
    .unwrap();
    Process::start(&[conf.display().to_string(), "--sentinel".into()], port)
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn sentinel_failover_fails_closed_then_resumes_with_sessions_within_20s() {
    let dir = tempfile::tempdir().unwrap();
    let (mport, rport) = (free_port(), free_port());
    let mut master = Process::start(&redis_args(mport, dir.path(), &[]), mport);
    let replica_dir = tempfile::tempdir().unwrap();
    let _replica = Process::start(
        &redis_args(
            rport,
            replica_dir.path(),
            &["--replicaof", "127.0.0.1", &mport.to_string()],
        ),
        rport,
    );
    let sports = [free_port(), free_port(), free_port()];
    let _sentinels: Vec<Process> = sports
        .iter()
        .map(|p| sentinel(*p, mport, dir.path()))
        .collect();

    let up = Upstream::start("app").await;
    let sentinels = sports
        .iter()
        .map(|p| format!("\"127.0.0.1:{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let gw = provider(&format!(
        "[session]\nstore = \"redis\"\nredis_sentinels = [{sentinels}]\nredis_master_name = \"authgate\"\n[[routes]]\nhost = \"app.test\"\nupstreams = [\"{}\"]\n",
        up.addr
    ));
    let http = browser(&gw);
    let app = format!("http://app.test:{}/", gw.port);
    let (_, r) = browse(&http, &gw, &app, "alice", ALICE_PW).await;
    assert_eq!(r.status(), 200);
    let ready = gw.json("/readyz").await;
    assert_eq!(ready["redis_master"], format!("127.0.0.1:{mport}"));
    // The session has reached the replica before the master dies.
    assert_eq!(redis_cli(mport, &["WAIT", "1", "5000"]), "1");

    master.kill();
    let killed = Instant::now();
    let mut statuses = std::collections::BTreeMap::new();
    loop {
        let r = http
            .get(&app)
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        *statuses.entry(r.status().as_u16()).or_insert(0) += 1;
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "no service 20 s after the master died: {statuses:?}\n{}",
            gw.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = killed.elapsed();
    eprintln!("failover: service back after {took:?}; answers meanwhile: {statuses:?}");
    assert!(
        statuses.keys().all(|s| *s == 503),
        "only 503 while there is no master: {statuses:?}"
    );
    let e: Echo = http.get(&app).send().await.unwrap().json().await.unwrap();
    assert_eq!(e.header("x-forwarded-user"), Some("alice"));
    signed_in_as(&gw, "bob", BOB_PW).await;
    let ready = gw.json("/readyz").await;
    assert_eq!(ready["redis_master"], format!("127.0.0.1:{rport}"));
}
