//! The gate in front of a protected route: authenticate, apply the route's policy, and either
//! let the request through with identity headers or answer it (sign-in redirect, 401, 403, 503).

use pingora::http::RequestHeader;

use super::auth::{authenticate, AuthError};
use super::client;
use super::routes::Facts;
use crate::app::App;
use crate::http::{GatewayError, Reply};
use crate::oidc::errors::{EndpointError, OAuthError};
use crate::policy::{self, Access};
use crate::session::now;

pub enum Outcome {
    /// Proxy the request, adding these headers; `user` is who it is from, if anyone.
    Pass {
        headers: Vec<(String, String)>,
        user: Option<std::sync::Arc<str>>,
    },
    /// Answer with this instead.
    Respond(Reply),
}

pub async fn check(
    app: &App,
    req: &RequestHeader,
    facts: &Facts,
    route_index: usize,
    json: bool,
) -> Outcome {
    let Some(route) = app.route(route_index) else {
        return Outcome::Respond(GatewayError::Internal.reply(json));
    };
    if policy::is_public(route, &facts.path) {
        return Outcome::Pass {
            headers: Vec::new(),
            user: None,
        };
    }
    let t = now();
    let who = match authenticate(app, req, t).await {
        Ok(w) => w,
        Err(AuthError::InvalidToken) => {
            return Outcome::Respond(
                EndpointError::new(
                    OAuthError::InvalidToken,
                    "the access token is invalid, expired or revoked",
                )
                .reply(),
            )
        }
        Err(AuthError::Store(e)) => {
            log::error!("{e}");
            // Fail closed: without the store nobody is known to be signed in.
            return Outcome::Respond(
                GatewayError::Unavailable(
                    "sign-in is unavailable right now; please try again shortly".into(),
                )
                .reply(json),
            );
        }
    };
    match (policy::decide(route, &facts.path, who.as_ref()), who) {
        (Access::Public, _) => Outcome::Pass {
            headers: Vec::new(),
            user: None,
        },
        (Access::Allow, Some(who)) => {
            let audience = route.host.as_ref().unwrap_or(&facts.host).authority();
            match app
                .assertions
                .get(&app.keys, &app.cfg.server.issuer, &audience, &who, t)
            {
                Ok(assertion) => Outcome::Pass {
                    headers: crate::identity::headers(&route.headers, &who, &assertion),
                    user: Some(std::sync::Arc::clone(&who.user)),
                },
                Err(e) => {
                    log::error!("signing an assertion failed: {e}");
                    Outcome::Respond(GatewayError::Internal.reply(json))
                }
            }
        }
        (Access::Deny, _) => Outcome::Respond(GatewayError::Forbidden.reply(json)),
        (Access::Login | Access::Allow, _) if json => {
            Outcome::Respond(GatewayError::Unauthenticated.reply(true))
        }
        (Access::Login | Access::Allow, _) => {
            let see_other = !matches!(req.method, http::Method::GET | http::Method::HEAD);
            Outcome::Respond(
                client::start_sign_in(app, facts, client::request_url(facts), see_other).await,
            )
        }
    }
}
