//! Mail: the [`Mailer`] trait, the messages the manager sends, and three mailers.

use std::fmt::{self, Debug};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::email::Email;

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
    /// The kind as a short snake_case word: `verify`, `reset_password`, `email_changed` or
    /// `security_notice` (the `kind` label of the `auth_mails_total` metric). Never the
    /// link or the address.
    ///
    /// ```
    /// use auth_core::MailKind;
    /// assert_eq!(MailKind::SecurityNotice.name(), "security_notice");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Self::Verify { .. } => "verify",
            Self::ResetPassword { .. } => "reset_password",
            Self::EmailChanged { .. } => "email_changed",
            Self::SecurityNotice => "security_notice",
        }
    }
}

/// A message to one user, already rendered as plain text.
///
/// Mailers that want their own templates match on [`Mail::kind`] and ignore `subject` and
/// `text`. `Debug` hides the link and the body.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The address on record (never one taken from the request).
    pub to: Email,
    /// What it is for, with its link.
    pub kind: MailKind,
    /// A ready subject line.
    pub subject: String,
    /// A ready plain-text body.
    pub text: String,
}

impl Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .field("text", &"[redacted]")
            .finish()
    }
}

impl Mail {
    /// The verification message for `to`.
    pub fn verify(to: Email, link: String) -> Self {
        let text = format!(
            "Please confirm your e-mail address by opening this link:\n\n{link}\n\n\
             The link works once and expires in 24 hours. If you did not sign up, ignore this message.\n"
        );
        Self {
            to,
            kind: MailKind::Verify { link },
            subject: "Confirm your e-mail address".to_owned(),
            text,
        }
    }

    /// The password-reset message for `to`.
    pub fn reset_password(to: Email, link: String) -> Self {
        let text = format!(
            "Someone asked to reset the password of your account. To choose a new password, open this link:\n\n{link}\n\n\
             The link works once and expires in one hour. If it was not you, ignore this message: your password is unchanged.\n"
        );
        Self {
            to,
            kind: MailKind::ResetPassword { link },
            subject: "Reset your password".to_owned(),
            text,
        }
    }

    /// A notice to the account's address that `what` happened to its sign-in (a second factor
    /// added or removed), when, and what to do if it was not the owner.
    pub fn security_notice(to: Email, what: &str, at: time::OffsetDateTime) -> Self {
        let when = at
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_else(|_| at.to_string());
        let text = format!(
            "On {when}, {what}.\n\n\
             If this was not you, someone else may have your password: change it, and contact \
             the site's support.\n"
        );
        Self {
            to,
            kind: MailKind::SecurityNotice,
            subject: "The sign-in of your account changed".to_owned(),
            text,
        }
    }

    /// The notice sent to the **old** address after the account's address changed: what
    /// changed, when, and what to do if it was not the owner.
    pub fn email_changed(old: Email, new_email: Email, at: time::OffsetDateTime) -> Self {
        let when = at
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_else(|_| at.to_string());
        let text = format!(
            "The e-mail address of your account was changed to {new_email} on {when}.\n\n             Mail about the account, including password resets, now goes to the new address.              Every other session of the account was signed out.\n\n             If you did not make this change, someone else may have your password: contact              the site's support at once and keep this message.\n"
        );
        Self {
            to: old,
            kind: MailKind::EmailChanged { new_email },
            subject: "Your e-mail address was changed".to_owned(),
            text,
        }
    }
}

/// Why a mail could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("sending mail failed")]
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

/// Logs that a message would be sent: recipient and subject, never the link (it is a
/// credential, and logs are not a safe place for credentials). For development, prefer
/// [`FileMailer`], which keeps the whole message.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        tracing::info!(to = %mail.to, subject = %mail.subject, "mail not sent: no mailer configured (set MAIL_OUTBOX_DIR or SMTP_URL)");
        Ok(())
    }
}

/// Keeps every message in memory; cheap to clone, clones share the outbox. For tests and for
/// apps that deliver mail themselves.
///
/// ```
/// use auth_core::MemoryMailer;
/// let mailer = MemoryMailer::new();
/// assert!(mailer.sent().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer {
    outbox: Arc<Mutex<Vec<Mail>>>,
}

impl MemoryMailer {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The newest message to `to`, if any.
    pub fn last_to(&self, to: &str) -> Option<Mail> {
        self.sent()
            .into_iter()
            .rev()
            .find(|mail| mail.to.key() == to.to_lowercase())
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.outbox
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(mail.clone());
        Ok(())
    }
}

/// Writes each message as one file in a directory (`MAIL_OUTBOX_DIR`): a development outbox
/// that tests and people can read.
///
/// Files are named `<unix-nanos>-<kind>-<random>.eml` and hold the headers `To` and
/// `Subject`, a blank line, and the text.
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    /// An outbox in `dir`, created at the first message if missing.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let kind = match mail.kind {
            MailKind::Verify { .. } => "verify",
            MailKind::ResetPassword { .. } => "reset",
            MailKind::EmailChanged { .. } => "email-changed",
            MailKind::SecurityNotice => "security-notice",
        };
        let name = format!(
            "{}-{kind}-{}.eml",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
            uuid::Uuid::new_v4().simple()
        );
        // Written under a hidden name and renamed into place, so a reader of the directory
        // never sees half a mail.
        let partial = self.dir.join(format!(".{name}.partial"));
        let path = self.dir.join(name);
        let dir = self.dir.clone();
        let body = format!(
            "To: {}\nSubject: {}\n\n{}",
            mail.to, mail.subject, mail.text
        );
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(&partial, body)?;
            std::fs::rename(&partial, path)
        })
        .await
        .map_err(|err| MailError(Box::new(err)))?
        .map_err(|err| MailError(Box::new(err)))
    }
}
