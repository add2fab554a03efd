//! The OpenID Provider, sans-IO: protocol rules as functions over parsed requests, the client
//! and session they concern, and `now`.

pub mod authorize;
pub mod client_auth;
pub mod clients;
pub mod device;
pub mod errors;
pub mod grant;
pub mod pkce;
pub mod tokens;
