//! The device authorization grant (RFC 8628): user codes, and what a poll of the token
//! endpoint is answered (§3.5), as pure functions of the record and the clock.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// How long a device code and its user code are good for, in seconds.
pub const LIFETIME: u64 = crate::config::DEVICE_CODE_LIFETIME;
/// The least time between two polls, in seconds (§3.2 `interval`).
pub const INTERVAL: u64 = 5;

/// §6.1: "BCDFGHJKLMNPQRSTVWXZ" — no vowels (no words), nothing that looks like a digit.
const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const LENGTH: usize = 8;

/// A new user code, `XXXX-XXXX` (8 characters of the §6.1 alphabet: 20^8, about 34 bits).
pub fn new_user_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: String = (0..LENGTH)
        .filter_map(|_| ALPHABET.choose(&mut rng).map(|b| char::from(*b)))
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// A user code as typed (any case, with or without the dash or spaces), in the stored form;
/// `None` if it cannot be one.
pub fn normalise_user_code(typed: &str) -> Option<String> {
    let chars: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = chars.len() == LENGTH && chars.bytes().all(|b| ALPHABET.contains(&b));
    valid.then(|| format!("{}-{}", &chars[..4], &chars[4..]))
}

/// What the user decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Pending,
    Denied,
    Approved {
        user: String,
        sid: String,
        auth_time: u64,
        amr: Vec<String>,
        #[serde(default)]
        source: Option<crate::directory::Source>,
    },
}

/// A device authorization in the store (written by the user's decision only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub client_id: String,
    pub scope: Vec<String>,
    pub user_code: String,
    pub expires: u64,
    pub decision: Decision,
}

/// The device's polling, kept apart from the record so that a poll never writes over a
/// decision made meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Polling {
    /// The interval the client must keep to now (it grows with each `slow_down`).
    pub interval: u64,
    pub last_poll: Option<u64>,
}

impl Default for Polling {
    fn default() -> Polling {
        Polling {
            interval: INTERVAL,
            last_poll: None,
        }
    }
}

/// The answer to one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Store the polling state and answer `authorization_pending`.
    Pending(Polling),
    /// Store the polling state (its interval grew by 5 s) and answer `slow_down`.
    SlowDown(Polling),
    Denied,
    Expired,
    /// Issue the tokens, once.
    Approved,
}

/// §3.5: a poll at `now` of `rec`, polled so far as `polling` says.
pub fn poll(rec: &DeviceRecord, polling: &Polling, now: u64) -> Poll {
    if now >= rec.expires {
        return Poll::Expired;
    }
    match rec.decision {
        Decision::Denied => Poll::Denied,
        Decision::Approved { .. } => Poll::Approved,
        Decision::Pending => {
            let too_soon = polling
                .last_poll
                .is_some_and(|last| now < last + polling.interval);
            let next = Polling {
                interval: polling.interval + if too_soon { 5 } else { 0 },
                last_poll: Some(now),
            };
            if too_soon {
                Poll::SlowDown(next)
            } else {
                Poll::Pending(next)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn rec() -> DeviceRecord {
        DeviceRecord {
            client_id: "cli".into(),
            scope: vec!["openid".into()],
            user_code: "BCDF-GHJK".into(),
            expires: NOW + LIFETIME,
            decision: Decision::Pending,
        }
    }

    #[test]
    fn user_codes_use_the_alphabet_and_normalise() {
        let c = new_user_code();
        assert_eq!(c.len(), 9);
        assert_eq!(normalise_user_code(&c.to_lowercase()), Some(c.clone()));
        assert_eq!(normalise_user_code(&c.replace('-', " ")), Some(c));
        assert_eq!(
            normalise_user_code("AEIO-UBCD"),
            None,
            "vowels are not in it"
        );
        assert_eq!(normalise_user_code("BCDF-GHJ"), None);
    }

    #[test]
    fn polls_follow_section_3_5() {
        let start = Polling::default();
        let Poll::Pending(p) = poll(&rec(), &start, NOW) else {
            panic!("first poll is pending")
        };
        let Poll::SlowDown(p) = poll(&rec(), &p, NOW + 2) else {
            panic!("too soon")
        };
        assert_eq!(p.interval, 10, "+5 s per slow_down");
        assert!(matches!(poll(&rec(), &p, NOW + 12), Poll::Pending(_)));
        let mut denied = rec();
        denied.decision = Decision::Denied;
        assert_eq!(poll(&denied, &start, NOW), Poll::Denied);
        assert_eq!(poll(&rec(), &start, NOW + LIFETIME), Poll::Expired);
        let mut ok = rec();
        ok.decision = Decision::Approved {
            user: "alice".into(),
            sid: "s".into(),
            auth_time: NOW,
            amr: vec![],
            source: None,
        };
        assert_eq!(poll(&ok, &start, NOW + 1), Poll::Approved);
    }
}
