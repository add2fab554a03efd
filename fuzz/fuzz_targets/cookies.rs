//! Cookie handling: reading our cookie and stripping it from what goes upstream never panics,
//! and the stripped header never still carries our cookie.
#![no_main]
use authgate::http::cookies;
use libfuzzer_sys::fuzz_target;
use pingora::http::RequestHeader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut req) = RequestHeader::build("GET", b"/", None) else { return };
    for part in data.split(|b| *b == b'\n') {
        if let Ok(v) = http::HeaderValue::from_bytes(part) {
            let _ = req.append_header(http::header::COOKIE, v);
        }
    }
    let _ = cookies::get(&req, "authgate_session");
    if let Some(rest) = cookies::without(&req, &["authgate_session"]) {
        assert!(rest.split(';').all(|c| c.trim().split('=').next().map(str::trim) != Some("authgate_session")));
    }
});
