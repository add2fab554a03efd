//! Passwords: argon2id hashing, and verification on a small bounded pool of threads so that a
//! flood of logins can neither block the proxy's async workers nor queue without limit.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use thiserror::Error;
use tokio::sync::oneshot;

use crate::secret::Secret;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    /// Every worker is busy and the queue is full: answer 503 now rather than later.
    #[error("too many sign-ins in progress")]
    Busy,
}

/// The pool could not be made: without the dummy hash, unknown users would answer faster
/// than known ones, so authgate refuses to start.
#[derive(Debug, Error)]
#[error("cannot prepare the password checker: {0}")]
pub struct StartError(String);

/// An argon2id PHC string with the crate's default (OWASP) parameters.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks `password` against a PHC string. A malformed hash never matches.
pub fn check(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

struct Job {
    phc: Secret,
    password: Secret,
    reply: oneshot::Sender<bool>,
}

/// The verification pool. Its threads start on first use, so that a process that forks to
/// become a daemon after building it still has them.
pub struct Verifier {
    jobs: SyncSender<Job>,
    workers: Mutex<Option<(usize, Receiver<Job>)>>,
    /// Hash checked for unknown users, so that they cost what known users cost.
    dummy: Secret,
}

impl Verifier {
    /// `threads` workers and room for `queue` waiting jobs.
    pub fn new(threads: usize, queue: usize) -> Result<Verifier, StartError> {
        let dummy = hash("authgate dummy password").map_err(|e| StartError(e.to_string()))?;
        let (jobs, rx) = sync_channel::<Job>(queue);
        Ok(Verifier {
            jobs,
            workers: Mutex::new(Some((threads.max(1), rx))),
            dummy: Secret::new(dummy),
        })
    }

    /// Starts the worker threads the first time it is called.
    fn start_workers(&self) {
        let Some((threads, rx)) = self.workers.lock().ok().and_then(|mut w| w.take()) else {
            return;
        };
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&rx));
            if let Err(e) = spawned {
                log::error!("cannot start password worker: {e}");
            }
        }
    }

    /// Verifies `password` against `phc`, or against a dummy hash when there is no such user
    /// (the answer is then always false).
    pub async fn verify(&self, phc: Option<&Secret>, password: &str) -> Result<bool, VerifyError> {
        self.start_workers();
        let (reply, answer) = oneshot::channel();
        let known = phc.is_some();
        let job = Job {
            phc: phc.unwrap_or(&self.dummy).clone(),
            password: Secret::new(password),
            reply,
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                return Err(VerifyError::Busy)
            }
        }
        let ok = answer.await.map_err(|_| VerifyError::Busy)?;
        Ok(ok && known)
    }
}

/// Password hashing yields to proxying: the workers run at the lowest CPU priority, so a
/// flood of sign-ins slows sign-ins, not the requests of signed-in users.
fn lower_priority() {
    // SAFETY: setpriority has no memory-safety preconditions; on Linux, PRIO_PROCESS with
    // who = 0 applies to the calling thread only.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    if rc != 0 {
        log::debug!("could not lower the priority of a password worker");
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let ok = check(job.phc.expose(), job.password.expose());
        let _ = job.reply.send(ok);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_check() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(check(&h, "correct horse"));
        assert!(!check(&h, "wrong"));
        assert!(!check("not a hash", "x"));
    }

    #[tokio::test]
    async fn pool_verifies_and_unknown_users_fail() {
        let v = Verifier::new(1, 4).unwrap();
        let h = Secret::new(hash("pw").unwrap());
        assert_eq!(v.verify(Some(&h), "pw").await, Ok(true));
        assert_eq!(v.verify(Some(&h), "nope").await, Ok(false));
        assert_eq!(v.verify(None, "authgate dummy password").await, Ok(false));
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let v = std::sync::Arc::new(Verifier::new(1, 1).unwrap());
        let h = Secret::new(hash("pw").unwrap());
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (v, h) = (std::sync::Arc::clone(&v), h.clone());
            tasks.push(tokio::spawn(async move { v.verify(Some(&h), "pw").await }));
        }
        let mut busy = 0;
        for t in tasks {
            busy += usize::from(t.await.unwrap() == Err(VerifyError::Busy));
        }
        assert!(
            busy >= 5,
            "one running, one queued, the rest refused: {busy} busy"
        );
    }
}
