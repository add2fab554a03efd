//! Path normalisation: the one spelling of a request path that policy decides on and that is
//! sent upstream (hardening: "auth decision on a different path than the one proxied").
//!
//! Unreserved characters are percent-decoded, dot segments removed, duplicate slashes merged.
//! A path that cannot be normalised without guessing what the upstream will make of it —
//! an encoded `/` or `\`, a NUL, a backslash, a `..;` Tomcat-style segment — is refused.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PathError {
    #[error("the path must start with '/'")]
    NotAbsolute,
    #[error("the path has a malformed percent-encoding")]
    BadPercent,
    #[error("the path contains an encoded '/', '\\' or NUL, or a control character")]
    Forbidden,
    #[error("the path contains a dot segment with parameters")]
    DotParams,
}

/// Returns the normalised form of `raw` (the path component only, no query).
pub fn normalize(raw: &str) -> Result<String, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let decoded = decode_unreserved(raw.as_bytes())?;
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = decoded.split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate().skip(1) {
        let bare = seg.split(';').next().unwrap_or("");
        if seg.contains(';') && (bare == "." || bare == "..") {
            return Err(PathError::DotParams);
        }
        match *seg {
            "" => trailing_slash = i == last,
            "." => trailing_slash = i == last,
            ".." => {
                out.pop();
                trailing_slash = i == last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut path = String::with_capacity(decoded.len());
    for seg in &out {
        path.push('/');
        path.push_str(seg);
    }
    if trailing_slash || path.is_empty() {
        path.push('/');
    }
    Ok(path)
}

/// True when `path` is `prefix` or lies below it, segment-wise: `/app` covers `/app` and
/// `/app/x` but not `/apple`; a prefix ending in `/` covers everything that starts with it.
pub fn under(path: &str, prefix: &str) -> bool {
    if prefix.ends_with('/') {
        return path.starts_with(prefix);
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

fn decode_unreserved(raw: &[u8]) -> Result<String, PathError> {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let hi = raw.get(i + 1).and_then(|c| hex(*c));
            let lo = raw.get(i + 2).and_then(|c| hex(*c));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(PathError::BadPercent);
            };
            let c = hi * 16 + lo;
            if c == b'/' || c == b'\\' || c == 0 {
                return Err(PathError::Forbidden);
            }
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(c));
            } else {
                out.push_str(&format!("%{c:02X}"));
            }
            i += 3;
            continue;
        }
        if b == b'\\' || b < 0x20 || b == 0x7f {
            return Err(PathError::Forbidden);
        }
        if b.is_ascii()
            && !matches!(
                b,
                b' ' | b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'^' | b'#'
            )
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
        i += 1;
    }
    Ok(out)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_and_slashes() {
        assert_eq!(normalize("/static/../admin").unwrap(), "/admin");
        assert_eq!(normalize("//admin").unwrap(), "/admin");
        assert_eq!(normalize("/a/./b/").unwrap(), "/a/b/");
        assert_eq!(normalize("/../../x").unwrap(), "/x");
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("/a/..").unwrap(), "/");
        assert_eq!(normalize("/a/b/..").unwrap(), "/a/");
    }

    #[test]
    fn decodes_unreserved_only() {
        assert_eq!(normalize("/%2e%2e/admin").unwrap(), "/admin");
        assert_eq!(normalize("/%41%62c").unwrap(), "/Abc");
        assert_eq!(normalize("/a%20b").unwrap(), "/a%20b");
        assert_eq!(normalize("/a%3fb").unwrap(), "/a%3Fb");
    }

    #[test]
    fn refuses_what_cannot_be_normalised() {
        assert_eq!(normalize("/a%2fb"), Err(PathError::Forbidden));
        assert_eq!(normalize("/a%5Cb"), Err(PathError::Forbidden));
        assert_eq!(normalize("/a%00"), Err(PathError::Forbidden));
        assert_eq!(normalize("/a\\b"), Err(PathError::Forbidden));
        assert_eq!(normalize("/a%zz"), Err(PathError::BadPercent));
        assert_eq!(normalize("/a%2"), Err(PathError::BadPercent));
        assert_eq!(normalize("/static/..;/admin"), Err(PathError::DotParams));
        assert_eq!(normalize("a"), Err(PathError::NotAbsolute));
    }

    #[test]
    fn under_is_segment_wise() {
        assert!(under("/app", "/app"));
        assert!(under("/app/x", "/app"));
        assert!(!under("/apple", "/app"));
        assert!(under("/static/x", "/static/"));
        assert!(!under("/static", "/static/"));
        assert!(under("/anything", "/"));
    }
}
