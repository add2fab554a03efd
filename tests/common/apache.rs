//! A real relying party: Apache 2.4 with Debian's `libapache2-mod-auth-openidc`, on an
//! ephemeral loopback port, protecting `/protected/` with authgate as its provider.

use super::*;

pub const APACHE_SECRET: &str = "apache-secret";

/// An Apache process, killed on drop.
pub struct Apache {
    pub port: u16,
    child: Child,
    pub dir: tempfile::TempDir,
}

impl Apache {
    /// `[[clients]]` for the relying party on `port`, with back-channel logout.
    pub fn client_config(port: u16) -> String {
        let secret = authgate::oidc::client_auth::hash_secret(APACHE_SECRET);
        let redirect = format!("http://127.0.0.1:{port}/protected/redirect_uri");
        format!(
            "[[clients]]\nclient_id = \"apache\"\nclient_secret_sha256 = \"{secret}\"\nredirect_uris = [\"{redirect}\"]\nbackchannel_logout_uri = \"{redirect}?logout=backchannel\"\n"
        )
    }

    /// Starts Apache on `port` as a relying party of the provider at `issuer`.
    pub fn start(port: u16, issuer: &str) -> Apache {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Workers run as nobody when the tests run as root: they must read the pages.
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::create_dir_all(d.join("www/protected")).unwrap();
        std::fs::write(d.join("www/protected/index.html"), "protected page\n").unwrap();
        let modules = "/usr/lib/apache2/modules";
        let user = if euid_is_root() {
            "User nobody\nGroup nogroup\n"
        } else {
            ""
        };
        let conf = format!(
            r#"ServerRoot "{d}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {d}/apache.pid
DefaultRuntimeDir {d}
ErrorLog {d}/error.log
LogLevel warn auth_openidc:info
{user}LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule authn_core_module {modules}/mod_authn_core.so
LoadModule authz_user_module {modules}/mod_authz_user.so
LoadModule dir_module {modules}/mod_dir.so
LoadModule auth_openidc_module {modules}/mod_auth_openidc.so
DocumentRoot {d}/www
DirectoryIndex index.html
<Directory {d}/www>
  Require all granted
</Directory>
OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID apache
OIDCClientSecret {APACHE_SECRET}
OIDCRedirectURI http://127.0.0.1:{port}/protected/redirect_uri
OIDCCryptoPassphrase test-only-passphrase
OIDCScope "openid email"
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
"#,
            d = d.display()
        );
        std::fs::write(d.join("apache.conf"), conf).unwrap();
        let child = Command::new("/usr/sbin/apache2")
            .arg("-f")
            .arg(d.join("apache.conf"))
            .arg("-DFOREGROUND")
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(d.join("stderr.log")).unwrap(),
            ))
            .spawn()
            .expect("apache2 (scripts/test installs apache2 and libapache2-mod-auth-openidc)");
        let apache = Apache { port, child, dir };
        wait_for_port(port, "apache2", || apache.log());
        apache
    }

    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("error.log"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        // SIGTERM: the parent stops its workers too.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn euid_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
