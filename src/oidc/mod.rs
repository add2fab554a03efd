//! The OpenID Provider, sans-IO: protocol rules as functions over parsed requests, the client
//! and session they concern, and `now`.

pub mod client_auth;
