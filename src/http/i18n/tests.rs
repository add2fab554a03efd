use super::*;

fn lang(code: &str) -> Lang {
    Lang::from_code(code).unwrap()
}

#[test]
fn the_browsers_preference_by_quality_then_order() {
    let en = Lang::ENGLISH;
    assert_eq!(negotiate(None, Some("de"), en), lang("de"));
    assert_eq!(
        negotiate(None, Some("de-AT,de;q=0.9,en;q=0.8"), en),
        lang("de")
    );
    assert_eq!(negotiate(None, Some("en;q=0.5, de;q=0.9"), en), lang("de"));
    assert_eq!(negotiate(None, Some("xx, de;q=0.1"), en), lang("de"));
    assert_eq!(negotiate(None, Some("de;q=0, en"), en), en);
    assert_eq!(
        negotiate(None, Some("xx-YY"), lang("de")),
        lang("de"),
        "the default"
    );
    assert_eq!(
        negotiate(None, Some("de;q=abc"), en),
        en,
        "a bad quality is ignored"
    );
    assert_eq!(negotiate(None, None, en), en);
}

#[test]
fn the_menus_choice_wins() {
    assert_eq!(negotiate(Some("de"), Some("en"), Lang::ENGLISH), lang("de"));
    assert_eq!(
        negotiate(Some("nope"), Some("de"), Lang::ENGLISH),
        lang("de")
    );
}

/// Every English key is in every other catalogue, and no catalogue has keys English lacks.
#[test]
fn every_language_has_every_key() {
    let keys = keys_of("en");
    assert!(keys.len() > 50, "only {} English keys", keys.len());
    let mut missing = Vec::new();
    for (code, _) in LANGUAGES {
        let l = lang(code);
        missing.extend(
            keys.iter()
                .filter(|k| l.own(k).is_none())
                .map(|k| format!("{code}: {k}")),
        );
        for k in keys_of(code) {
            if !keys.contains(&k) {
                missing.push(format!("{code}: {k} is not an English key"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "missing translations:\n{}",
        missing.join("\n")
    );
}

fn keys_of(code: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("locales")
        .join(code);
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        keys.extend(text.lines().filter_map(|l| {
            let (key, _) = l.split_once(" =")?;
            (!key.starts_with(' ') && !key.starts_with('#') && !key.is_empty())
                .then(|| key.trim().to_string())
        }));
    }
    keys
}

#[test]
fn plurals_and_arguments() {
    let en = Lang::ENGLISH;
    assert_eq!(
        en.count("recovery-codes-left", 1),
        "1 unused recovery code."
    );
    assert_eq!(
        en.count("recovery-codes-left", 3),
        "3 unused recovery codes."
    );
    assert_eq!(
        lang("de").count("recovery-codes-left", 1),
        "1 unbenutzter Wiederherstellungscode."
    );
    assert_eq!(
        en.t_with("login-continue-to", &[("app", "Payroll")]),
        "Sign in to continue to Payroll"
    );
}
