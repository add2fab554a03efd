//! Everything a running authgate shares between requests, built once from the validated config:
//! the wiring layer. It joins the pure rules (`oidc`, `policy`, `identity`, `session`,
//! `directory`) to the stores, keys and clock; the IO adapters (`provider`, `proxy`, `server`)
//! only ever see an `App`.

pub mod access;
pub mod attempts;
pub mod auth;
pub mod backchannel;
pub mod balancer;
pub mod dpop;
pub mod federation;
pub mod grants;
pub mod live;
pub mod people;
pub mod resolve;
pub mod respond;
pub mod revocation;
pub mod snapshot;
pub mod tls;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{Config, Route, SecondFactor, StoreKind};
use crate::directory::db_users::DbUsers;
use crate::directory::federated::Federated;
use crate::directory::ldap::LdapDirectory;
use crate::directory::{Chain, Directory, DirectoryError, TomlUsers};
use crate::http::GatewayError;
use crate::identity::{Identities, Reserved};
use crate::keys::{KeyError, KeySet};
use crate::login::password::{self, Verifier};
use crate::login::regulation;
use crate::oidc::clients::Clients;
use crate::oidc::tokens::AccessClaims;
use crate::routes::RouteTable;
use crate::secret::{Sealer, SecretBytes};
use crate::session::memory::MemoryStore;
use crate::session::redis::RedisStore;
use crate::session::{Sessions, Store};
use crate::storage::{generate_key_file, Storage, StorageError, StorageKey};
use backchannel::Notices;
use balancer::LiveRoute;
use federation::Providers;
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// Failed-login counters and rate-limit windows live apart from sessions, in a space of their
/// own this size (memory store): a flood of them can evict only each other.
const COUNTER_ENTRIES: u64 = 100_000;

pub struct App {
    pub(crate) cfg: Config,
    /// How pages look (`[branding]`), built once per configuration.
    pub(crate) look: Arc<crate::http::look::Look>,
    pub(crate) default_lang: crate::http::i18n::Lang,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) route_table: RouteTable,
    /// What each route needs at run time (its balancer, its label), same index as `cfg.routes`.
    pub(crate) routes: Vec<LiveRoute>,
    pub(crate) keys: KeySet,
    pub(crate) clients: Clients,
    pub(crate) directory: Arc<dyn Directory>,
    /// Seals the state of sign-ins in progress into cookies and URLs.
    pub(crate) sealer: Sealer,
    pub(crate) identities: Identities,
    /// Identity header names clients may never send.
    pub(crate) reserved: Reserved,
    /// Access tokens whose signature has been verified, by token (expiry and revocation are
    /// still checked on every use).
    pub(crate) verified_tokens: moka::sync::Cache<String, Arc<AccessClaims>>,
    /// App passwords verified in the last second, by hash of user and password: the id.
    pub(crate) verified_app_passwords: moka::sync::Cache<String, String>,
    /// The label of requests authgate answers itself.
    pub(crate) authgate_label: Arc<str>,
    /// authgate's cookie names, plain and (over HTTPS) `__Host-` prefixed.
    pub(crate) cookies: crate::http::cookies::CookieNames,
    /// Enrolled second factors, when `[storage]` is configured.
    pub(crate) factors: Option<Factors>,
    /// Users of upstream providers, to remember at sign-in.
    pub(crate) federated: Option<Arc<Federated>>,
    /// Upstream OpenID Providers users may sign in with.
    pub(crate) federation: Providers,
    /// Sessions, codes, grants and refresh tokens (`records`); failed-login counters, lockouts
    /// and rate-limit windows (`counters`). A reload hands them on.
    pub(crate) stores: Stores,
    pub(crate) passwords: Arc<Verifier>,
    /// Back-channel logout tokens on their way to relying parties.
    pub(crate) notices: Arc<Notices>,
    /// Makes and checks the DPoP server nonces (RFC 9449 §8) of every instance.
    pub(crate) dpop_nonce_key: SecretBytes,
    /// Pairwise subjects are keyed hashes under this (derived from the storage key).
    pub(crate) pairwise_key: Option<SecretBytes>,
    /// The `[ldap]` directory, when its users may change their passwords through authgate.
    pub(crate) ldap_passwords: Option<Arc<LdapDirectory>>,
    /// The audit trail (`[audit]`).
    pub(crate) audit: crate::audit::Audit,
    /// Mail to people, when `[smtp]` is set.
    pub(crate) outbox: Option<crate::mail::Outbox>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("session store: {0}")]
    Store(String),
    #[error(transparent)]
    Passwords(#[from] password::StartError),
    #[error("cannot derive the sealing key: {0}")]
    Sealer(String),
    #[error("[ldap]: {0}")]
    Directory(#[from] DirectoryError),
    #[error("[storage]: {0}")]
    Storage(#[from] StorageError),
    #[error("[branding] logo_file: {0}")]
    Logo(String),
    #[error("[audit] file: {0}")]
    Audit(String),
    #[error("{0}")]
    Mail(String),
}

/// The session store and the counter space of a configuration. With the memory store the
/// concrete stores are kept too, for the snapshot at shutdown.
#[derive(Clone)]
pub struct Stores {
    pub records: Arc<dyn Store>,
    pub counters: Arc<dyn Store>,
    pub memory: Option<MemoryStores>,
}

/// The two memory stores of a process that keeps its sessions itself.
#[derive(Clone)]
pub struct MemoryStores {
    pub records: Arc<MemoryStore>,
    pub counters: Arc<MemoryStore>,
}

impl Stores {
    pub fn new(cfg: &Config) -> Result<Stores, StartError> {
        Ok(match cfg.session.store {
            StoreKind::Memory => {
                let memory = MemoryStores {
                    records: Arc::new(MemoryStore::new(cfg.session.max_entries)),
                    counters: Arc::new(MemoryStore::new(COUNTER_ENTRIES)),
                };
                Stores {
                    records: Arc::clone(&memory.records) as Arc<dyn Store>,
                    counters: Arc::clone(&memory.counters) as Arc<dyn Store>,
                    memory: Some(memory),
                }
            }
            StoreKind::Redis => {
                let target =
                    cfg.session.redis.as_ref().ok_or_else(|| {
                        StartError::Store("no redis_url or redis_sentinels".into())
                    })?;
                let store = RedisStore::new(target, &cfg.session.key_prefix)
                    .map_err(|e| StartError::Store(e.to_string()))?
                    .observed(Arc::new(crate::metrics::store_error));
                let store: Arc<dyn Store> = Arc::new(store);
                Stores {
                    records: Arc::clone(&store),
                    counters: store,
                    memory: None,
                }
            }
        })
    }
}

/// What a process keeps across configuration reloads: the clock, the stores with their
/// sessions, and the password workers.
#[derive(Clone)]
pub struct Kept {
    pub clock: Arc<dyn Clock>,
    pub stores: Stores,
    pub passwords: Arc<Verifier>,
    pub notices: Arc<Notices>,
}

impl Kept {
    pub fn new(cfg: &Config, clock: Arc<dyn Clock>) -> Result<Kept, StartError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Kept {
            clock,
            stores: Stores::new(cfg)?,
            // Half the cores at most: sign-in floods must leave CPU to proxying.
            passwords: Arc::new(Verifier::new((cores / 2).max(1), cores * 16)?),
            notices: Arc::new(Notices::default()),
        })
    }
}

/// What `[storage]` makes possible: second factors, recovery codes, app passwords and
/// passkeys. Without it, each of their pages answers 404 (`App::factors`).
pub struct Factors {
    pub store: Arc<Storage>,
    /// The WebAuthn relying party, when passkeys can be used.
    pub passkeys: Option<Webauthn>,
}

impl Factors {
    pub fn passkeys(&self) -> Result<&Webauthn, GatewayError> {
        self.passkeys
            .as_ref()
            .ok_or(GatewayError::NotConfigured("passkeys"))
    }
}

/// The durable storage of `[storage]`, its key created first when the demo asks for it, and
/// the key pairwise subjects are derived from.
fn storage(cfg: &Config) -> Result<Option<(Arc<Storage>, SecretBytes)>, StartError> {
    let Some(s) = &cfg.storage else {
        return Ok(None);
    };
    if s.create_key_if_missing && !s.encryption_key_file.exists() {
        generate_key_file(&s.encryption_key_file, false)
            .map_err(|e| StorageError::Key(format!("{}: {e}", s.encryption_key_file.display())))?;
        log::warn!(
            "created a new storage key at {}",
            s.encryption_key_file.display()
        );
    }
    let key = StorageKey::load(&s.encryption_key_file)?;
    let pairwise = key.derive(b"pairwise subjects")?;
    Ok(Some((Arc::new(Storage::prepare(&s.url, &key)?), pairwise)))
}

/// The WebAuthn relying party: the public host (without port) and `public_url`. A host that
/// cannot be an RP id (an IP address) leaves passkeys off; TOTP still works.
fn webauthn(cfg: &Config) -> Option<Webauthn> {
    if cfg.login.second_factor == SecondFactor::Off || cfg.storage.is_none() {
        return None;
    }
    let rp_id = cfg.server.public_host.name.as_str();
    let built = WebauthnBuilder::new(rp_id, &cfg.server.public_url)
        .and_then(|b| b.rp_name("authgate").build());
    match built {
        Ok(w) => Some(w),
        Err(e) => {
            log::warn!("passkeys are off: {rp_id} cannot be a WebAuthn relying party ({e})");
            None
        }
    }
}

/// The directory chain, and its `[ldap]` part when users may change their passwords there.
type Sources = (Arc<dyn Directory>, Option<Arc<LdapDirectory>>);

/// The local users, authgate's own users (in `[storage]`), the users of upstream providers
/// (remembered in the session store), then the `[ldap]` directory if there is one (which the
/// config hands over).
fn directory(
    cfg: &mut Config,
    passwords: Arc<Verifier>,
    clock: &Arc<dyn Clock>,
    (federated, db): (Option<Arc<Federated>>, Option<Arc<Storage>>),
) -> Result<Sources, StartError> {
    let mut sources: Vec<Arc<dyn Directory>> = vec![Arc::new(TomlUsers::new(
        cfg.users.values(),
        Arc::clone(&passwords),
    ))];
    if let Some(storage) = db {
        sources.push(Arc::new(DbUsers::new(storage, passwords)));
    }
    if let Some(f) = federated {
        sources.push(f);
    }
    let mut ldap = None;
    if let Some(l) = cfg.ldap.take() {
        let observe: crate::directory::ldap::RequestObserver =
            Arc::new(crate::metrics::directory_request);
        let allow_password_change = l.allow_password_change;
        let directory = Arc::new(LdapDirectory::new(l, Arc::clone(clock), Some(observe))?);
        sources.push(Arc::clone(&directory) as Arc<dyn Directory>);
        ldap = allow_password_change.then_some(directory);
    }
    Ok((Arc::new(Chain(sources)), ldap))
}

/// The pages' look for `[branding]`, its logo read once.
fn look(b: &crate::config::model::Branding) -> Result<crate::http::look::Look, StartError> {
    let logo = match &b.logo_file {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| StartError::Logo(format!("{}: {e}", path.display())))?;
            let kind = crate::config::logo_type(&bytes)
                .ok_or_else(|| StartError::Logo(format!("{}: not a PNG or SVG", path.display())))?;
            Some((bytes, kind))
        }
        None => None,
    };
    Ok(crate::http::look::Look::new(
        &b.name,
        &b.primary_color,
        logo,
        b.support_url.as_ref().map(ToString::to_string),
    ))
}

impl App {
    /// What the pages of a request share: its language (the menu's choice, its browser's,
    /// `[login] default_language`), the look and the language menu.
    pub fn chrome(
        &self,
        header: &pingora::http::RequestHeader,
        path: &str,
        query: Option<&str>,
    ) -> crate::http::look::Chrome {
        let chosen = crate::http::i18n::from_query(query)
            .map(|l| l.code())
            .or_else(|| crate::http::cookies::get(header, crate::http::i18n::COOKIE));
        let accept = header
            .headers
            .get(http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = crate::http::i18n::negotiate(chosen, accept, self.default_lang);
        crate::http::look::Chrome::new(lang, Arc::clone(&self.look), path, query)
    }

    /// A first configuration: new stores, new password workers.
    pub fn start(cfg: Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
        let kept = Kept::new(&cfg, clock)?;
        App::new(cfg, kept)
    }

    /// The configuration `cfg` on top of what the process keeps.
    pub fn new(mut cfg: Config, kept: Kept) -> Result<App, StartError> {
        let keys = KeySet::load(&cfg.tokens)?;
        let Kept {
            clock,
            stores,
            passwords,
            notices,
        } = kept;
        let federated = (!cfg.upstream_providers.is_empty()).then(|| {
            Arc::new(Federated {
                store: Arc::clone(&stores.records),
                lifetime: cfg.session.lifetime,
            })
        });
        let (factors, pairwise_key) = match storage(&cfg)? {
            Some((store, pairwise)) => {
                let passkeys = webauthn(&cfg);
                (Some(Factors { store, passkeys }), Some(pairwise))
            }
            None => (None, None),
        };
        let db = factors.as_ref().map(|f| Arc::clone(&f.store));
        let sources = (federated.clone(), db);
        let (directory, ldap) = directory(&mut cfg, Arc::clone(&passwords), &clock, sources)?;
        let clients = Clients::new(&mut cfg);
        if clients.any_pairwise() && pairwise_key.is_none() {
            return Err(StartError::Storage(StorageError::Key(
                "pairwise subjects need the [storage] key".into(),
            )));
        }
        Ok(App {
            look: Arc::new(look(&cfg.branding)?),
            default_lang: crate::http::i18n::Lang::from_code(&cfg.login.default_language)
                .unwrap_or_default(),
            clock,
            identities: Identities::default(),
            verified_tokens: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(300))
                .build(),
            verified_app_passwords: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(1))
                .build(),
            authgate_label: Arc::from("authgate"),
            reserved: Reserved::new(cfg.routes.iter().map(|r| &r.headers)),
            route_table: RouteTable::new(&cfg.routes),
            routes: cfg.routes.iter().map(LiveRoute::new).collect(),
            clients,
            directory,
            sealer: Sealer::derive(keys.sealing_seed())
                .map_err(|e| StartError::Sealer(e.to_string()))?,
            cookies: crate::http::cookies::CookieNames::new(&cfg.session.cookie_name),
            dpop_nonce_key: crate::secret::derive_key(keys.sealing_seed(), b"dpop nonces"),
            ldap_passwords: ldap,
            audit: crate::audit::Audit::new(&cfg.audit)
                .map_err(|e| StartError::Audit(e.to_string()))?,
            outbox: match &cfg.smtp {
                Some(smtp) => Some(crate::mail::Outbox::new(
                    crate::mail::Mailer::new(smtp).map_err(|e| StartError::Mail(e.to_string()))?,
                )),
                None => None,
            },
            pairwise_key,
            factors,
            federated,
            federation: Providers::new(&mut cfg),
            cfg,
            keys,
            stores,
            passwords,
            notices,
        })
    }

    /// What a reload hands to the next configuration.
    pub fn kept(&self) -> Kept {
        Kept {
            clock: Arc::clone(&self.clock),
            stores: self.stores.clone(),
            passwords: Arc::clone(&self.passwords),
            notices: Arc::clone(&self.notices),
        }
    }

    pub fn route(&self, i: usize) -> Option<&Route> {
        self.cfg.routes.get(i)
    }

    /// Whether `route` is served only to sessions that used a second factor.
    pub fn needs_second_factor(&self, route: &Route) -> bool {
        crate::policy::Requires::of(route, &self.cfg.login).second_factor
    }

    /// The configuration this instance runs.
    pub fn cfg(&self) -> &Config {
        &self.cfg
    }

    /// The signing keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The registered clients.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// The chain of identity sources.
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.directory
    }

    /// The signed identity assertions made for upstreams, cached.
    pub fn identities(&self) -> &Identities {
        &self.identities
    }

    /// The stored factors, or 404 when there is no `[storage]`.
    pub fn factors(&self) -> Result<&Factors, GatewayError> {
        self.factors
            .as_ref()
            .ok_or(GatewayError::NotConfigured("[storage]"))
    }

    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    pub fn sessions(&self) -> Sessions<'_> {
        Sessions {
            store: self.stores.records.as_ref(),
            cfg: &self.cfg.session,
        }
    }

    /// Counts a sign-in start or login POST from `ip` against `[login] rate_limit`.
    pub async fn admit(&self, ip: Option<std::net::IpAddr>) -> Result<(), GatewayError> {
        match regulation::rate(self.stores.counters.as_ref(), &self.cfg.login, ip).await? {
            None => Ok(()),
            Some(retry_after) => {
                crate::metrics::rate_limited();
                Err(GatewayError::RateLimited { retry_after })
            }
        }
    }

    /// The `sub` client `client_id` knows the user `username` from `source` by: the name
    /// itself, or its pairwise identifier in the client's sector (OIDC Core §8.1).
    pub fn subject_for<'u>(
        &self,
        client_id: &str,
        source: &crate::directory::Source,
        username: &'u str,
    ) -> std::borrow::Cow<'u, str> {
        let sector = self
            .clients
            .get(client_id)
            .and_then(|c| c.profile.pairwise_sector.as_deref());
        match sector {
            None => std::borrow::Cow::Borrowed(username),
            Some(sector) => {
                // `App::new` refuses pairwise clients without the key.
                let key = self.pairwise_key.as_ref().map_or(&[][..], |k| k.expose());
                let sub = crate::oidc::pairwise::subject(key, sector, source, username);
                std::borrow::Cow::Owned(sub)
            }
        }
    }

    /// The names of authgate's cookies on the provider's own host (`public_url`).
    pub fn provider_cookies(&self) -> &crate::http::cookies::Names {
        self.cookies.on(self.cfg.server.secure_cookies())
    }

    /// The `Set-Cookie` value carrying session id `id` (host-only, for the session's lifetime).
    pub fn session_cookie(&self, id: &str, secure: bool) -> String {
        crate::http::cookies::set(
            &self.cookies.on(secure).session,
            id,
            secure,
            Some(self.cfg.session.lifetime),
        )
    }
}
