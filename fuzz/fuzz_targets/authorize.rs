//! Authorization-request validation: never panics, and a request that validates always names
//! a registered redirect URI (no open redirect can come out of it).
#![no_main]
use std::sync::LazyLock;

use authgate::config::Config;
use authgate::http::params::Params;
use authgate::oidc::authorize::{validate, AuthorizeError};
use authgate::oidc::clients::Clients;
use libfuzzer_sys::fuzz_target;

static CLIENTS: LazyLock<Clients> = LazyLock::new(|| {
    let mut cfg: Config = authgate::config::from_str(
        r#"
[server]
listen = ["127.0.0.1:1"]
public_url = "http://auth.test"
[tokens]
signing_key_file = "/nonexistent"
create_key_if_missing = true
[[clients]]
client_id = "wiki"
client_secret_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
redirect_uris = ["https://wiki.test/cb", "https://wiki.test/cb2"]
response_types = ["code", "code id_token"]
[[clients]]
client_id = "spa"
redirect_uris = ["https://spa.test/cb"]
response_types = ["code", "id_token"]
[[routes]]
host = "app.test"
upstreams = ["127.0.0.1:2"]
"#,
    )
    .expect("fuzz config");
    Clients::new(&mut cfg)
});

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Params::parse_bytes(data) else { return };
    let registered = ["https://wiki.test/cb", "https://wiki.test/cb2", "https://spa.test/cb"];
    match validate(&p, &CLIENTS) {
        Ok(req) => assert!(registered.contains(&req.redirect_uri.as_str()) || CLIENTS.proxy_callback_host(&req.redirect_uri).is_some()),
        Err(AuthorizeError::Redirect { redirect_uri, .. }) => {
            assert!(registered.contains(&redirect_uri.as_str()) || CLIENTS.proxy_callback_host(&redirect_uri).is_some())
        }
        Err(AuthorizeError::Page { .. }) => {}
    }
});
