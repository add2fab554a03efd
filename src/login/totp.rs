//! TOTP (RFC 6238) through `totp-rs`, and recovery codes: new seeds, the `otpauth://` URI and
//! its QR code, and which time step a code belongs to (±1 step). Pure: the caller passes `now`
//! and records the step used, so a code is never accepted twice.

use base64::Engine;
use qrcode::render::svg;
use qrcode::QrCode;
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

use crate::secret::ct_eq;

/// The period of a code, in seconds, and its length: what every authenticator app assumes.
pub const STEP: u64 = 30;
pub const DIGITS: usize = 6;

/// A new 160-bit seed (RFC 4226 §4 recommends 160 bits).
pub fn new_seed() -> Vec<u8> {
    let mut seed = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    seed
}

fn totp(seed: &[u8], issuer: &str, account: &str) -> TOTP {
    // The account name may not contain ':' in an otpauth URI.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP,
        seed.to_vec(),
        Some(issuer.replace(':', "")),
        account.replace(':', ""),
    )
}

/// The seed as an authenticator app accepts it typed in (base32, no padding).
pub fn base32(seed: &[u8]) -> String {
    totp_rs::Secret::Raw(seed.to_vec()).to_encoded().to_string()
}

/// The `otpauth://totp/…` URI for enrolment.
pub fn uri(seed: &[u8], issuer: &str, account: &str) -> String {
    totp(seed, issuer, account).get_url()
}

/// The URI as a QR code, an SVG image in a `data:` URL (the page's CSP allows `img-src data:`).
pub fn qr_data_url(uri: &str) -> Option<String> {
    let svg = QrCode::new(uri.as_bytes())
        .ok()?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let b64 = base64::engine::general_purpose::STANDARD.encode(svg);
    Some(format!("data:image/svg+xml;base64,{b64}"))
}

/// The time step at which `code` is right, looking one step either side of `now`
/// (RFC 6238 §5.2). Compared in constant time.
pub fn matching_step(seed: &[u8], code: &str, now: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(seed, "", "");
    let current = now / STEP;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| ct_eq(t.generate(step * STEP).as_bytes(), code.as_bytes()))
}

/// The code for `now` (what an authenticator app shows; for tests and the CLI).
pub fn code_at(seed: &[u8], now: u64) -> String {
    totp(seed, "", "").generate(now)
}

/// Ten new recovery codes: 80 random bits each, as `XXXX-XXXX-XXXX-XXXX` (base32).
pub fn new_recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let b32 = totp_rs::Secret::Raw(bytes.to_vec())
                .to_encoded()
                .to_string();
            let chars: Vec<char> = b32.chars().take(16).collect();
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// A recovery code as typed: case, spaces and dashes do not matter.
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1, with 8 digits as the RFC prints them.
    #[test]
    fn rfc6238_test_vectors() {
        let seed = b"12345678901234567890".to_vec();
        let t = TOTP::new_unchecked(Algorithm::SHA1, 8, 1, 30, seed, None, String::new());
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(t.generate(time), code, "T = {time}");
        }
    }

    #[test]
    fn window_is_one_step_either_side() {
        let seed = new_seed();
        let now = 1_700_000_015;
        let step = now / STEP;
        for (offset, ok) in [
            (-60i64, false),
            (-30, true),
            (0, true),
            (30, true),
            (60, false),
        ] {
            let then = (now as i64 + offset) as u64;
            let code = code_at(&seed, then);
            let found = matching_step(&seed, &code, now);
            assert_eq!(found.is_some(), ok, "offset {offset}");
            if ok {
                assert_eq!(found, Some(then / STEP));
            }
        }
        assert_eq!(matching_step(&seed, "12345", now), None);
        assert_eq!(matching_step(&seed, "abcdef", now), None);
        assert!(step > 0);
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes[0].len(), 19);
        let mut sorted = codes.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        assert_eq!(normalise_recovery_code(" abcd-efgh "), "ABCDEFGH");
        assert!(uri(&new_seed(), "authgate", "alice").starts_with("otpauth://totp/authgate:alice?"));
        assert!(qr_data_url("otpauth://totp/x")
            .unwrap()
            .starts_with("data:image/svg+xml;base64,"));
    }
}
