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

// Layers import one way (ARCHITECTURE.md): bottom (`http`, `config`, `secret`, `clock`,
// `metrics`, `keys`) → pure rules (`oidc`, `policy`, `routes`, `identity`, `session`, `login`,
// `directory`) → wiring (`app`) → IO adapters (`provider`, `proxy`, `server`, `cli`, `echo`).
pub mod clock;
pub mod config;
pub mod http;
pub mod import;
pub mod keys;
pub mod metrics;
pub mod secret;

pub mod directory;
pub mod identity;
pub mod login;
pub mod mail;
pub mod oidc;
pub mod policy;
pub mod routes;
pub mod session;
pub mod storage;
pub mod tls;

pub mod app;

pub mod acme;
pub mod admin;
pub mod audit;
pub mod cli;
pub mod echo;
pub mod provider;
pub mod proxy;
pub mod server;

/// The `client_id` of the built-in proxy client; a configured client may not take it.
pub const PROXY_CLIENT_ID: &str = "authgate-proxy";
