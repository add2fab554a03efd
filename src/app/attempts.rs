//! One way to try a credential — a password, a second-factor code, an app password — so
//! that lockout and counting are written once: refused while locked out, counted before the
//! check (atomically: concurrent attempts cannot slip between a check and a count), a wrong
//! answer counted against the address too. Every store error fails closed.

use std::future::Future;
use std::net::IpAddr;

use super::{revocation, App};
use crate::http::GatewayError;
use crate::login::regulation;

/// What was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A password or a second-factor code at a sign-in form.
    Form,
    /// An app password on `Authorization: Basic`.
    AppPassword,
}

/// What an attempt came to.
pub enum Attempted<T> {
    Right(T),
    Wrong,
    /// Locked out: nothing was checked.
    Locked,
}

impl App {
    /// Tries `check` for `username` from `ip`. The rate limit is the caller's: forms count
    /// every attempt (`App::admit` first), app passwords only wrong ones, so that a client
    /// using one stays under it. A right answer gives its own count back; the count is reset
    /// only when a whole sign-in succeeds (`regulation::succeeded`): a right password must
    /// not wipe wrong codes.
    pub async fn attempt<T, Fut>(
        &self,
        username: &str,
        ip: Option<IpAddr>,
        credential: Credential,
        check: impl FnOnce() -> Fut,
    ) -> Result<Attempted<T>, GatewayError>
    where
        Fut: Future<Output = Result<Option<T>, GatewayError>>,
    {
        let counters = self.stores.counters.as_ref();
        let login = &self.cfg.login;
        let Some(attempt) = regulation::begin(counters, login, username, ip).await? else {
            crate::metrics::sign_in("locked");
            return Ok(Attempted::Locked);
        };
        let checked = check().await;
        if !matches!(checked, Ok(None)) {
            // Right, or not checked at all (the directory busy or down): the attempt does not
            // count against the user.
            regulation::right(counters, username).await?;
        }
        if let Some(found) = checked? {
            return Ok(Attempted::Right(found));
        }
        crate::metrics::sign_in("failed");
        let from = ip.map(regulation::address_key).unwrap_or_default();
        log::info!("a sign-in attempt failed from {from}");
        let locked = regulation::failed(counters, login, attempt, username, ip).await?;
        // Wrong app passwords lock the user out of sign-in, but do not end sessions: a stale
        // client must not sign its owner out everywhere.
        if locked && login.lockout_ends_sessions && credential == Credential::Form {
            let n = revocation::end_user(self, username).await?;
            log::warn!("{username} is locked out: ended {n} session(s)");
        }
        Ok(Attempted::Wrong)
    }
}
