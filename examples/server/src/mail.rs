//! The choice among the mailers: SMTP, a file outbox, or the log.

use std::sync::Arc;

use auth_core::{FileMailer, LogMailer, Mailer, SmtpError, SmtpMailer};

use crate::settings::Settings;

/// The mailer the settings ask for: SMTP (`SMTP_URL`, wins), a file outbox
/// (`MAIL_OUTBOX_DIR`), or the log.
///
/// # Errors
/// When `SMTP_URL` or `MAIL_FROM` is malformed (the message never shows the URL's password).
pub fn mailer(settings: &Settings) -> Result<Arc<dyn Mailer>, SmtpError> {
    if let Some(url) = &settings.smtp_url {
        return Ok(Arc::new(SmtpMailer::new(url, &settings.mail_from)?));
    }
    if let Some(dir) = &settings.mail_outbox_dir {
        return Ok(Arc::new(FileMailer::new(dir.clone())));
    }
    Ok(Arc::new(LogMailer))
}
