//! When the user is asked before a client gets a code (OIDC Core §3.1.2.4): clients that want
//! consent, the first time, when they ask for more than was allowed, or when the request says
//! `prompt=consent`.

use super::authorize::{AuthRequest, AuthorizeError};
use super::errors::AuthorizeCode;

/// What to do about consent for `req`, given the scopes the user `allowed` this client before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// Nothing to ask.
    Given,
    /// Show the consent page.
    Ask,
}

pub fn decide(
    wants_consent: bool,
    req: &AuthRequest,
    allowed: Option<&[String]>,
) -> Result<Consent, AuthorizeError> {
    if !wants_consent {
        return Ok(Consent::Given);
    }
    let covered = allowed.is_some_and(|a| req.scope.iter().all(|s| a.contains(s)));
    match (covered && !req.prompt_consent, req.prompt_none) {
        (true, _) => Ok(Consent::Given),
        (false, false) => Ok(Consent::Ask),
        (false, true) => Err(AuthorizeError::Redirect {
            redirect_uri: req.redirect_uri.clone(),
            mode: req.response_mode,
            state: req.state.clone(),
            error: AuthorizeCode::ConsentRequired,
            description: "the user has not allowed this application".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::authorize::ResponseMode;

    fn req(scope: &[&str], prompt_none: bool, prompt_consent: bool) -> AuthRequest {
        AuthRequest {
            client_id: "rp".into(),
            redirect_uri: "https://rp.test/cb".into(),
            redirect_uri_given: true,
            response_type: "code".into(),
            response_mode: ResponseMode::Query,
            scope: scope.iter().map(|s| s.to_string()).collect(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt_none,
            prompt_login: false,
            max_age: None,
            login_hint: None,
            mfa: false,
            prompt_consent,
        }
    }

    #[test]
    fn asked_once_per_scope_set() {
        let allowed = vec!["openid".to_string(), "email".to_string()];
        let r = req(&["openid"], false, false);
        assert_eq!(
            decide(false, &r, None),
            Ok(Consent::Given),
            "not a consent client"
        );
        assert_eq!(decide(true, &r, None), Ok(Consent::Ask), "first time");
        assert_eq!(decide(true, &r, Some(&allowed)), Ok(Consent::Given));
        let more = req(&["openid", "profile"], false, false);
        assert_eq!(
            decide(true, &more, Some(&allowed)),
            Ok(Consent::Ask),
            "more scopes"
        );
        let again = req(&["openid"], false, true);
        assert_eq!(
            decide(true, &again, Some(&allowed)),
            Ok(Consent::Ask),
            "prompt=consent"
        );
        let none = req(&["openid", "profile"], true, false);
        assert_eq!(
            decide(true, &none, Some(&allowed)).unwrap_err().error(),
            Some(AuthorizeCode::ConsentRequired)
        );
    }
}
