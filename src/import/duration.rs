//! Durations as the peers write them, as authgate writes them (`"90s"`, `"10m"`, `"12h"`, `"14d"`).

/// `90`, `"90"`, `"90s"`, `"5m"`, `"2 minutes"`, `"1w"`, `"1 week"` as authgate's form; `None`
/// for anything else (a combination such as `"1h30m"`).
pub fn convert(text: &str) -> Option<String> {
    let text = text.trim();
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let n: u64 = text[..digits].parse().ok()?;
    let raw = text[digits..].trim();
    if raw == "ms" {
        return None;
    }
    let unit = raw.trim_end_matches('s');
    let (n, unit) = match unit {
        "" | "second" | "sec" => (n, 's'),
        "m" | "min" | "minute" => (n, 'm'),
        "h" | "hour" => (n, 'h'),
        "d" | "day" => (n, 'd'),
        "w" | "week" => (n.checked_mul(7)?, 'd'),
        _ => return None,
    };
    Some(format!("{n}{unit}"))
}

#[cfg(test)]
mod tests {
    use super::convert;

    #[test]
    fn peer_durations() {
        for (given, want) in [
            ("90", Some("90s")),
            ("90s", Some("90s")),
            ("5m", Some("5m")),
            ("2 minutes", Some("2m")),
            ("1 hour", Some("1h")),
            ("168h", Some("168h")),
            ("1w", Some("7d")),
            ("1h30m", None),
            ("500ms", None),
            ("soon", None),
        ] {
            assert_eq!(convert(given).as_deref(), want, "{given}");
        }
    }
}
