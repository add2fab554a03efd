//! When to renew, and when to try again: pure functions of a certificate's validity and the
//! clock.

/// The shortest wait before asking the CA again for a certificate it has just issued.
const MIN_WAIT: u64 = 3_600;
/// The longest wait between attempts after failures.
const MAX_RETRY: u64 = 86_400;

/// What a certificate says about its lifetime (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: u64,
    pub not_after: u64,
}

/// When to renew: `renew_before` ahead of expiry. A certificate that is already due the
/// moment it was issued (`renew_before` longer than what the CA issues, or a clock ahead of
/// the CA's) is renewed after a third of its lifetime instead, so the CA is not asked again
/// at once.
pub fn renew_at(v: Validity, renew_before: u64, now: u64, just_issued: bool) -> u64 {
    let at = v.not_after.saturating_sub(renew_before);
    if just_issued && at <= now {
        let third = v.not_after.saturating_sub(v.not_before) / 3;
        return now.saturating_add(third.max(MIN_WAIT));
    }
    at
}

/// Whether `renew_at` had to fall back for a certificate just issued (worth a warning).
pub fn due_when_issued(v: Validity, renew_before: u64, now: u64) -> bool {
    v.not_after.saturating_sub(renew_before) <= now
}

/// The wait after `failures` failed attempts in a row: one minute, doubling, at most a day.
pub fn retry_after(failures: u32) -> u64 {
    60u64
        .saturating_mul(1u64 << failures.saturating_sub(1).min(20))
        .min(MAX_RETRY)
}

/// A moment in the renewal window a CA suggests (RFC 9773 §4.2: uniformly at random);
/// `r` is in [0, 1). A window already begun means now.
pub fn in_window(start: u64, end: u64, now: u64, r: f64) -> u64 {
    let start = start.max(now);
    if end <= start {
        return start;
    }
    let span = (end - start) as f64;
    start + (span * r.clamp(0.0, 1.0)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;
    const T0: u64 = 1_800_000_000;

    fn ninety_days() -> Validity {
        Validity {
            not_before: T0,
            not_after: T0 + 90 * DAY,
        }
    }

    #[test]
    fn a_certificate_is_renewed_renew_before_its_expiry() {
        assert_eq!(renew_at(ninety_days(), 30 * DAY, T0, true), T0 + 60 * DAY);
        assert_eq!(
            renew_at(ninety_days(), 30 * DAY, T0 + 70 * DAY, false),
            T0 + 60 * DAY
        );
        assert!(!due_when_issued(ninety_days(), 30 * DAY, T0));
    }

    #[test]
    fn a_certificate_due_when_issued_waits_a_third_of_its_life() {
        let now = T0 + DAY;
        assert!(due_when_issued(ninety_days(), 100 * DAY, now));
        assert_eq!(
            renew_at(ninety_days(), 100 * DAY, now, true),
            now + 30 * DAY
        );
        // A stored one that is due is renewed now.
        assert!(renew_at(ninety_days(), 100 * DAY, now, false) <= now);
        let short = Validity {
            not_before: T0,
            not_after: T0 + 600,
        };
        assert_eq!(renew_at(short, DAY, T0, true), T0 + MIN_WAIT);
    }

    #[test]
    fn failures_back_off_from_a_minute_to_a_day() {
        assert_eq!(retry_after(1), 60);
        assert_eq!(retry_after(2), 120);
        assert_eq!(retry_after(5), 960);
        assert_eq!(retry_after(20), MAX_RETRY);
        assert_eq!(retry_after(u32::MAX), MAX_RETRY);
    }

    #[test]
    fn a_suggested_window_is_honoured() {
        assert_eq!(in_window(T0 + 10, T0 + 20, T0, 0.0), T0 + 10);
        assert_eq!(in_window(T0 + 10, T0 + 20, T0, 0.5), T0 + 15);
        assert_eq!(in_window(T0 - 10, T0 + 20, T0, 0.0), T0);
        assert_eq!(in_window(T0 - 20, T0 - 10, T0, 0.7), T0);
    }
}
