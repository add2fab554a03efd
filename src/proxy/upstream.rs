//! The route's rewrites towards its upstream and back: the path without `strip_prefix`, the
//! `Host` it wants, its extra request headers; in its answers, the headers it should not leak
//! and, with `rewrite_redirects`, its own URLs mapped back to the public ones.

use pingora::http::{RequestHeader, ResponseHeader};
use pingora::{Error, ErrorType, Result};

use crate::app::balancer::LiveRoute;
use crate::config::Route;
use crate::http::facts::Facts;
use crate::http::rewrite::{self, Public};

/// The path the upstream receives for `facts`.
pub fn path<'a>(route: &Route, facts: &'a Facts) -> &'a str {
    match &route.upstream.rewrite.strip_prefix {
        Some(prefix) => rewrite::strip(&facts.path, prefix),
        None => &facts.path,
    }
}

/// `upstream_host` and `request_headers` (after every client-sent identity header is gone).
pub fn request(req: &mut RequestHeader, route: &Route) -> Result<()> {
    let rewrite = &route.upstream.rewrite;
    if let Some(host) = &rewrite.host {
        req.insert_header(::http::header::HOST, host.as_str())?;
    }
    for (name, value) in &rewrite.request_headers {
        req.insert_header(name.clone(), value.clone())?;
    }
    Ok(())
}

/// `response_headers_remove`, then the upstream's own URLs mapped back to the public ones.
pub fn response(
    resp: &mut ResponseHeader,
    route: &Route,
    live: &LiveRoute,
    facts: &Facts,
) -> Result<()> {
    let rewrite = &route.upstream.rewrite;
    for name in &rewrite.response_headers_remove {
        resp.remove_header(name);
    }
    if !rewrite.redirects {
        return Ok(());
    }
    let origin = format!("{}://{}", facts.scheme.as_str(), facts.host.authority());
    let public = Public {
        origin: &origin,
        prefix: rewrite.strip_prefix.as_deref(),
        upstream_hosts: &live.upstream_hosts,
    };
    for name in [::http::header::LOCATION, ::http::header::CONTENT_LOCATION] {
        if let Some(mapped) = value(resp, &name).and_then(|v| public.location(v)) {
            resp.insert_header(name, mapped)?;
        }
    }
    if let Some(mapped) = value(resp, &::http::header::REFRESH).and_then(|v| public.refresh(v)) {
        resp.insert_header(::http::header::REFRESH, mapped)?;
    }
    let cookies: Vec<String> = resp
        .headers
        .get_all(::http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| public.set_cookie(v).unwrap_or_else(|| v.to_string()))
        .collect();
    if !cookies.is_empty() {
        resp.remove_header(&::http::header::SET_COOKIE);
        for c in cookies {
            resp.append_header(::http::header::SET_COOKIE, c)?;
        }
    }
    Ok(())
}

fn value<'a>(resp: &'a ResponseHeader, name: &::http::HeaderName) -> Option<&'a str> {
    resp.headers.get(name).and_then(|v| v.to_str().ok())
}

/// 413 for a body over the route's `max_body_size`, counted as it streams.
pub fn count_body(route: &Route, seen: &mut u64, chunk: usize) -> Result<()> {
    *seen = seen.saturating_add(chunk as u64);
    match route.upstream.max_body_size {
        Some(max) if *seen > max => Error::e_explain(
            ErrorType::HTTPStatus(413),
            "the request body is over the route's max_body_size",
        ),
        _ => Ok(()),
    }
}
