//! DPoP proofs checked against this gateway: their `jti` remembered in the store every
//! instance shares (so a proof is accepted once, anywhere), and server nonces made with a key
//! every instance derives from the signing key.

use dpop_verifier::{DpopError, DpopVerifier, HmacConfig, NonceMode, ReplayContext, ReplayStore};
use pingora::http::RequestHeader;

use super::App;
use crate::oidc::dpop::{FUTURE_SKEW_SECONDS, MAX_AGE_SECONDS, NONCE_SECONDS};
use crate::oidc::errors::{
    EndpointError, ResourceCode, ResourceError, TokenCode, TokenError, Unavailable,
};
use crate::session::{Key, Kind, Store};

/// The `DPoP` header of a request: `Ok(None)` without one, an error when it is sent twice or
/// is not text (RFC 9449 §4.3: "not more than one DPoP HTTP request header field").
pub fn proof_header(req: &RequestHeader) -> Result<Option<&str>, DpopError> {
    let mut all = req.headers.get_all("dpop").iter();
    let Some(first) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(DpopError::MultipleDpopHeaders);
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| DpopError::InvalidDpopHeader)
}

/// What a proof is checked against.
pub struct Expected<'a> {
    /// The request's URL without query or fragment (`htu`).
    pub htu: &'a str,
    pub htm: &'a str,
    /// The access token the proof comes with (`ath`), at a protected resource.
    pub token: Option<&'a str>,
    /// The client whose proofs must carry a server nonce.
    pub nonce_for: Option<&'a str>,
}

/// The thumbprint of the key of `proof`, once it verifies and was never seen before.
/// A missing or stale nonce is `DpopError::UseDpopNonce` with a fresh one to send.
pub async fn verify(app: &App, proof: &str, expected: &Expected<'_>) -> Result<String, DpopError> {
    let mut verifier = DpopVerifier::new()
        .with_max_age_seconds(MAX_AGE_SECONDS)
        .with_future_skew_seconds(FUTURE_SKEW_SECONDS);
    if let Some(client) = expected.nonce_for {
        let hmac = HmacConfig::new(app.dpop_nonce_key.expose(), NONCE_SECONDS, true, true, true);
        verifier = verifier
            .with_nonce_mode(NonceMode::Hmac(hmac))
            .with_client_binding(client);
    }
    let mut replay = Replay(app.stores.records.as_ref());
    let verified = verifier
        .verify(
            &mut replay,
            proof,
            expected.htu,
            expected.htm,
            expected.token,
        )
        .await?;
    Ok(verified.jkt)
}

/// Remembers each proof's `jti` for as long as the proof could be accepted.
struct Replay<'a>(&'a dyn Store);

#[async_trait::async_trait]
impl ReplayStore for Replay<'_> {
    async fn insert_once(
        &mut self,
        jti_hash: [u8; 32],
        _ctx: ReplayContext<'_>,
    ) -> Result<bool, DpopError> {
        let key = Key::id(Kind::DpopProof, &hex::encode(jti_hash));
        let ttl =
            std::time::Duration::from_secs((MAX_AGE_SECONDS + FUTURE_SKEW_SECONDS).unsigned_abs());
        let seen = self
            .0
            .incr(&key, ttl)
            .await
            .map_err(|e| DpopError::Store(Box::new(e)))?;
        Ok(seen == 1)
    }
}

/// Why a proof was refused, as the endpoints answer it.
#[derive(Debug)]
pub enum Refused {
    /// RFC 9449 §8: retry with this nonce.
    Nonce(String),
    /// The replay store cannot answer: fail closed.
    Unavailable,
    /// The proof is not acceptable, and why.
    Invalid(String),
}

/// `e` as the client is told it.
pub fn refused(e: DpopError) -> Refused {
    match e {
        DpopError::UseDpopNonce { nonce } => Refused::Nonce(nonce),
        DpopError::Store(e) => {
            log::error!("DPoP replay store: {e}");
            Refused::Unavailable
        }
        e => Refused::Invalid(crate::oidc::dpop::refusal(&e)),
    }
}

impl Refused {
    fn into_error<C: Unavailable>(self, invalid: C, nonce: C) -> EndpointError<C> {
        let e = match self {
            Refused::Nonce(n) => EndpointError {
                dpop_nonce: Some(n),
                ..EndpointError::new(nonce, "the DPoP proof must carry the server's nonce")
            },
            Refused::Unavailable => {
                EndpointError::new(C::UNAVAILABLE, "the DPoP proof cannot be checked right now")
            }
            Refused::Invalid(why) => EndpointError::new(invalid, why),
        };
        e.dpop()
    }

    pub fn into_token_error(self) -> TokenError {
        self.into_error(TokenCode::InvalidDpopProof, TokenCode::UseDpopNonce)
    }

    /// At a protected resource (no nonces are asked for there).
    pub fn into_resource_error(self) -> ResourceError {
        self.into_error(
            ResourceCode::InvalidDpopProof,
            ResourceCode::InvalidDpopProof,
        )
    }
}
