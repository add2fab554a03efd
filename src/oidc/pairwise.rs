//! Pairwise subject identifiers (OIDC Core §8.1): one user is a different, stable `sub` in
//! each sector, so relying parties of different sectors cannot join their records.

use crate::directory::Source;

/// `sub` of the user `username` from `source`, for relying parties of `sector`: a keyed PRF
/// (HKDF-SHA256 under `key`) of the three, base64url. The source is part of it: the same name
/// from another source is someone else.
pub fn subject(key: &[u8], sector: &str, source: &Source, username: &str) -> String {
    use base64::Engine;
    let source: String = source.clone().into();
    let info = [sector, &source, username].join("\0");
    let derived = crate::secret::derive_key(key, info.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(derived.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_sector_and_different_across() {
        let k = [7u8; 32];
        let a = subject(&k, "rp.test", &Source::Local, "alice");
        assert_eq!(a, subject(&k, "rp.test", &Source::Local, "alice"));
        assert_eq!(a.len(), 43);
        assert_ne!(a, subject(&k, "other.test", &Source::Local, "alice"));
        assert_ne!(a, subject(&k, "rp.test", &Source::Ldap, "alice"));
        assert_ne!(a, subject(&k, "rp.test", &Source::Local, "bob"));
        assert_ne!(a, subject(&[8u8; 32], "rp.test", &Source::Local, "alice"));
    }
}
