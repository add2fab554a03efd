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
    let (subject, owner) = subject(app, client, asked.subject_token).await?;
    // A bound token never becomes a bearer token: the new one is bound to the key of the
    // requester's proof (a gateway holds its own key, not its caller's).
    if subject.claims.jkt().is_some() && jkt.is_none() {
        return Err(invalid_grant(
            "the subject token is DPoP-bound: send a DPoP proof, to which the new token is bound",
        ));
    }
    let actor = match asked.actor_token {
        None => None,
        Some(t) => Some(actor(app, client, t).await?),
    };
    let (audience, target_client) = target(app, client, asked.target)?;
    same_sector([owner, Some(client)], target_client)?;
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

/// The actor token: the requesting client's own (`client_credentials`) live token.
async fn actor(app: &App, client: &Client, token: &str) -> Result<LiveToken, TokenError> {
    live_access_token(app, token)
        .await?
        .filter(|a| {
            a.claims.client_id == client.client_id
                && a.claims.gty.as_deref() == Some(tokens::CLIENT_CREDENTIALS)
        })
        .ok_or_else(|| {
            invalid_grant("the actor_token must be this client's own (client_credentials)")
        })
}

/// The target knows users by the same subjects as the clients asking (the same pairwise
/// sector, or none): an exchange never reveals another `sub`.
fn same_sector(asking: [Option<&Client>; 2], target: Option<&Client>) -> Result<(), TokenError> {
    fn sector(c: Option<&Client>) -> Option<&str> {
        c.and_then(|c| c.profile.pairwise_sector.as_deref())
    }
    if asking.iter().any(|c| sector(*c) != sector(target)) {
        return Err(TokenError::new(
            TokenCode::InvalidTarget,
            "the target knows users by other subjects (pairwise sector) than the clients asking",
        ));
    }
    Ok(())
}

/// The subject token: a user's live access token, of a client whose users `client` may act
/// for (that client is returned). It is tied to its grant: the new token is revoked with it.
async fn subject<'a>(
    app: &'a App,
    client: &Client,
    token: &str,
) -> Result<(LiveToken, Option<&'a Client>), TokenError> {
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
    Ok((subject, owner))
}

/// The audience of the new token, which must accept `client` acting toward it: a client that
/// is `client` or names it in `may_act`, or a URL on a route whose `bearer_clients` has it.
fn target<'a>(
    app: &'a App,
    client: &Client,
    target: Target<'a>,
) -> Result<(&'a str, Option<&'a Client>), TokenError> {
    let refused = |why: &str| TokenError::new(TokenCode::InvalidTarget, why);
    match target {
        Target::Client(id) => {
            let c = app
                .clients
                .get(id)
                .filter(|c| c.client_id != crate::PROXY_CLIENT_ID)
                .ok_or_else(|| refused("the audience is not a registered client"))?;
            if !exchange::may_act(client, c) {
                return Err(refused("the audience does not name this client in may_act"));
            }
            Ok((id, Some(c)))
        }
        Target::Resource(url) => {
            let on_route = app.cfg.routes.iter().any(|r| {
                exchange::names_route(url, r) && r.bearer_clients.contains(&client.client_id)
            });
            if !on_route {
                return Err(refused(
                    "the resource is not on a route that accepts this client's tokens",
                ));
            }
            Ok((url, None))
        }
    }
}
