//! The server's queue of mail: sent in the background, retried after 10 s, 1 min, 5 min and
//! 30 min, then given up with a log line. Every outcome is counted
//! (`authgate_mail_total{result}`); a mail never holds up, or shows in, an HTTP answer.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Mail, Mailer};

/// Waits before each retry.
const RETRIES: [Duration; 4] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(300),
    Duration::from_secs(1800),
];

/// Mails waiting at most; beyond it new ones are dropped (and counted).
const QUEUE: usize = 1000;

pub struct Outbox {
    mailer: Arc<Mailer>,
    queue: OnceLock<mpsc::Sender<Mail>>,
}

impl Outbox {
    pub fn new(mailer: Mailer) -> Outbox {
        Outbox {
            mailer: Arc::new(mailer),
            queue: OnceLock::new(),
        }
    }

    /// Queues `mail`; the worker starts with the first one (it needs the running runtime).
    pub fn send(&self, mail: Mail) {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(work(Arc::clone(&self.mailer), rx));
            tx
        });
        if queue.try_send(mail).is_err() {
            log::error!("mail: the queue is full; a mail was dropped");
            crate::metrics::mail("dropped");
        }
    }
}

async fn work(mailer: Arc<Mailer>, mut rx: mpsc::Receiver<Mail>) {
    while let Some(mail) = rx.recv().await {
        let mailer = Arc::clone(&mailer);
        // Each mail retries on its own: one that waits does not hold up the others.
        tokio::spawn(async move { deliver(&mailer, &mail).await });
    }
}

async fn deliver(mailer: &Mailer, mail: &Mail) {
    let mut waits = RETRIES.iter();
    loop {
        match mailer.send(mail).await {
            Ok(()) => {
                crate::metrics::mail("sent");
                return;
            }
            Err(e) => match waits.next() {
                Some(wait) => {
                    log::warn!("mail: {e}; trying again in {}s", wait.as_secs());
                    crate::metrics::mail("retried");
                    tokio::time::sleep(*wait).await;
                }
                None => {
                    log::error!("mail: {e}; given up");
                    crate::metrics::mail("failed");
                    return;
                }
            },
        }
    }
}
