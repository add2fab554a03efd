//! Upstream names are resolved again as their DNS answers expire: a real `dnsmasq` on loopback
//! answers for the upstream's name (which the system does not know, so authgate starts with it
//! unresolved and waiting); when its record moves, traffic follows; when the name stops
//! resolving, that upstream takes no requests. (Its own test binary: the resolver it points
//! authgate at is process-wide.)

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

struct Dnsmasq {
    child: Child,
    port: u16,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dnsmasq {
    /// dnsmasq answering only from `hosts`, with a one-second TTL, once it listens (its pid
    /// file is written after its socket is bound). A port taken in the meantime is another try.
    fn start(dir: &Path, hosts: &Path) -> Dnsmasq {
        for _ in 0..3 {
            if let Some(d) = Self::try_start(dir, hosts) {
                return d;
            }
        }
        panic!(
            "dnsmasq did not start (see {})",
            dir.join("dnsmasq.log").display()
        );
    }

    fn try_start(dir: &Path, hosts: &Path) -> Option<Dnsmasq> {
        let port = free_udp_port();
        let pid_file = dir.join("dnsmasq.pid");
        let _ = std::fs::remove_file(&pid_file);
        let log = std::fs::File::create(dir.join("dnsmasq.log")).unwrap();
        let mut child = Command::new("/usr/sbin/dnsmasq")
            .args([
                "-k",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--local-ttl=1",
            ])
            .args([
                "--listen-address=127.0.0.1",
                "--user=root",
                "--conf-file=/dev/null",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--addn-hosts={}", hosts.display()))
            .arg(format!("--pid-file={}", pid_file.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("dnsmasq is required (apt-get install dnsmasq-base); scripts/test installs it");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return None;
            }
            if pid_file.exists() {
                return Some(Dnsmasq { child, port });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Re-reads the hosts file.
    fn reload(&self) {
        let ok = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Which upstream answers now (`None` for anything but a 200 from one).
async fn answering(http: &reqwest::Client, gw: &Gateway) -> Option<String> {
    let r = http
        .get(format!("http://app.test:{}/", gw.port))
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    let echo: Echo = r.json().await.ok()?;
    Some(echo.name)
}

/// Asks until `want` answers, for at most 20 s (the resolver's cache and the balancer's
/// one-second refresh decide when).
async fn until(http: &reqwest::Client, gw: &Gateway, want: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = answering(http, gw).await;
        if now.as_deref() == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still {now:?}, waiting for {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_name_is_resolved_again_and_a_name_that_stops_resolving_takes_no_requests() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 app-backend.test\n").unwrap();
    let dns = Dnsmasq::start(dir.path(), &hosts);
    let a = Upstream::start("a").await;
    let port = a.addr.port();
    let second = SocketAddr::from(([127, 0, 0, 2], port));
    let b = Upstream::start_on("b", tokio::net::TcpListener::bind(second).await.unwrap()).await;
    // Only this test binary resolves through the test's name server.
    std::env::set_var("AUTHGATE_TEST_RESOLVER", format!("127.0.0.1:{}", dns.port));
    let gw = Gateway::start(&format!(
        "[[routes]]\nhost = \"app.test\"\nauth = \"public\"\nupstreams = [\"http://app-backend.test:{port}\"]\n"
    ));
    let http = client(&gw);
    until(&http, &gw, Some("a")).await;

    std::fs::write(&hosts, "127.0.0.2 app-backend.test\n").unwrap();
    dns.reload();
    until(&http, &gw, Some("b")).await;

    std::fs::write(&hosts, "").unwrap();
    dns.reload();
    until(&http, &gw, None).await;
    let r = http
        .get(format!("http://app.test:{}/", gw.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert!(
        gw.stderr().contains("the name does not resolve"),
        "{}",
        gw.stderr()
    );
    drop((a, b));
}
