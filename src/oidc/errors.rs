//! OAuth 2.0 / OpenID Connect error codes: one closed enum per endpoint where the RFCs differ,
//! one variant per code quoting the RFC, and the wire string from one `match` each. The token
//! endpoint's enum has no `login_required`, so it cannot produce one. Statuses and headers are
//! decided in `app::respond`, the one place that turns errors into responses.

/// Codes of the authorization endpoint (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeCode {
    /// "The request is missing a required parameter, includes an invalid parameter value,
    /// includes a parameter more than once, or is otherwise malformed."
    InvalidRequest,
    /// "The client is not authorized to request an authorization code using this method."
    UnauthorizedClient,
    /// "The resource owner or authorization server denied the request."
    AccessDenied,
    /// "The authorization server does not support obtaining an authorization code using this
    /// method."
    UnsupportedResponseType,
    /// "The requested scope is invalid, unknown, or malformed."
    InvalidScope,
    /// "The authorization server encountered an unexpected condition."
    ServerError,
    /// "The authorization server is currently unable to handle the request."
    TemporarilyUnavailable,
    /// OIDC Core: "The Authorization Server requires End-User authentication."
    LoginRequired,
    /// OIDC Core §3.1.2.6: "The End-User is REQUIRED to consent" (`prompt=none`).
    ConsentRequired,
    /// OIDC Core: "The request_uri in the Authorization Request returns an error or contains
    /// invalid data" (RFC 9126: unknown, used, expired or another client's).
    InvalidRequestUri,
    /// OIDC Core: "The request parameter contains an invalid Request Object" (RFC 9101).
    InvalidRequestObject,
}

impl AuthorizeCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizeCode::InvalidRequest => "invalid_request",
            AuthorizeCode::UnauthorizedClient => "unauthorized_client",
            AuthorizeCode::AccessDenied => "access_denied",
            AuthorizeCode::UnsupportedResponseType => "unsupported_response_type",
            AuthorizeCode::InvalidScope => "invalid_scope",
            AuthorizeCode::ServerError => "server_error",
            AuthorizeCode::TemporarilyUnavailable => "temporarily_unavailable",
            AuthorizeCode::LoginRequired => "login_required",
            AuthorizeCode::ConsentRequired => "consent_required",
            AuthorizeCode::InvalidRequestUri => "invalid_request_uri",
            AuthorizeCode::InvalidRequestObject => "invalid_request_object",
        }
    }
}

/// Codes of the token endpoint (RFC 6749 §5.2), also used by introspection (RFC 7662 §2.3)
/// and revocation (RFC 7009 §2.2.1), which defer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCode {
    /// "The request is missing a required parameter, includes an unsupported parameter value
    /// (other than grant type), repeats a parameter, … or is otherwise malformed."
    InvalidRequest,
    /// "Client authentication failed (e.g., unknown client, no client authentication
    /// included, or unsupported authentication method)."
    InvalidClient,
    /// "The provided authorization grant … or refresh token is invalid, expired, revoked, does
    /// not match the redirection URI used in the authorization request, or was issued to
    /// another client."
    InvalidGrant,
    /// "The authenticated client is not authorized to use this authorization grant type."
    UnauthorizedClient,
    /// "The authorization grant type is not supported by the authorization server."
    UnsupportedGrantType,
    /// "The requested scope is invalid, unknown, malformed, or exceeds the scope granted by
    /// the resource owner."
    InvalidScope,
    /// Not in §5.2: signing failed. Answered 500 with the §4.1.2.1 code.
    ServerError,
    /// Not in §5.2: the store is down. Answered 503 with the §4.1.2.1 code.
    TemporarilyUnavailable,
    /// RFC 8628 §3.5: "The authorization request is still pending as the end user hasn't yet
    /// completed the user-interaction steps."
    AuthorizationPending,
    /// RFC 8628 §3.5: polling too fast; "the interval MUST be increased by 5 seconds".
    SlowDown,
    /// RFC 8628 §3.5: "The authorization request was denied."
    AccessDenied,
    /// RFC 8628 §3.5: "The "device_code" has expired."
    ExpiredToken,
    /// RFC 8693 §2.2.2: "the requested target (audience or resource) is invalid, unknown, or
    /// unacceptable".
    InvalidTarget,
    /// RFC 9449 §5: "The DPoP proof is invalid."
    InvalidDpopProof,
    /// RFC 9449 §8: the proof must carry the nonce given in `DPoP-Nonce`.
    UseDpopNonce,
    /// RFC 9126 §2.3 / RFC 9101: the pushed request's request object is invalid.
    InvalidRequestObject,
}

impl TokenCode {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenCode::InvalidRequest => "invalid_request",
            TokenCode::InvalidClient => "invalid_client",
            TokenCode::InvalidGrant => "invalid_grant",
            TokenCode::UnauthorizedClient => "unauthorized_client",
            TokenCode::UnsupportedGrantType => "unsupported_grant_type",
            TokenCode::InvalidScope => "invalid_scope",
            TokenCode::ServerError => "server_error",
            TokenCode::TemporarilyUnavailable => "temporarily_unavailable",
            TokenCode::AuthorizationPending => "authorization_pending",
            TokenCode::SlowDown => "slow_down",
            TokenCode::AccessDenied => "access_denied",
            TokenCode::ExpiredToken => "expired_token",
            TokenCode::InvalidTarget => "invalid_target",
            TokenCode::InvalidDpopProof => "invalid_dpop_proof",
            TokenCode::UseDpopNonce => "use_dpop_nonce",
            TokenCode::InvalidRequestObject => "invalid_request_object",
        }
    }
}

/// Codes of a protected resource: userinfo and bearer tokens on routes (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceCode {
    /// "The request is missing a required parameter, includes an unsupported parameter or
    /// parameter value, repeats the same parameter, uses more than one method for including an
    /// access token, or is otherwise malformed."
    InvalidRequest,
    /// "The access token provided is expired, revoked, malformed, or invalid for other
    /// reasons."
    InvalidToken,
    /// RFC 9470 §3: "The authentication event associated with the access token presented with
    /// the request does not meet the authentication requirements of the protected resource."
    InsufficientUserAuthentication,
    /// Not in §3.1: the store is down. Answered 503.
    TemporarilyUnavailable,
    /// RFC 9449 §7.1: the DPoP proof of a request with a DPoP-bound token is invalid.
    InvalidDpopProof,
}

impl ResourceCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceCode::InvalidRequest => "invalid_request",
            ResourceCode::InvalidToken => "invalid_token",
            ResourceCode::InsufficientUserAuthentication => "insufficient_user_authentication",
            ResourceCode::TemporarilyUnavailable => "temporarily_unavailable",
            ResourceCode::InvalidDpopProof => "invalid_dpop_proof",
        }
    }
}

/// An error answered directly, as JSON, by an endpoint whose codes are `C`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError<C> {
    pub error: C,
    pub description: String,
    /// RFC 9449: the request used (or its token needs) DPoP: the challenge is `DPoP`.
    pub dpop: bool,
    /// RFC 9449 §8: a fresh nonce for the client's next proof (`DPoP-Nonce`).
    pub dpop_nonce: Option<String>,
}

impl<C> EndpointError<C> {
    pub fn new(error: C, description: impl Into<String>) -> EndpointError<C> {
        EndpointError {
            error,
            description: description.into(),
            dpop: false,
            dpop_nonce: None,
        }
    }

    /// The same error, challenged with the `DPoP` scheme.
    pub fn dpop(self) -> EndpointError<C> {
        EndpointError { dpop: true, ..self }
    }
}

pub type TokenError = EndpointError<TokenCode>;
pub type ResourceError = EndpointError<ResourceCode>;

/// Codes that can say the service cannot answer right now (a store or directory failure).
pub trait Unavailable: Copy {
    const UNAVAILABLE: Self;
}

impl Unavailable for TokenCode {
    const UNAVAILABLE: TokenCode = TokenCode::TemporarilyUnavailable;
}

impl Unavailable for ResourceCode {
    const UNAVAILABLE: ResourceCode = ResourceCode::TemporarilyUnavailable;
}

impl<C: Unavailable> From<crate::session::StoreError> for EndpointError<C> {
    fn from(e: crate::session::StoreError) -> EndpointError<C> {
        log::error!("{e}");
        EndpointError::new(C::UNAVAILABLE, "the session store is unavailable")
    }
}

impl<C: Unavailable> From<crate::directory::DirectoryError> for EndpointError<C> {
    fn from(e: crate::directory::DirectoryError) -> EndpointError<C> {
        log::error!("{e}");
        EndpointError::new(C::UNAVAILABLE, "the user directory is unavailable")
    }
}
