//! The token-exchange grant at the token endpoint (RFC 8693 §2): a confidential client trades
//! a user's access token for one meant for another client or route. The rules are
//! `oidc::exchange`'s; here the tokens are looked up and the new one is signed.

use super::token::server_error;
use crate::app::auth::{live_access_token, LiveToken};
use crate::app::App;
use crate::config::Client;
use crate::http::params::Params;
use crate::oidc::errors::{TokenCode, TokenError};
use crate::oidc::exchange::{self, Target, ACCESS_TOKEN_TYPE};
use crate::oidc::tokens::{self, Binding, Subject};

fn invalid_grant(why: &str) -> TokenError {
    TokenError::new(TokenCode::InvalidGrant, why)
}

pub(super) async fn exchange(
    app: &App,
    client: &Client,
    p: &Params,
    now: u64,
    jkt: Option<&str>,
) -> Result<serde_json::Value, TokenError> {
    if !client.is_confidential() {
        return Err(TokenError::new(
            TokenCode::UnauthorizedClient,
            "only confidential clients exchange tokens",
        ));
    }
    let asked = exchange::parse(p)?;
    let subject = subject(app, client, asked.subject_token).await?;
    let actor = match asked.actor_token {
        None => None,
        Some(t) => Some(
            live_access_token(app, t)
                .await?
                .filter(|a| a.claims.client_id == client.client_id)
                .ok_or_else(|| invalid_grant("the actor_token is invalid or not this client's"))?,
        ),
    };
    let audience = target(app, asked.target)?;
    let claims = &subject.claims;
    let scope = exchange::scope(claims, asked.scope)?;
    let user = app
        .directory
        .active(subject.user())
        .await?
        .filter(|u| claims.is_for(u))
        .ok_or_else(|| invalid_grant("the user account is not available"))?;
    let sub = app.subject_for(audience, &user.source, &user.username);
    let new = Subject {
        user: &user,
        sub: &sub,
        client_id: &client.client_id,
        scope: &scope,
        sid: &claims.sid,
        auth_time: claims.iat,
        grant: &claims.gid,
        amr: &claims.amr,
        machine: false,
    };
    let binding = Binding {
        jkt,
        act: exchange::actor(claims, actor.as_ref().map(|a| &*a.claims)),
        audience: Some(audience),
        exp: Some(claims.exp),
    };
    let ttl = app.cfg.tokens.access_token_ttl.as_secs();
    let (token, issued) =
        tokens::access_token(&app.keys, &app.cfg.server.issuer, &new, (ttl, now), binding)
            .map_err(server_error)?;
    Ok(serde_json::json!({
        "access_token": token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": issued.token_type(),
        "expires_in": issued.exp.saturating_sub(now),
        "scope": scope.join(" "),
    }))
}

/// The subject token: a user's live access token, of a client whose users `client` may act for.
/// It is tied to its grant: the new token is revoked with it.
async fn subject(app: &App, client: &Client, token: &str) -> Result<LiveToken, TokenError> {
    let subject = live_access_token(app, token)
        .await?
        .ok_or_else(|| invalid_grant("the subject_token is invalid, expired or revoked"))?;
    if subject.claims.gty.is_some() {
        return Err(invalid_grant(
            "a client's own token has no user to exchange",
        ));
    }
    // Whose users these are: the client the token is meant for (an exchanged token's
    // audience), else the client it was issued to.
    let owner = app
        .clients
        .get(&subject.claims.aud)
        .or_else(|| app.clients.get(&subject.claims.client_id));
    if !owner.is_some_and(|o| exchange::may_act(client, o)) {
        return Err(invalid_grant(
            "this client may not act for the subject token's users (may_act)",
        ));
    }
    Ok(subject)
}

/// The audience of the new token: a registered client, or a URL one of the routes serves.
fn target<'a>(app: &App, target: Target<'a>) -> Result<&'a str, TokenError> {
    let known = match target {
        Target::Client(id) => app
            .clients
            .get(id)
            .is_some_and(|c| c.client_id != crate::PROXY_CLIENT_ID),
        Target::Resource(url) => app.cfg.routes.iter().any(|r| exchange::names_route(url, r)),
    };
    match (known, target) {
        (true, Target::Client(t) | Target::Resource(t)) => Ok(t),
        (false, _) => Err(TokenError::new(
            TokenCode::InvalidTarget,
            "the audience is not a registered client, or the resource is not on a route",
        )),
    }
}
