//! `[tokens]`: signing keys and token lifetimes.

use super::*;

pub(super) fn build_tokens(p: &mut Problems, t: TokensFile) -> Option<Tokens> {
    let create = t.create_key_if_missing.unwrap_or(false);
    let signing_key_file = PathBuf::from(
        t.signing_key_file
            .unwrap_or_else(|| "conf/keys/signing.pem".into()),
    );
    if !create && !signing_key_file.exists() {
        p.add(
            "tokens.signing_key_file",
            format!(
                "{} does not exist: create it with `authgate gen-key --out {}`",
                signing_key_file.display(),
                signing_key_file.display()
            ),
        );
    }
    let retired_key_files = t
        .retired_key_files
        .iter()
        .enumerate()
        .map(|(i, f)| readable(p, &format!("tokens.retired_key_files[{i}]"), f))
        .collect();
    Some(Tokens {
        signing_key_file,
        retired_key_files,
        create_key_if_missing: create,
        access_token_ttl: duration(
            p,
            "tokens.access_token_ttl",
            t.access_token_ttl.as_deref(),
            Duration::from_secs(600),
        ),
        id_token_ttl: duration(
            p,
            "tokens.id_token_ttl",
            t.id_token_ttl.as_deref(),
            Duration::from_secs(600),
        ),
        refresh_token_ttl: duration(
            p,
            "tokens.refresh_token_ttl",
            t.refresh_token_ttl.as_deref(),
            Duration::from_secs(14 * 86400),
        ),
        code_ttl: duration(
            p,
            "tokens.code_ttl",
            t.code_ttl.as_deref(),
            Duration::from_secs(60),
        ),
        client_user_prefix: t.client_user_prefix.unwrap_or_default(),
        max_pending_device_codes: t.max_pending_device_codes.unwrap_or(1000),
        require_par: t.require_par,
    })
}
