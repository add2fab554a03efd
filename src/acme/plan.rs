//! What each name needs next, and the step that does what is due.

use instant_acme::{Account, CertificateIdentifier, NewAccount};

use super::schedule::{self, Validity};
use super::{order, Acme, AcmeError};
use crate::secret::Secret;
use crate::storage::{Storage, StoredCertificate};
use crate::tls::Served;

/// How long one instance may hold the ordering lease.
const LEASE: u64 = 600;
/// How soon to look again while another instance orders.
const WAIT_FOR_OTHER: u64 = 5;
/// How often to ask again for renewal information when the CA gave no better hint.
const ARI_RECHECK: u64 = 6 * 3_600;

struct Entry {
    host: String,
    next: u64,
    failures: u32,
    not_after: u64,
    ari_check: u64,
}

pub struct Plan {
    hosts: Vec<Entry>,
    account: Option<Account>,
    /// The CA may offer renewal information (RFC 9773) until it says it does not.
    ari: bool,
}

impl Plan {
    /// Serves the stored certificates and plans the rest.
    pub async fn start(acme: &Acme) -> Plan {
        let now = acme.clock.now();
        let mut hosts = Vec::new();
        for host in &acme.cfg.domains {
            if acme.certs.manual_covers(host) {
                log::info!(
                    "acme: {host} is served with tls_cert; no certificate is ordered for it"
                );
                continue;
            }
            let mut entry = Entry {
                host: host.clone(),
                next: now,
                failures: 0,
                not_after: 0,
                ari_check: now,
            };
            if let Some(served) = stored(acme, host).await {
                entry.next = schedule::renew_at(validity(&served), renew_before(acme), now, false);
                entry.not_after = served.not_after;
                log::info!(
                    "acme: {host}: serving the stored certificate (expires {}, renewed from {})",
                    crate::clock::rfc3339(served.not_after),
                    crate::clock::rfc3339(entry.next)
                );
                acme.certs.install(host, served);
            }
            hosts.push(entry);
        }
        Plan {
            hosts,
            account: None,
            ari: true,
        }
    }

    /// Orders what is due now (one instance at a time when they share `[storage]`).
    pub async fn step(&mut self, acme: &Acme) {
        let now = acme.clock.now();
        if !self.hosts.iter().any(|e| e.next <= now) {
            self.check_renewal_info(acme, now).await;
            return;
        }
        if let Some(store) = &acme.store {
            self.adopt(acme, store, now).await;
            if !self.hosts.iter().any(|e| e.next <= now) {
                return;
            }
            match store
                .take_lease("acme", &acme.holder, now as i64, (now + LEASE) as i64)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    for e in self.hosts.iter_mut().filter(|e| e.next <= now) {
                        e.next = now + WAIT_FOR_OTHER;
                    }
                    return;
                }
                Err(err) => return self.fail_due(now, &AcmeError::Storage(err)),
            }
        }
        self.order_due(acme, now).await;
        if let Some(store) = &acme.store {
            if let Err(e) = store.release_lease("acme", &acme.holder).await {
                log::warn!("acme: the ordering lease stays taken until it runs out: {e}");
            }
        }
    }

    async fn order_due(&mut self, acme: &Acme, now: u64) {
        let account = match self.account(acme).await {
            Ok(a) => a,
            Err(err) => return self.fail_due(now, &err),
        };
        for e in self.hosts.iter_mut().filter(|e| e.next <= now) {
            if !still_ours(acme).await {
                e.next = acme.clock.now() + WAIT_FOR_OTHER;
                continue;
            }
            let issued = order::obtain(&account, &e.host, acme.cfg.challenge, &acme.answers).await;
            let result = match issued {
                Ok(issued) => keep(acme, &e.host, issued).await,
                Err(err) => Err(err),
            };
            let now = acme.clock.now();
            match result {
                Ok(served) => issued_ok(acme, e, served, now),
                Err(err) => failed(e, now, &err),
            }
        }
    }

    fn fail_due(&mut self, now: u64, err: &AcmeError) {
        for e in self.hosts.iter_mut().filter(|e| e.next <= now) {
            failed(e, now, err);
        }
    }

    /// Takes the certificates another instance has ordered since.
    async fn adopt(&mut self, acme: &Acme, store: &Storage, now: u64) {
        for e in self.hosts.iter_mut().filter(|e| e.next <= now) {
            let stored = match store.acme_certificate(directory(acme), &e.host).await {
                Ok(Some(s)) if s.not_after as u64 > e.not_after => s,
                Ok(_) => continue,
                Err(err) => {
                    log::warn!(
                        "acme: {}: cannot read the shared certificate: {err}",
                        e.host
                    );
                    continue;
                }
            };
            let Ok(served) =
                Served::from_pem(stored.chain.as_bytes(), stored.key.expose().as_bytes())
            else {
                continue;
            };
            let next = schedule::renew_at(validity(&served), renew_before(acme), now, false);
            if next <= now {
                continue;
            }
            if let Err(err) = acme
                .state
                .put_certificate(&e.host, &stored.chain, &stored.key)
            {
                log::warn!(
                    "acme: {}: the shared certificate is served but not kept on disk: {err}",
                    e.host
                );
            }
            log::info!(
                "acme: {}: serving the certificate another instance obtained",
                e.host
            );
            (e.next, e.failures, e.not_after) = (next, 0, served.not_after);
            acme.certs.install(&e.host, served);
        }
    }

    /// The account: stored (shared first), or created and stored.
    async fn account(&mut self, acme: &Acme) -> Result<Account, AcmeError> {
        if let Some(a) = &self.account {
            return Ok(a.clone());
        }
        let directory = acme.cfg.directory_url.as_str();
        let shared = match &acme.store {
            Some(store) => store.acme_account(directory).await?,
            None => None,
        };
        let stored = match shared {
            Some(json) => Some(json),
            None => acme.state.account()?,
        };
        let account = match stored {
            Some(json) => {
                let credentials = serde_json::from_str(json.expose())?;
                builder(acme)?.from_credentials(credentials).await?
            }
            None => create_account(acme).await?,
        };
        self.account = Some(account.clone());
        Ok(account)
    }

    /// Asks the CA when to renew (RFC 9773), for the names whose time to ask has come.
    async fn check_renewal_info(&mut self, acme: &Acme, now: u64) {
        if !self.ari
            || !self
                .hosts
                .iter()
                .any(|e| e.ari_check <= now && e.not_after > 0)
        {
            return;
        }
        let account = match self.account(acme).await {
            Ok(a) => a,
            Err(err) => {
                log::debug!("acme: renewal information: {err}");
                self.hosts
                    .iter_mut()
                    .for_each(|e| e.ari_check = now + ARI_RECHECK);
                return;
            }
        };
        for e in self
            .hosts
            .iter_mut()
            .filter(|e| e.ari_check <= now && e.not_after > 0)
        {
            let Some(served) = acme.certs.issued(&e.host) else {
                continue;
            };
            let Some(Ok(id)) = served.leaf().map(CertificateIdentifier::try_from) else {
                e.ari_check = u64::MAX;
                continue;
            };
            match account.renewal_info(&id).await {
                Ok((info, retry)) => {
                    let w = info.suggested_window;
                    let secs = |t: i64| u64::try_from(t).unwrap_or(0);
                    let (start, end) =
                        (secs(w.start.unix_timestamp()), secs(w.end.unix_timestamp()));
                    let at = schedule::in_window(start, end, now, rand::random());
                    e.next = e.next.min(at);
                    e.ari_check = now + retry.as_secs().clamp(60, ARI_RECHECK);
                }
                Err(instant_acme::Error::Unsupported(_)) => {
                    self.ari = false;
                    return;
                }
                Err(err) => {
                    log::debug!("acme: {}: renewal information: {err}", e.host);
                    e.ari_check = now + ARI_RECHECK;
                }
            }
        }
    }
}

fn directory(acme: &Acme) -> &str {
    acme.cfg.directory_url.as_str()
}

fn renew_before(acme: &Acme) -> u64 {
    acme.cfg.renew_before.as_secs()
}

fn validity(s: &Served) -> Validity {
    Validity {
        not_before: s.not_before,
        not_after: s.not_after,
    }
}

/// Renews the ordering lease before each order (an order may take minutes); `false` when
/// another instance has it now. Without `[storage]` there is no lease.
async fn still_ours(acme: &Acme) -> bool {
    let Some(store) = &acme.store else {
        return true;
    };
    let now = acme.clock.now();
    match store
        .take_lease("acme", &acme.holder, now as i64, (now + LEASE) as i64)
        .await
    {
        Ok(held) => held,
        Err(e) => {
            log::warn!("acme: cannot renew the ordering lease: {e}");
            false
        }
    }
}

fn issued_ok(acme: &Acme, e: &mut Entry, served: Served, now: u64) {
    crate::metrics::acme_order("issued");
    let v = validity(&served);
    if schedule::due_when_issued(v, renew_before(acme), now) {
        log::warn!(
            "acme: {}: the new certificate is already within renew_before of its expiry (the CA issues shorter ones, or the clock is off); renewing after a third of its lifetime instead",
            e.host
        );
    }
    (e.next, e.failures, e.not_after) = (
        schedule::renew_at(v, renew_before(acme), now, true),
        0,
        served.not_after,
    );
    log::info!(
        "acme: {}: new certificate, expires {}",
        e.host,
        crate::clock::rfc3339(served.not_after)
    );
    acme.certs.install(&e.host, served);
}

fn failed(e: &mut Entry, now: u64, err: &AcmeError) {
    crate::metrics::acme_order("failed");
    e.failures += 1;
    let wait = schedule::retry_after(e.failures);
    e.next = now + wait;
    log::warn!(
        "acme: {}: no certificate this time ({err}); trying again in {wait} s",
        e.host
    );
}

/// Checks the issued chain and key, keeps them on disk and in the shared store.
async fn keep(acme: &Acme, host: &str, issued: order::Issued) -> Result<Served, AcmeError> {
    let served = Served::from_pem(issued.chain.as_bytes(), issued.key.expose().as_bytes())?;
    if let Err(e) = acme.state.put_certificate(host, &issued.chain, &issued.key) {
        log::error!("acme: {host}: the new certificate is served but not kept on disk, so a restart orders again: {e}");
    }
    if let Some(store) = &acme.store {
        let shared = StoredCertificate {
            chain: issued.chain,
            key: issued.key,
            not_after: served.not_after as i64,
        };
        if let Err(e) = store
            .put_acme_certificate(directory(acme), host, &shared)
            .await
        {
            log::error!(
                "acme: {host}: the new certificate is not shared with the other instances: {e}"
            );
        }
    }
    Ok(served)
}

/// The certificate of `host` kept from before: the later of the shared and the local one.
async fn stored(acme: &Acme, host: &str) -> Option<Served> {
    let local = match acme.state.certificate(host) {
        Ok(Some((chain, key))) => parse(host, chain.as_bytes(), key.expose().as_bytes()),
        Ok(None) => None,
        Err(e) => {
            log::warn!("acme: {host}: cannot read the stored certificate: {e}");
            None
        }
    };
    let shared = match &acme.store {
        Some(store) => match store.acme_certificate(directory(acme), host).await {
            Ok(Some(s)) => parse(host, s.chain.as_bytes(), s.key.expose().as_bytes()),
            Ok(None) => None,
            Err(e) => {
                log::warn!("acme: {host}: cannot read the shared certificate: {e}");
                None
            }
        },
        None => None,
    };
    match (local, shared) {
        (Some(l), Some(s)) => Some(if s.not_after > l.not_after { s } else { l }),
        (l, s) => l.or(s),
    }
}

fn parse(host: &str, chain: &[u8], key: &[u8]) -> Option<Served> {
    Served::from_pem(chain, key)
        .map_err(|e| log::warn!("acme: {host}: the stored certificate is unusable: {e}"))
        .ok()
}

fn builder(acme: &Acme) -> Result<instant_acme::AccountBuilder, AcmeError> {
    Ok(match &acme.cfg.ca_file {
        Some(file) => instant_acme::Account::builder_with_root(file)?,
        None => instant_acme::Account::builder()?,
    })
}

async fn create_account(acme: &Acme) -> Result<Account, AcmeError> {
    let contact: Vec<&str> = acme.cfg.contact.as_deref().into_iter().collect();
    let new = NewAccount {
        contact: &contact,
        terms_of_service_agreed: true,
        only_return_existing: false,
    };
    let (account, credentials) = builder(acme)?
        .create(&new, acme.cfg.directory_url.to_string(), None)
        .await?;
    let json = Secret::new(serde_json::to_string(&credentials)?);
    acme.state.put_account(&json)?;
    if let Some(store) = &acme.store {
        store
            .put_acme_account(acme.cfg.directory_url.as_str(), &json)
            .await?;
    }
    log::info!("acme: account created at {}", acme.cfg.directory_url);
    Ok(account)
}
