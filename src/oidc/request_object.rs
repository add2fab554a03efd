//! Signed request objects (RFC 9101, JAR): authorization parameters as the claims of a JWT the
//! client signed with one of its keys (`jwks`, as for `private_key_jwt`). Only its claims
//! count (§5): of the query, only `client_id`, which says whose keys to verify with.

use jsonwebtoken::{DecodingKey, Validation};

use crate::config::Client;
use crate::http::params::Params;

/// The longest a request object may live (its `jti` is remembered that long).
pub const MAX_LIFETIME: u64 = 3600;

/// The algorithms a request object may be signed with.
pub const ALGS: &[&str] = &["ES256", "RS256", "PS256", "EdDSA"];

/// JWT claims that are about the object, not authorization parameters.
const ENVELOPE: &[&str] = &["iss", "aud", "exp", "iat", "nbf", "jti"];

/// The JWT `typ` of a request object (§4); a client assertion with it is refused.
pub const TYP: &str = "oauth-authz-req+jwt";

/// A verified request object: its parameters and its `jti`, to be accepted once until `exp`.
#[derive(Debug)]
pub struct Verified {
    pub params: Params,
    pub jti: String,
    pub exp: u64,
}

/// The request object `jwt` of `client`, for the provider `issuer`, checked at `now`: signed by
/// one of the client's keys (never `none` or a shared secret), `iss` the client, `aud` the
/// issuer, `exp` in the next hour, a `jti`, and a `client_id` claim (if any) naming the client.
pub fn verify(jwt: &str, client: &Client, issuer: &str, now: u64) -> Result<Verified, String> {
    let header =
        jsonwebtoken::decode_header(jwt).map_err(|_| "the request object is not a signed JWT")?;
    let alg = format!("{:?}", header.alg);
    if !ALGS.contains(&alg.as_str()) {
        return Err(format!(
            "request objects signed with {alg} are not accepted"
        ));
    }
    let keys = client
        .jwks
        .as_ref()
        .ok_or("the client has no keys to verify a request object with")?;
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None => keys.keys.first().filter(|_| keys.keys.len() == 1),
    }
    .ok_or("no key of the client matches the request object's kid")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "the client's key is not usable")?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&client.client_id]);
    v.set_audience(&[issuer]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v.validate_exp = false;
    let claims: serde_json::Map<String, serde_json::Value> = jsonwebtoken::decode(jwt, &key, &v)
        .map_err(|e| format!("the request object does not verify: {e}"))?
        .claims;
    check_times(&claims, now)?;
    let jti = claims
        .get("jti")
        .and_then(|j| j.as_str())
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or("the request object has no jti")?
        .to_string();
    if claims
        .get("client_id")
        .is_some_and(|c| c.as_str() != Some(client.client_id.as_str()))
    {
        return Err("the request object's client_id is another client".into());
    }
    // A client assertion has `sub`: an object with one could be passed off as one.
    if claims.contains_key("sub") {
        return Err("a request object carries no sub".into());
    }
    let exp = claims.get("exp").and_then(|e| e.as_u64()).unwrap_or(now);
    Ok(Verified {
        params: params(&claims),
        jti,
        exp,
    })
}

fn check_times(
    claims: &serde_json::Map<String, serde_json::Value>,
    now: u64,
) -> Result<(), String> {
    let exp = claims
        .get("exp")
        .and_then(|e| e.as_u64())
        .ok_or("the request object's exp is not a number")?;
    if exp <= now {
        return Err("the request object has expired".into());
    }
    if exp > now + MAX_LIFETIME {
        return Err("the request object lives longer than an hour".into());
    }
    if let Some(nbf) = claims.get("nbf").and_then(|n| n.as_u64()) {
        if nbf > now + 60 {
            return Err("the request object is not valid yet (nbf)".into());
        }
    }
    Ok(())
}

/// The authorization parameters among `claims`: strings as they are, numbers (`max_age`) and
/// objects (`claims`) as JSON text.
fn params(claims: &serde_json::Map<String, serde_json::Value>) -> Params {
    let pairs: Vec<(&str, String)> = claims
        .iter()
        .filter(|(k, _)| !ENVELOPE.contains(&k.as_str()))
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k.as_str(), s.clone()),
            other => (k.as_str(), other.to_string()),
        })
        .collect();
    Params::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
}

/// The parameters of a request: the object's, and `client_id` (RFC 9101 §5: the query's
/// other parameters are not used).
pub fn with_client_id(object: Params, client_id: &str) -> Params {
    let mut out = object;
    out.set("client_id", client_id.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use p256::pkcs8::{EncodePrivateKey, LineEnding};

    const NOW: u64 = 1_700_000_000;
    const ISSUER: &str = "https://auth.test";

    fn key_and_client() -> (EncodingKey, Client) {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let enc = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
        let jwk = Jwk::from_encoding_key(&enc, Algorithm::ES256).unwrap();
        let jwks = serde_json::json!({ "keys": [jwk] });
        let mut cfg = crate::config::from_str(&format!(
            "[server]\nlisten = [\"127.0.0.1:1\"]\npublic_url = \"http://auth.test\"\n[tokens]\nsigning_key_file = \"/x\"\ncreate_key_if_missing = true\n[[clients]]\nclient_id = \"rp\"\njwks = '{jwks}'\nredirect_uris = [\"https://rp.test/cb\"]\n"
        ))
        .unwrap();
        let client = cfg.clients.remove("rp").unwrap();
        (enc, client)
    }

    fn object(enc: &EncodingKey, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, enc).unwrap()
    }

    #[test]
    fn lifetime_audience_and_jti_with_a_fixed_clock() {
        let (enc, client) = key_and_client();
        let claims = |exp: u64| serde_json::json!({"iss": "rp", "aud": ISSUER, "exp": exp, "jti": "j", "state": "s", "max_age": 60});
        let ok = verify(&object(&enc, claims(NOW + 60)), &client, ISSUER, NOW).unwrap();
        assert_eq!((ok.jti.as_str(), ok.exp), ("j", NOW + 60));
        assert_eq!(ok.params.get("state"), Some("s"));
        assert_eq!(ok.params.get("max_age"), Some("60"), "numbers become text");
        assert!(
            ok.params.get("iss").is_none(),
            "the envelope is not a parameter"
        );
        assert!(
            verify(&object(&enc, claims(NOW)), &client, ISSUER, NOW).is_err(),
            "expired"
        );
        let too_long = claims(NOW + MAX_LIFETIME + 1);
        assert!(verify(&object(&enc, too_long), &client, ISSUER, NOW).is_err());
        let mut no_jti = claims(NOW + 60);
        no_jti.as_object_mut().unwrap().remove("jti");
        assert!(verify(&object(&enc, no_jti), &client, ISSUER, NOW).is_err());
        let mut other = claims(NOW + 60);
        other["client_id"] = "someone-else".into();
        assert!(verify(&object(&enc, other), &client, ISSUER, NOW).is_err());
        let elsewhere = verify(
            &object(&enc, claims(NOW + 60)),
            &client,
            "https://x.test",
            NOW,
        );
        assert!(elsewhere.is_err(), "another audience");
    }

    #[test]
    fn only_the_objects_parameters_count() {
        let object = Params::parse("state=o").unwrap();
        let params = with_client_id(object, "rp");
        assert_eq!(params.get("state"), Some("o"));
        assert_eq!(params.get("client_id"), Some("rp"));
    }

    #[test]
    fn an_object_with_sub_is_refused() {
        let (enc, client) = key_and_client();
        let claims = serde_json::json!({"iss": "rp", "sub": "rp", "aud": ISSUER, "exp": NOW + 60, "jti": "j"});
        assert!(verify(&object(&enc, claims), &client, ISSUER, NOW).is_err());
    }
}
