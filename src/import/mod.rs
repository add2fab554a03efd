//! `authgate import`: another gateway's configuration, written as authgate's.
//!
//! Each importer is a pure function from the peer's files to an [`Imported`]: the TOML of a
//! whole configuration, and a note for every setting it could not translate. The command line
//! prints the one to stdout and the other to stderr.

mod authelia;
mod authelia_rules;
mod duration;
mod oauth2_proxy;

use std::path::Path;

pub use authelia::authelia;
pub use oauth2_proxy::oauth2_proxy;

/// A file the importer could not read as its format says.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ImportError {
    pub file: &'static str,
    pub message: String,
}

/// A setting that was not translated, at its path in the source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// What an importer made: an authgate configuration and what it left out.
#[derive(Debug, Default)]
pub struct Imported {
    /// Tables in the order they are written: `[server]` first, arrays of tables last.
    sections: Vec<(&'static str, toml::Value)>,
    pub notes: Vec<Note>,
}

impl Imported {
    /// The configuration of `public_url`, listening on `listen`, with its keys in `key_dir`.
    fn new(public_url: &str, listen: &str, key_dir: &Path) -> Imported {
        let key = |name: &str| key_dir.join(name).to_string_lossy().into_owned();
        let mut imported = Imported::default();
        imported.set("server", "public_url", public_url);
        imported.set("server", "listen", vec![listen.to_string()]);
        imported.set("tokens", "signing_key_file", key("signing.pem"));
        imported
    }

    fn note(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.notes.push(Note {
            path: path.into(),
            message: message.into(),
        });
    }

    /// `key = value` in the table `[table]`.
    fn set(&mut self, table: &'static str, key: &str, value: impl Into<toml::Value>) {
        if !self.sections.iter().any(|(name, _)| *name == table) {
            let empty = toml::Value::Table(toml::Table::new());
            self.sections.push((table, empty));
        }
        for (name, section) in &mut self.sections {
            if let (true, toml::Value::Table(t)) = (*name == table, section) {
                t.insert(key.to_string(), value.into());
                return;
            }
        }
    }

    /// One more `[[array]]` entry.
    fn push(&mut self, array: &'static str, entry: toml::Table) {
        match self.sections.iter_mut().find(|(name, _)| *name == array) {
            Some((_, toml::Value::Array(items))) => items.push(toml::Value::Table(entry)),
            _ => self
                .sections
                .push((array, toml::Value::Array(vec![toml::Value::Table(entry)]))),
        }
    }

    /// `[storage]` with its key beside the signing key: needed by second factors.
    fn storage(&mut self, key_dir: &Path) {
        let key = key_dir.join("storage.key").to_string_lossy().into_owned();
        self.set("storage", "url", "sqlite:///var/lib/authgate/authgate.db");
        self.set("storage", "encryption_key_file", key);
    }

    /// The configuration as TOML, plain tables before arrays of tables.
    pub fn toml(&self) -> String {
        let mut out = String::from(
            "# Written by `authgate import`; check it with `authgate check-config`.\n",
        );
        let (tables, arrays): (Vec<_>, Vec<_>) = self
            .sections
            .iter()
            .partition(|(_, v)| matches!(v, toml::Value::Table(_)));
        for (name, value) in tables.into_iter().chain(arrays) {
            let mut one = toml::Table::new();
            one.insert((*name).to_string(), value.clone());
            out.push('\n');
            out.push_str(&toml::to_string(&one).unwrap_or_default());
        }
        out
    }
}

/// `s` as a TOML table entry list, for building `[[…]]` entries.
fn entry<const N: usize>(pairs: [(&str, toml::Value); N]) -> toml::Table {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Strings as a TOML array.
fn strings<S: AsRef<str>>(items: &[S]) -> toml::Value {
    toml::Value::Array(
        items
            .iter()
            .map(|s| toml::Value::String(s.as_ref().to_string()))
            .collect(),
    )
}
