//! The words of each mail, in the reader's language, naming the `[branding]` name: plain text,
//! and the same paragraphs as HTML. A link stands on a line of its own.

use askama::Template;

use super::Mail;
use crate::http::i18n::Lang;

/// Which mail, and what it needs.
#[derive(Debug, Clone, Copy)]
pub enum Kind<'a> {
    /// An invitation: the link sets the first password.
    Invite {
        link: &'a str,
    },
    /// A password reset: the link sets a new password.
    Reset {
        link: &'a str,
    },
    /// The password was changed (or reset).
    PasswordChanged,
    /// A second factor was added, or removed (`factor`: its kind, in words).
    FactorAdded {
        factor: &'a str,
    },
    FactorRemoved {
        factor: &'a str,
    },
}

#[derive(Template)]
#[template(path = "mail.html")]
struct MailHtml<'a> {
    lang: &'a str,
    subject: &'a str,
    brand: &'a str,
    color: &'a str,
    paragraphs: &'a [String],
    link: Option<&'a str>,
}

/// The mail of `kind` to `user` at `to`, in `lang`, from `brand` (links in `color`).
pub fn compose(
    kind: Kind<'_>,
    (user, to): (&str, &str),
    lang: Lang,
    (brand, color): (&str, &str),
) -> Mail {
    let (prefix, link, factor) = match kind {
        Kind::Invite { link } => ("mail-invite", Some(link), ""),
        Kind::Reset { link } => ("mail-reset", Some(link), ""),
        Kind::PasswordChanged => ("mail-password-changed", None, ""),
        Kind::FactorAdded { factor } => ("mail-factor-added", None, factor),
        Kind::FactorRemoved { factor } => ("mail-factor-removed", None, factor),
    };
    let args = [("brand", brand), ("factor", factor), ("user", user)];
    let subject = lang.t_with(&format!("{prefix}-subject"), &args);
    let paragraphs = vec![
        lang.t_with("mail-hello", &args),
        lang.t_with(&format!("{prefix}-body"), &args),
    ];
    let mut text = paragraphs.join("\n\n");
    if let Some(l) = link {
        text.push_str("\n\n");
        text.push_str(l);
    }
    text.push('\n');
    let html = MailHtml {
        lang: lang.code(),
        subject: &subject,
        brand,
        color,
        paragraphs: &paragraphs,
        link,
    }
    .render()
    .unwrap_or_else(|_| text.clone());
    Mail {
        to: to.to_string(),
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_stands_alone_and_the_html_is_escaped() {
        let link = "https://auth.test/invite?token=a&b";
        let m = compose(
            Kind::Invite { link },
            ("<alice>", "alice@example.com"),
            Lang::default(),
            ("Example & Co", "#1f5eff"),
        );
        assert!(m.text.lines().any(|l| l == link), "{}", m.text);
        assert!(m.subject.contains("Example & Co"), "{}", m.subject);
        assert!(
            m.html.contains("Example &amp; Co") || m.html.contains("Example &#38; Co"),
            "{}",
            m.html
        );
        assert!(!m.html.contains("<alice>"), "{}", m.html);
        let de = compose(
            Kind::PasswordChanged,
            ("alice", "a@example.com"),
            Lang::from_code("de").unwrap(),
            ("X", "#000"),
        );
        assert_ne!(
            de.subject,
            compose(
                Kind::PasswordChanged,
                ("alice", "a@example.com"),
                Lang::default(),
                ("X", "#000")
            )
            .subject
        );
    }
}
