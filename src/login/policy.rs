//! What a new password must be (`[login]`): long enough, hard enough to guess (zxcvbn's
//! estimate, which also knows the user's own name and address), and not among the passwords of
//! known breaches. Each refusal is a catalogue key, so the person is told why in their language.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use sha1::{Digest, Sha1};

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    TooShort,
    TooGuessable,
    Breached,
    /// The two copies typed differ.
    Mismatch,
}

impl Weakness {
    /// The catalogue key of the message.
    pub fn key(self) -> &'static str {
        match self {
            Weakness::TooShort => "password-too-short",
            Weakness::TooGuessable => "password-too-guessable",
            Weakness::Breached => "password-breached",
            Weakness::Mismatch => "password-mismatch",
        }
    }
}

/// The policy of `[login]`.
#[derive(Debug, Clone)]
pub struct Policy<'a> {
    pub min_length: usize,
    pub min_score: u8,
    pub breached: Option<&'a Path>,
}

/// Whether `password` may be `user`'s (whose name and email zxcvbn should not find in it).
/// A breached-list file that cannot be read fails closed: the password is refused.
pub fn check(policy: &Policy<'_>, password: &str, hints: &[&str]) -> Result<(), Weakness> {
    if password.chars().count() < policy.min_length {
        return Err(Weakness::TooShort);
    }
    let score = zxcvbn::zxcvbn(password, hints).score();
    if u8::from(score) < policy.min_score {
        return Err(Weakness::TooGuessable);
    }
    if let Some(file) = policy.breached {
        match breached(file, password) {
            Ok(false) => {}
            Ok(true) => return Err(Weakness::Breached),
            Err(e) => {
                log::error!("breached_passwords_file {}: {e}", file.display());
                return Err(Weakness::Breached);
            }
        }
    }
    Ok(())
}

/// Whether `password`'s SHA-1 is in `file`: sorted lines of 40 hex digits, each perhaps
/// followed by `:count` (as the public corpus ships). Found by bisecting the file on disk:
/// it is never read whole.
pub fn breached(file: &Path, password: &str) -> std::io::Result<bool> {
    let wanted = hex::encode_upper(Sha1::digest(password.as_bytes()));
    let mut f = std::fs::File::open(file)?;
    let (mut lo, mut hi) = (0u64, f.metadata()?.len());
    // Invariant: if the hash is in the file, it is on a line starting in [lo, hi).
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let found = line_at(&mut f, mid)?;
        let Some((start, len, line)) = found.filter(|(start, _, _)| *start < hi) else {
            // No line starts in [mid, hi).
            hi = mid;
            continue;
        };
        let hash = line.get(..40).unwrap_or(&line).to_ascii_uppercase();
        match hash.as_str().cmp(wanted.as_str()) {
            std::cmp::Ordering::Equal => return Ok(true),
            std::cmp::Ordering::Less => lo = start + len + 1,
            // `start` is the first line at or after `mid`: earlier lines start before `mid`.
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    Ok(false)
}

/// The first line starting at or after `at`: where it starts, its length in bytes (without
/// the newline) and its text without a trailing `\r`; `None` past the last line.
fn line_at(f: &mut std::fs::File, at: u64) -> std::io::Result<Option<(u64, u64, String)>> {
    let mut start = at;
    if at > 0 {
        // Past the end of the line that `at - 1` is on.
        f.seek(SeekFrom::Start(at - 1))?;
        let mut byte = [0u8; 1];
        loop {
            if f.read(&mut byte)? == 0 {
                return Ok(None);
            }
            if byte == [b'\n'] {
                break;
            }
            start += 1;
        }
    } else {
        f.seek(SeekFrom::Start(0))?;
    }
    // The first non-empty line from `start` (a stray empty line is skipped, not an end).
    loop {
        f.seek(SeekFrom::Start(start))?;
        let mut buf = [0u8; 64];
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        let read = buf.get(..n).unwrap_or_default();
        let raw = read.split(|b| *b == b'\n').next().unwrap_or_default();
        let text = String::from_utf8_lossy(raw);
        let line = text.trim_end_matches('\r');
        if !line.is_empty() {
            return Ok(Some((start, raw.len() as u64, line.to_string())));
        }
        start += raw.len() as u64 + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(p: &str) -> String {
        hex::encode_upper(Sha1::digest(p.as_bytes()))
    }

    #[test]
    fn a_sorted_list_is_bisected_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("breached.txt");
        let mut lines: Vec<String> = (0..500)
            .map(|i| format!("{}:{i}", sha(&format!("pw{i}"))))
            .collect();
        lines.sort();
        // With a stray empty line in the middle.
        lines.insert(200, String::new());
        std::fs::write(&file, lines.join("\r\n") + "\r\n").unwrap();
        for i in [0, 1, 250, 498, 499] {
            assert!(breached(&file, &format!("pw{i}")).unwrap(), "pw{i}");
        }
        assert!(!breached(&file, "not in it").unwrap());
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "").unwrap();
        assert!(!breached(&empty, "x").unwrap());
    }

    #[test]
    fn length_guessability_and_the_list() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.txt");
        std::fs::write(&file, format!("{}\n", sha("correct horse battery staple"))).unwrap();
        let p = Policy {
            min_length: 12,
            min_score: 3,
            breached: Some(&file),
        };
        assert_eq!(check(&p, "short", &[]), Err(Weakness::TooShort));
        assert_eq!(
            check(&p, "passwordpassword", &[]),
            Err(Weakness::TooGuessable)
        );
        assert_eq!(
            check(&p, "alice-example-1", &["alice-example"]),
            Err(Weakness::TooGuessable)
        );
        assert_eq!(
            check(&p, "correct horse battery staple", &[]),
            Err(Weakness::Breached)
        );
        assert_eq!(check(&p, "quiet-lantern-mosaic-41", &[]), Ok(()));
        let gone = Policy {
            breached: Some(Path::new("/nonexistent")),
            ..p
        };
        assert_eq!(
            check(&gone, "quiet-lantern-mosaic-41", &[]),
            Err(Weakness::Breached),
            "fails closed"
        );
    }
}
