//! Values inside any table: durations, addresses, URLs and files, each checked with its key
//! path.

use super::*;

pub(super) fn duration(
    p: &mut Problems,
    path: &str,
    v: Option<&str>,
    default: Duration,
) -> Duration {
    match v {
        None => default,
        Some(s) => match humantime::parse_duration(s) {
            Ok(d) if d > Duration::ZERO => d,
            Ok(_) => {
                p.add(path, "must be longer than zero");
                default
            }
            Err(e) => {
                p.add(
                    path,
                    format!("{s:?} is not a duration like \"90s\", \"12h\", \"14d\" ({e})"),
                );
                default
            }
        },
    }
}

pub(super) fn socket_addr(p: &mut Problems, path: &str, s: &str) -> Option<SocketAddr> {
    match s.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            p.add(path, format!("{s:?} is not ip:port"));
            None
        }
    }
}

/// `host:port`, where host may be a name resolved once at load.
/// `host:port` of an upstream. A name that does not resolve now is not an error: the upstream is
/// resolved again while authgate runs, and takes no requests until it resolves (its address is
/// the unspecified one meanwhile, and `check-config` warns).
pub(super) fn upstream_addr(p: &mut Problems, path: &str, s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    let port = s
        .rsplit_once(':')
        .filter(|(h, _)| !h.is_empty())
        .and_then(|(_, port)| port.parse::<u16>().ok());
    let Some(port) = port else {
        p.add(path, format!("{s:?} is not host:port"));
        return None;
    };
    let resolved = s.to_socket_addrs().ok().and_then(|mut it| it.next());
    Some(resolved.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], port))))
}

pub(super) fn absolute_url(p: &mut Problems, path: &str, s: &str) -> Option<Url> {
    match Url::parse(s) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {
            if u.fragment().is_some() {
                p.add(path, format!("{s:?} must not have a #fragment"));
                return None;
            }
            Some(u)
        }
        Ok(_) => {
            p.add(path, format!("{s:?} must be an absolute http(s) URL"));
            None
        }
        Err(e) => {
            p.add(path, format!("{s:?} is not a URL: {e}"));
            None
        }
    }
}

/// The secret in `file` (one trailing newline is not part of it), reported at `path` when the
/// file cannot be read.
pub(super) fn secret_file(p: &mut Problems, path: &str, file: &str) -> Secret {
    match std::fs::read_to_string(file) {
        Ok(s) => Secret::new(s.trim_end_matches(['\n', '\r'])),
        Err(e) => {
            p.add(path, format!("cannot read {file:?}: {e}"));
            Secret::new("")
        }
    }
}

pub(super) fn readable(p: &mut Problems, path: &str, file: &str) -> PathBuf {
    if let Err(e) = std::fs::File::open(file) {
        p.add(path, format!("cannot read {file:?}: {e}"));
    }
    PathBuf::from(file)
}
