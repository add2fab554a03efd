//! The one place authgate reads the wall clock. Everything that decides on time (expiry, idle
//! timeout, lockout windows) asks an injected `Clock`, so tests move time instead of sleeping.
//!
//! Debug builds (what the integration tests run) also honour `AUTHGATE_TEST_CLOCK_FILE`: a
//! file holding a number of seconds added to the system clock, which a test rewrites to move
//! the running binary's time. Release builds do not contain that code.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
}

/// The system's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that stands still until it is set or advanced: for tests.
#[derive(Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn at(now: u64) -> ManualClock {
        ManualClock(AtomicU64::new(now))
    }

    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The clock a process runs on: the system clock, or in debug builds the test clock when
/// `AUTHGATE_TEST_CLOCK_FILE` is set.
pub fn for_process() -> Arc<dyn Clock> {
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("AUTHGATE_TEST_CLOCK_FILE") {
        return Arc::new(test_file::FileClock(path.into()));
    }
    Arc::new(SystemClock)
}

#[cfg(debug_assertions)]
mod test_file {
    use super::{Clock, SystemClock};

    /// The system clock plus the offset written in a file (0 when it cannot be read).
    pub struct FileClock(pub std::path::PathBuf);

    impl Clock for FileClock {
        fn now(&self) -> u64 {
            let offset = std::fs::read_to_string(&self.0)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(0);
            SystemClock.now() + offset
        }
    }
}

/// Seconds since the epoch as an RFC 3339 time (UTC), for pages and the command line.
pub fn rfc3339(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at(1_000);
        assert_eq!(c.now(), 1_000);
        c.advance(61);
        assert_eq!(c.now(), 1_061);
    }
}
