//! Graceful reload (Pingora's upgrade, what `systemctl reload` does): a new process takes over
//! the listening socket while a client keeps sending requests; none of them fails.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn reload_under_load_loses_no_request() {
    let up = Upstream::start("app").await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("authgate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\npublic_url = \"http://127.0.0.1:{port}\"\nthreads = 2\n[tokens]\nsigning_key_file = \"{}/k.pem\"\ncreate_key_if_missing = true\n[[routes]]\nupstreams = [\"{}\"]\nauth = \"public\"\n",
            dir.path().display(),
            up.addr
        ),
    )
    .unwrap();
    let spawn = |upgrade: bool| spawn_upgradable(&cfg, dir.path(), upgrade);
    let mut old = spawn(false);
    wait_for_port(port, "authgate", String::new);

    let done = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let load = {
        let (done, failures) = (Arc::clone(&done), Arc::clone(&failures));
        tokio::spawn(async move {
            // A new connection per request: the test is about the listening socket.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            for _ in 0..2500 {
                match http
                    .get(format!("http://127.0.0.1:{port}/ping"))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => {
                        eprintln!("status {}", r.status());
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        eprintln!("error {e}");
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while done.load(Ordering::SeqCst) < 500 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // What systemd's ExecReload does: the new process with -u, and SIGQUIT to the old one.
    let mut new = spawn(true);
    let status = Command::new("kill")
        .arg("-QUIT")
        .arg(old.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    load.await.unwrap();
    let old_exit = tokio::task::spawn_blocking(move || old.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        failures.load(Ordering::SeqCst),
        0,
        "requests failed across the upgrade"
    );
    assert_eq!(done.load(Ordering::SeqCst), 2500);
    assert!(
        old_exit.success() || old_exit.code().is_some(),
        "the old process left"
    );
    // The new process serves alone now.
    let r = reqwest::get(format!("http://127.0.0.1:{port}/after"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = new.kill();
    let _ = new.wait();
}
