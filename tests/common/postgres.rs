//! A throwaway PostgreSQL cluster: `initdb` and `pg_ctl` from Debian's `postgresql`, on an
//! ephemeral port with its socket in a temporary directory, run as a non-root user.

use std::path::PathBuf;
use std::process::Command;

use super::free_port;

pub struct Postgres {
    pub port: u16,
    dir: tempfile::TempDir,
    user: Option<&'static str>,
}

fn bin(name: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is required (apt-get install postgresql); scripts/test installs it")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("initdb/pg_ctl under /usr/lib/postgresql/*/bin")
}

impl Postgres {
    fn command(&self, program: PathBuf) -> Command {
        match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    pub fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        // initdb refuses to run as root: as root, the cluster belongs to `postgres`.
        let root = is_root();
        let pg = Postgres {
            port: free_port(),
            user: root.then_some("postgres"),
            dir,
        };
        if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(pg.dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "chown to postgres");
        }
        let data = pg.dir.path().join("data");
        let out = pg
            .command(bin("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "authgate", "--auth=trust", "-E", "UTF8"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            pg.port,
            pg.dir.path().display()
        );
        let out = pg
            .command(bin("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-o", &opts, "-l"])
            .arg(pg.dir.path().join("log"))
            .args(["-w", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://authgate@127.0.0.1:{}/postgres", self.port)
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .command(bin("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
    }
}
