//! The gate in front of a protected route: maps the one access decision (`app::access`) to the
//! proxy's answers: let the request through with identity headers, or answer it (sign-in
//! redirect, 401, 403, 503).

use std::sync::Arc;

use pingora::http::RequestHeader;

use super::client;
use crate::app::respond::{self, Audience};
use crate::app::{access, App};
use crate::config::Route;
use crate::directory::UserInfo;
use crate::http::facts::Facts;
use crate::http::{GatewayError, Reply};
use crate::identity::{Identity, Prepared, Target};
use crate::policy::{self, Credential, Decision};

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
        return Outcome::Respond(respond::gateway(
            &GatewayError::Internal,
            Audience::of(json, app, req, facts),
        ));
    };
    let request = policy::Request {
        path: &facts.path,
        method: req.method.as_str(),
        client_ip: facts.client_ip,
        query: facts.query.as_deref(),
    };
    let to = (facts.scheme.as_str(), &facts.host);
    let verdict = match access::decide(app, req, (facts, to), route, &request, json).await {
        Ok(v) => v,
        Err(reply) => return Outcome::Respond(reply),
    };
    let see_other = !matches!(req.method, http::Method::GET | http::Method::HEAD);
    let sign_in = |mfa: bool| async move {
        let url = client::request_url(facts);
        Outcome::Respond(client::start_sign_in(app, (req, facts), url, see_other, mfa).await)
    };
    let credential = verdict.who.as_ref().map(|w| w.credential);
    match (verdict.decision, verdict.who) {
        (Decision::Public, _) => PUBLIC,
        (Decision::Allow, Some(who)) => pass(
            app,
            (route_index, route),
            (req, facts),
            who,
            app.now(),
            json,
        ),
        (Decision::Login { second_factor }, _) if !json => sign_in(second_factor).await,
        (Decision::StepUp, _) if !json && credential == Some(Credential::Session) => {
            sign_in(true).await
        }
        (decision, _) => Outcome::Respond(access::refusal(
            decision,
            credential,
            Audience::of(json, app, req, facts),
        )),
    }
}

/// Lets `who` through with the route's identity headers and a signed assertion.
fn pass(
    app: &App,
    (index, route): (usize, &Route),
    (req, facts): (&RequestHeader, &Facts),
    who: Identity,
    now: u64,
    json: bool,
) -> Outcome {
    let target = Target {
        route: Some(index),
        names: &route.headers,
        audience: route.host.as_ref().unwrap_or(&facts.host),
        basic: route.upstream.basic.as_ref(),
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
            let to = Audience::of(json, app, req, facts);
            Outcome::Respond(respond::gateway(&GatewayError::Internal, to))
        }
    }
}
