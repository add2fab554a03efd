//! Mail from authgate (invitations, password resets, notices), through `[smtp]` with `lettre`:
//! TLS always (implicit, or STARTTLS required), verified against the system's roots or the
//! configured CA. The server sends through an `Outbox`: a mail is queued, never awaited by the
//! HTTP answer, and retried when the mail server cannot take it.

mod compose;
mod outbox;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub use compose::{compose, Kind};
pub use outbox::Outbox;

use crate::config::Smtp;

/// One mail: plain text and HTML of the same words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("[smtp]: {0}")]
    Config(String),
    #[error("the address {0:?} cannot receive mail")]
    Address(String),
    #[error("the mail server did not take the mail: {0}")]
    Send(String),
}

/// The connection to the mail server of `[smtp]`.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(cfg: &Smtp) -> Result<Mailer, MailError> {
        let config = |e: &dyn std::fmt::Display| MailError::Config(e.to_string());
        let mut tls = TlsParameters::builder(cfg.host.clone());
        if let Some(ca) = &cfg.ca_file {
            let pem = std::fs::read(ca).map_err(|e| config(&format!("{}: {e}", ca.display())))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| config(&e))?;
            tls = tls
                .certificate_store(CertificateStore::None)
                .add_root_certificate(cert);
        }
        let tls = tls.build_rustls().map_err(|e| config(&e))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
            .port(cfg.port)
            .timeout(Some(std::time::Duration::from_secs(20)))
            .tls(if cfg.implicit_tls {
                Tls::Wrapper(tls)
            } else {
                Tls::Required(tls)
            });
        if let (Some(user), Some(password)) = (&cfg.user, &cfg.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        let from = cfg.from.parse().map_err(|e| config(&e))?;
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// Sends `mail` now (one attempt).
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| MailError::Address(mail.to.clone()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| MailError::Send(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError::Send(e.to_string()))
    }
}
