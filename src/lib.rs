//! authgate: an OpenID Provider and identity-aware reverse proxy in one Pingora process.
//!
//! The crate is a library so that tests and benches reach the pure parts (config, protocol
//! rules, policy); `main.rs` is only the command line.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::await_holding_lock
)]
// Tests may unwrap and index: a panic there is a failed test, not a crashed gateway.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod app;
pub mod cli;
pub mod config;
pub mod echo;
pub mod http;
pub mod identity;
pub mod keys;
pub mod login;
pub mod metrics;
pub mod oidc;
pub mod policy;
pub mod provider;
pub mod proxy;
pub mod secret;
pub mod server;
pub mod session;

/// The `client_id` of the built-in proxy client; a configured client may not take it.
pub const PROXY_CLIENT_ID: &str = "authgate-proxy";
