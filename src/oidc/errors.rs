//! OAuth 2.0 / OpenID Connect error codes: one variant per code, the wire string from one
//! `match`, and the HTTP status and headers of the token-style endpoints from one function.

use crate::http::Reply;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    /// RFC 6749 §4.1.2.1, §5.2: "The request is missing a required parameter, includes an
    /// invalid parameter value, includes a parameter more than once, or is otherwise malformed."
    InvalidRequest,
    /// §5.2: "Client authentication failed (e.g., unknown client, no client authentication
    /// included, or unsupported authentication method)."
    InvalidClient,
    /// §5.2: "The provided authorization grant (e.g., authorization code, resource owner
    /// credentials) or refresh token is invalid, expired, revoked, does not match the redirection
    /// URI used in the authorization request, or was issued to another client."
    InvalidGrant,
    /// §4.1.2.1: "The client is not authorized to request an authorization code using this method."
    UnauthorizedClient,
    /// §5.2: "The authorization grant type is not supported by the authorization server."
    UnsupportedGrantType,
    /// §4.1.2.1: "The authorization server does not support obtaining an authorization code using
    /// this method."
    UnsupportedResponseType,
    /// §4.1.2.1: "The requested scope is invalid, unknown, or malformed."
    InvalidScope,
    /// §4.1.2.1: "The resource owner or authorization server denied the request."
    AccessDenied,
    /// §4.1.2.1: "The authorization server encountered an unexpected condition."
    ServerError,
    /// §4.1.2.1: "The authorization server is currently unable to handle the request."
    TemporarilyUnavailable,
    /// OIDC Core §3.1.2.6: "The Authorization Server requires End-User authentication."
    LoginRequired,
    /// OIDC Core §3.1.2.6: "The request parameter is not supported."
    RequestNotSupported,
    /// OIDC Core §3.1.2.6: "The request_uri parameter is not supported."
    RequestUriNotSupported,
    /// RFC 6750 §3.1: "The access token provided is expired, revoked, malformed, or invalid."
    InvalidToken,
}

impl OAuthError {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::UnsupportedResponseType => "unsupported_response_type",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::AccessDenied => "access_denied",
            OAuthError::ServerError => "server_error",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::LoginRequired => "login_required",
            OAuthError::RequestNotSupported => "request_not_supported",
            OAuthError::RequestUriNotSupported => "request_uri_not_supported",
            OAuthError::InvalidToken => "invalid_token",
        }
    }
}

/// An error answered directly (token, introspection, revocation, userinfo endpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError {
    pub error: OAuthError,
    pub description: String,
}

impl EndpointError {
    pub fn new(error: OAuthError, description: impl Into<String>) -> EndpointError {
        EndpointError {
            error,
            description: description.into(),
        }
    }

    /// RFC 6749 §5.2 (JSON, 400; `invalid_client` 401 with `WWW-Authenticate`), RFC 6750 §3
    /// for `invalid_token` (401, the error in `WWW-Authenticate: Bearer`).
    pub fn reply(&self) -> Reply {
        let status = match self.error {
            OAuthError::InvalidClient | OAuthError::InvalidToken => 401,
            OAuthError::ServerError => 500,
            OAuthError::TemporarilyUnavailable => 503,
            _ => 400,
        };
        let body = serde_json::json!({ "error": self.error.as_str(), "error_description": self.description });
        let reply = Reply::json(status, &body).header("Pragma", "no-cache");
        match self.error {
            OAuthError::InvalidClient => {
                reply.header("WWW-Authenticate", "Basic realm=\"authgate\"")
            }
            OAuthError::InvalidToken => reply.header(
                "WWW-Authenticate",
                format!(
                    "Bearer realm=\"authgate\", error=\"invalid_token\", error_description=\"{}\"",
                    self.description.replace('"', "'")
                ),
            ),
            _ => reply,
        }
    }
}

impl From<crate::session::StoreError> for EndpointError {
    fn from(e: crate::session::StoreError) -> EndpointError {
        log::error!("{e}");
        EndpointError::new(
            OAuthError::TemporarilyUnavailable,
            "the session store is unavailable",
        )
    }
}
