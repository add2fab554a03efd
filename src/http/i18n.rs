//! The language of a page: negotiated per request from the `lang` cookie (the language menu),
//! then `Accept-Language` with its quality values, then `[login] default_language`. The
//! catalogues are the Fluent files under `locales/`, compiled in (fluent-templates).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The languages offered, as `(code, name in itself)`; the first is the fallback.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
    ("pl", "Polski"),
    ("pt-BR", "Português (Brasil)"),
    ("ja", "日本語"),
    ("zh-CN", "简体中文"),
];

/// The cookie the language menu sets.
pub const COOKIE: &str = "authgate_lang";

static IDS: LazyLock<Vec<LanguageIdentifier>> = LazyLock::new(|| {
    LANGUAGES
        .iter()
        .map(|(code, _)| code.parse().unwrap_or_default())
        .collect()
});

/// One of `LANGUAGES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lang(usize);

impl Lang {
    pub const ENGLISH: Lang = Lang(0);

    /// The offered language with this code (`de`, `pt-BR`; case does not matter).
    pub fn from_code(code: &str) -> Option<Lang> {
        LANGUAGES
            .iter()
            .position(|(c, _)| c.eq_ignore_ascii_case(code))
            .map(Lang)
    }

    pub fn code(self) -> &'static str {
        LANGUAGES.get(self.0).map_or("en", |(c, _)| c)
    }

    fn id(self) -> &'static LanguageIdentifier {
        static FALLBACK: LazyLock<LanguageIdentifier> = LazyLock::new(LanguageIdentifier::default);
        IDS.get(self.0).unwrap_or(&FALLBACK)
    }

    /// The message `key` in this language (English where it has none).
    pub fn t(self, key: &str) -> String {
        LOCALES.lookup(self.id(), key)
    }

    /// The message `key` with its `{ $name }` arguments.
    pub fn t_with(self, key: &str, args: &[(&'static str, &str)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), FluentValue::from(v.to_string())))
            .collect();
        LOCALES.lookup_with_args(self.id(), key, &args)
    }

    /// The message `key` for `count` (Fluent plurals choose the form).
    pub fn count(self, key: &str, count: i64) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> =
            HashMap::from([(Cow::Borrowed("count"), FluentValue::from(count))]);
        LOCALES.lookup_with_args(self.id(), key, &args)
    }

    /// This language's own `key` (no fallback), with every argument a page passes: `None`
    /// when it has none or it does not format (the catalogue test).
    pub fn own(self, key: &str) -> Option<String> {
        let args: HashMap<Cow<'static, str>, FluentValue> = [
            "app", "provider", "user", "date", "client", "scopes", "code", "what", "brand",
            "factor", "min",
        ]
        .into_iter()
        .map(|k| (Cow::Borrowed(k), FluentValue::from("x")))
        .chain(["count", "seconds"].map(|k| (Cow::Borrowed(k), FluentValue::from(2))))
        .collect();
        LOCALES
            .lookup_single_language(self.id(), key, Some(&args))
            .ok()
    }
}

/// The language a `lang=` query parameter picks (the language menu's links).
pub fn from_query(query: Option<&str>) -> Option<Lang> {
    let code = query?.split('&').find_map(|p| p.strip_prefix("lang="))?;
    Lang::from_code(code)
}

/// The language for a request: the menu's cookie, then `Accept-Language`, then `default`.
pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>, default: Lang) -> Lang {
    if let Some(lang) = cookie.and_then(Lang::from_code) {
        return lang;
    }
    accept_language.and_then(from_accept).unwrap_or(default)
}

/// The offered language the browser prefers most (RFC 9110 §12.5.4): by quality, then by
/// order; `de-AT` matches `de`, and `pt` matches `pt-BR`.
fn from_accept(header: &str) -> Option<Lang> {
    let mut ranges: Vec<(f32, usize, &str)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut fields = part.split(';');
            let tag = fields.next()?.trim();
            let q = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!tag.is_empty() && q > 0.0).then_some((q, i, tag))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.iter().find_map(|(_, _, tag)| matching(tag))
}

fn matching(tag: &str) -> Option<Lang> {
    if let Some(exact) = Lang::from_code(tag) {
        return Some(exact);
    }
    let primary = tag.split('-').next()?;
    LANGUAGES
        .iter()
        .position(|(code, _)| {
            code.split('-')
                .next()
                .is_some_and(|p| p.eq_ignore_ascii_case(primary))
        })
        .map(Lang)
}

#[cfg(test)]
mod tests;
