//! `/oauth2/auth`: forward-auth for nginx `auth_request`, Traefik ForwardAuth and Caddy
//! `forward_auth`. 202 with the identity headers, 401, or 403 by the route's policy.
//!
//! The original request's host, URI and method are read from `X-Forwarded-Host/-Uri/-Method`
//! (or `X-Original-URL`) only when the peer is a trusted proxy; from anyone else they are
//! ignored, and only "is this a signed-in user" is answered.

use super::Request;
use crate::app::auth::{authenticate, Accepts, AuthError, Bearer};
use crate::app::{respond, App};
use crate::config::IdentityHeaders;
use crate::http::host::Host;
use crate::http::{path, GatewayError, Reply};
use crate::identity::Target;
use crate::oidc::errors::{ResourceCode, ResourceError};
use crate::policy::{self, Access};

/// The original request as the front proxy reports it.
struct Original {
    host: Host,
    path: String,
}

fn original(req: &Request<'_>) -> Option<Original> {
    if !req.facts.trusted {
        return None;
    }
    let (host, uri) = match req
        .header_str("x-original-url")
        .and_then(|u| url::Url::parse(u).ok())
    {
        Some(url) => (Host::from_url(&url)?, url.path().to_string()),
        None => (
            Host::parse(req.header_str("x-forwarded-host")?)?,
            req.header_str("x-forwarded-uri").unwrap_or("/").to_string(),
        ),
    };
    let raw_path = uri.split(['?', '#']).next().unwrap_or("/");
    Some(Original {
        host,
        path: path::normalize(raw_path).ok()?,
    })
}

pub async fn handle(app: &App, req: &Request<'_>) -> Reply {
    let now = app.now();
    let target = original(req);
    let route_index = target
        .as_ref()
        .and_then(|o| app.routes.find(&app.cfg.routes, &o.host, &o.path));
    let route = route_index.and_then(|i| app.route(i));
    // Without an identified route, no bearer token is accepted; session cookies still are.
    let accepts = route.map_or(Accepts::cookies(), |r| Accepts {
        bearer: Bearer::From(&r.bearer_clients),
        app_passwords: r.app_passwords,
        client_ip: req.facts.client_ip,
    });
    let who = match authenticate(app, req.header, accepts, now).await {
        Ok(w) => w,
        Err(AuthError::InvalidToken) => {
            let e = ResourceError::new(
                ResourceCode::InvalidToken,
                "the access token is invalid, expired, revoked or not for this application",
            );
            return respond::resource(&e);
        }
        Err(AuthError::InvalidBasic) => {
            return respond::gateway(&GatewayError::BasicRequired, true)
        }
        Err(AuthError::Unavailable(e)) => return respond::gateway(&e, true),
    };
    let access = match (route, &target) {
        (Some(r), Some(o)) => policy::decide(r, &o.path, who.as_ref()),
        _ if who.is_some() => Access::Allow,
        _ => Access::Login,
    };
    let step_up = route.is_some_and(|r| app.needs_second_factor(r));
    match (access, who) {
        (Access::Public, _) => Reply::new(202),
        (Access::Allow, Some(who)) if step_up && !who.mfa() => {
            respond::gateway(&GatewayError::Unauthenticated, true)
        }
        (Access::Allow, Some(who)) => {
            let default_names = IdentityHeaders::default();
            let to = Target {
                route: route_index,
                names: route.map_or(&default_names, |r| &r.headers),
                audience: target
                    .as_ref()
                    .map_or(&app.cfg.server.public_host, |o| &o.host),
                basic: None,
            };
            match app
                .identities
                .get(&app.keys, &app.cfg.server.issuer, &to, &who, now)
            {
                Ok(prepared) => prepared.pairs().fold(
                    Reply::new(202).header("Cache-Control", "no-store"),
                    |r, (k, v)| r.header(k, v),
                ),
                Err(e) => {
                    log::error!("{e}");
                    respond::gateway(&GatewayError::Internal, true)
                }
            }
        }
        (Access::Deny, _) => respond::gateway(&GatewayError::Forbidden, true),
        _ => respond::gateway(&GatewayError::Unauthenticated, true),
    }
}
