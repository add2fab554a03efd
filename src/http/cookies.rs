//! The one place authgate builds and reads its cookies: always HttpOnly, SameSite=Lax, Path=/,
//! and Secure whenever the browser reached us over https.

use cookie::{Cookie, SameSite};
use pingora::http::RequestHeader;

/// A `Set-Cookie` value for one of our cookies. `max_age` of `None` makes a browser-session cookie.
pub fn set(name: &str, value: &str, secure: bool, max_age: Option<std::time::Duration>) -> String {
    let mut c = Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure);
    if let Some(age) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(
            i64::try_from(age.as_secs()).unwrap_or(i64::MAX),
        ));
    }
    c.build().encoded().to_string()
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear(name: &str, secure: bool) -> String {
    let c = Cookie::build((name, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .max_age(cookie::time::Duration::ZERO)
        .expires(cookie::time::OffsetDateTime::UNIX_EPOCH);
    c.build().encoded().to_string()
}

/// The names of authgate's cookies for one scheme, all starting with the session cookie name.
#[derive(Debug, Clone)]
pub struct Names {
    pub session: String,
    /// The login and second-factor forms' CSRF cookie.
    pub csrf: String,
    /// The sign-in to an upstream provider in progress.
    pub upstream: String,
    /// Before the first characters of `state`: one cookie per proxy sign-in in progress.
    pub state: String,
}

/// authgate's cookie names. Over HTTPS each carries the `__Host-` prefix: a browser then
/// accepts it only from this very host, over HTTPS, for the whole host, so a sibling subdomain
/// or a plain-HTTP page cannot plant one (hardening: cookie injection).
#[derive(Debug, Clone)]
pub struct CookieNames {
    plain: Names,
    host: Names,
}

impl CookieNames {
    pub fn new(base: &str) -> CookieNames {
        let names = |base: String| Names {
            csrf: format!("{base}_csrf"),
            upstream: format!("{base}_upstream"),
            state: format!("{base}_state_"),
            session: base,
        };
        CookieNames {
            plain: names(base.to_string()),
            host: names(format!("__Host-{base}")),
        }
    }

    /// The names for a request over HTTPS (`secure`) or plain HTTP.
    pub fn on(&self, secure: bool) -> &Names {
        if secure {
            &self.host
        } else {
            &self.plain
        }
    }
}

/// Whether a cookie name is one of authgate's: it starts with `base`, after a `__Host-` or
/// `__Secure-` prefix, which browsers match in any case.
fn is_ours(name: &[u8], base: &str) -> bool {
    let name = name.trim_ascii();
    let unprefixed = ["__host-", "__secure-"]
        .iter()
        .find(|p| {
            name.get(..p.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(p.as_bytes()))
        })
        .map_or(name, |p| name.get(p.len()..).unwrap_or_default());
    unprefixed.starts_with(base.as_bytes())
}

/// The value of cookie `name` in the request's `Cookie` headers (the first one, if repeated), as
/// sent: every value authgate sets is URL-safe base64, which cookies carry without encoding, so
/// nothing is decoded or copied (the session is read on every request), and a name that only
/// decodes to one of ours is not ours.
pub fn get<'r>(req: &'r RequestHeader, name: &str) -> Option<&'r str> {
    req.headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|header| {
            Cookie::split_parse(header)
                .filter_map(Result::ok)
                .find(|c| c.name() == name)
                .and_then(|c| c.value_raw())
        })
}

/// What is left of the `Cookie` header for the upstream.
#[derive(Debug, PartialEq, Eq)]
pub enum Without {
    /// None of authgate's cookies was sent: the header stays as it is.
    Unchanged,
    /// Only authgate's cookies were sent: the header goes.
    Nothing,
    /// The other cookies.
    Rest(Vec<u8>),
}

/// The `Cookie` header without authgate's own cookies, whose names all start with `prefix` (the
/// session cookie name: the session, CSRF and sign-in state cookies). Read as bytes, so that a
/// header with a non-ASCII cookie in it cannot carry ours upstream.
pub fn without(req: &RequestHeader, prefix: &str) -> Without {
    let headers = req.headers.get_all(http::header::COOKIE);
    let pairs = || {
        headers
            .iter()
            .flat_map(|h| h.as_bytes().split(|b| *b == b';'))
            .map(<[u8]>::trim_ascii)
            .filter(|pair| !pair.is_empty())
    };
    let ours = |pair: &&[u8]| is_ours(pair.split(|b| *b == b'=').next().unwrap_or(pair), prefix);
    if !pairs().any(|p| ours(&p)) {
        return Without::Unchanged;
    }
    let kept: Vec<&[u8]> = pairs().filter(|p| !ours(p)).collect();
    if kept.is_empty() {
        Without::Nothing
    } else {
        Without::Rest(kept.join(&b"; "[..]))
    }
}

/// Whether a `Set-Cookie` value from an upstream would set one of authgate's cookies (a name
/// starting with `prefix`, after a `__Host-` or `__Secure-` prefix, which browsers match in any
/// case). Such a header never reaches the browser: an app must not plant a session or a
/// sign-in state (hardening: cookie injection by an app).
pub fn sets_ours(set_cookie: &[u8], prefix: &str) -> bool {
    let name = set_cookie.split(|b| *b == b'=' || *b == b';').next();
    is_ours(name.unwrap_or(set_cookie), prefix)
}

/// Removes the `Set-Cookie` headers of `resp` that set one of authgate's cookies
/// (`sets_ours`). Nothing is copied when there is none, which is every ordinary response.
pub fn strip_ours(resp: &mut pingora::http::ResponseHeader, prefix: &str) -> pingora::Result<()> {
    let name = http::header::SET_COOKIE;
    let ours = |v: &http::HeaderValue| sets_ours(v.as_bytes(), prefix);
    if !resp.headers.get_all(&name).iter().any(ours) {
        return Ok(());
    }
    let kept: Vec<http::HeaderValue> = resp
        .headers
        .get_all(&name)
        .iter()
        .filter(|v| !ours(v))
        .cloned()
        .collect();
    resp.remove_header(&name);
    for v in kept {
        resp.append_header(name.clone(), v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes() {
        let c = set(
            "authgate_session",
            "abc",
            true,
            Some(std::time::Duration::from_secs(60)),
        );
        for attr in [
            "authgate_session=abc",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Secure",
            "Max-Age=60",
        ] {
            assert!(c.contains(attr), "{c}");
        }
        assert!(!set("a", "b", false, None).contains("Secure"));
    }

    #[test]
    fn read_and_strip() {
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        req.append_header("Cookie", "theme=dark").unwrap();
        assert_eq!(without(&req, "authgate_session"), Without::Unchanged);
        req.append_header("Cookie", "authgate_session=s1; other=1")
            .unwrap();
        assert_eq!(get(&req, "authgate_session"), Some("s1"));
        assert_eq!(
            without(&req, "authgate_session"),
            Without::Rest(b"theme=dark; other=1".to_vec())
        );
        req.append_header(
            "Cookie",
            "authgate_session_csrf=x; authgate_session_state_a=y",
        )
        .unwrap();
        assert_eq!(
            without(&req, "authgate_session"),
            Without::Rest(b"theme=dark; other=1".to_vec())
        );
        let mut only_ours = RequestHeader::build("GET", b"/", None).unwrap();
        only_ours
            .append_header("Cookie", "authgate_session=s1")
            .unwrap();
        assert_eq!(without(&only_ours, "authgate_session"), Without::Nothing);
    }

    #[test]
    fn a_non_ascii_cookie_header_still_loses_ours() {
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        let raw = "authgate_session=s1; pref=Jos\u{e9}".as_bytes();
        req.append_header("Cookie", http::HeaderValue::from_bytes(raw).unwrap())
            .unwrap();
        assert_eq!(
            without(&req, "authgate_session"),
            Without::Rest("pref=Jos\u{e9}".as_bytes().to_vec())
        );
    }

    #[test]
    fn only_the_name_as_sent_counts() {
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        req.append_header("Cookie", "authgate%5Fsession=junk; authgate_session=real")
            .unwrap();
        assert_eq!(get(&req, "authgate_session"), Some("real"));
    }

    #[test]
    fn upstream_set_cookie_for_our_names_is_recognised() {
        for ours in [
            "authgate_session=x; Path=/oauth2",
            " authgate_session_csrf=1",
            "__Host-authgate_session=x; Secure; Path=/",
            "__HOST-authgate_session_state_abc=x",
            "__Secure-authgate_session=x",
            "authgate_session",
        ] {
            assert!(sets_ours(ours.as_bytes(), "authgate_session"), "{ours}");
        }
        for theirs in ["theme=dark", "app_authgate_session=x", "__Host-x=1", ""] {
            assert!(
                !sets_ours(theirs.as_bytes(), "authgate_session"),
                "{theirs}"
            );
        }
        let mut resp = pingora::http::ResponseHeader::build(200, None).unwrap();
        resp.append_header("Set-Cookie", "theme=dark").unwrap();
        resp.append_header("Set-Cookie", "authgate_session=planted; Path=/oauth2")
            .unwrap();
        resp.append_header("Set-Cookie", "lang=en").unwrap();
        strip_ours(&mut resp, "authgate_session").unwrap();
        let left: Vec<_> = resp.headers.get_all("set-cookie").iter().collect();
        assert_eq!(left, ["theme=dark", "lang=en"]);
    }

    #[test]
    fn host_prefixed_names_on_https_and_both_stripped_for_the_upstream() {
        let names = CookieNames::new("authgate_session");
        assert_eq!(names.on(true).session, "__Host-authgate_session");
        assert_eq!(names.on(true).csrf, "__Host-authgate_session_csrf");
        assert_eq!(names.on(false).state, "authgate_session_state_");
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        req.append_header(
            "Cookie",
            "__Host-authgate_session=s; a=1; authgate_session_csrf=c",
        )
        .unwrap();
        assert_eq!(get(&req, &names.on(true).session), Some("s"));
        assert_eq!(get(&req, &names.on(false).session), None);
        assert_eq!(
            without(&req, "authgate_session"),
            Without::Rest(b"a=1".to_vec())
        );
    }
}
