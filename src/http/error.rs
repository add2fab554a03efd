//! The one place that maps gateway errors to HTTP: status, page or JSON body, headers.
//! (OAuth/OIDC protocol errors have their own mapping in `oidc::errors`, as the RFCs fix it.)

use thiserror::Error;

use super::pages;
use super::response::Reply;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GatewayError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no application is configured at this address")]
    NoRoute,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the request URI is too long")]
    UriTooLong,
    #[error("sign-in is required")]
    Unauthenticated,
    #[error("you are signed in but not allowed to use this application")]
    Forbidden,
    #[error("{0}")]
    Unavailable(String),
    #[error("the application is not reachable right now")]
    BadGateway,
    #[error("the application did not answer in time")]
    GatewayTimeout,
    #[error("something went wrong inside authgate")]
    Internal,
}

impl GatewayError {
    pub fn status(&self) -> u16 {
        match self {
            GatewayError::BadRequest(_) => 400,
            GatewayError::Unauthenticated => 401,
            GatewayError::Forbidden => 403,
            GatewayError::NoRoute => 404,
            GatewayError::PayloadTooLarge => 413,
            GatewayError::UriTooLong => 414,
            GatewayError::Internal => 500,
            GatewayError::BadGateway => 502,
            GatewayError::Unavailable(_) => 503,
            GatewayError::GatewayTimeout => 504,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            GatewayError::BadRequest(_) => "Bad request",
            GatewayError::Unauthenticated => "Sign-in required",
            GatewayError::Forbidden => "Access denied",
            GatewayError::NoRoute => "Not found",
            GatewayError::PayloadTooLarge => "Request too large",
            GatewayError::UriTooLong => "Address too long",
            GatewayError::Internal => "Internal error",
            GatewayError::BadGateway => "Bad gateway",
            GatewayError::Unavailable(_) => "Service unavailable",
            GatewayError::GatewayTimeout => "Gateway timeout",
        }
    }

    fn code(&self) -> &'static str {
        match self {
            GatewayError::BadRequest(_) => "bad_request",
            GatewayError::Unauthenticated => "unauthenticated",
            GatewayError::Forbidden => "forbidden",
            GatewayError::NoRoute => "not_found",
            GatewayError::PayloadTooLarge => "payload_too_large",
            GatewayError::UriTooLong => "uri_too_long",
            GatewayError::Internal => "internal_error",
            GatewayError::BadGateway => "bad_gateway",
            GatewayError::Unavailable(_) => "unavailable",
            GatewayError::GatewayTimeout => "gateway_timeout",
        }
    }

    /// The response: a page for browsers, `{"error": …}` for API clients.
    pub fn reply(&self, json: bool) -> Reply {
        let reply = if json {
            Reply::json(
                self.status(),
                &serde_json::json!({ "error": self.code(), "error_description": self.to_string() }),
            )
        } else {
            pages::error(self.status(), self.title(), &self.to_string())
        };
        match self {
            GatewayError::Unauthenticated => {
                reply.header("WWW-Authenticate", "Bearer realm=\"authgate\"")
            }
            _ => reply,
        }
    }
}
