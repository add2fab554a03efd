//! Token exchange (RFC 8693): a user's access token traded for one meant for another client or
//! route, never wider in scope or longer-lived than what it was traded for.

use super::errors::{TokenCode, TokenError};
use super::tokens::{AccessClaims, Actor};
use crate::config::{Client, Route};
use crate::http::host::Host;
use crate::http::params::Params;

/// The only token type exchanged, given and issued (§3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Where the new token is meant to be used (§2.1 `audience` or `resource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A client, by id.
    Client(&'a str),
    /// A URL on a route.
    Resource(&'a str),
}

/// A parsed exchange request.
#[derive(Debug)]
pub struct Exchange<'a> {
    pub subject_token: &'a str,
    pub actor_token: Option<&'a str>,
    pub target: Target<'a>,
    /// The scope asked for (`None`: the subject token's).
    pub scope: Option<Vec<String>>,
}

fn invalid(why: &str) -> TokenError {
    TokenError::new(TokenCode::InvalidRequest, why)
}

/// §2.1: the parameters of an exchange: access tokens only, one target.
pub fn parse(p: &Params) -> Result<Exchange<'_>, TokenError> {
    if let Some(name) = p.repeated(&["subject_token", "actor_token", "audience", "resource"]) {
        return Err(TokenError::new(
            TokenCode::InvalidTarget,
            format!("{name} is repeated: one target, one subject and one actor at a time"),
        ));
    }
    let subject_token = p
        .get("subject_token")
        .ok_or_else(|| invalid("subject_token is required"))?;
    if p.get("subject_token_type") != Some(ACCESS_TOKEN_TYPE) {
        return Err(invalid("subject_token_type must be an access token"));
    }
    let actor_token = p.get("actor_token");
    if actor_token.is_some() != p.contains("actor_token_type")
        || actor_token.is_some() && p.get("actor_token_type") != Some(ACCESS_TOKEN_TYPE)
    {
        return Err(invalid(
            "actor_token needs actor_token_type, an access token",
        ));
    }
    if p.get("requested_token_type")
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return Err(invalid("only access tokens are issued"));
    }
    let target = match (p.get("audience"), p.get("resource")) {
        (Some(a), None) => Target::Client(a),
        (None, Some(r)) => Target::Resource(r),
        _ => {
            return Err(TokenError::new(
                TokenCode::InvalidTarget,
                "name one target: audience (a client) or resource (a URL)",
            ))
        }
    };
    Ok(Exchange {
        subject_token,
        actor_token,
        target,
        scope: p.get("scope").map(super::scopes),
    })
}

/// Whether `requester` may trade tokens of `subject_client`'s users: its own, or as one of
/// the clients the other names in `may_act`.
pub fn may_act(requester: &Client, subject_client: &Client) -> bool {
    requester.client_id == subject_client.client_id
        || subject_client
            .profile
            .may_act
            .contains(&requester.client_id)
}

/// The scope of the new token: what was asked, if the subject token has all of it.
pub fn scope(
    subject: &AccessClaims,
    asked: Option<Vec<String>>,
) -> Result<Vec<String>, TokenError> {
    let held: Vec<String> = super::scopes(&subject.scope);
    match asked {
        None => Ok(held),
        Some(asked) if asked.iter().all(|s| held.contains(s)) => Ok(asked),
        Some(_) => Err(TokenError::new(
            TokenCode::InvalidScope,
            "the requested scope is wider than the subject token's",
        )),
    }
}

/// §4.1: the new token's `act`: the actor, before whoever acted in the subject token.
pub fn actor(subject: &AccessClaims, actor: Option<&AccessClaims>) -> Option<Actor> {
    let earlier = subject.act.clone().map(Box::new);
    match actor {
        Some(a) => Some(Actor {
            sub: a.sub.clone(),
            act: earlier,
        }),
        None => subject.act.clone(),
    }
}

/// Whether the URL `aud` is on `route`: its host (any, for a route without one) and under its
/// path prefix.
pub fn names_route(aud: &str, route: &Route) -> bool {
    let Ok(url) = url::Url::parse(aud) else {
        return false;
    };
    Host::from_url(&url).is_some_and(|host| crate::routes::matches(route, &host, url.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(scope: &str) -> AccessClaims {
        serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "alice", "aud": "portal", "client_id": "portal", "scope": scope,
            "exp": 10, "iat": 1, "jti": "j", "sid": "s", "gid": "g",
            "act": {"sub": "first"}
        }))
        .unwrap()
    }

    #[test]
    fn never_wider_and_the_actor_chain_grows() {
        let c = claims("openid email");
        assert_eq!(scope(&c, None).unwrap(), ["openid", "email"]);
        assert_eq!(scope(&c, Some(vec!["email".into()])).unwrap(), ["email"]);
        let wider = scope(&c, Some(vec!["email".into(), "profile".into()]));
        assert_eq!(wider.unwrap_err().error, TokenCode::InvalidScope);
        let mut actor = claims("");
        actor.sub = "api".into();
        let act = super::actor(&c, Some(&actor)).unwrap();
        assert_eq!(act.sub, "api");
        assert_eq!(act.act.unwrap().sub, "first", "who acted before");
    }

    #[test]
    fn one_target_and_access_tokens_only() {
        let p = |q: &str| Params::parse(q).unwrap();
        let base = "subject_token=t&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token";
        let with_audience = p(&format!("{base}&audience=reports"));
        let ok = parse(&with_audience).unwrap();
        assert_eq!(ok.target, Target::Client("reports"));
        let err = |q: String| parse(&p(&q)).unwrap_err().error;
        assert_eq!(err(base.to_string()), TokenCode::InvalidTarget, "no target");
        assert_eq!(
            err(format!("{base}&audience=a&resource=https%3A%2F%2Fx")),
            TokenCode::InvalidTarget
        );
        assert_eq!(
            err(format!("{base}&audience=a&audience=b")),
            TokenCode::InvalidTarget
        );
        assert_eq!(
            err("subject_token=t&subject_token_type=id_token&audience=a".into()),
            TokenCode::InvalidRequest
        );
        assert_eq!(
            err(format!("{base}&audience=a&actor_token=x")),
            TokenCode::InvalidRequest
        );
    }
}
