//! `POST /oauth2/par` (RFC 9126) and the two ways an authorization request arrives other than
//! as plain parameters: a `request_uri` a client pushed, and a signed `request` object
//! (RFC 9101). Both are turned into parameters here; `oidc::authorize::validate` then judges
//! them like any other.

use super::Request;
use crate::app::{auth, respond, App};
use crate::config::Client;
use crate::http::params::Params;
use crate::http::Reply;
use crate::oidc::authorize::{refuse, validate, AuthorizeError, Came};
use crate::oidc::errors::{AuthorizeCode, TokenCode, TokenError};
use crate::oidc::par::{self, Pushed};
use crate::oidc::request_object;
use crate::secret::new_secret;
use crate::session::{Key, Kind, Records};

/// Parameters of client authentication: never kept with a pushed request.
const CLIENT_AUTH: &[&str] = &["client_secret", "client_assertion", "client_assertion_type"];

pub async fn handle(app: &App, req: &Request<'_>) -> Reply {
    // Each push is kept for a minute: pushes count like sign-in starts per address.
    if let Err(e) = app.admit(req.facts.client_ip).await {
        return respond::gateway(&e, crate::app::respond::Audience::Api);
    }
    match push(app, req).await {
        Ok(body) => Reply::json(201, &body).header("Cache-Control", "no-store"),
        Err(e) => respond::token(&e),
    }
}

/// §2.1: the client authenticates as at the token endpoint; the request is validated as the
/// authorization endpoint would, then kept for a minute under a new `request_uri`.
async fn push(app: &App, req: &Request<'_>) -> Result<serde_json::Value, TokenError> {
    let form = req.token_form()?;
    let client = auth::client(app, req.header_str("authorization"), &form).await?;
    par::check_push(&form, client)?;
    let (mut params, signed) = match form.get("request") {
        Some(jwt) => {
            let object = accept_object(app, client, jwt)
                .await
                .map_err(|why| TokenError::new(TokenCode::InvalidRequestObject, why))?;
            (
                request_object::with_client_id(object, &client.client_id),
                true,
            )
        }
        None => (form.clone(), false),
    };
    for name in CLIENT_AUTH {
        params.remove(name);
    }
    params.set("client_id", client.client_id.clone());
    let came = Came {
        pushed: true,
        signed,
    };
    validate(&params, &app.clients, came).map_err(|e| match e {
        AuthorizeError::Page { message, .. } => TokenError::new(TokenCode::InvalidRequest, message),
        AuthorizeError::Redirect {
            error, description, ..
        } => TokenError::new(
            TokenCode::InvalidRequest,
            format!("{}: {description}", error.as_str()),
        ),
    })?;
    let request_uri = format!("{}{}", par::URI_PREFIX, new_secret());
    let rec = Pushed {
        client_id: client.client_id.clone(),
        params: params
            .pairs()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        signed,
        expires: app.now() + par::EXPIRES_IN,
    };
    Records(app.stores.records.as_ref())
        .put(
            &Key::secret(Kind::Pushed, &request_uri),
            &rec,
            Kind::Pushed.ttl(&app.cfg),
        )
        .await?;
    Ok(serde_json::json!({ "request_uri": request_uri, "expires_in": par::EXPIRES_IN }))
}

/// The parameters an authorization request stands for, and how it came: those pushed under
/// its `request_uri` (used up here), those of its signed `request` (with the query's
/// `client_id`), or the query itself.
pub async fn resolve(app: &App, query: Params) -> Result<(Params, Came), AuthorizeError> {
    let clients = &app.clients;
    if let Some(uri) = query.get("request_uri") {
        if query.contains("request") {
            let why = "request and request_uri cannot be combined";
            return Err(refuse(&query, clients, AuthorizeCode::InvalidRequest, why));
        }
        let taken: Option<Pushed> = Records(app.stores.records.as_ref())
            .take(&Key::secret(Kind::Pushed, uri))
            .await
            .map_err(|e| {
                log::error!("{e}");
                let why = "the service is unavailable right now";
                refuse(&query, clients, AuthorizeCode::TemporarilyUnavailable, why)
            })?;
        let unknown = || {
            let why = "the request_uri is unknown, used or expired";
            refuse(&query, clients, AuthorizeCode::InvalidRequestUri, why)
        };
        let rec = taken.ok_or_else(unknown)?;
        par::check_use(&rec, query.get("client_id"), app.now())
            .map_err(|why| refuse(&query, clients, AuthorizeCode::InvalidRequestUri, why))?;
        let came = Came {
            pushed: true,
            signed: rec.signed,
        };
        return Ok((rec.params(), came));
    }
    let Some(jwt) = query.get("request") else {
        return Ok((query, Came::default()));
    };
    let client = query.get("client_id").and_then(|id| clients.get(id));
    let Some(client) = client else {
        let why = "client_id is required with a request object";
        return Err(refuse(&query, clients, AuthorizeCode::InvalidRequest, why));
    };
    match accept_object(app, client, jwt).await {
        Ok(object) => {
            let came = Came {
                pushed: false,
                signed: true,
            };
            Ok((
                request_object::with_client_id(object, &client.client_id),
                came,
            ))
        }
        Err(why) => Err(refuse(
            &query,
            clients,
            AuthorizeCode::InvalidRequestObject,
            why,
        )),
    }
}

/// The parameters of `client`'s request object `jwt`, which is accepted once: its `jti` shares
/// the namespace of client assertions', so neither can stand in for the other.
async fn accept_object(app: &App, client: &Client, jwt: &str) -> Result<Params, String> {
    let now = app.now();
    let verified = request_object::verify(jwt, client, &app.cfg.server.issuer, now)?;
    let key = Key::id(
        Kind::Assertion,
        &format!("{} {}", client.client_id, verified.jti),
    );
    let ttl = std::time::Duration::from_secs(verified.exp.saturating_sub(now).max(1));
    match app.stores.records.incr(&key, ttl).await {
        Ok(1) => Ok(verified.params),
        Ok(_) => Err("the request object was used before (jti)".into()),
        Err(e) => {
            log::error!("{e}");
            Err("the request object cannot be checked right now".into())
        }
    }
}
