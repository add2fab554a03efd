//! `/oauth2/auth`: forward-auth for nginx `auth_request`, Traefik ForwardAuth and Caddy
//! `forward_auth`. 202 with the identity headers, 401, or 403 by the route's policy.
//!
//! The original request's host, URI and method are read from `X-Forwarded-Host/-Uri/-Method`
//! (or `X-Original-URL`) only when the peer is a trusted proxy; from anyone else they are
//! ignored, and only "is this a signed-in user" is answered.

use super::Request;
use crate::app::App;
use crate::http::host::Host;
use crate::http::{path, GatewayError, Reply};
use crate::policy::{self, Access};
use crate::proxy::auth::{authenticate, AuthError};
use crate::session::now;

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
        Some(url) => {
            let authority = match url.port() {
                Some(p) => format!("{}:{p}", url.host_str()?),
                None => url.host_str()?.to_string(),
            };
            (authority, url.path().to_string())
        }
        None => (
            req.header_str("x-forwarded-host")?.to_string(),
            req.header_str("x-forwarded-uri").unwrap_or("/").to_string(),
        ),
    };
    let raw_path = uri.split(['?', '#']).next().unwrap_or("/");
    Some(Original {
        host: Host::parse(&host)?,
        path: path::normalize(raw_path).ok()?,
    })
}

pub async fn handle(app: &App, req: &Request<'_>) -> Reply {
    let t = now();
    let who = match authenticate(app, req.header, t).await {
        Ok(w) => w,
        Err(AuthError::InvalidToken) => None,
        Err(AuthError::Store(e)) => {
            log::error!("{e}");
            return GatewayError::Unavailable("the session store is unavailable".into())
                .reply(true);
        }
    };
    let target = original(req);
    let route = target
        .as_ref()
        .and_then(|o| app.routes.find(&app.cfg.routes, &o.host, &o.path))
        .and_then(|i| app.route(i));
    let access = match (route, &target) {
        (Some(r), Some(o)) => policy::decide(r, &o.path, who.as_ref()),
        _ if who.is_some() => Access::Allow,
        _ => Access::Login,
    };
    match (access, who) {
        (Access::Public, _) => Reply::new(202),
        (Access::Allow, Some(who)) => {
            let names = route.map(|r| r.headers.clone()).unwrap_or_default();
            let audience = target.as_ref().map_or_else(
                || app.cfg.server.public_host.authority(),
                |o| o.host.authority(),
            );
            let assertion =
                match app
                    .assertions
                    .get(&app.keys, &app.cfg.server.issuer, &audience, &who, t)
                {
                    Ok(a) => a,
                    Err(e) => {
                        log::error!("signing an assertion failed: {e}");
                        return GatewayError::Internal.reply(true);
                    }
                };
            crate::identity::headers(&names, &who, &assertion)
                .into_iter()
                .fold(
                    Reply::new(202).header("Cache-Control", "no-store"),
                    |r, (k, v)| r.header(k, v),
                )
        }
        (Access::Deny, _) => GatewayError::Forbidden.reply(true),
        _ => GatewayError::Unauthenticated.reply(true),
    }
}
