//! Pushed authorization requests (RFC 9126): the parameters a client posted, kept under a
//! single-use `request_uri` bound to that client for a minute.

use serde::{Deserialize, Serialize};

use super::errors::{TokenCode, TokenError};
use crate::config::Client;
use crate::http::params::Params;

/// How long a `request_uri` is good for (§2.2: "a short duration").
pub const EXPIRES_IN: u64 = 60;

/// What every `request_uri` starts with (§2.2).
pub const URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// A pushed request, stored under the hash of its `request_uri`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pushed {
    pub client_id: String,
    /// The authorization parameters, a request object's claims merged in.
    pub params: Vec<(String, String)>,
    /// The client sent a signed request object.
    pub signed: bool,
    pub expires: u64,
}

impl Pushed {
    pub fn params(&self) -> Params {
        Params::from_pairs(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// §2.1: what a push may not carry. `request_uri` cannot be pushed, and a `client_id` in the
/// body names the client that authenticated.
pub fn check_push(p: &Params, client: &Client) -> Result<(), TokenError> {
    if p.contains("request_uri") {
        return Err(TokenError::new(
            TokenCode::InvalidRequest,
            "request_uri cannot be pushed",
        ));
    }
    if p.get("client_id").is_some_and(|id| id != client.client_id) {
        return Err(TokenError::new(
            TokenCode::InvalidRequest,
            "client_id differs from the authenticated client",
        ));
    }
    Ok(())
}

/// §4: the pushed request of `request_uri` may be used by the client that pushed it, once,
/// within its lifetime. The reason it may not is for the client.
pub fn check_use(rec: &Pushed, client_id: Option<&str>, now: u64) -> Result<(), &'static str> {
    if client_id != Some(rec.client_id.as_str()) {
        return Err("the request_uri was pushed by another client (or client_id is missing)");
    }
    if now >= rec.expires {
        return Err("the request_uri has expired");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn pushed() -> Pushed {
        Pushed {
            client_id: "rp".into(),
            params: vec![("response_type".into(), "code".into())],
            signed: false,
            expires: NOW + EXPIRES_IN,
        }
    }

    #[test]
    fn bound_to_its_client_and_its_minute() {
        let rec = pushed();
        assert_eq!(check_use(&rec, Some("rp"), NOW + 59), Ok(()));
        assert!(check_use(&rec, Some("rp"), NOW + 60).is_err());
        assert!(check_use(&rec, Some("other"), NOW).is_err());
        assert!(check_use(&rec, None, NOW).is_err());
        assert_eq!(rec.params().get("response_type"), Some("code"));
    }
}
