//! Config parsing and validation: any text gives a config or a list of problems, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Err(e) = authgate::config::from_str(s) {
        assert!(!e.problems.is_empty());
    }
});
