//! The TOML schema, exactly as an operator writes it.
//!
//! Every table denies unknown keys. Values that need interpretation (durations, addresses, URLs)
//! stay strings here: `model` parses them so that every problem is reported with its key path,
//! not just the first one serde meets.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    #[serde(default)]
    pub listen: Vec<String>,
    pub public_url: String,
    #[serde(default)]
    pub tls_listen: Vec<String>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    pub metrics_listen: Option<String>,
    pub threads: Option<usize>,
    /// Idle upstream connections kept for reuse, per worker thread.
    pub upstream_keepalive: Option<usize>,
    pub access_log: Option<bool>,
    /// Where the login page sends a user who signs in without an application waiting.
    pub after_logout_url: Option<String>,
    /// The local socket `authgate sessions` talks to ("" for none).
    pub admin_socket: Option<String>,
    /// Certificates from an ACME CA for `tls_listen`.
    pub acme: Option<AcmeFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeFile {
    pub directory_url: String,
    pub contact: Option<String>,
    pub domains: Option<Vec<String>>,
    pub challenge: Option<String>,
    pub state_dir: Option<String>,
    pub ca_file: Option<String>,
    pub renew_before: Option<String>,
    pub redirect_http: Option<bool>,
    pub hsts: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionFile {
    pub cookie_name: Option<String>,
    pub lifetime: Option<String>,
    pub idle_timeout: Option<String>,
    pub store: Option<String>,
    pub redis_url: Option<String>,
    /// Redis Sentinel, instead of `redis_url`: the sentinels' `host:port`.
    #[serde(default)]
    pub redis_sentinels: Vec<String>,
    pub redis_master_name: Option<String>,
    pub redis_sentinel_password: Option<String>,
    /// The password of the Redis master (and replicas), when behind sentinels.
    pub redis_password_file: Option<String>,
    pub key_prefix: Option<String>,
    pub max_entries: Option<u64>,
    /// Where the memory store is written at a graceful stop ("" for nowhere).
    pub snapshot_file: Option<String>,
    /// The snapshot's own key when there is no `[storage]` (created when missing).
    pub snapshot_key_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensFile {
    pub signing_key_file: Option<String>,
    #[serde(default)]
    pub retired_key_files: Vec<String>,
    /// Demo convenience: write a fresh ES256 key when `signing_key_file` does not exist.
    pub create_key_if_missing: Option<bool>,
    pub access_token_ttl: Option<String>,
    pub id_token_ttl: Option<String>,
    pub refresh_token_ttl: Option<String>,
    pub code_ttl: Option<String>,
    /// Before a `client_credentials` client's id in `X-Forwarded-User` (e.g. "client:").
    pub client_user_prefix: Option<String>,
    /// Device codes a client may have waiting at once (RFC 8628).
    pub max_pending_device_codes: Option<u32>,
    /// Every client must push its authorization requests (RFC 9126).
    #[serde(default)]
    pub require_par: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginFile {
    pub max_failures: Option<u32>,
    /// A user locked out by failed sign-ins is also signed out everywhere.
    pub lockout_ends_sessions: Option<bool>,
    pub failure_window: Option<String>,
    pub lockout: Option<String>,
    /// Sign-in starts and login POSTs per client address per `rate_window`; 0 turns it off.
    pub rate_limit: Option<u32>,
    pub rate_window: Option<String>,
    /// "off" (default), "optional" or "required".
    pub second_factor: Option<String>,
    pub totp_issuer: Option<String>,
    /// `false` hides the password form (sign-in only through upstream providers).
    pub password_form: Option<bool>,
    /// Adding a factor or an app password needs a sign-in this recent.
    pub reauthenticate_after: Option<String>,
    /// `/login` offers "Sign in with a passkey" (with `[storage]`).
    pub passkey_sign_in: Option<bool>,
    /// The language of pages when neither the menu nor the browser names one offered.
    pub default_language: Option<String>,
    /// New passwords (authgate's own users, resets) are at least this long.
    pub min_password_length: Option<usize>,
    /// …and at least this strong (zxcvbn's score, 0–4).
    pub min_password_score: Option<u8>,
    /// Passwords known from breaches: one SHA-1 (hex) per line, sorted, `:count` allowed.
    pub breached_passwords_file: Option<String>,
}

/// `[branding]`: the name, logo, colour and help link the pages show.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandingFile {
    pub name: Option<String>,
    pub logo_file: Option<String>,
    pub primary_color: Option<String>,
    pub support_url: Option<String>,
}

/// `[[upstream_providers]]`: sign in with another OpenID Provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamProviderFile {
    pub id: String,
    pub name: Option<String>,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_file: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub username_claim: Option<String>,
    pub groups_claim: Option<String>,
    pub username_prefix: Option<String>,
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
    #[serde(default)]
    pub group_map: std::collections::HashMap<String, String>,
    #[serde(default)]
    pub auto_redirect: bool,
    #[serde(default)]
    pub trust_upstream_mfa: bool,
    #[serde(default)]
    pub logout_upstream: bool,
    /// Use `email` without `email_verified = true` (for a provider that never sends it).
    #[serde(default)]
    pub trust_email: bool,
}

/// `[storage]`: the durable database of enrolled factors.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageFile {
    pub url: Option<String>,
    pub encryption_key_file: Option<String>,
    /// Demo convenience: write a new key when the file does not exist.
    pub create_key_if_missing: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFile {
    pub username: String,
    pub password_hash: String,
    pub email: Option<String>,
    /// Whether authgate vouches for `email` to relying parties (default true).
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    #[serde(default)]
    pub users: Vec<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    pub client_id: String,
    /// Shown on the login page ("Sign in to continue to …"); default: the client id.
    pub name: Option<String>,
    pub client_secret_sha256: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub response_types: Option<Vec<String>>,
    pub require_pkce: Option<bool>,
    /// Issue a refresh token even when `offline_access` is not asked for.
    #[serde(default)]
    pub refresh_tokens: bool,
    /// A resource server that may introspect any client's tokens.
    #[serde(default)]
    pub introspect_any: bool,
    /// Users of this relying party must have used a second factor.
    #[serde(default)]
    pub require_second_factor: bool,
    /// The grants it may use; `["authorization_code", "refresh_token"]` by default.
    pub grant_types: Option<Vec<String>>,
    /// The groups of its own identity (`client_credentials`), for route policy.
    #[serde(default)]
    pub groups: Vec<String>,
    /// private_key_jwt (RFC 7523): the client's public keys, a JWKS as JSON, inline or in a file.
    pub jwks: Option<String>,
    pub jwks_file: Option<String>,
    /// OIDC Back-Channel Logout: where a logout token is POSTed when a session ends.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: Option<bool>,
    /// Ask the user before the first code (third-party apps).
    #[serde(default)]
    pub consent: bool,
    /// "public" (default) or "pairwise".
    pub subject_type: Option<String>,
    /// The host pairwise subjects are computed for; default: the redirect URIs' host.
    pub sector_identifier: Option<String>,
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    #[serde(default)]
    pub require_signed_request_object: bool,
    #[serde(default)]
    pub require_dpop: bool,
    /// The token endpoint asks for a server nonce in DPoP proofs.
    #[serde(default)]
    pub dpop_nonce: bool,
    /// Clients that may exchange this client's users' access tokens.
    #[serde(default)]
    pub may_act: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// Shown on the login page ("Sign in to continue to …"); default: the host.
    pub name: Option<String>,
    pub host: Option<String>,
    pub path_prefix: Option<String>,
    #[serde(default)]
    pub upstreams: Vec<String>,
    pub auth: Option<String>,
    #[serde(default)]
    pub allow_users: Vec<String>,
    #[serde(default)]
    pub allow_groups: Vec<String>,
    #[serde(default)]
    pub public_paths: Vec<String>,
    pub health_check: Option<String>,
    pub health_check_interval: Option<String>,
    pub connect_timeout: Option<String>,
    pub read_timeout: Option<String>,
    /// Names of the identity headers sent upstream (defaults as in the contract).
    pub headers: Option<HeadersFile>,
    /// Where `/.authgate/logout` on this host finally sends the browser.
    pub logout_redirect: Option<String>,
    /// Clients whose access tokens this route accepts as `Authorization: Bearer`.
    #[serde(default)]
    pub bearer_clients: Vec<String>,
    /// Step-up: a session signed in with a password alone goes through the second factor.
    #[serde(default)]
    pub require_second_factor: bool,
    /// "none" (default) or "basic": credentials towards the upstream.
    pub upstream_auth: Option<String>,
    /// Template of the upstream Basic user: `{username}`, `{email}`, or a fixed name.
    pub upstream_basic_user: Option<String>,
    pub upstream_basic_password_file: Option<String>,
    /// Accept `Authorization: Basic user:app-password` from clients.
    #[serde(default)]
    pub app_passwords: bool,
    #[serde(default)]
    pub app_passwords_satisfy_second_factor: bool,
    /// PEM certificates trusted for `https` upstreams instead of the system roots.
    pub upstream_tls_ca_file: Option<String>,
    pub upstream_tls_server_name: Option<String>,
    /// mTLS to the upstream: a PEM certificate chain and its key.
    pub upstream_tls_client_cert: Option<String>,
    pub upstream_tls_client_key: Option<String>,
    #[serde(default)]
    pub upstream_tls_insecure_skip_verify: bool,
    /// The `Host` sent upstream.
    pub upstream_host: Option<String>,
    pub strip_prefix: Option<String>,
    #[serde(default)]
    pub rewrite_redirects: bool,
    /// "http1" (default), "h2" or "h2c".
    pub upstream_protocol: Option<String>,
    /// "100m": a size with k, m or g.
    pub max_body_size: Option<String>,
    #[serde(default)]
    pub request_headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub response_headers_remove: Vec<String>,
    /// Tried in order before the route's own policy.
    #[serde(default)]
    pub rules: Vec<RuleFile>,
}

/// `[[routes.rules]]`: request conditions, subject conditions and a policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub networks: Vec<String>,
    #[serde(default)]
    pub query: Vec<String>,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub clients: Vec<String>,
    pub policy: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadersFile {
    pub user: Option<String>,
    pub email: Option<String>,
    pub groups: Option<String>,
    pub preferred_username: Option<String>,
    pub assertion: Option<String>,
}

/// `[ldap]`: directory users (OpenLDAP, 389-DS, Active Directory).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapFile {
    pub url: Option<String>,
    /// Tried in order when one is down.
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub starttls: bool,
    pub bind_dn: String,
    pub bind_password_file: String,
    pub base_dn: String,
    pub user_filter: Option<String>,
    pub group_base_dn: Option<String>,
    pub group_filter: Option<String>,
    pub ca_file: Option<String>,
    pub timeout: Option<String>,
    pub pool_size: Option<usize>,
    /// Directory operations in flight at once; beyond it a sign-in is told "busy".
    pub max_connections: Option<usize>,
    /// How long a directory answer about a user is trusted before it is asked again.
    pub recheck: Option<String>,
    #[serde(default)]
    pub attributes: LdapAttributesFile,
    /// Users change and reset their directory password through authgate (RFC 3062).
    #[serde(default)]
    pub allow_password_change: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapAttributesFile {
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub group_name: Option<String>,
    pub member_of: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoFile {
    /// Address of the built-in echo upstream. Only the demo config sets it.
    pub echo_listen: String,
}

/// `[smtp]`: where authgate's mail goes out (invitations, resets, notices).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpFile {
    /// `smtps://user@host:465`, or `smtp://user@host:587` (STARTTLS required).
    pub url: String,
    pub password_file: Option<String>,
    /// The `From:` of every mail, `Name <address>` or an address.
    pub from: String,
    /// Trust this CA (PEM) for the mail server instead of the system's roots.
    pub ca_file: Option<String>,
}

/// `[admin]`: who may open the admin console.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminFile {
    pub groups: Option<Vec<String>>,
}

/// `[audit]`: the trail of security events, one JSON line each.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFile {
    /// Unset: standard output (journald under systemd).
    pub file: Option<String>,
}
