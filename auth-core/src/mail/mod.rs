//! Mail: the [`Mailer`] trait, the messages the manager sends, their templates, and the
//! mailers (log, memory, file outbox, and SMTP with the `smtp` feature).

mod file;
mod html;
mod log;
mod memory;
#[cfg(feature = "smtp")]
mod smtp;
mod templates;
mod words;

use std::fmt::{self, Debug};

use async_trait::async_trait;

use crate::email::Email;

pub use file::FileMailer;
pub use html::escape_html;
pub use log::LogMailer;
pub use memory::MemoryMailer;
#[cfg(feature = "smtp")]
pub use smtp::{SmtpError, SmtpMailer, SmtpOptions};
pub use templates::{DefaultMailTemplates, MailContext, MailLink, MailTemplates};
pub use words::duration_in_words;

/// What a message is for. The link inside carries a single-use secret.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailKind {
    /// Confirms the address; the link verifies it.
    Verify {
        /// The verification link (secret inside).
        link: String,
    },
    /// Lets the user choose a new password.
    ResetPassword {
        /// The reset link (secret inside).
        link: String,
    },
    /// A notice to the old address that the account's e-mail address changed.
    EmailChanged {
        /// The new address.
        new_email: Email,
    },
    /// A notice that the account's sign-in factors changed (a second factor added or removed,
    /// recovery codes replaced).
    SecurityNotice,
}

impl Debug for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Verify { .. } => f.write_str("Verify { link: [redacted] }"),
            Self::ResetPassword { .. } => f.write_str("ResetPassword { link: [redacted] }"),
            Self::EmailChanged { new_email } => f
                .debug_struct("EmailChanged")
                .field("new_email", new_email)
                .finish(),
            Self::SecurityNotice => f.write_str("SecurityNotice"),
        }
    }
}

impl MailKind {
    /// A short name of the kind, for file names and logs: `verify`, `reset`,
    /// `email-changed` or `security-notice`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Verify { .. } => "verify",
            Self::ResetPassword { .. } => "reset",
            Self::EmailChanged { .. } => "email-changed",
            Self::SecurityNotice => "security-notice",
        }
    }
}

/// A rendered message: what a [`MailTemplates`] method returns.
///
/// `text` is the plain-text body and `html` the HTML one; SMTP sends both as
/// `multipart/alternative`. Everything interpolated into `html` must be escaped with
/// [`escape_html`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailContent {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (a whole document).
    pub html: String,
}

impl MailContent {
    /// A subject and both bodies.
    pub fn new(
        subject: impl Into<String>,
        text: impl Into<String>,
        html: impl Into<String>,
    ) -> Self {
        Self {
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
        }
    }
}

impl Debug for MailContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailContent")
            .field("subject", &self.subject)
            .field("text", &"[redacted]")
            .field("html", &"[redacted]")
            .finish()
    }
}

/// A message to one user, rendered by the manager's [`MailTemplates`].
///
/// Mailers that want their own rendering match on [`Mail::kind`] and ignore the rest.
/// `Debug` hides the link and the bodies.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The address on record (never one taken from the request).
    pub to: Email,
    /// What it is for, with its link.
    pub kind: MailKind,
    /// The subject line, on one line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

impl Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .field("text", &"[redacted]")
            .field("html", &"[redacted]")
            .finish()
    }
}

impl Mail {
    /// A message of `kind` to `to` with `content`. Line breaks and other control characters
    /// in the subject become spaces: a subject is one header line.
    ///
    /// ```
    /// use auth_core::{DefaultMailTemplates, Email, Mail, MailContext, MailKind, MailLink, MailTemplates};
    /// use time::{Duration, OffsetDateTime};
    ///
    /// let to = Email::parse("alice@example.com")?;
    /// let link = MailLink::new("https://example.com/verify#token=x", Duration::hours(2));
    /// let context = MailContext::new(to.clone(), "Example", OffsetDateTime::now_utc());
    /// let content = DefaultMailTemplates.verify(&context, &link);
    /// let mail = Mail::new(to, MailKind::Verify { link: link.url }, content);
    /// assert!(mail.text.contains("expires in 2 hours"));
    /// # Ok::<(), auth_core::EmailError>(())
    /// ```
    pub fn new(to: Email, kind: MailKind, content: MailContent) -> Self {
        Self {
            to,
            kind,
            subject: one_line(&content.subject),
            text: content.text,
            html: content.html,
        }
    }
}

/// `text` with every control character (line breaks included) turned into a space, trimmed:
/// safe as a header value.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Why a mail could not be sent. Its message includes the cause's, so that one log line
/// tells what went wrong; mailers keep credentials out of their errors.
#[derive(Debug, thiserror::Error)]
#[error("sending mail failed: {0}")]
pub struct MailError(#[source] pub Box<dyn std::error::Error + Send + Sync + 'static>);

/// Sends the manager's messages.
///
/// The manager never waits on a mail for its answer's sake: a failure is logged and the
/// request answers as usual (forgot-password always answers `202`).
///
/// # Why `#[async_trait]`
/// Held as `Arc<dyn Mailer>`, chosen at start-up (log, file outbox, SMTP).
///
/// # Implementing it
/// A mailer that hands messages to a channel, for another task to deliver:
///
/// ```
/// use async_trait::async_trait;
/// use auth_core::{Mail, MailError, Mailer};
/// use tokio::sync::mpsc;
///
/// #[derive(Debug)]
/// struct Queue(mpsc::Sender<Mail>);
///
/// #[async_trait]
/// impl Mailer for Queue {
///     async fn send(&self, mail: &Mail) -> Result<(), MailError> {
///         self.0.send(mail.clone()).await.map_err(|err| MailError(Box::new(err)))
///     }
/// }
/// ```
#[async_trait]
pub trait Mailer: Debug + Send + Sync + 'static {
    /// Sends one message.
    ///
    /// # Errors
    /// [`MailError`] when delivery fails.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_one_line() {
        let to = Email::parse("alice@example.com").unwrap();
        let mail = Mail::new(
            to,
            MailKind::SecurityNotice,
            MailContent::new(" Hello\r\nBcc: eve@example.com\t", "text", "<p>html</p>"),
        );
        assert_eq!(mail.subject, "Hello  Bcc: eve@example.com");
        let debug = format!("{mail:?}");
        assert!(
            !debug.contains("text\"") && !debug.contains("<p>"),
            "{debug}"
        );
    }
}
