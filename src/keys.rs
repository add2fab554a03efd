//! Signing keys: loading PKCS#8 PEM files, generating new ones, the JWKS, and signing and
//! verifying the JWTs authgate issues. `kid` is the RFC 7638 thumbprint of the public key.
//!
//! Private key material never leaves this module except as jsonwebtoken's `EncodingKey`,
//! whose `Debug` does not print it.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
    PublicKeyUse, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Digest;
use thiserror::Error;

use crate::config::Tokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub enum Alg {
    ES256,
    RS256,
    EdDSA,
}

impl Alg {
    fn jwt(self) -> Algorithm {
        match self {
            Alg::ES256 => Algorithm::ES256,
            Alg::RS256 => Algorithm::RS256,
            Alg::EdDSA => Algorithm::EdDSA,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
            Alg::EdDSA => "EdDSA",
        }
    }
}

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("signing key file {0} does not exist: create it with `authgate gen-key --out {0}`")]
    Missing(String),
    #[error("cannot read key file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not a PKCS#8 PEM P-256, RSA or Ed25519 private key")]
    Unsupported(String),
    #[error("cannot write key file {0}: {1}")]
    Write(String, std::io::Error),
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("JWT: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

/// One key pair, with its public JWK.
pub struct SigningKey {
    pub alg: Alg,
    pub kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
    /// SHA-256 of the private key: the input from which `secret::Sealer` derives its key,
    /// so that every instance holding this key opens what another sealed.
    seed: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The active key and the retired ones still published for verification.
#[derive(Debug)]
pub struct KeySet {
    pub active: SigningKey,
    pub retired: Vec<SigningKey>,
}

impl KeySet {
    /// Loads `[tokens]` keys; writes a new active key first when the demo asks for it.
    pub fn load(tokens: &Tokens) -> Result<KeySet, KeyError> {
        let path = &tokens.signing_key_file;
        if !path.exists() {
            if tokens.create_key_if_missing {
                write_new(path, Alg::ES256, false)?;
                log::warn!("created a new signing key at {}", path.display());
            } else {
                return Err(KeyError::Missing(path.display().to_string()));
            }
        }
        let active = load_file(path)?;
        let retired = tokens
            .retired_key_files
            .iter()
            .map(|p| load_file(p))
            .collect::<Result<_, _>>()?;
        Ok(KeySet { active, retired })
    }

    pub fn from_pem(pem: &str) -> Result<KeySet, KeyError> {
        Ok(KeySet {
            active: parse_pem(pem, "(inline)")?,
            retired: Vec::new(),
        })
    }

    /// Signs `claims` with the active key.
    pub fn sign<T: Serialize>(&self, claims: &T, typ: &str) -> Result<String, KeyError> {
        let mut header = Header::new(self.active.alg.jwt());
        header.kid = Some(self.active.kid.clone());
        header.typ = Some(typ.to_string());
        Ok(jsonwebtoken::encode(
            &header,
            claims,
            &self.active.encoding,
        )?)
    }

    /// Verifies a JWT signed by any published key; `validation` names issuer, audience, leeway.
    /// The algorithm is taken from the key, never from the token header.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<T, KeyError> {
        let header = jsonwebtoken::decode_header(token)?;
        let key = std::iter::once(&self.active)
            .chain(&self.retired)
            .find(|k| header.kid.as_deref() == Some(k.kid.as_str()))
            .ok_or(jsonwebtoken::errors::Error::from(
                jsonwebtoken::errors::ErrorKind::InvalidToken,
            ))?;
        let mut v = validation.clone();
        v.algorithms = vec![key.alg.jwt()];
        Ok(jsonwebtoken::decode::<T>(token, &key.decoding, &v)?.claims)
    }

    /// Key material for `secret::Sealer::derive` (never published, never logged).
    pub fn sealing_seed(&self) -> &[u8] {
        &self.active.seed
    }

    /// The public keys, for `/oauth2/jwks`.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<&Jwk> = std::iter::once(&self.active)
            .chain(&self.retired)
            .map(|k| &k.jwk)
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

fn load_file(path: &Path) -> Result<SigningKey, KeyError> {
    let name = path.display().to_string();
    let pem = std::fs::read_to_string(path).map_err(|e| KeyError::Read(name.clone(), e))?;
    parse_pem(&pem, &name)
}

fn parse_pem(pem: &str, name: &str) -> Result<SigningKey, KeyError> {
    use p256::pkcs8::DecodePrivateKey;
    let unsupported = || KeyError::Unsupported(name.to_string());
    let (alg, params, encoding) = if let Ok(k) = p256::SecretKey::from_pkcs8_pem(pem) {
        let point =
            p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&k.public_key(), false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(unsupported());
        };
        let params = AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
            key_type: EllipticCurveKeyType::EC,
            curve: EllipticCurve::P256,
            x: URL_SAFE_NO_PAD.encode(x),
            y: URL_SAFE_NO_PAD.encode(y),
        });
        (
            Alg::ES256,
            params,
            EncodingKey::from_ec_pem(pem.as_bytes())?,
        )
    } else if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
        let params = AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(k.verifying_key().to_bytes()),
        });
        (
            Alg::EdDSA,
            params,
            EncodingKey::from_ed_pem(pem.as_bytes())?,
        )
    } else if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
        use rsa::traits::PublicKeyParts;
        let params = AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: URL_SAFE_NO_PAD.encode(k.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(k.e().to_bytes_be()),
        });
        (
            Alg::RS256,
            params,
            EncodingKey::from_rsa_pem(pem.as_bytes())?,
        )
    } else {
        return Err(unsupported());
    };
    let mut jwk = Jwk {
        common: CommonParameters::default(),
        algorithm: params,
    };
    let kid = jwk.thumbprint(ThumbprintHash::SHA256);
    jwk.common = CommonParameters {
        public_key_use: Some(PublicKeyUse::Signature),
        key_algorithm: Some(match alg {
            Alg::ES256 => KeyAlgorithm::ES256,
            Alg::RS256 => KeyAlgorithm::RS256,
            Alg::EdDSA => KeyAlgorithm::EdDSA,
        }),
        key_id: Some(kid.clone()),
        ..CommonParameters::default()
    };
    let decoding = DecodingKey::from_jwk(&jwk)?;
    Ok(SigningKey {
        alg,
        kid,
        encoding,
        decoding,
        jwk,
        seed: sha2::Sha256::digest(pem.as_bytes()).into(),
    })
}

/// A new private key as PKCS#8 PEM.
pub fn generate(alg: Alg) -> Result<String, KeyError> {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let mut rng = rand::rngs::OsRng;
    let pem = match alg {
        Alg::ES256 => p256::SecretKey::random(&mut rng).to_pkcs8_pem(LineEnding::LF),
        Alg::EdDSA => ed25519_dalek::SigningKey::generate(&mut rng).to_pkcs8_pem(LineEnding::LF),
        Alg::RS256 => rsa::RsaPrivateKey::new(&mut rng, 2048)
            .map_err(|e| KeyError::Generate(e.to_string()))?
            .to_pkcs8_pem(LineEnding::LF),
    };
    pem.map(|p| p.to_string())
        .map_err(|e| KeyError::Generate(e.to_string()))
}

/// Writes a new key to `path` with mode 0600, refusing to replace a file unless `force`.
pub fn write_new(path: &Path, alg: Alg, force: bool) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = path.display().to_string();
    let pem = generate(alg)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| KeyError::Write(name.clone(), e))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).mode(0o600);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| KeyError::Write(name.clone(), e))?;
    f.write_all(pem.as_bytes())
        .map_err(|e| KeyError::Write(name, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_signs_and_verifies() {
        for alg in [Alg::ES256, Alg::EdDSA, Alg::RS256] {
            let keys = KeySet::from_pem(&generate(alg).unwrap()).unwrap();
            assert_eq!(keys.active.alg, alg);
            let claims = serde_json::json!({ "sub": "alice", "exp": 4_000_000_000u64 });
            let token = keys.sign(&claims, "JWT").unwrap();
            let mut v = Validation::new(alg.jwt());
            v.validate_aud = false;
            let back: serde_json::Value = keys.verify(&token, &v).unwrap();
            assert_eq!(back["sub"], "alice");
            assert_eq!(keys.jwks()["keys"][0]["kid"], keys.active.kid.as_str());
        }
    }

    #[test]
    fn kid_is_rfc7638_thumbprint() {
        // RFC 7638 §3.1 example key.
        let jwk: Jwk = serde_json::from_str(r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(
            jwk.thumbprint(ThumbprintHash::SHA256),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
