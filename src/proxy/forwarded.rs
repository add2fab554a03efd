//! `X-Forwarded-For/-Proto/-Host` for the upstream: ours replace the client's unless the peer
//! is a trusted proxy, in which case its values are kept and the peer is appended to the chain.

use http::header::HOST;
use http::HeaderValue;
use pingora::http::RequestHeader;

use crate::http::facts::Facts;

const FOR: &str = "X-Forwarded-For";
const PROTO: &str = "X-Forwarded-Proto";
const HOST_NAME: &str = "X-Forwarded-Host";

/// Sets the forwarded headers on the request going upstream. A trusted proxy's values stay as
/// they are; ours reuse the request's own `Host` value when it is already canonical.
pub fn apply(req: &mut RequestHeader, facts: &Facts) -> pingora::Result<()> {
    let peer = facts.peer.map(|ip| ip.to_string()).unwrap_or_default();
    let chain = facts
        .trusted
        .then(|| req.headers.get(FOR).and_then(|v| v.to_str().ok()))
        .flatten()
        .filter(|chain| !chain.trim().is_empty());
    let xff = match chain {
        Some(chain) => format!("{chain}, {peer}"),
        None => peer,
    };
    req.insert_header(FOR, xff)?;
    if !(facts.trusted && req.headers.contains_key(PROTO)) {
        req.insert_header(PROTO, HeaderValue::from_static(facts.scheme.as_str()))?;
    }
    if !(facts.trusted && req.headers.contains_key(HOST_NAME)) {
        let host = match req.headers.get(HOST) {
            Some(v) if facts.host.written_as(v.as_bytes()) => v.clone(),
            _ => HeaderValue::try_from(facts.host.authority())
                .map_err(|_| pingora::Error::new_str("the host is not a header value"))?,
        };
        req.insert_header(HOST_NAME, host)?;
    }
    req.remove_header("Forwarded");
    Ok(())
}
