//! The gate in front of a protected route: authenticate, apply the route's policy, and either
//! let the request through with identity headers or answer it (sign-in redirect, 401, 403, 503).

use std::sync::Arc;

use pingora::http::RequestHeader;

use super::client;
use crate::app::auth::{authenticate, Accepts, AuthError, Bearer};
use crate::app::{respond, App};
use crate::config::Route;
use crate::directory::UserInfo;
use crate::http::facts::Facts;
use crate::http::{GatewayError, Reply};
use crate::identity::{Identity, Prepared, Target};
use crate::oidc::errors::{ResourceCode, ResourceError};
use crate::policy;

pub enum Outcome {
    /// Proxy the request, adding these headers; `user` is who it is from, if anyone.
    Pass {
        headers: Option<Arc<Prepared>>,
        user: Option<Arc<UserInfo>>,
        /// Remove the client's `Authorization` (it carried an app password).
        strip_authorization: bool,
    },
    /// Answer with this instead.
    Respond(Reply),
}

const PUBLIC: Outcome = Outcome::Pass {
    headers: None,
    user: None,
    strip_authorization: false,
};

pub async fn check(
    app: &App,
    req: &RequestHeader,
    facts: &Facts,
    route_index: usize,
    json: bool,
) -> Outcome {
    let Some(route) = app.route(route_index) else {
        return Outcome::Respond(respond::gateway(&GatewayError::Internal, json));
    };
    if policy::is_public(route, &facts.path) {
        return PUBLIC;
    }
    let now = app.now();
    let who = match who(app, req, facts, route, json, now).await {
        Ok(w) => w,
        Err(reply) => return Outcome::Respond(reply),
    };
    let see_other = !matches!(req.method, http::Method::GET | http::Method::HEAD);
    let sign_in = |mfa: bool| async move {
        let url = client::request_url(facts);
        Outcome::Respond(client::start_sign_in(app, facts, url, see_other, mfa).await)
    };
    let step_up = who.as_ref().is_some_and(|w| needs_step_up(app, route, w));
    match who {
        Some(_) if step_up && json => {
            Outcome::Respond(respond::gateway(&GatewayError::Unauthenticated, true))
        }
        Some(_) if step_up => sign_in(true).await,
        Some(who) if policy::allowed(route, &who) => {
            pass(app, (route_index, route), facts, who, now, json)
        }
        Some(_) => Outcome::Respond(respond::gateway(&GatewayError::Forbidden, json)),
        None if json => Outcome::Respond(respond::gateway(&GatewayError::Unauthenticated, true)),
        None => sign_in(app.needs_second_factor(route)).await,
    }
}

/// A session without a second factor on a route that wants one. An app password counts as
/// one only where the route says so.
fn needs_step_up(app: &App, route: &Route, who: &Identity) -> bool {
    let app_password_enough = who.via_app_password() && route.app_passwords_satisfy_second_factor;
    !who.mfa() && !app_password_enough && app.needs_second_factor(route)
}

/// Who the request is from; an answer instead when its credentials are refused: a bad bearer
/// token or app password, or one without the second factor this route needs (a token or an
/// app password cannot go through a step-up).
async fn who(
    app: &App,
    req: &RequestHeader,
    facts: &Facts,
    route: &Route,
    json: bool,
    now: u64,
) -> Result<Option<Identity>, Reply> {
    let accepts = Accepts {
        bearer: Bearer::From(&route.bearer_clients),
        app_passwords: route.app_passwords,
        client_ip: facts.client_ip,
    };
    let invalid_token =
        |why: &str| respond::resource(&ResourceError::new(ResourceCode::InvalidToken, why));
    let who = match authenticate(app, req, accepts, now).await {
        Ok(w) => w,
        Err(AuthError::InvalidToken) => {
            return Err(invalid_token(
                "the access token is invalid, expired, revoked or not for this application",
            ))
        }
        Err(AuthError::InvalidBasic) => {
            return Err(respond::gateway(&GatewayError::BasicRequired, json))
        }
        // Fail closed: without the store nobody is known to be signed in.
        Err(AuthError::Unavailable(e)) => return Err(respond::gateway(&e, json)),
    };
    let Some(w) = who else {
        return Ok(None);
    };
    if !needs_step_up(app, route, &w) {
        return Ok(Some(w));
    }
    if w.via_app_password() {
        return Err(respond::gateway(&GatewayError::BasicRequired, json));
    }
    if crate::app::auth::bearer(req).is_some() {
        let e = ResourceError::new(
            ResourceCode::InsufficientUserAuthentication,
            "this application requires a second factor",
        );
        return Err(respond::resource(&e));
    }
    Ok(Some(w))
}

/// Lets `who` through with the route's identity headers and a signed assertion.
fn pass(
    app: &App,
    (index, route): (usize, &Route),
    facts: &Facts,
    who: Identity,
    now: u64,
    json: bool,
) -> Outcome {
    let target = Target {
        route: Some(index),
        names: &route.headers,
        audience: route.host.as_ref().unwrap_or(&facts.host),
        basic: route.upstream_basic.as_ref(),
    };
    match app
        .identities
        .get(&app.keys, &app.cfg.server.issuer, &target, &who, now)
    {
        Ok(prepared) => Outcome::Pass {
            headers: Some(prepared),
            // The app password was for authgate: it never reaches the upstream.
            strip_authorization: who.via_app_password(),
            user: Some(who.user),
        },
        Err(e) => {
            log::error!("{e}");
            Outcome::Respond(respond::gateway(&GatewayError::Internal, json))
        }
    }
}
