//! What a route under another name changes: the path the upstream sees (`strip_prefix`), and
//! the upstream's own URLs in its answers mapped back to the public host and prefix
//! (`rewrite_redirects`). Pure functions over header values.

use url::{Position, Url};

/// `path` as the upstream sees it: without `prefix` (segment-wise), never empty.
pub fn strip<'a>(path: &'a str, prefix: &str) -> &'a str {
    match path.strip_prefix(prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

/// Where the upstream's URLs go back to.
pub struct Public<'a> {
    /// `https://app.example.com`: the scheme and host the browser used.
    pub origin: &'a str,
    /// The `strip_prefix` to put back in front of the upstream's paths.
    pub prefix: Option<&'a str>,
    /// The upstream's own host names (its backends' and `upstream_host`), lowercase.
    pub upstream_hosts: &'a [String],
}

impl Public<'_> {
    fn own(&self, host: &str) -> bool {
        self.upstream_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    }

    fn path(&self, path: &str) -> String {
        match self.prefix {
            Some(p) if path == "/" => format!("{p}/"),
            Some(p) => format!("{p}{path}"),
            None => path.to_string(),
        }
    }

    /// A `Location` or `Content-Location`: the upstream's own absolute URL, or a path, mapped
    /// to the public one; anything else (another site) is left alone (`None`).
    pub fn location(&self, value: &str) -> Option<String> {
        if value.starts_with('/') && !value.starts_with("//") {
            return self.prefix.map(|_| self.path(value));
        }
        let url = Url::parse(value).ok()?;
        if !self.own(url.host_str()?) {
            return None;
        }
        let path = self.path(url.path());
        let rest = &url[Position::AfterPath..];
        Some(format!("{}{path}{rest}", self.origin))
    }

    /// `Refresh: 5; url=…` with its URL mapped.
    pub fn refresh(&self, value: &str) -> Option<String> {
        let at = value.to_ascii_lowercase().find("url=")? + 4;
        let (head, target) = value.split_at(at);
        let quoted = target.trim_matches(|c| c == '\'' || c == '"');
        Some(format!("{head}{}", self.location(quoted)?))
    }

    /// A `Set-Cookie` whose `Path` gets the prefix back, and whose `Domain` (the upstream's own
    /// host) is dropped, so the cookie belongs to the public host.
    pub fn set_cookie(&self, value: &str) -> Option<String> {
        let mut c = cookie::Cookie::parse(value.to_string()).ok()?;
        let mut changed = false;
        if let (Some(_), Some(path)) = (self.prefix, c.path()) {
            let mapped = self.path(path);
            c.set_path(mapped);
            changed = true;
        }
        if c.domain()
            .is_some_and(|d| self.own(d.trim_start_matches('.')))
        {
            c.unset_domain();
            changed = true;
        }
        changed.then(|| c.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(prefix: Option<&str>) -> (Vec<String>, Option<&str>) {
        (vec!["legacy.corp".to_string()], prefix)
    }

    #[test]
    fn the_prefix_is_stripped_segment_wise() {
        assert_eq!(strip("/wiki/page", "/wiki"), "/page");
        assert_eq!(strip("/wiki", "/wiki"), "/");
        assert_eq!(strip("/wikipedia", "/wiki"), "/wikipedia");
    }

    #[test]
    fn the_upstreams_own_urls_come_back_under_the_public_host_and_prefix() {
        let (hosts, prefix) = public(Some("/wiki"));
        let p = Public {
            origin: "https://app.example.com",
            prefix,
            upstream_hosts: &hosts,
        };
        assert_eq!(
            p.location("https://legacy.corp:8443/login?next=%2F#top")
                .as_deref(),
            Some("https://app.example.com/wiki/login?next=%2F#top")
        );
        assert_eq!(p.location("/login").as_deref(), Some("/wiki/login"));
        assert_eq!(p.location("https://elsewhere.example/x"), None);
        assert_eq!(p.location("//legacy.corp/x"), None);
        assert_eq!(
            p.refresh("0; url=https://legacy.corp:8443/").as_deref(),
            Some("0; url=https://app.example.com/wiki/")
        );
        let cookie = p
            .set_cookie("sid=1; Path=/; Domain=legacy.corp; HttpOnly")
            .unwrap();
        assert!(cookie.contains("Path=/wiki/"), "{cookie}");
        assert!(!cookie.contains("Domain"), "{cookie}");
    }

    #[test]
    fn without_a_prefix_only_the_host_changes() {
        let (hosts, prefix) = public(None);
        let p = Public {
            origin: "http://app.test",
            prefix,
            upstream_hosts: &hosts,
        };
        assert_eq!(p.location("/login"), None);
        assert_eq!(
            p.location("http://legacy.corp/a").as_deref(),
            Some("http://app.test/a")
        );
        assert_eq!(p.set_cookie("sid=1; Path=/"), None);
    }
}
