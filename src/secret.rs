//! Values that must never reach a log, and the one sealing primitive.
//!
//! `Secret`'s `Debug` prints `Secret(…)` and its equality is constant-time. `Sealer` turns
//! short-lived state (a sign-in in progress) into an AEAD-sealed string that only authgate can
//! open, so that such state lives with the browser instead of in the store. Nothing here
//! implements cryptography: AES-256-GCM and HKDF come from RustCrypto's crates.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The value itself; call sites are the few places that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        ct_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Secret bytes (a private key in DER): never printed.
#[derive(Clone)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes(…)")
    }
}

/// Constant-time equality of two byte strings (the length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A new 256-bit secret from the OS RNG, base64url without padding (43 characters).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new 128-bit identifier (not a credential: `sid`, `jti`, grant ids).
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What a sealed value is for. It is bound into the ciphertext as associated data, so a value
/// sealed for one purpose never opens as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The proxy's sign-in in progress (state, PKCE verifier, return URL).
    ProxyState,
    /// The provider's pending authorization request behind the login form.
    PendingLogin,
    /// A password-checked sign-in waiting for its second factor.
    SecondFactor,
    /// A TOTP seed being enrolled (shown on the page, not yet stored).
    Enrolment,
    /// A secret at rest in the durable storage (TOTP seeds, passkeys).
    StoredSecret,
    /// A sign-in at an upstream OpenID Provider in progress (state, nonce, PKCE verifier).
    UpstreamFlow,
    /// Where a sign-in goes on after the recovery codes are shown.
    Continue,
    /// The memory store written at a graceful stop.
    Snapshot,
    /// An authorization request waiting for the user's consent.
    Consent,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::ProxyState => b"authgate proxy-state v1",
            Purpose::PendingLogin => b"authgate pending-login v1",
            Purpose::SecondFactor => b"authgate second-factor v1",
            Purpose::Enrolment => b"authgate enrolment v1",
            Purpose::StoredSecret => b"authgate stored-secret v1",
            Purpose::UpstreamFlow => b"authgate upstream-flow v1",
            Purpose::Continue => b"authgate continue v1",
            Purpose::Snapshot => b"authgate snapshot v1",
            Purpose::Consent => b"authgate consent v1",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    /// Seconds since the epoch after which the value no longer opens.
    exp: u64,
    value: T,
}

/// Why a value could not be sealed. Neither happens with a healthy process; the cause is kept
/// for the log.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("cannot encode the value to seal: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("AES-256-GCM refused to seal")]
    Encrypt,
}

impl From<SealError> for crate::http::GatewayError {
    fn from(e: SealError) -> crate::http::GatewayError {
        log::error!("{e}");
        crate::http::GatewayError::Internal
    }
}

/// A 256-bit key for `label`, derived (HKDF-SHA256) from key material every instance shares.
pub fn derive_key(ikm: &[u8], label: &[u8]) -> SecretBytes {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"authgate key"), ikm);
    let mut key = vec![0u8; 32];
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = hk.expand(label, &mut key);
    SecretBytes::new(key)
}

/// AES-256-GCM with a key derived (HKDF-SHA256) from key material every instance shares.
pub struct Sealer {
    cipher: Aes256Gcm,
}

const NONCE_LEN: usize = 12;

impl Sealer {
    /// A sealer whose key is derived from `ikm` (the signing key's private bytes): every
    /// instance with the same signing key opens what another sealed.
    pub fn derive(ikm: &[u8]) -> Result<Sealer, hkdf::InvalidLength> {
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"authgate sealer"), ikm);
        let mut key = [0u8; 32];
        hk.expand(b"aes-256-gcm", &mut key)?;
        Ok(Sealer {
            cipher: Aes256Gcm::new(&key.into()),
        })
    }

    /// Seals `value` until `exp`; the result is base64url, safe in a URL or a cookie.
    pub fn seal<T: Serialize>(
        &self,
        purpose: Purpose,
        value: &T,
        exp: u64,
    ) -> Result<String, SealError> {
        let plain = serde_json::to_vec(&Envelope { exp, value })?;
        Ok(URL_SAFE_NO_PAD.encode(self.seal_bytes(purpose, &plain)?))
    }

    /// The value sealed in `text` for `purpose`, if it is authentic and not past its end.
    pub fn open<T: DeserializeOwned>(&self, purpose: Purpose, text: &str, now: u64) -> Option<T> {
        let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
        let plain = self.open_bytes(purpose, &raw)?;
        let envelope: Envelope<T> = serde_json::from_slice(&plain).ok()?;
        (now < envelope.exp).then_some(envelope.value)
    }

    /// `plain` sealed for `purpose`: a random nonce, then the ciphertext and its tag.
    pub fn seal_bytes(&self, purpose: Purpose, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plain,
            aad: purpose.label(),
        };
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| SealError::Encrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// What `seal_bytes` sealed for `purpose`, if it is authentic.
    pub fn open_bytes(&self, purpose: Purpose, raw: &[u8]) -> Option<Vec<u8>> {
        let (nonce, sealed) = raw.split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let payload = Payload {
            msg: sealed,
            aad: purpose.label(),
        };
        self.cipher.decrypt(&Nonce::from(nonce), payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(…)");
        assert_eq!(s, Secret::new("hunter2"));
        assert_ne!(s, Secret::new("hunter3"));
    }

    #[test]
    fn sealed_values_open_only_for_their_purpose_key_and_time() {
        let a = Sealer::derive(b"key material a").unwrap();
        let sealed = a.seal(Purpose::ProxyState, &"v", 100).unwrap();
        assert_eq!(
            a.open::<String>(Purpose::ProxyState, &sealed, 99)
                .as_deref(),
            Some("v")
        );
        assert_eq!(a.open::<String>(Purpose::ProxyState, &sealed, 100), None);
        assert_eq!(a.open::<String>(Purpose::PendingLogin, &sealed, 1), None);
        let b = Sealer::derive(b"key material b").unwrap();
        assert_eq!(b.open::<String>(Purpose::ProxyState, &sealed, 1), None);
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(a.open::<String>(Purpose::ProxyState, &tampered, 1), None);
        assert_eq!(a.open::<String>(Purpose::ProxyState, "", 1), None);
    }
}
