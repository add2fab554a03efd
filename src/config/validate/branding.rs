//! `[branding]`: what the pages show of the deployment. No free CSS or HTML: a name, a logo
//! file, one colour and a help link.

use super::*;

/// WCAG 2 AA for normal text: white on the colour (the buttons) must reach this ratio.
const AA_CONTRAST: f64 = 4.5;
/// A logo is shown small: anything bigger is a mistake.
const MAX_LOGO_BYTES: u64 = 512 * 1024;

pub(super) fn build_branding(p: &mut Problems, b: BrandingFile) -> Branding {
    let primary_color = b.primary_color.unwrap_or_else(|| "#1f5eff".to_string());
    match contrast_with_white(&primary_color) {
        None => p.add(
            "branding.primary_color",
            format!("{primary_color:?} is not a colour like \"#1f5eff\""),
        ),
        Some(ratio) if ratio < AA_CONTRAST => p.add(
            "branding.primary_color",
            format!(
                "{primary_color:?} has a contrast of {ratio:.2}:1 with white text; WCAG AA needs {AA_CONTRAST}:1 (choose a darker colour)"
            ),
        ),
        Some(_) => {}
    }
    Branding {
        name: b
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "authgate".to_string()),
        logo_file: b.logo_file.map(|f| logo(p, &f)),
        primary_color,
        support_url: b
            .support_url
            .and_then(|u| absolute_url(p, "branding.support_url", &u)),
    }
}

/// A PNG or SVG file, small enough.
fn logo(p: &mut Problems, file: &str) -> PathBuf {
    let path = PathBuf::from(file);
    match std::fs::read(&path) {
        Err(e) => p.add("branding.logo_file", format!("cannot read {file:?}: {e}")),
        Ok(bytes) if bytes.len() as u64 > MAX_LOGO_BYTES => p.add(
            "branding.logo_file",
            format!("{file:?} is over {} KiB", MAX_LOGO_BYTES / 1024),
        ),
        Ok(bytes) if logo_type(&bytes).is_none() => p.add(
            "branding.logo_file",
            format!("{file:?} is neither a PNG nor an SVG image"),
        ),
        Ok(_) => {}
    }
    path
}

/// The content type of a logo: PNG by its signature, SVG by its root element.
pub fn logo_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    let head = String::from_utf8_lossy(bytes.get(..bytes.len().min(1024))?);
    head.contains("<svg").then_some("image/svg+xml")
}

/// The WCAG contrast ratio of white on `#rrggbb`.
pub fn contrast_with_white(hex: &str) -> Option<f64> {
    let hex = hex.strip_prefix('#').filter(|h| h.len() == 6)?;
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()?) / 255.0;
        Some(if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        })
    };
    let luminance = 0.2126 * channel(0)? + 0.7152 * channel(2)? + 0.0722 * channel(4)?;
    Some(1.05 / (luminance + 0.05))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_ratios_are_wcags() {
        let white = contrast_with_white("#ffffff").unwrap();
        assert!((white - 1.0).abs() < 1e-9);
        let black = contrast_with_white("#000000").unwrap();
        assert!((black - 21.0).abs() < 1e-9);
        assert!(contrast_with_white("#1f5eff").unwrap() >= AA_CONTRAST);
        assert!(contrast_with_white("#7aa7ff").unwrap() < AA_CONTRAST);
        assert!(contrast_with_white("blue").is_none());
        assert!(contrast_with_white("#12345").is_none());
        assert!(contrast_with_white("#gg0000").is_none());
    }

    #[test]
    fn logos_are_png_or_svg() {
        assert_eq!(logo_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(
            logo_type(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            Some("image/svg+xml")
        );
        assert_eq!(logo_type(b"GIF89a"), None);
    }
}
