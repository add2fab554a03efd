//! How pages look for this deployment (`[branding]`: name, logo, colour, help link, and a dark
//! theme for `prefers-color-scheme: dark`), and what one page shares with every other: its
//! language and the language menu. The stylesheet is built once per configuration and allowed
//! by its hash in the CSP; nothing an operator writes reaches the page as CSS or HTML.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::i18n::{Lang, LANGUAGES};

/// The stylesheet; `PRIMARY` is the configured colour.
const STYLE: &str = ":root{color-scheme:light dark;--bg:#f4f5f7;--fg:#1c1e21;--card:#fff;--muted:#5f6368;--line:#8a8f98;--field:#fff;--err-bg:#fdecea;--err-fg:#8a1c12;--err-line:#f5c2bd;--link:#1a4fd6;--secondary:#24292f;--primary:PRIMARY}\
@media (prefers-color-scheme:dark){:root{--bg:#121416;--fg:#e8eaed;--card:#1e2125;--muted:#aab0b7;--line:#8a9099;--field:#2a2e33;--err-bg:#3d1512;--err-fg:#ffb4a9;--err-line:#7d2a22;--link:#8ab4ff;--secondary:#454c56}}\
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--fg);margin:0}\
main{max-width:26rem;margin:4rem auto 1rem;background:var(--card);padding:2rem 2.25rem;border-radius:10px;box-shadow:0 1px 4px rgba(0,0,0,.12)}\
footer{max-width:26rem;margin:0 auto 3rem;padding:0 2.25rem;font-size:.85rem;color:var(--muted)}\
footer ul{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.2rem .8rem}a{color:var(--link)}\
.logo{display:block;max-height:3rem;max-width:12rem;margin:0 0 1.2rem}\
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.9rem 0 .3rem;font-weight:600}\
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid var(--line);border-radius:6px;font-size:1rem;background:var(--field);color:var(--fg)}\
input:focus,button:focus,a:focus{outline:3px solid #7aa7ff;outline-offset:1px}\
button{margin-top:1.4rem;width:100%;padding:.7rem;border:0;border-radius:6px;background:var(--primary);color:#fff;font-size:1rem;font-weight:600;cursor:pointer}\
button.secondary{background:var(--secondary)}\
.error{background:var(--err-bg);color:var(--err-fg);border:1px solid var(--err-line);padding:.6rem .8rem;border-radius:6px}\
.status,.muted{color:var(--muted);font-size:.9rem}\
h2{font-size:1.1rem;margin:1.6rem 0 .5rem}code{word-break:break-all;font-size:.85rem}ol,ul{padding-left:1.2rem}\
.button{display:block;box-sizing:border-box;margin-top:1rem;padding:.7rem;border-radius:6px;background:var(--secondary);color:#fff;text-align:center;text-decoration:none;font-weight:600}\
.label{font-weight:600}.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
.factor form{display:inline}.factor button{width:auto;margin:.3rem 0 0;padding:.3rem .7rem;font-size:.85rem;background:#a3241a}";

/// A logo served by authgate under a URL that changes with its content.
pub struct Logo {
    pub href: String,
    pub content_type: &'static str,
    pub body: Bytes,
}

/// The pages' look for one configuration.
pub struct Look {
    pub name: String,
    pub logo: Option<Logo>,
    pub support_url: Option<String>,
    pub style: String,
    csp: String,
    csp_script: String,
}

impl Look {
    pub fn new(
        name: &str,
        primary_color: &str,
        logo: Option<(Vec<u8>, &'static str)>,
        support_url: Option<String>,
    ) -> Look {
        let style = STYLE.replace("PRIMARY", primary_color);
        let hash =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style.as_bytes()));
        let csp = |script: &str| {
            format!(
                "default-src 'none'; style-src 'sha256-{hash}';{script} img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
            )
        };
        let script = format!(
            " script-src '{}'; connect-src 'self';",
            super::pages::script_integrity()
        );
        Look {
            name: name.to_string(),
            logo: logo.map(|(bytes, content_type)| {
                let digest = hex::encode(Sha256::digest(&bytes));
                let ext = if content_type == "image/png" {
                    "png"
                } else {
                    "svg"
                };
                Logo {
                    href: format!("{LOGO_PREFIX}{}.{ext}", digest.get(..16).unwrap_or("")),
                    content_type,
                    body: Bytes::from(bytes),
                }
            }),
            support_url,
            csp: csp(""),
            csp_script: csp(&script),
            style,
        }
    }

    pub fn csp(&self, script: bool) -> &str {
        if script {
            &self.csp_script
        } else {
            &self.csp
        }
    }

    pub fn logo_href(&self) -> Option<&str> {
        self.logo.as_ref().map(|l| l.href.as_str())
    }
}

impl Default for Look {
    fn default() -> Look {
        Look::new("authgate", "#1f5eff", None, None)
    }
}

/// Where logos are served.
pub const LOGO_PREFIX: &str = "/assets/logo-";

/// One entry of the language menu.
pub struct MenuItem {
    pub code: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

/// What a page shares with every other: its language, the look, and where it is (for the
/// language menu's links).
pub struct Chrome {
    pub lang: Lang,
    pub look: Arc<Look>,
    /// The page's path and query without `lang`.
    here: String,
}

impl Chrome {
    pub fn new(lang: Lang, look: Arc<Look>, path: &str, query: Option<&str>) -> Chrome {
        let kept: Vec<&str> = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("lang="))
            .collect();
        let here = match kept.is_empty() {
            true => format!("{path}?"),
            false => format!("{path}?{}&", kept.join("&")),
        };
        Chrome { lang, look, here }
    }

    /// English, for a page made where no request is at hand.
    pub fn plain(look: Arc<Look>) -> Chrome {
        Chrome::new(Lang::ENGLISH, look, "/", None)
    }

    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    pub fn t_with<V: AsRef<str>, const N: usize>(
        &self,
        key: &str,
        args: &[(&'static str, V); N],
    ) -> String {
        let args = args.each_ref().map(|(k, v)| (*k, v.as_ref()));
        self.lang.t_with(key, &args)
    }

    /// The message `key` split around its `$name` argument, so a page can set that value apart
    /// (in bold); `scopes`, when not empty, picks the `-scopes` form of the message.
    pub fn around(&self, key: &str, name: &'static str, scopes: &str) -> (String, String) {
        const MARK: &str = "\u{1}";
        let text = if scopes.is_empty() {
            self.lang.t_with(key, &[(name, MARK)])
        } else {
            self.lang.t_with(
                &format!("{key}-scopes"),
                &[(name, MARK), ("scopes", scopes)],
            )
        };
        match text.split_once(MARK) {
            Some((a, b)) => (a.to_string(), b.to_string()),
            None => (text, String::new()),
        }
    }

    pub fn count(&self, key: &str, count: i64) -> String {
        self.lang.count(key, count)
    }

    pub fn menu(&self) -> Vec<MenuItem> {
        LANGUAGES
            .iter()
            .map(|(code, name)| MenuItem {
                code,
                name,
                href: format!("{}lang={code}", self.here),
                current: *code == self.lang.code(),
            })
            .collect()
    }
}
