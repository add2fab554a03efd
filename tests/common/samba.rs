//! A real Active Directory: a Samba AD domain controller provisioned into a temp dir
//! (`samba-tool domain provision`, seconds), with a generated CA and a certificate for
//! 127.0.0.1 (Samba's own has no subjectAltName, which rustls refuses). It binds the fixed
//! ports 127.0.0.1:389 and 636, so one test at a time may run one.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::ldap::{make_certs, run};
use super::wait_for_port;

pub const ADMIN_PW: &str = "Admin-pass-1";
pub const BASE: &str = "DC=corp,DC=test";

/// A running Samba AD DC, stopped on drop.
pub struct SambaDc {
    pub dir: tempfile::TempDir,
    child: Child,
}

impl SambaDc {
    pub fn start() -> SambaDc {
        assert!(
            std::net::TcpStream::connect("127.0.0.1:636").is_err(),
            "127.0.0.1:636 is taken: another domain controller is still running"
        );
        let dir = tempfile::tempdir().unwrap();
        make_certs(dir.path());
        // Samba uses a key only when nobody else can read it.
        let key = dir.path().join("server.key");
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let p = |f: &str| dir.path().join(f).display().to_string();
        let tls = |k: &str, f: &str| format!("--option=tls {k}={}", p(f));
        run(Command::new("samba-tool")
            .args(["domain", "provision", "--realm=CORP.TEST", "--domain=CORP"])
            .args(["--server-role=dc", "--dns-backend=NONE", "--use-rfc2307"])
            .arg(format!("--adminpass={ADMIN_PW}"))
            .arg(format!("--targetdir={}", p("dc")))
            .args(["--host-ip=127.0.0.1", "--option=interfaces=lo"])
            .args([
                "--option=bind interfaces only=yes",
                "--option=tls enabled=yes",
            ])
            .args([
                tls("keyfile", "server.key"),
                tls("certfile", "server.pem"),
                tls("cafile", "ca.pem"),
            ]));
        let log = dir.path().join("samba.log");
        // In a process group of its own: samba forks workers, and all of them go at the end.
        let child = Command::new("/usr/sbin/samba")
            .process_group(0)
            .args(["-i", "-s"])
            .arg(p("dc/etc/smb.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .expect("samba is required (apt-get install samba-ad-dc); scripts/test installs it");
        wait_for_port(636, "samba", || {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
        SambaDc { dir, child }
    }

    /// `samba-tool ARGS` against this domain controller.
    pub fn tool(&self, args: &[&str]) {
        run(Command::new("samba-tool")
            .args(args)
            .arg("-s")
            .arg(self.dir.path().join("dc/etc/smb.conf")));
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The `[ldap]` table for this directory, the way an AD deployment writes it.
    pub fn config(&self, extra: &str) -> String {
        let pw = self.dir.path().join("admin-password");
        std::fs::write(&pw, format!("{ADMIN_PW}\n")).unwrap();
        format!(
            "[ldap]\nurl = \"ldaps://127.0.0.1:636\"\nca_file = \"{ca}\"\n\
             bind_dn = \"CN=Administrator,CN=Users,{BASE}\"\nbind_password_file = \"{pw}\"\n\
             base_dn = \"CN=Users,{BASE}\"\nuser_filter = \"(sAMAccountName={{username}})\"\n\
             group_base_dn = \"CN=Users,{BASE}\"\n{extra}\n\
             [ldap.attributes]\nusername = \"sAMAccountName\"\nemail = \"mail\"\n\
             name = \"displayName\"\nmember_of = \"memberOf\"\n",
            ca = self.ca_file().display(),
            pw = pw.display(),
        )
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
        // The ports are fixed: the next domain controller needs them free.
        for _ in 0..100 {
            if std::net::TcpStream::connect("127.0.0.1:636").is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    }
}
