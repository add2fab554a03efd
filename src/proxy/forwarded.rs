//! `X-Forwarded-For/-Proto/-Host` for the upstream: ours replace the client's unless the peer
//! is a trusted proxy, in which case its values are kept and the peer is appended to the chain.

use pingora::http::RequestHeader;

use crate::http::facts::Facts;

/// Sets the forwarded headers on the request going upstream.
pub fn apply(req: &mut RequestHeader, facts: &Facts) -> pingora::Result<()> {
    let peer = facts.peer.map(|ip| ip.to_string()).unwrap_or_default();
    let existing = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (xff, proto, host) = if facts.trusted {
        (
            match existing("x-forwarded-for") {
                Some(chain) if !chain.trim().is_empty() => format!("{chain}, {peer}"),
                _ => peer,
            },
            existing("x-forwarded-proto").unwrap_or_else(|| facts.scheme.as_str().to_string()),
            existing("x-forwarded-host").unwrap_or_else(|| facts.host.authority()),
        )
    } else {
        (
            peer,
            facts.scheme.as_str().to_string(),
            facts.host.authority(),
        )
    };
    req.insert_header("X-Forwarded-For", xff)?;
    req.insert_header("X-Forwarded-Proto", proto)?;
    req.insert_header("X-Forwarded-Host", host)?;
    req.remove_header("Forwarded");
    Ok(())
}
