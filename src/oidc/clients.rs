//! The registered clients, plus the built-in proxy client whose redirect URIs are the
//! `/.authgate/callback` of the hosts authgate serves.

use std::collections::HashMap;
use std::sync::Arc;

use url::Url;

use crate::config::{Client, ClientKind, Config, GrantType, ResponseType};
use crate::directory::UserInfo;
use crate::http::host::Host;
use crate::PROXY_CLIENT_ID;

pub const CALLBACK_PATH: &str = "/.authgate/callback";

pub struct Clients {
    /// The configured clients, moved out of the config (one registry, no copies).
    map: HashMap<String, Client>,
    /// The built-in proxy client.
    proxy: Client,
    /// Hosts whose `/.authgate/callback` may receive the proxy client's codes.
    proxy_hosts: Vec<Host>,
    /// The identity of each `client_credentials` client, built once.
    machines: HashMap<String, Arc<UserInfo>>,
    /// `[tokens] require_par`: every client pushes its authorization requests.
    require_par: bool,
}

impl Clients {
    /// The registry of `cfg`'s clients, which it takes over, plus the proxy client.
    pub fn new(cfg: &mut Config) -> Clients {
        let mut proxy_hosts: Vec<Host> = cfg.routes.iter().filter_map(|r| r.host.clone()).collect();
        proxy_hosts.push(Host {
            name: cfg.server.public_host.name.clone(),
            port: None,
        });
        let map = std::mem::take(&mut cfg.clients);
        let prefix = &cfg.tokens.client_user_prefix;
        let machines = map
            .values()
            .filter(|c| c.allows(GrantType::ClientCredentials))
            .map(|c| {
                let user = UserInfo {
                    source: crate::directory::Source::Client,
                    email_verified: false,
                    username: format!("{prefix}{}", c.client_id),
                    email: None,
                    name: None,
                    groups: c.groups.clone(),
                    disabled: false,
                };
                (c.client_id.clone(), Arc::new(user))
            })
            .collect();
        Clients {
            map,
            machines,
            require_par: cfg.tokens.require_par,
            proxy: Client {
                client_id: PROXY_CLIENT_ID.to_string(),
                name: PROXY_CLIENT_ID.to_string(),
                kind: ClientKind::Public,
                redirect_uris: Vec::new(),
                post_logout_redirect_uris: Vec::new(),
                response_types: vec![ResponseType::Code],
                require_pkce: true,
                refresh_tokens: false,
                introspect_any: false,
                require_second_factor: false,
                grant_types: vec![GrantType::AuthorizationCode],
                groups: Vec::new(),
                jwks: None,
                backchannel_logout_uri: None,
                backchannel_logout_session_required: true,
                profile: Default::default(),
            },
            proxy_hosts,
        }
    }

    /// Whether `client` must push its authorization requests (RFC 9126 §5). The proxy's own
    /// sign-ins never go through PAR.
    pub fn must_push(&self, client: &Client) -> bool {
        client.client_id != PROXY_CLIENT_ID && (self.require_par || client.profile.require_par)
    }

    /// Whether any client must push (discovery's `require_pushed_authorization_requests`).
    pub fn all_must_push(&self) -> bool {
        self.require_par
    }

    /// Any client with `subject_type = "pairwise"`.
    pub fn any_pairwise(&self) -> bool {
        self.map
            .values()
            .any(|c| c.profile.pairwise_sector.is_some())
    }

    /// The built-in proxy client.
    pub fn proxy(&self) -> &Client {
        &self.proxy
    }

    /// The grants of discovery: the browser's always, the others when a client may use them.
    pub fn grant_types_in_use(&self) -> Vec<&'static str> {
        let mut grants = vec!["authorization_code", "refresh_token", "implicit"];
        for extra in [
            GrantType::ClientCredentials,
            GrantType::DeviceCode,
            GrantType::TokenExchange,
        ] {
            if self.map.values().any(|c| c.allows(extra)) {
                grants.push(extra.as_str());
            }
        }
        grants
    }

    /// The client authentication methods of discovery: secrets and `none` always,
    /// `private_key_jwt` when a client has keys.
    pub fn auth_methods_in_use(&self) -> Vec<&'static str> {
        let mut methods = vec!["client_secret_basic", "client_secret_post"];
        if self.map.values().any(|c| c.kind == ClientKind::KeyPair) {
            methods.push("private_key_jwt");
        }
        methods.push("none");
        methods
    }

    /// The configured clients (not the proxy's own).
    pub fn configured(&self) -> impl Iterator<Item = &Client> {
        self.map.values()
    }

    /// The identity a `client_credentials` client acts as.
    pub fn machine(&self, client_id: &str) -> Option<&Arc<UserInfo>> {
        self.machines.get(client_id)
    }

    pub fn get(&self, client_id: &str) -> Option<&Client> {
        if client_id == PROXY_CLIENT_ID {
            return Some(&self.proxy);
        }
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
        let host = Host::from_url(&url)?;
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
