//! A real nginx on a loopback port, with the `http` block's contents given by the test.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::wait_for_port;

pub struct Nginx {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// nginx listening on `port` (which `servers` must use), run in a directory of its own;
    /// `{dir}` in `servers` is that directory.
    pub fn start(port: u16, dir: tempfile::TempDir, servers: &str) -> Nginx {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("nginx is required (apt-get install nginx-light); scripts/test installs it");
        let d = dir.path().display().to_string();
        let servers = servers.replace("{dir}", &d);
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  \
             client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n{servers}\n}}\n"
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new(bin)
            .arg("-c")
            .arg(&path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, "nginx", || {
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        });
        Nginx { child, port, dir }
    }
}
