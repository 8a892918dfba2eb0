//! [`LogMailer`]: mail that only reaches the log.

use async_trait::async_trait;

use super::{Mail, MailError, Mailer};

/// Logs that a message would be sent: recipient and subject, never the link (it is a
/// credential, and logs are not a safe place for credentials). For development, prefer
/// [`FileMailer`](crate::FileMailer), which keeps the whole message.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        tracing::info!(to = %mail.to, subject = ?mail.subject, "mail not sent: no mailer configured (set MAIL_OUTBOX_DIR or SMTP_URL)");
        Ok(())
    }
}
