//! A real OpenLDAP server for the tests: `slapd` on ephemeral ports with a generated config
//! (mdb backend; core, cosine and inetOrgPerson schemas), data loaded with `slapadd`, and a
//! generated CA for LDAPS and StartTLS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{free_port, wait_for_port};

pub const BASE: &str = "dc=example,dc=test";
pub const SERVICE_DN: &str = "cn=authgate,ou=services,dc=example,dc=test";
pub const SERVICE_PW: &str = "service-password";
pub const DAVE_PW: &str = "dave-password";
pub const ERIN_PW: &str = "erin-password";
/// The password of the directory's `ALICE`, named like the local `alice`.
pub const SHADOW_PW: &str = "shadow-password";

const DATA: &str = r#"dn: dc=example,dc=test
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=test
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=test
objectClass: organizationalUnit
ou: groups

dn: ou=services,dc=example,dc=test
objectClass: organizationalUnit
ou: services

dn: cn=authgate,ou=services,dc=example,dc=test
objectClass: person
cn: authgate
sn: service
userPassword: service-password

dn: uid=dave,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: dave
cn: Dave Directory
sn: Directory
mail: dave@corp.test
userPassword: dave-password

dn: uid=erin,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: erin
cn: Erin Elsewhere
sn: Elsewhere
mail: erin@corp.test
userPassword: erin-password

dn: cn=staff,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: staff
member: uid=dave,ou=people,dc=example,dc=test

dn: cn=ops,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: ops
member: uid=dave,ou=people,dc=example,dc=test
member: cn=authgate,ou=services,dc=example,dc=test

dn: cn=ops\,admin,ou=groups,dc=example,dc=test
objectClass: groupOfNames
cn: ops,admin
member: uid=dave,ou=people,dc=example,dc=test

dn: uid=ALICE,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: ALICE
cn: Alice Shadow
sn: Shadow
mail: shadow@corp.test
userPassword: shadow-password
"#;

/// A running slapd, killed on drop.
pub struct Slapd {
    pub port: u16,
    pub tls_port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

pub fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for 127.0.0.1 signed by it, with `openssl`.
pub fn make_certs(dir: &Path) {
    let p = |f: &str| dir.join(f);
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=authgate test CA", "-keyout"])
        .args([p("ca.key"), PathBuf::from("-out"), p("ca.pem")]));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
        ])
        .args([p("server.key"), PathBuf::from("-out"), p("server.csr")]));
    std::fs::write(
        p("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
        .args([p("server.csr"), PathBuf::from("-CA"), p("ca.pem")])
        .args([
            PathBuf::from("-CAkey"),
            p("ca.key"),
            PathBuf::from("-out"),
            p("server.pem"),
        ])
        .args([PathBuf::from("-extfile"), p("ext.cnf")]));
}

impl Slapd {
    pub fn start() -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        make_certs(dir.path());
        std::fs::create_dir(dir.path().join("db")).unwrap();
        std::fs::write(
            dir.path().join("slapd.conf"),
            format!(
                "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\nmodulepath /usr/lib/ldap\n\
                 moduleload back_mdb\npidfile {d}/slapd.pid\n\
                 TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\n\
                 TLSCertificateKeyFile {d}/server.key\n\
                 database mdb\nsuffix \"{BASE}\"\nrootdn \"cn=admin,{BASE}\"\nrootpw admin-secret\n\
                 directory {d}/db\n\
                 access to attrs=userPassword by self write by dn.exact=\"cn=authgate,ou=services,dc=example,dc=test\" write by anonymous auth by * none\n\
                 access to * by users read by * none\n"
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("data.ldif"), DATA).unwrap();
        run(Command::new("/usr/sbin/slapadd")
            .arg("-f")
            .arg(dir.path().join("slapd.conf"))
            .arg("-l")
            .arg(dir.path().join("data.ldif")));
        let mut s = Slapd {
            port: 0,
            tls_port: 0,
            dir,
            child: None,
        };
        // Ports that were free a moment ago may be taken by a parallel test before slapd binds
        // them: try a few pairs until slapd stays up.
        for _ in 0..5 {
            s.port = free_port();
            s.tls_port = free_port();
            if s.port == s.tls_port {
                continue;
            }
            s.restart();
            std::thread::sleep(std::time::Duration::from_millis(100));
            if s.child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_none())
            {
                return s;
            }
        }
        panic!(
            "slapd did not stay up: {}",
            std::fs::read_to_string(s.dir.path().join("slapd.log")).unwrap_or_default()
        );
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.tls_port)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The `[ldap]` table for this server; `extra` adds or overrides keys.
    pub fn config(&self, url: &str, extra: &str) -> String {
        let pw = self.dir.path().join("service-password");
        std::fs::write(&pw, format!("{SERVICE_PW}\n")).unwrap();
        format!(
            "[ldap]\nurl = \"{url}\"\nbind_dn = \"{SERVICE_DN}\"\nbind_password_file = \"{}\"\n\
             base_dn = \"ou=people,{BASE}\"\ngroup_base_dn = \"ou=groups,{BASE}\"\n{extra}\n",
            pw.display()
        )
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server: connections are accepted by the
    /// kernel but nothing answers, as with a directory that hangs.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let ok = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(ok.success());
    }

    /// Starts (again) on the same ports.
    pub fn restart(&mut self) {
        self.kill();
        let urls = format!(
            "ldap://127.0.0.1:{}/ ldaps://127.0.0.1:{}/",
            self.port, self.tls_port
        );
        let child = Command::new("/usr/sbin/slapd")
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .args(["-h", &urls, "-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(self.dir.path().join("slapd.log")).unwrap(),
            ))
            .spawn()
            .expect(
                "slapd is required (apt-get install slapd ldap-utils); scripts/test installs it",
            );
        self.child = Some(child);
        let log = self.dir.path().join("slapd.log");
        wait_for_port(self.port, "slapd", || {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
    }

    /// Deletes an entry, as the directory's administrator.
    pub fn delete(&self, dn: &str) {
        run(Command::new("ldapdelete")
            .args(["-x", "-H", &self.url(), "-D", &format!("cn=admin,{BASE}")])
            .args(["-w", "admin-secret", dn]));
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.kill();
    }
}
