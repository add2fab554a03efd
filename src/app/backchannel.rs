//! OIDC Back-Channel Logout 1.0 delivery: when a session ends, each relying party that was
//! given tokens in it and registered a `backchannel_logout_uri` is POSTed a logout token.
//! Delivery runs on a bounded queue beside requests, with a timeout and retries, so a slow or
//! dead relying party never holds up anyone's sign-out; a full queue drops (and counts) rather
//! than grows.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::mpsc;
use url::Url;

/// Logout tokens waiting to be delivered, at most.
const QUEUE: usize = 1024;
/// Deliveries in progress at once, at most.
const CONCURRENT: usize = 32;
const TIMEOUT: Duration = Duration::from_secs(5);
/// Waits before the second and third attempt.
const BACKOFF: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(4)];

/// One logout token for one relying party.
pub struct Notice {
    pub client_id: String,
    pub uri: Url,
    pub token: String,
}

/// The queue, kept across reloads. Its worker starts with the first notice, on the runtime
/// that sends it.
pub struct Notices {
    tx: mpsc::Sender<Notice>,
    rx: Mutex<Option<mpsc::Receiver<Notice>>>,
    http: openidconnect::reqwest::Client,
}

impl Default for Notices {
    fn default() -> Notices {
        let (tx, rx) = mpsc::channel(QUEUE);
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_default();
        Notices {
            tx,
            rx: Mutex::new(Some(rx)),
            http,
        }
    }
}

impl Notices {
    /// Queues `notice`; never waits.
    pub fn send(&self, notice: Notice) {
        if let Some(rx) = self.rx.lock().ok().and_then(|mut rx| rx.take()) {
            tokio::spawn(work(rx, self.http.clone()));
        }
        if let Err(e) = self.tx.try_send(notice) {
            crate::metrics::backchannel_logout("dropped");
            log::warn!("back-channel logout queue full: a logout token was dropped ({e})");
        }
    }
}

async fn work(mut rx: mpsc::Receiver<Notice>, http: openidconnect::reqwest::Client) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT));
    while let Some(notice) = rx.recv().await {
        let Ok(slot) = std::sync::Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let http = http.clone();
        tokio::spawn(async move {
            deliver(http, notice).await;
            drop(slot);
        });
    }
}

/// POSTs the logout token (§2.5), up to three times; a 2xx answer is delivered.
async fn deliver(http: openidconnect::reqwest::Client, notice: Notice) {
    for attempt in 0..=BACKOFF.len() {
        if let Some(wait) = attempt.checked_sub(1).and_then(|i| BACKOFF.get(i)) {
            tokio::time::sleep(*wait).await;
        }
        let sent = http
            .post(notice.uri.clone())
            .form(&[("logout_token", notice.token.as_str())])
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                crate::metrics::backchannel_logout("delivered");
                return;
            }
            Ok(r) => log::warn!(
                "back-channel logout to {}: {} (attempt {})",
                notice.client_id,
                r.status(),
                attempt + 1
            ),
            Err(e) => log::warn!(
                "back-channel logout to {}: {e} (attempt {})",
                notice.client_id,
                attempt + 1
            ),
        }
    }
    crate::metrics::backchannel_logout("failed");
}
