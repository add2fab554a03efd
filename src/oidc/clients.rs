//! The registered clients, plus the built-in proxy client whose redirect URIs are the
//! `/.authgate/callback` of the hosts authgate serves.

use std::collections::HashMap;

use url::Url;

use crate::config::{Client, Config, ResponseType};
use crate::http::host::Host;
use crate::PROXY_CLIENT_ID;

pub const CALLBACK_PATH: &str = "/.authgate/callback";

pub struct Clients {
    map: HashMap<String, Client>,
    /// Hosts whose `/.authgate/callback` may receive the proxy client's codes.
    proxy_hosts: Vec<Host>,
}

impl Clients {
    pub fn new(cfg: &Config) -> Clients {
        let mut map: HashMap<String, Client> = cfg
            .clients
            .values()
            .map(|c| {
                (
                    c.client_id.clone(),
                    Client {
                        client_id: c.client_id.clone(),
                        secret_sha256: c.secret_sha256,
                        redirect_uris: c.redirect_uris.clone(),
                        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
                        response_types: c.response_types.clone(),
                        require_pkce: c.require_pkce,
                        refresh_tokens: c.refresh_tokens,
                    },
                )
            })
            .collect();
        map.insert(
            PROXY_CLIENT_ID.to_string(),
            Client {
                client_id: PROXY_CLIENT_ID.to_string(),
                secret_sha256: None,
                redirect_uris: Vec::new(),
                post_logout_redirect_uris: Vec::new(),
                response_types: vec![ResponseType::Code],
                require_pkce: true,
                refresh_tokens: false,
            },
        );
        let mut proxy_hosts: Vec<Host> = cfg.routes.iter().filter_map(|r| r.host.clone()).collect();
        proxy_hosts.push(Host {
            name: cfg.server.public_host.name.clone(),
            port: None,
        });
        Clients { map, proxy_hosts }
    }

    pub fn get(&self, client_id: &str) -> Option<&Client> {
        self.map.get(client_id)
    }

    /// RFC 6749 §3.1.2.3 / RFC 9700 §4.1.3: the redirect URI is one registered value, compared
    /// as a whole string. The proxy client's are its hosts' callback URLs.
    pub fn redirect_allowed(&self, client: &Client, uri: &str) -> bool {
        if client.client_id == PROXY_CLIENT_ID {
            return self.proxy_callback_host(uri).is_some();
        }
        client.redirect_uris.iter().any(|r| r == uri)
    }

    /// The host of a valid proxy callback URL.
    pub fn proxy_callback_host(&self, uri: &str) -> Option<Host> {
        let url = Url::parse(uri).ok()?;
        let plain = matches!(url.scheme(), "http" | "https")
            && url.path() == CALLBACK_PATH
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        if !plain {
            return None;
        }
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str()?),
            None => url.host_str()?.to_string(),
        };
        let host = Host::parse(&authority)?;
        // A loopback name sends the code back to the browser's own machine: as safe as the
        // configured hosts, and what a route without `host` is reached by in development.
        if host.is_loopback() {
            return Some(host);
        }
        self.proxy_hosts
            .iter()
            .any(|h| h.name == host.name && (h.port.is_none() || h.port == host.port))
            .then_some(host)
    }
}
