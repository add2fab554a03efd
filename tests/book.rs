//! The book in `docs/`: every internal link and anchor resolves, the configuration reference
//! names exactly the keys the configuration model accepts, and every whole configuration it
//! shows passes `check-config`.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use authgate::config::file::*;
use serde::de::{DeserializeOwned, Visitor};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every page of the book, and the README, with its text.
fn pages() -> Vec<(PathBuf, String)> {
    let mut out = vec![(root().join("README.md"), read(&root().join("README.md")))];
    let mut dirs = vec![root().join("docs/src")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "md") {
                let text = read(&path);
                out.push((path, text));
            }
        }
    }
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text outside fenced code blocks.
fn prose(text: &str) -> String {
    let mut fenced = false;
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// mdBook's anchor for a heading.
fn slug(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    prose(text)
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| slug(l.trim_start_matches('#').trim()))
        .collect()
}

/// The targets of `[text](target)` links.
fn links(text: &str) -> Vec<String> {
    let prose = prose(text);
    let mut out = Vec::new();
    let mut rest = prose.as_str();
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].to_string());
        }
    }
    out
}

#[test]
fn every_internal_link_and_anchor_resolves() {
    let pages = pages();
    let by_path: HashMap<PathBuf, &String> = pages.iter().map(|(p, t)| (p.clone(), t)).collect();
    let mut broken = Vec::new();
    for (page, text) in &pages {
        for link in links(text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            let Ok(target) = target.canonicalize() else {
                broken.push(format!("{}: {link}: no such file", page.display()));
                continue;
            };
            if anchor.is_empty() {
                continue;
            }
            match by_path
                .iter()
                .find(|(p, _)| p.canonicalize().ok() == Some(target.clone()))
            {
                Some((_, t)) if anchors(t).contains(anchor) => {}
                _ => broken.push(format!("{}: {link}: no such anchor", page.display())),
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_page_is_in_the_summary() {
    let summary = read(&root().join("docs/src/SUMMARY.md"));
    let listed: BTreeSet<String> = links(&summary).into_iter().collect();
    for (page, _) in pages() {
        let Ok(rel) = page.strip_prefix(root().join("docs/src")) else {
            continue;
        };
        let rel = rel.to_string_lossy();
        assert!(
            rel == "SUMMARY.md" || listed.contains(rel.as_ref()),
            "{rel} is not in SUMMARY.md"
        );
    }
}

/// The fields of a `Deserialize` struct, as serde hands them to a deserializer.
#[derive(Debug)]
struct Fields(&'static [&'static str]);

impl std::fmt::Display for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Fields {}

impl serde::de::Error for Fields {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Fields(&[])
    }
}

struct Grab;

impl<'de> serde::Deserializer<'de> for Grab {
    type Error = Fields;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fields> {
        Err(Fields(&[]))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Fields> {
        Err(Fields(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

fn fields<T: DeserializeOwned>() -> BTreeSet<String> {
    match T::deserialize(Grab) {
        Err(Fields(f)) => f.iter().map(|s| s.to_string()).collect(),
        Ok(_) => unreachable!(),
    }
}

/// The keys a reference page documents, by table: rows of the form `| \`key\`… |` under the
/// page's own table, or under a heading that names a nested one (`[routes.headers]`).
fn documented(page: &str, table: &str) -> HashMap<String, BTreeSet<String>> {
    let mut out: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut current = table.to_string();
    for line in prose(&read(&root().join("docs/src/reference/config").join(page))).lines() {
        if line.starts_with("## ") {
            current = line
                .split('`')
                .nth(1)
                .map(|t| t.trim_matches(['[', ']']).to_string())
                .unwrap_or_else(|| table.to_string());
        } else if let Some(cell) = line.strip_prefix("| `") {
            let cell = cell.split(" |").next().unwrap_or("");
            let keys = format!("`{cell}")
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>();
            out.entry(current.clone()).or_default().extend(keys);
        }
    }
    out
}

#[test]
fn the_reference_names_every_key_the_configuration_accepts() {
    let tables: Vec<(&str, &str, BTreeSet<String>)> = vec![
        ("server.md", "server", fields::<ServerFile>()),
        ("server.md", "server.acme", fields::<AcmeFile>()),
        ("branding.md", "branding", fields::<BrandingFile>()),
        ("session.md", "session", fields::<SessionFile>()),
        ("tokens.md", "tokens", fields::<TokensFile>()),
        ("login.md", "login", fields::<LoginFile>()),
        ("users.md", "users", fields::<UserFile>()),
        ("clients.md", "clients", fields::<ClientFile>()),
        ("routes.md", "routes", fields::<RouteFile>()),
        ("routes.md", "routes.headers", fields::<HeadersFile>()),
        ("routes.md", "routes.rules", fields::<RuleFile>()),
        ("storage.md", "storage", fields::<StorageFile>()),
        ("ldap.md", "ldap", fields::<LdapFile>()),
        ("ldap.md", "ldap.attributes", fields::<LdapAttributesFile>()),
        ("smtp.md", "smtp", fields::<SmtpFile>()),
        ("admin.md", "admin", fields::<AdminFile>()),
        ("audit.md", "audit", fields::<AuditFile>()),
        (
            "upstream-providers.md",
            "upstream_providers",
            fields::<UpstreamProviderFile>(),
        ),
    ];
    let mut drift = Vec::new();
    for (page, table, accepted) in tables {
        let main = page.trim_end_matches(".md").replace('-', "_");
        let documented = documented(page, &main).remove(table).unwrap_or_default();
        assert!(!accepted.is_empty(), "{table}: no fields read");
        for key in accepted.difference(&documented) {
            drift.push(format!(
                "{page}: [{table}] {key} is accepted but not documented"
            ));
        }
        for key in documented.difference(&accepted) {
            drift.push(format!("{page}: [{table}] {key} is documented but refused"));
        }
    }
    let top = read(&root().join("docs/src/reference/configuration.md"));
    for key in authgate::config::TOP_LEVEL {
        if !top.contains(&format!("`[{key}]`"))
            && !top.contains(&format!("`[[{key}]]`"))
            && !top.contains(&format!("`{key}`"))
        {
            drift.push(format!(
                "configuration.md: the top-level key {key} is not documented"
            ));
        }
    }
    assert!(drift.is_empty(), "{}", drift.join("\n"));
}

/// The ```toml blocks of the book that are whole configurations (they have `[server]`).
fn whole_configs() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for (page, text) in pages() {
        let mut block: Option<String> = None;
        for line in text.lines() {
            match (&mut block, line.trim_start()) {
                (None, l) if l.starts_with("```toml") => block = Some(String::new()),
                (Some(b), l) if l.starts_with("```") => {
                    if b.contains("[server]") {
                        out.push((page.clone(), b.clone()));
                    }
                    block = None;
                }
                (Some(b), _) => {
                    b.push_str(line);
                    b.push('\n');
                }
                (None, _) => {}
            }
        }
    }
    out
}

#[test]
fn every_whole_configuration_in_the_book_passes_check_config() {
    let configs = whole_configs();
    assert!(
        configs.len() >= 3,
        "only {} whole configurations",
        configs.len()
    );
    for (page, text) in configs {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        std::fs::create_dir_all(etc.join("keys")).unwrap();
        let text = text.replace("/etc/authgate", &etc.to_string_lossy());
        for file in quoted_paths(&text, &etc) {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            let out = file.to_string_lossy().to_string();
            if name.ends_with(".pem") {
                common::run_cli(&["gen-key", "--out", &out], None);
            } else if name.ends_with(".key") {
                common::run_cli(&["gen-key", "--kind", "storage", "--out", &out], None);
            } else {
                std::fs::write(&file, "secret\n").unwrap();
            }
        }
        let path = dir.path().join("authgate.toml");
        std::fs::write(&path, &text).unwrap();
        let (code, out, err) =
            common::run_cli(&["check-config", "--config", &path.to_string_lossy()], None);
        assert_eq!(code, 0, "{}:\n{text}\n{out}{err}", page.display());
    }
}

/// The files a configuration names under `etc`.
fn quoted_paths(text: &str, etc: &Path) -> Vec<PathBuf> {
    let prefix = format!("\"{}/", etc.to_string_lossy());
    text.match_indices(&prefix)
        .filter_map(|(i, _)| {
            let rest = &text[i + 1..];
            rest.find('"').map(|end| PathBuf::from(&rest[..end]))
        })
        .collect()
}
