//! `authgate import authelia|oauth2-proxy`: the configuration on stdout, what was left out on
//! stderr, one line each.

use std::path::Path;

use super::ImportCommand;
use crate::import::{self, Imported};

pub fn import(command: &ImportCommand, config: Option<&Path>) -> anyhow::Result<i32> {
    let read = |what: &str, path: &Path| {
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{what} {}: {e}", path.display()))
    };
    let imported: Imported = match command {
        ImportCommand::Authelia { users, key_dir } => {
            let users = read("--users", users)?;
            let config = config.map(|c| read("--config", c)).transpose()?;
            import::authelia(&users, config.as_deref(), key_dir)?
        }
        ImportCommand::Oauth2Proxy { key_dir } => {
            let config =
                config.ok_or_else(|| anyhow::anyhow!("--config oauth2-proxy.cfg is required"))?;
            import::oauth2_proxy(&read("--config", config)?, key_dir)?
        }
    };
    print!("{}", imported.toml());
    for note in &imported.notes {
        eprintln!("not translated: {note}");
    }
    Ok(0)
}
