//! The OpenID Provider, sans-IO: protocol rules as functions over parsed requests, the client
//! and session they concern, and `now`.

pub mod authorize;
pub mod client_auth;
pub mod clients;
pub mod consent;
pub mod device;
pub mod dpop;
pub mod errors;
pub mod exchange;
pub mod grant;
pub mod pairwise;
pub mod par;
pub mod pkce;
pub mod request_object;
pub mod tokens;

/// A space-separated `scope` parameter (RFC 6749 §3.3), empty parts ignored.
pub fn scopes(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}
