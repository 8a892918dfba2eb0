//! [`FileMailer`]: a development outbox of files.

use std::path::PathBuf;

use async_trait::async_trait;

use super::{Mail, MailError, Mailer, one_line};

/// Writes each message as files in a directory (`MAIL_OUTBOX_DIR`): a development outbox
/// that tests and people can read.
///
/// Each message is `<unix-nanos>-<kind>-<random>.eml`, holding the headers `To` and `Subject`,
/// a blank line, and the text body, and beside it `<same name>.html`, the HTML body, which a
/// browser opens. The `.html` file is in place before the `.eml` file appears.
///
/// ```
/// use auth_core::{Email, FileMailer, Mail, MailContent, MailKind, Mailer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("outbox-{}", std::process::id()));
/// let mail = Mail::new(
///     Email::parse("alice@example.com")?,
///     MailKind::SecurityNotice,
///     MailContent::new("Hello", "Hello, Alice.\n", "<p>Hello, Alice.</p>"),
/// );
/// FileMailer::new(&dir).send(&mail).await?;
/// let files = std::fs::read_dir(&dir)?.count();
/// assert_eq!(files, 2);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
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
        let name = format!(
            "{}-{}-{}",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
            mail.kind.name(),
            uuid::Uuid::new_v4().simple()
        );
        let dir = self.dir.clone();
        let eml = format!(
            "To: {}\nSubject: {}\n\n{}",
            mail.to,
            one_line(&mail.subject),
            mail.text
        );
        let html = mail.html.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            // Each file is written under a hidden name and renamed into place, so a reader of
            // the directory never sees half a mail; the `.eml` file comes last.
            for (extension, body) in [("html", html), ("eml", eml)] {
                let partial = dir.join(format!(".{name}.{extension}.partial"));
                std::fs::write(&partial, body)?;
                std::fs::rename(&partial, dir.join(format!("{name}.{extension}")))?;
            }
            Ok::<(), std::io::Error>(())
        })
        .await
        .map_err(|err| MailError(Box::new(err)))?
        .map_err(|err| MailError(Box::new(err)))
    }
}
