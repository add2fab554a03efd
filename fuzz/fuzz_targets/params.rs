//! Query and form parsing: never panics; what parses once parses the same way again.
#![no_main]
use authgate::http::params::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Params::parse_bytes(data) {
        for name in ["client_id", "redirect_uri", "state", "scope", "code"] {
            let _ = p.get(name);
            let _ = p.is_repeated(name);
        }
    }
});
