//! Mail over SMTP with lettre, and the choice among the three mailers.

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::{FileMailer, LogMailer, Mail, MailError, Mailer};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::settings::Settings;

/// Sends the manager's mails through an SMTP server (`SMTP_URL`).
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `smtp://user:pass@host:port` (`smtps://` for implicit TLS,
    /// `?tls=required` for STARTTLS) sending from `from`.
    ///
    /// # Errors
    /// When the URL or the sender address does not parse.
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| MailError(Box::new(err)))?
            .build();
        let from = from.parse().map_err(|err| MailError(Box::new(err)))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .as_str()
            .parse()
            .map_err(|err| MailError(Box::new(err)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .body(mail.text.clone())
            .map_err(|err| MailError(Box::new(err)))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|err| MailError(Box::new(err)))
    }
}

/// The mailer the settings ask for: SMTP, a file outbox, or the log.
///
/// # Errors
/// When `SMTP_URL` or `MAIL_FROM` is malformed.
pub fn mailer(settings: &Settings) -> Result<Arc<dyn Mailer>, MailError> {
    if let Some(url) = &settings.smtp_url {
        return Ok(Arc::new(SmtpMailer::new(url, &settings.mail_from)?));
    }
    if let Some(dir) = &settings.mail_outbox_dir {
        return Ok(Arc::new(FileMailer::new(dir.clone())));
    }
    Ok(Arc::new(LogMailer))
}
