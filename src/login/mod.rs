//! The provider's login: the form, its CSRF token, the password check and regulation.

pub mod password;
pub mod policy;
pub mod regulation;
pub mod totp;
