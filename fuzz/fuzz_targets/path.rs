//! Path normalisation and host canonicalisation: never panic; a normalised path is absolute,
//! has no dot segments or empty segments, and normalising it again changes nothing.
#![no_main]
use authgate::http::host::Host;
use authgate::http::path::normalize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = Host::parse(s);
    if let Ok(n) = normalize(s) {
        assert!(n.starts_with('/'));
        assert!(!n.contains("//"), "{n}");
        assert!(n.split('/').all(|seg| seg != "." && seg != ".."), "{n}");
        assert_eq!(normalize(&n).as_deref(), Ok(n.as_str()), "idempotent");
    }
});
