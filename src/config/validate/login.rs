//! `[login]`: lockout, rate limit, second factor and re-authentication.

use super::*;

pub(super) fn build_login(p: &mut Problems, l: LoginFile) -> Option<Login> {
    if l.max_failures == Some(0) {
        p.add("login.max_failures", "must be at least 1");
    }
    Some(Login {
        max_failures: l.max_failures.unwrap_or(5).max(1),
        lockout_ends_sessions: l.lockout_ends_sessions.unwrap_or(false),
        failure_window: duration(
            p,
            "login.failure_window",
            l.failure_window.as_deref(),
            Duration::from_secs(300),
        ),
        lockout: duration(
            p,
            "login.lockout",
            l.lockout.as_deref(),
            Duration::from_secs(900),
        ),
        rate_limit: l.rate_limit.unwrap_or(300),
        rate_window: duration(
            p,
            "login.rate_window",
            l.rate_window.as_deref(),
            Duration::from_secs(60),
        ),
        second_factor: match l.second_factor.as_deref() {
            None | Some("off") => SecondFactor::Off,
            Some("optional") => SecondFactor::Optional,
            Some("required") => SecondFactor::Required,
            Some(other) => {
                p.add(
                    "login.second_factor",
                    format!("{other:?}: expected \"off\", \"optional\" or \"required\""),
                );
                SecondFactor::Off
            }
        },
        totp_issuer: l.totp_issuer.unwrap_or_else(|| "authgate".into()),
        password_form: l.password_form.unwrap_or(true),
        reauthenticate_after: duration(
            p,
            "login.reauthenticate_after",
            l.reauthenticate_after.as_deref(),
            Duration::from_secs(300),
        ),
        passkey_sign_in: l.passkey_sign_in.unwrap_or(true),
        default_language: language(p, l.default_language.as_deref()),
        min_password_length: min_length(p, l.min_password_length),
        min_password_score: min_score(p, l.min_password_score),
        breached_passwords_file: l
            .breached_passwords_file
            .as_deref()
            .map(|f| readable(p, "login.breached_passwords_file", f)),
    })
}

fn min_length(p: &mut Problems, n: Option<usize>) -> usize {
    let n = n.unwrap_or(12);
    if !(8..=128).contains(&n) {
        p.add("login.min_password_length", "must be between 8 and 128");
    }
    n.clamp(8, 128)
}

fn min_score(p: &mut Problems, n: Option<u8>) -> u8 {
    let n = n.unwrap_or(3);
    if n > 4 {
        p.add(
            "login.min_password_score",
            "must be 0 to 4 (zxcvbn's score)",
        );
    }
    n.min(4)
}

fn language(p: &mut Problems, code: Option<&str>) -> String {
    let code = code.unwrap_or("en");
    match crate::http::i18n::Lang::from_code(code) {
        Some(lang) => lang.code().to_string(),
        None => {
            let offered: Vec<&str> = crate::http::i18n::LANGUAGES
                .iter()
                .map(|(c, _)| *c)
                .collect();
            p.add(
                "login.default_language",
                format!("{code:?} is not one of {}", offered.join(", ")),
            );
            "en".to_string()
        }
    }
}
