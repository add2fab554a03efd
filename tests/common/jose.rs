//! What a modern relying party signs: DPoP proofs (RFC 9449) and request objects (RFC 9101),
//! with keys made here. Signing is jsonwebtoken's.

use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};

/// An EC P-256 key pair, as a client holds it.
pub struct Key {
    enc: EncodingKey,
    pub jwk: Jwk,
}

impl Key {
    pub fn new() -> Key {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let enc = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
        let jwk = Jwk::from_encoding_key(&enc, Algorithm::ES256).unwrap();
        Key { enc, jwk }
    }

    /// RFC 7638 thumbprint: what a DPoP-bound token's `cnf.jkt` names.
    pub fn thumbprint(&self) -> String {
        self.jwk.thumbprint(ThumbprintHash::SHA256)
    }

    /// The public JWK set to register as the client's `jwks`, its key named `kid`.
    pub fn jwks(&self, kid: &str) -> String {
        let mut jwk = serde_json::to_value(&self.jwk).unwrap();
        jwk["kid"] = kid.into();
        jwk["use"] = "sig".into();
        jwk["alg"] = "ES256".into();
        serde_json::json!({ "keys": [jwk] }).to_string()
    }

    /// A DPoP proof for `htm` on `htu`, for the access token `token` (its `ath`), with the
    /// server's `nonce`.
    pub fn proof(&self, htm: &str, htu: &str, token: Option<&str>, nonce: Option<&str>) -> String {
        use base64::Engine;
        use sha2::Digest;
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        let mut claims = serde_json::json!({
            "jti": authgate::secret::new_id(),
            "htm": htm,
            "htu": htu,
            "iat": now(),
        });
        if let Some(t) = token {
            let ath = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(t.as_bytes()));
            claims["ath"] = ath.into();
        }
        if let Some(n) = nonce {
            claims["nonce"] = n.into();
        }
        jsonwebtoken::encode(&header, &claims, &self.enc).unwrap()
    }

    /// A request object of `client_id` for `issuer` with `params` as claims, named by `kid`.
    pub fn request_object(
        &self,
        kid: &str,
        client_id: &str,
        issuer: &str,
        params: serde_json::Value,
    ) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("oauth-authz-req+jwt".into());
        header.kid = Some(kid.into());
        let mut claims = serde_json::json!({
            "iss": client_id, "aud": issuer, "client_id": client_id,
            "jti": authgate::secret::new_id(), "iat": now(), "exp": now() + 60,
        });
        for (k, v) in params.as_object().unwrap() {
            claims[k] = v.clone();
        }
        jsonwebtoken::encode(&header, &claims, &self.enc).unwrap()
    }
}

/// The wall clock: what DPoP proofs are checked against.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A `none`-signed JWT with these claims (what must be refused).
pub fn unsigned(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none"})),
        b64(claims)
    )
}

/// The claims of a JWT, unverified (the test reads what the provider issued).
pub fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}
