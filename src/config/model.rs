//! The validated configuration the rest of authgate reads. Nothing here is optional that has a
//! sensible default, and nothing here can be wrong: `validate` has checked it all.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

use crate::http::host::Host;
use crate::secret::{Secret, SecretBytes};

#[derive(Debug)]
pub struct Config {
    pub server: Server,
    pub session: SessionCfg,
    pub tokens: Tokens,
    pub login: Login,
    pub users: HashMap<String, User>,
    pub clients: HashMap<String, Client>,
    pub routes: Vec<Route>,
    pub storage: Option<StorageCfg>,
    pub ldap: Option<Ldap>,
    pub upstream_providers: Vec<UpstreamProvider>,
    pub demo: Option<Demo>,
    pub branding: Branding,
    pub smtp: Option<Smtp>,
    pub admin: Admin,
    pub audit: Audit,
}

/// `[smtp]`, validated: TLS always (implicit or required STARTTLS), verified against the
/// system's roots or `ca_file`.
#[derive(Debug, Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    /// `smtps://`: TLS from the first byte; else STARTTLS, required.
    pub implicit_tls: bool,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub ca_file: Option<PathBuf>,
}

/// `[admin]`: members of these groups may open `/admin`.
#[derive(Debug, Clone)]
pub struct Admin {
    pub groups: Vec<String>,
}

/// `[audit]`: where security events go (`None`: standard output).
#[derive(Debug, Clone, Default)]
pub struct Audit {
    pub file: Option<PathBuf>,
}

/// `[branding]`, validated: the logo is a readable PNG or SVG, the colour has AA contrast
/// against white.
#[derive(Debug, Clone, PartialEq)]
pub struct Branding {
    pub name: String,
    pub logo_file: Option<PathBuf>,
    pub primary_color: String,
    pub support_url: Option<Url>,
}

#[derive(Debug)]
pub struct Server {
    pub listen: Vec<SocketAddr>,
    /// The issuer: scheme, host and port, no trailing slash.
    pub issuer: String,
    pub public_url: Url,
    pub public_host: Host,
    pub tls_listen: Vec<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub trusted_proxies: Vec<IpNet>,
    pub metrics_listen: Option<SocketAddr>,
    pub threads: usize,
    /// Idle upstream connections kept for reuse, per worker thread (Pingora's pool).
    pub upstream_keepalive: usize,
    pub access_log: bool,
    pub after_logout_url: Option<Url>,
    /// The local admin socket (`authgate sessions`), if any.
    pub admin_socket: Option<PathBuf>,
    /// Certificates obtained and renewed from an ACME CA (`[server.acme]`).
    pub acme: Option<Acme>,
}

/// `[server.acme]`: which names get certificates from which CA, and how they are proven.
#[derive(Debug, Clone, PartialEq)]
pub struct Acme {
    pub directory_url: Url,
    pub contact: Option<String>,
    /// Lowercase DNS names: the configured list, or `public_url`'s host and every route host.
    pub domains: Vec<String>,
    pub challenge: Challenge,
    pub state_dir: PathBuf,
    /// Trusted for the ACME server's own HTTPS; none: the system's roots (a public CA).
    pub ca_file: Option<PathBuf>,
    pub renew_before: Duration,
    pub redirect_http: bool,
    /// `Strict-Transport-Security` on https answers; none when configured as "".
    pub hsts: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    TlsAlpn01,
    Http01,
}

impl Server {
    pub fn is_trusted(&self, ip: std::net::IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Memory,
    Redis,
}

#[derive(Debug)]
pub struct SessionCfg {
    pub cookie_name: String,
    pub lifetime: Duration,
    pub idle_timeout: Duration,
    pub store: StoreKind,
    pub redis: Option<RedisTarget>,
    /// Prefix of every Redis key, so several deployments can share one Redis.
    pub key_prefix: String,
    pub max_entries: u64,
    /// Where the memory store is kept across a graceful stop, if anywhere.
    pub snapshot_file: Option<PathBuf>,
    /// The snapshot's key when there is no `[storage]` key to derive it from.
    pub snapshot_key_file: PathBuf,
}

/// Where the Redis store is.
#[derive(Debug, PartialEq, Eq)]
pub enum RedisTarget {
    Url(Secret),
    Sentinel(Sentinel),
}

/// A Redis master found through Redis Sentinel.
#[derive(Debug, PartialEq, Eq)]
pub struct Sentinel {
    /// `host:port` of each sentinel.
    pub sentinels: Vec<String>,
    pub master_name: String,
    pub sentinel_password: Option<Secret>,
    pub password: Option<Secret>,
}

/// How long a device code and its user code are good for, in seconds (RFC 8628 `expires_in`):
/// the device grant's rule and the store's time-to-live both read it.
pub const DEVICE_CODE_LIFETIME: u64 = 600;

#[derive(Debug)]
pub struct Tokens {
    pub signing_key_file: PathBuf,
    pub retired_key_files: Vec<PathBuf>,
    pub create_key_if_missing: bool,
    pub access_token_ttl: Duration,
    pub id_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub code_ttl: Duration,
    /// Put before a machine client's id where a user name goes (`X-Forwarded-User`).
    pub client_user_prefix: String,
    /// Device codes one client may have issued within a code's lifetime (RFC 8628 §5.2); beyond
    /// it `device_authorization` answers `slow_down`.
    pub max_pending_device_codes: u32,
    /// Every client must push its authorization requests (RFC 9126).
    pub require_par: bool,
}

#[derive(Debug)]
pub struct Login {
    pub max_failures: u32,
    pub failure_window: Duration,
    pub lockout: Duration,
    /// Sign-in starts and login POSTs allowed per client address per `rate_window` (0: no limit).
    pub rate_limit: u32,
    pub rate_window: Duration,
    pub second_factor: SecondFactor,
    /// A user locked out by failed sign-ins is also signed out everywhere (off by default:
    /// anyone who knows a user name could then sign that user out).
    pub lockout_ends_sessions: bool,
    pub totp_issuer: String,
    pub password_form: bool,
    /// Adding a second factor or an app password needs a sign-in at most this old; otherwise
    /// the password is asked again.
    pub reauthenticate_after: Duration,
    /// `/login` offers passkeys as the whole sign-in (where `[storage]` makes them usable).
    pub passkey_sign_in: bool,
    /// A code of `http::i18n::LANGUAGES`.
    pub default_language: String,
    /// New passwords are at least this long…
    pub min_password_length: usize,
    /// …at least this strong (zxcvbn, 0–4)…
    pub min_password_score: u8,
    /// …and not in this list of breached passwords' SHA-1s.
    pub breached_passwords_file: Option<PathBuf>,
}

/// `[[upstream_providers]]`, validated.
#[derive(Debug)]
pub struct UpstreamProvider {
    /// `[a-z0-9-]`: in URLs and in the session.
    pub id: String,
    /// The button on the login page.
    pub name: String,
    pub issuer: Url,
    pub client_id: String,
    /// `None`: a public client (PKCE alone).
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    /// The claim naming the user; `None`: the stable `{id}:{sub}` (or `{prefix}{sub}`).
    pub username_claim: Option<String>,
    pub groups_claim: Option<String>,
    pub username_prefix: String,
    pub allowed_groups: Vec<String>,
    pub allowed_email_domains: Vec<String>,
    pub group_map: HashMap<String, String>,
    pub auto_redirect: bool,
    pub trust_upstream_mfa: bool,
    /// `email` is used without `email_verified = true`.
    pub trust_email: bool,
    pub logout_upstream: bool,
}

/// `[login] second_factor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// No second factor is asked or offered.
    Off,
    /// Users may enrol; whoever has a factor is asked for it.
    Optional,
    /// Everyone must enrol at their next sign-in.
    Required,
}

/// `[storage]`, validated.
#[derive(Debug)]
pub struct StorageCfg {
    pub url: String,
    pub encryption_key_file: PathBuf,
    pub create_key_if_missing: bool,
}

#[derive(Debug)]
pub struct User {
    pub username: String,
    pub password_hash: Secret,
    pub email: Option<String>,
    /// Relying parties are told `email_verified` (OIDC Core §5.1): the administrator vouches
    /// for it unless told otherwise.
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub disabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    Code,
    IdToken,
    CodeIdToken,
}

impl ResponseType {
    /// Parses the space-separated `response_type` value; order does not matter (OAuth 2.0
    /// Multiple Response Type Encoding Practices §5).
    pub fn parse(s: &str) -> Option<ResponseType> {
        let mut parts: Vec<&str> = s.split(' ').collect();
        parts.sort_unstable();
        match parts.as_slice() {
            ["code"] => Some(ResponseType::Code),
            ["id_token"] => Some(ResponseType::IdToken),
            ["code", "id_token"] => Some(ResponseType::CodeIdToken),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Code => "code",
            ResponseType::IdToken => "id_token",
            ResponseType::CodeIdToken => "code id_token",
        }
    }
}

/// How a client authenticates at the back-channel endpoints (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// No secret: PKCE is required and it may not introspect.
    Public,
    /// Holds a secret, known here by its SHA-256.
    Confidential(SecretHash),
    /// Holds a private key: authenticates with a JWT signed by it (private_key_jwt, RFC 7523),
    /// checked against `Client::jwks`.
    KeyPair,
}

#[derive(Debug)]
pub struct Client {
    pub client_id: String,
    /// What the login page calls it.
    pub name: String,
    pub kind: ClientKind,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub response_types: Vec<ResponseType>,
    pub require_pkce: bool,
    pub refresh_tokens: bool,
    /// May introspect tokens issued to other clients (a resource server).
    pub introspect_any: bool,
    pub require_second_factor: bool,
    pub grant_types: Vec<GrantType>,
    /// The groups of the client's own identity (`client_credentials`).
    pub groups: Vec<String>,
    /// The public keys of a `KeyPair` client.
    pub jwks: Option<jsonwebtoken::jwk::JwkSet>,
    /// OIDC Back-Channel Logout 1.0: told here when a session it has tokens of ends.
    pub backchannel_logout_uri: Option<Url>,
    /// The logout token carries `sid` (it always does; this is what discovery promises).
    pub backchannel_logout_session_required: bool,
    /// What the modern provider profile asks of it: PAR, signed requests, DPoP, consent,
    /// pairwise subjects, who may exchange its users' tokens.
    pub profile: ClientProfile,
}

/// A client's settings of the modern profile (RFC 9126, 9101, 9449, 8693; OIDC Core §8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientProfile {
    /// Users are asked before the first code (remembered per user, client and scopes).
    pub consent: bool,
    /// `Some(sector)`: `sub` is pairwise for this sector (OIDC Core §8.1).
    pub pairwise_sector: Option<String>,
    /// Authorization requests must come through `/oauth2/par`.
    pub require_par: bool,
    /// Authorization requests must be signed request objects (JAR).
    pub require_request_object: bool,
    /// Token requests must carry a DPoP proof: its tokens are sender-constrained.
    pub require_dpop: bool,
    /// The token endpoint asks this client's proofs for a server nonce.
    pub dpop_nonce: bool,
    /// Clients that may exchange this client's users' access tokens (RFC 8693 `may_act`).
    pub may_act: Vec<String>,
}

impl Client {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Authenticates itself (a secret or a key): it may introspect and act for itself.
    pub fn is_confidential(&self) -> bool {
        self.kind != ClientKind::Public
    }
}

/// The grants a client may use at the token endpoint (RFC 6749 §4, RFC 8628).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    DeviceCode,
    TokenExchange,
}

impl GrantType {
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            GrantType::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// A client secret's SHA-256; `Debug` does not print it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretHash(pub [u8; 32]);

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(…)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Required,
    Public,
}

#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    pub user: String,
    pub email: String,
    pub groups: String,
    pub preferred_username: String,
    pub assertion: String,
}

impl IdentityHeaders {
    /// The five names, as configured.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [
            &self.user,
            &self.email,
            &self.groups,
            &self.preferred_username,
            &self.assertion,
        ]
        .into_iter()
        .map(String::as_str)
    }
}

impl Default for IdentityHeaders {
    fn default() -> Self {
        IdentityHeaders {
            user: "X-Forwarded-User".into(),
            email: "X-Forwarded-Email".into(),
            groups: "X-Forwarded-Groups".into(),
            preferred_username: "X-Forwarded-Preferred-Username".into(),
            assertion: "X-Authgate-Assertion".into(),
        }
    }
}

#[derive(Debug)]
pub struct Route {
    /// Position in the file, for messages and metrics.
    pub index: usize,
    /// What the login page calls it (`name`, else the host).
    pub name: Option<String>,
    pub host: Option<Host>,
    pub path_prefix: String,
    /// Where the route's requests go, and how.
    pub upstream: Upstream,
    pub auth: Auth,
    pub allow_users: Vec<String>,
    pub allow_groups: Vec<String>,
    pub public_paths: Vec<String>,
    pub headers: IdentityHeaders,
    pub logout_redirect: Option<Url>,
    /// Clients whose access tokens open this route; empty: no bearer token does.
    pub bearer_clients: Vec<String>,
    pub require_second_factor: bool,
    pub app_passwords: bool,
    pub app_passwords_satisfy_second_factor: bool,
    /// `[[routes.rules]]`, in order; when none matches, the fields above decide.
    pub rules: Vec<Rule>,
}

/// One `[[routes.rules]]`: every request condition must hold (within one, any entry does).
#[derive(Debug)]
pub struct Rule {
    /// Its position under the route, for messages and the dry run.
    pub index: usize,
    /// Globs and `^`-regexes, compiled.
    pub paths: Vec<regex::bytes::Regex>,
    pub methods: Vec<http::Method>,
    /// The client's address must be in one of these.
    pub networks: Vec<IpNet>,
    /// Query parameters that must be present: a key, or a key and its value.
    pub query: Vec<(String, Option<String>)>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub clients: Vec<String>,
    pub policy: RulePolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulePolicy {
    /// No sign-in (identity headers a client sent are still removed).
    Bypass,
    /// 403 for everybody.
    Deny,
    /// Signed in.
    OneFactor,
    /// Signed in with a second factor, stepping up if needed.
    TwoFactor,
}

/// A route's upstream: its backends, how they are reached and checked, and the credentials it
/// is sent. Everything that speaks to the app reads it here (the peer and the health check are
/// built from it by `app::balancer`; the rewrites are applied by `proxy::upstream`).
#[derive(Debug)]
pub struct Upstream {
    pub backends: Vec<Backend>,
    pub health: Option<HealthCheck>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// `Authorization: Basic` built for the upstream, when `upstream_auth = "basic"`.
    pub basic: Option<UpstreamBasic>,
    /// How authgate speaks TLS to the `https` backends.
    pub tls: UpstreamTls,
    pub protocol: Protocol,
    pub rewrite: Rewrite,
    /// Request bodies larger than this get 413; `None`: no limit.
    pub max_body_size: Option<u64>,
}

/// One backend of an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub addr: SocketAddr,
    pub transport: Transport,
    /// The host as written (a name or an address): the default TLS server name.
    pub host: String,
}

impl Backend {
    /// Whether its name resolved at start (an unresolved one waits, disabled, for DNS).
    pub fn resolved(&self) -> bool {
        !self.addr.ip().is_unspecified()
    }
}

/// How a backend is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP.
    Http,
    /// TLS, verified against `UpstreamTls`.
    Https,
}

/// The HTTP version spoken to the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Http1,
    /// HTTP/2 by ALPN over TLS.
    H2,
    /// HTTP/2 over plain TCP, with prior knowledge (gRPC without TLS).
    H2c,
}

/// TLS towards a route's `https` backends. Verification is on unless `insecure_skip_verify`.
#[derive(Debug, Default)]
pub struct UpstreamTls {
    /// DER certificates trusted instead of the system roots.
    pub ca: Option<Vec<Vec<u8>>>,
    /// The name sent as SNI and verified; default: each backend's host.
    pub server_name: Option<String>,
    /// mTLS: the certificate authgate shows the upstream.
    pub client: Option<ClientIdentity>,
    pub insecure_skip_verify: bool,
}

/// A client certificate chain (DER) and its private key.
#[derive(Debug)]
pub struct ClientIdentity {
    pub chain: Vec<Vec<u8>>,
    pub key: SecretBytes,
}

/// What is changed between the client and the upstream, both ways.
#[derive(Debug, Default)]
pub struct Rewrite {
    /// The `Host` sent upstream; default: the client's.
    pub host: Option<String>,
    /// Removed (segment-wise) from the path sent upstream.
    pub strip_prefix: Option<String>,
    /// Map the upstream's own URLs in `Location`, `Content-Location`, `Refresh` and the
    /// `Path`/`Domain` of its cookies back to the public host and prefix.
    pub redirects: bool,
    /// Added to every request upstream.
    pub request_headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Removed from every response.
    pub response_headers_remove: Vec<http::HeaderName>,
}

/// An active health check: `GET path` every `interval`.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    pub path: String,
    pub interval: Duration,
}

/// Credentials authgate sends to an upstream that only knows HTTP Basic.
#[derive(Debug)]
pub struct UpstreamBasic {
    /// With `{username}` and `{email}` replaced by the signed-in user's.
    pub user_template: String,
    pub password: Secret,
}

impl UpstreamBasic {
    /// The `Authorization` value for `username` (and `email`, empty when unknown).
    pub fn header(&self, username: &str, email: Option<&str>) -> String {
        use base64::Engine;
        let user = self
            .user_template
            .replace("{username}", username)
            .replace("{email}", email.unwrap_or(""));
        let pair = format!("{user}:{}", self.password.expose());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

impl Route {
    /// A short label for logs and metrics: `host/prefix`.
    pub fn label(&self) -> String {
        match &self.host {
            Some(h) => format!("{}{}", h.authority(), self.path_prefix),
            None => format!("*{}", self.path_prefix),
        }
    }
}

/// `[ldap]`, validated.
#[derive(Debug)]
pub struct Ldap {
    /// Users change and reset their password through authgate (RFC 3062).
    pub allow_password_change: bool,
    /// `ldap://` or `ldaps://` URLs, tried in order.
    pub urls: Vec<Url>,
    pub starttls: bool,
    pub bind_dn: String,
    pub bind_password: Secret,
    pub base_dn: String,
    /// Contains `{username}`, replaced by the RFC 4515-escaped username.
    pub user_filter: String,
    pub group_base_dn: Option<String>,
    /// Contains `{dn}`, replaced by the escaped DN of the user.
    pub group_filter: String,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub pool_size: usize,
    /// Searches and binds in flight at once (like the argon2 pool's bound): beyond it,
    /// `DirectoryError::Busy`, so a flood cannot pile connections onto the directory.
    pub max_connections: usize,
    pub recheck: Duration,
    pub attributes: LdapAttributes,
}

#[derive(Debug)]
pub struct LdapAttributes {
    pub username: String,
    pub email: String,
    pub name: String,
    pub group_name: String,
    pub member_of: Option<String>,
}

#[derive(Debug)]
pub struct Demo {
    pub echo_listen: SocketAddr,
}
