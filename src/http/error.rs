//! What can go wrong in a request authgate answers itself, as data. The one mapping of every
//! error to a status, headers and a page or JSON body is `app::respond`.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GatewayError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no application is configured at this address")]
    NoRoute,
    #[error("this address does not answer that method")]
    MethodNotAllowed(&'static [&'static str]),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the request URI is too long")]
    UriTooLong,
    #[error("sign-in is required")]
    Unauthenticated,
    /// Signed in, but the route needs a second factor this session has not used; a browser
    /// is sent through it, an API client is told so.
    #[error("this application needs a second factor: sign in again with it")]
    SecondFactorRequired,
    /// A client of an `app_passwords` route sent no valid app password.
    #[error("a valid app password is required (HTTP Basic)")]
    BasicRequired,
    #[error("you are signed in but not allowed to use this application")]
    Forbidden,
    #[error("too many sign-in attempts from your address; try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("this sign-in request has expired or was already used; go back to the application and try again")]
    SignInExpired,
    #[error(
        "the sign-in form was not submitted from this site or has expired; go back and try again"
    )]
    FormExpired,
    /// A sign-in did not complete (a bad or stale answer); the catalogue key of why.
    #[error("{}", english(.0))]
    SignInFailed(&'static str),
    /// The sign-in was refused; the catalogue key of why.
    #[error("{}", english(.0))]
    SignInDenied(&'static str),
    /// A logout request was refused; the catalogue key of why.
    #[error("{}", english(.0))]
    LogoutRejected(&'static str),
    #[error("too many sign-ins are in progress; please try again in a moment")]
    Busy,
    /// The store, the directory or a dependency cannot answer; the catalogue key of what.
    #[error("{}", english(.0))]
    Unavailable(&'static str),
    #[error("the application is not reachable right now")]
    BadGateway,
    /// An upstream identity provider cannot be reached (the message names it).
    #[error("{0} cannot be reached right now; try again shortly, or sign in another way")]
    BadGatewayNamed(String),
    #[error("the application did not answer in time")]
    GatewayTimeout,
    #[error("something went wrong inside authgate")]
    Internal,
    /// A feature this configuration does not have (the message names what turns it on).
    #[error("this authgate has no {0}")]
    NotConfigured(&'static str),
}

/// A catalogue message in English (logs and JSON answers).
fn english(key: &str) -> String {
    super::i18n::Lang::ENGLISH.t(key)
}

impl GatewayError {
    /// The store or directory could not answer: every such case fails closed with 503.
    pub fn unavailable(e: &impl std::fmt::Display) -> GatewayError {
        log::error!("{e}");
        GatewayError::Unavailable("error-unavailable")
    }
}
