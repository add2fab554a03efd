//! The access decision for a request on a route, whoever asks: the proxy in front of the
//! route, or forward-auth for a front proxy. It authenticates with what the route accepts and
//! asks `policy::decide`; the callers only map the answer, and the answers that do not depend
//! on the caller (refusals) are built here once.

use pingora::http::RequestHeader;

use super::auth::{authenticate, Accepts, Addressed, AuthError, Bearer};
use super::respond::{self, Audience};
use super::App;
use crate::config::Route;
use crate::http::facts::{Facts, Scheme};
use crate::http::host::Host;
use crate::http::{GatewayError, Reply};
use crate::identity::Identity;
use crate::oidc::errors::{ResourceCode, ResourceError};
use crate::policy::{self, Credential, Decision, Requires};

/// A decision and who it was made for.
pub struct Verdict {
    pub decision: Decision,
    pub who: Option<Identity>,
}

/// Decides on `request` for `route`, addressed `to` a scheme and host (for forward-auth, the
/// original request's, not the subrequest's). A public path is decided before any credential is
/// looked at, so a stale token never blocks it. Credentials the route refuses (a bad bearer
/// token or app password) and a store or directory that cannot answer give the reply to send
/// instead: the latter fails closed.
pub async fn decide(
    app: &App,
    header: &RequestHeader,
    (facts, to): (&Facts, (&str, &Host)),
    route: &Route,
    request: &policy::Request<'_>,
    json: bool,
) -> Result<Verdict, Reply> {
    let rule = policy::rules::first(route, request);
    if policy::is_public_by(route, request, rule) {
        return Ok(Verdict {
            decision: Decision::Public,
            who: None,
        });
    }
    let accepts = Accepts {
        bearer: Bearer::From(&route.bearer_clients),
        app_passwords: route.app_passwords,
        client_ip: facts.client_ip,
        secure: facts.scheme == Scheme::Https,
        target: Some(Addressed {
            scheme: to.0,
            host: to.1,
            path: request.path,
            method: request.method,
            route,
        }),
    };
    let who = match authenticate(app, header, accepts, app.now()).await {
        Ok(w) => w,
        Err(AuthError::InvalidToken(e)) => return Err(respond::resource(&e)),
        Err(AuthError::InvalidBasic) => {
            return Err(respond::gateway(
                &GatewayError::BasicRequired,
                Audience::of(json, app, header, facts),
            ))
        }
        Err(AuthError::Unavailable(e)) => {
            return Err(respond::gateway(&e, Audience::of(json, app, header, facts)))
        }
    };
    let requires = Requires::of(route, &app.cfg.login);
    let decision = policy::decide_by(route, request, rule, who.as_ref(), requires);
    Ok(Verdict { decision, who })
}

/// The answer to a decision that lets nothing through, when no browser sign-in follows (an
/// API client, forward-auth, or a credential that cannot step up: a token gets
/// `insufficient_user_authentication` (RFC 9470), an app password a new Basic challenge).
pub fn refusal(decision: Decision, credential: Option<Credential>, to: Audience<'_>) -> Reply {
    match (decision, credential) {
        (Decision::Deny, _) => respond::gateway(&GatewayError::Forbidden, to),
        (Decision::StepUp, Some(Credential::Bearer)) => respond::resource(&ResourceError::new(
            ResourceCode::InsufficientUserAuthentication,
            "this application requires a second factor",
        )),
        (Decision::StepUp, Some(Credential::AppPassword)) => {
            respond::gateway(&GatewayError::BasicRequired, to)
        }
        (Decision::StepUp, _) => respond::gateway(&GatewayError::SecondFactorRequired, to),
        _ => respond::gateway(&GatewayError::Unauthenticated, to),
    }
}
