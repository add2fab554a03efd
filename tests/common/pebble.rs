//! Debian's `pebble`, the ACME test server Let's Encrypt publishes, on loopback: its own HTTPS
//! under a test CA, its validation authority pointed at authgate's listeners, and
//! `pebble-challtestsrv` as its DNS server (every name is 127.0.0.1).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::free_port;

pub struct Pebble {
    pebble: Child,
    dns: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub management: u16,
}

/// Where pebble's validation authority connects, and how long its certificates last.
pub struct Targets {
    pub http_port: u16,
    pub tls_port: u16,
    pub validity_seconds: u64,
}

impl Pebble {
    pub fn start(targets: &Targets) -> Pebble {
        let dir = tempfile::tempdir().unwrap();
        super::ldap::make_certs(dir.path());
        let (port, management, dns_port) = (free_port(), free_port(), free_port());
        let dns = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns_port}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{}", free_port())])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("dns.log")).unwrap(),
            ))
            .spawn()
            .expect("pebble-challtestsrv (apt-get install pebble; scripts/test installs it)");
        super::wait_for_port(dns_port, "pebble-challtestsrv", || {
            std::fs::read_to_string(dir.path().join("dns.log")).unwrap_or_default()
        });
        let config = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{port}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.path().join("server.pem"),
            "privateKey": dir.path().join("server.key"),
            "httpPort": targets.http_port,
            "tlsPort": targets.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": targets.validity_seconds,
        }});
        std::fs::write(dir.path().join("pebble.json"), config.to_string()).unwrap();
        let mut pebble = Pebble {
            pebble: Command::new("true").spawn().unwrap(),
            dns,
            dir,
            port,
            management,
        };
        pebble.pebble = pebble.spawn(dns_port);
        pebble
    }

    fn spawn(&self, dns_port: u16) -> Child {
        let log = std::fs::File::create(self.dir.path().join("pebble.log")).unwrap();
        let child = Command::new("pebble")
            .arg("-config")
            .arg(self.dir.path().join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("pebble (apt-get install pebble; scripts/test installs it)");
        super::wait_for_port(self.port, "pebble", || self.log());
        super::wait_for_port(self.management, "pebble management", || self.log());
        child
    }

    /// The ACME directory URL.
    pub fn directory(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.port)
    }

    /// The CA of pebble's own HTTPS (authgate's `ca_file`).
    pub fn https_ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// The root pebble issues under (it makes a new one at every start).
    pub async fn issuing_root(&self) -> Vec<u8> {
        let ca = std::fs::read(self.https_ca()).unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .build()
            .unwrap();
        let url = format!("https://127.0.0.1:{}/roots/0", self.management);
        let r = client.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap().to_vec()
    }

    pub fn stop(&mut self) {
        let _ = self.pebble.kill();
        let _ = self.pebble.wait();
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
        let _ = self.dns.kill();
        let _ = self.dns.wait();
    }
}

/// One request over a new TLS connection to `addr` for `name`, verified against `root`:
/// the status code and the leaf certificate served, or why the handshake or request failed.
pub fn https_get(
    addr: SocketAddr,
    name: &str,
    path: &str,
    root: &[u8],
) -> Result<(u16, String, Vec<u8>), String> {
    use rustls::pki_types::pem::PemObject;
    use std::io::{Read, Write};
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(root) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), server).map_err(|e| e.to_string())?;
    let tcp = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let req = format!("GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    match tls.read_to_end(&mut response) {
        Ok(_) => {}
        // Some servers close without close_notify after Connection: close.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    let leaf = tls.conn.peer_certificates().ok_or("no certificate")?[0].to_vec();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line: {text:?}"))?;
    Ok((status, text, leaf))
}

/// Waits (up to 60 s) until `name` is served a certificate that verifies against `root`.
pub fn wait_for_certificate(
    addr: SocketAddr,
    name: &str,
    root: &[u8],
    log: impl Fn() -> String,
) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match https_get(addr, name, "/healthz", root) {
            Ok((_, _, leaf)) => return leaf,
            Err(e) if Instant::now() > deadline => {
                panic!("no certificate for {name}: {e}\n{}", log())
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A TCP load balancer on a fresh loopback port that hands connections to `targets` in turn
/// (what sits in front of several instances). It lives as long as the test process.
pub fn round_robin(targets: Vec<SocketAddr>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (i, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { continue };
            let Ok(upstream) = std::net::TcpStream::connect(targets[i % targets.len()]) else {
                continue;
            };
            let pipe = |mut from: std::net::TcpStream, mut to: std::net::TcpStream| {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            };
            pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
            pipe(upstream, client);
        }
    });
    port
}
