//! The gate in front of a protected route: authenticate, apply the route's policy, and either
//! let the request through with identity headers or answer it (sign-in redirect, 401, 403, 503).

use std::sync::Arc;

use pingora::http::RequestHeader;

use super::client;
use crate::app::auth::{authenticate, AuthError, Bearer};
use crate::app::{respond, App};
use crate::config::Route;
use crate::directory::UserInfo;
use crate::http::facts::Facts;
use crate::http::{GatewayError, Reply};
use crate::identity::Identity;
use crate::oidc::errors::{ResourceCode, ResourceError};
use crate::policy;

pub enum Outcome {
    /// Proxy the request, adding these headers; `user` is who it is from, if anyone.
    Pass {
        headers: Vec<(String, String)>,
        user: Option<Arc<UserInfo>>,
    },
    /// Answer with this instead.
    Respond(Reply),
}

const PUBLIC: Outcome = Outcome::Pass {
    headers: Vec::new(),
    user: None,
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
    let who = match authenticate(app, req, Bearer::From(&route.bearer_clients), now).await {
        Ok(w) => w,
        Err(AuthError::InvalidToken) => {
            let e = ResourceError::new(
                ResourceCode::InvalidToken,
                "the access token is invalid, expired, revoked or not for this application",
            );
            return Outcome::Respond(respond::resource(&e));
        }
        // Fail closed: without the store nobody is known to be signed in.
        Err(AuthError::Unavailable(e)) => return Outcome::Respond(respond::gateway(&e, json)),
    };
    let step_up = who
        .as_ref()
        .is_some_and(|w| !w.mfa() && app.needs_second_factor(route));
    if step_up && crate::app::auth::bearer(req).is_some() {
        let e = ResourceError::new(
            ResourceCode::InsufficientUserAuthentication,
            "this application requires a second factor",
        );
        return Outcome::Respond(respond::resource(&e));
    }
    match who {
        Some(_) if step_up && json => {
            Outcome::Respond(respond::gateway(&GatewayError::Unauthenticated, true))
        }
        Some(_) if step_up => {
            let see_other = !matches!(req.method, http::Method::GET | http::Method::HEAD);
            let url = client::request_url(facts);
            Outcome::Respond(client::start_sign_in(app, facts, url, see_other, true).await)
        }
        Some(who) if policy::allowed(route, &who) => pass(app, route, facts, who, now, json),
        Some(_) => Outcome::Respond(respond::gateway(&GatewayError::Forbidden, json)),
        None if json => Outcome::Respond(respond::gateway(&GatewayError::Unauthenticated, true)),
        None => {
            let see_other = !matches!(req.method, http::Method::GET | http::Method::HEAD);
            Outcome::Respond(
                client::start_sign_in(
                    app,
                    facts,
                    client::request_url(facts),
                    see_other,
                    app.needs_second_factor(route),
                )
                .await,
            )
        }
    }
}

/// Lets `who` through with the route's identity headers and a signed assertion.
fn pass(app: &App, route: &Route, facts: &Facts, who: Identity, now: u64, json: bool) -> Outcome {
    let audience = route.host.as_ref().unwrap_or(&facts.host).authority();
    match app
        .assertions
        .get(&app.keys, &app.cfg.server.issuer, &audience, &who, now)
    {
        Ok(assertion) => Outcome::Pass {
            headers: crate::identity::headers(&route.headers, &who, &assertion),
            user: Some(who.user),
        },
        Err(e) => {
            log::error!("signing an assertion failed: {e}");
            Outcome::Respond(respond::gateway(&GatewayError::Internal, json))
        }
    }
}
