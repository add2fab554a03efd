//! DPoP (RFC 9449): which proofs authgate asks for and how a presented token's binding is
//! judged. The proof itself (its JWS, `htm`/`htu`/`iat`/`ath`/`nonce`, the key's thumbprint)
//! is checked by the `dpop-verifier` crate; the replay store and the nonce key are the app's.

use super::errors::{ResourceCode, ResourceError};

/// Proof algorithms accepted (what `dpop-verifier` verifies).
pub const ALGS: &[&str] = &["ES256", "EdDSA"];

/// How old a proof may be (its `iat`), and how far ahead of our clock.
pub const MAX_AGE_SECONDS: i64 = 300;
pub const FUTURE_SKEW_SECONDS: i64 = 10;

/// How long a proof's `jti` is remembered: its whole window, and a minute for the clocks of
/// several instances to differ by.
pub const REMEMBERED: std::time::Duration =
    std::time::Duration::from_secs((MAX_AGE_SECONDS + FUTURE_SKEW_SECONDS + 60).unsigned_abs());

/// How long a server nonce stays good.
pub const NONCE_SECONDS: i64 = 300;

/// The scheme of `Authorization: DPoP <token>`.
pub const SCHEME: &str = "DPoP";

/// How a protected resource was asked: which scheme carried the token, and the thumbprint of
/// the proof's key when a proof verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented<'a> {
    Bearer,
    /// `Authorization: DPoP`, with the thumbprint of the verified proof's key.
    Dpop(&'a str),
}

/// RFC 9449 §7.1: a token bound to a key (`cnf.jkt`) is used only with `DPoP` and a proof of
/// that key; a token bound to none only as `Bearer` (§7.2: the scheme says what the token is).
pub fn check_binding(bound: Option<&str>, presented: Presented<'_>) -> Result<(), ResourceError> {
    let refuse = |code, why: &str| Err(ResourceError::new(code, why).dpop());
    match (bound, presented) {
        (None, Presented::Bearer) => Ok(()),
        (Some(jkt), Presented::Dpop(key))
            if crate::secret::ct_eq(jkt.as_bytes(), key.as_bytes()) =>
        {
            Ok(())
        }
        (Some(_), Presented::Dpop(_)) => refuse(
            ResourceCode::InvalidToken,
            "the DPoP proof is signed with another key than the token is bound to",
        ),
        (Some(_), Presented::Bearer) => refuse(
            ResourceCode::InvalidToken,
            "this token is DPoP-bound: send it as Authorization: DPoP with a proof",
        ),
        (None, Presented::Dpop(_)) => refuse(
            ResourceCode::InvalidToken,
            "this token is not DPoP-bound: send it as Authorization: Bearer",
        ),
    }
}

/// A proof the crate refused, as the client is told (RFC 9449 §5, §7.1).
pub fn refusal(e: &dpop_verifier::DpopError) -> String {
    format!("the DPoP proof is invalid: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_token_needs_a_proof_of_its_key() {
        assert!(check_binding(None, Presented::Bearer).is_ok());
        assert!(check_binding(Some("k1"), Presented::Dpop("k1")).is_ok());
        for (bound, presented) in [
            (Some("k1"), Presented::Dpop("k2")),
            (Some("k1"), Presented::Bearer),
            (None, Presented::Dpop("k1")),
        ] {
            let e = check_binding(bound, presented).unwrap_err();
            assert_eq!(
                e.error,
                ResourceCode::InvalidToken,
                "{bound:?} {presented:?}"
            );
            assert!(e.dpop, "challenged with DPoP");
        }
    }
}
