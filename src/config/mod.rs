//! Configuration: `file` is the TOML schema, `model` the validated form, `validate` the step
//! between them that reports every problem with its key path.

pub mod file;
pub mod model;
mod validate;
mod warnings;

pub use model::*;
pub use validate::{from_str, load, logo_type, TOP_LEVEL};
pub use warnings::warnings;

/// One thing wrong with a config file, located by its key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found, in file order.
#[derive(Debug, thiserror::Error)]
#[error("{} configuration problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}
