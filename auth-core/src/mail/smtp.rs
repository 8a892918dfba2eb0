//! [`SmtpMailer`]: mail over SMTP with lettre (feature `smtp`).

use std::fmt::{self, Debug};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Mail, MailError, Mailer, one_line};

/// How an [`SmtpMailer`] connects and how long it waits.
///
/// ```
/// use std::time::Duration;
/// use auth_core::SmtpOptions;
///
/// let options = SmtpOptions::default()
///     .with_send_timeout(Duration::from_secs(20))
///     .with_pool_size(8);
/// assert_eq!(options.connect_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmtpOptions {
    /// The longest wait for a connection to open (TCP, and TLS for `smtps://`; default 10 s).
    pub connect_timeout: Duration,
    /// The longest one message may take from start to end: connection, greeting, TLS,
    /// authentication and the whole conversation (default 30 s). A server that accepts the
    /// connection and then never answers fails the message after this long; the connections
    /// of the pool are then discarded, so that none left halfway through a conversation is
    /// used again.
    pub send_timeout: Duration,
    /// How many open connections are kept for reuse (default 4, the mail queue's default
    /// concurrency).
    pub pool_size: u32,
    /// How long an unused connection stays open (default 60 s).
    pub idle_timeout: Duration,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
            pool_size: 4,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl SmtpOptions {
    /// These options with another connect timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// These options with another send timeout.
    #[must_use]
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// These options with another pool size (zero keeps no connection open between
    /// messages).
    #[must_use]
    pub fn with_pool_size(mut self, size: u32) -> Self {
        self.pool_size = size;
        self
    }

    /// These options with another idle timeout.
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }
}

/// Why the SMTP mailer could not be made, or could not send. The messages name the server
/// by scheme, host and port only: the URL's user name and password never appear in them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpError {
    /// The SMTP URL does not parse, or asks for something unsupported.
    #[error("the SMTP URL is not usable: {0}")]
    Url(String),
    /// An address (sender or recipient) does not parse as a mailbox.
    #[error("the {role} address is not usable: {reason}")]
    Address {
        /// `sender` or `recipient`.
        role: &'static str,
        /// Why.
        reason: String,
    },
    /// The mailer was made outside a Tokio runtime.
    #[error("the SMTP mailer must be made inside a Tokio runtime")]
    NoRuntime,
    /// The message could not be put together.
    #[error("the message could not be built: {0}")]
    Message(String),
    /// The server took longer than [`SmtpOptions::send_timeout`].
    #[error("{server} did not finish within {timeout:?}")]
    Timeout {
        /// The server (`smtp://host:port`).
        server: String,
        /// The send timeout.
        timeout: Duration,
    },
    /// Connecting, TLS, authentication or the server's answer failed.
    #[error("{server}: {reason}")]
    Send {
        /// The server (`smtp://host:port`).
        server: String,
        /// What went wrong.
        reason: String,
        /// Whether the server refused for good (a `5xx` answer): retrying will not help.
        permanent: bool,
    },
}

/// Sends the manager's mails through an SMTP server, as `multipart/alternative` messages with
/// the text and the HTML body.
///
/// Connections are pooled and reused; every message is bounded in time
/// ([`SmtpOptions`]). Neither `Debug` nor any error shows the URL's credentials.
///
/// ```
/// use auth_core::SmtpMailer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::SmtpError> {
/// let mailer = SmtpMailer::new(
///     "smtp://mailer:s3cret@smtp.example.com:587?tls=required",
///     "Accounts <no-reply@example.com>",
/// )?;
/// assert!(!format!("{mailer:?}").contains("s3cret"));
/// # Ok(())
/// # }
/// ```
pub struct SmtpMailer {
    /// How to make a new transport, when the pool is discarded after a timeout.
    builder: AsyncSmtpTransportBuilder,
    transport: ArcSwap<Transport>,
    from: Mailbox,
    options: SmtpOptions,
    /// `scheme://host[:port]`, without credentials: what errors and `Debug` show.
    server: String,
    /// The URL's password, as written and percent-decoded: scrubbed from every message.
    secrets: Vec<String>,
}

impl Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `smtp://user:pass@host:port` (STARTTLS with `?tls=required`, or
    /// `?tls=opportunistic`; `smtps://` for implicit TLS) sending from `from`
    /// (`Name <address>` or a bare address), with the default [`SmtpOptions`].
    ///
    /// Make it inside a Tokio runtime (its connection pool runs a task there). The user
    /// name and password are percent-decoded.
    ///
    /// # Errors
    /// When the URL or the sender address does not parse, or when called outside a Tokio
    /// runtime.
    pub fn new(url: &str, from: &str) -> Result<Self, SmtpError> {
        Self::with_options(url, from, SmtpOptions::default())
    }

    /// As [`SmtpMailer::new`], with `options`.
    ///
    /// # Errors
    /// As [`SmtpMailer::new`].
    pub fn with_options(url: &str, from: &str, options: SmtpOptions) -> Result<Self, SmtpError> {
        let parsed = url::Url::parse(url).map_err(|err| SmtpError::Url(err.to_string()))?;
        let mut secrets = Vec::new();
        if let Some(password) = parsed.password() {
            secrets.push(password.to_owned());
            if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
                secrets.push(decoded.into_owned());
            }
        }
        secrets.retain(|secret| !secret.is_empty());
        let server = match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", parsed.scheme()),
            (Some(host), None) => format!("{}://{host}", parsed.scheme()),
            (None, _) => return Err(SmtpError::Url("it names no host".to_owned())),
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| SmtpError::Url(scrub(&describe(&err), &secrets)))?
            .timeout(Some(options.connect_timeout))
            .pool_config(
                PoolConfig::new()
                    .max_size(options.pool_size)
                    .idle_timeout(options.idle_timeout),
            );
        let from: Mailbox = from.parse().map_err(|err| SmtpError::Address {
            role: "sender",
            reason: describe(&err),
        })?;
        let transport = Transport::new(&builder)?;
        Ok(Self {
            builder,
            transport: ArcSwap::from_pointee(transport),
            from,
            options,
            server,
            secrets,
        })
    }

    /// The sender address.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// The message for `mail`: text and HTML as alternatives (text alone when the HTML body
    /// is empty).
    fn message(&self, mail: &Mail) -> Result<Message, SmtpError> {
        let to: Mailbox = mail.to.as_str().parse().map_err(|err| SmtpError::Address {
            role: "recipient",
            reason: describe(&err),
        })?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(one_line(&mail.subject));
        let message = if mail.html.is_empty() {
            builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text.clone())
        } else {
            builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
        };
        message.map_err(|err| SmtpError::Message(describe(&err)))
    }

    /// Sends `mail`, within the send timeout.
    async fn deliver(&self, mail: &Mail) -> Result<(), SmtpError> {
        let message = self.message(mail)?;
        let transport = self.transport.load_full();
        let Some(smtp) = transport.inner.as_ref() else {
            return Err(SmtpError::NoRuntime);
        };
        match tokio::time::timeout(self.options.send_timeout, smtp.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(SmtpError::Send {
                server: self.server.clone(),
                reason: scrub(&describe(&err), &self.secrets),
                permanent: err.is_permanent(),
            }),
            Err(_) => {
                // The connection was dropped halfway through a conversation: a new pool, so
                // that it is never used again. (Messages in flight finish on the old one.)
                if let Ok(fresh) = Transport::new(&self.builder) {
                    self.transport.compare_and_swap(&transport, Arc::new(fresh));
                }
                Err(SmtpError::Timeout {
                    server: self.server.clone(),
                    timeout: self.options.send_timeout,
                })
            }
        }
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.deliver(mail)
            .await
            .map_err(|err| MailError(Box::new(err)))
    }
}

/// A transport (a connection pool) and the runtime it lives on: dropped on that runtime,
/// since dropping the pool spawns a task to close its connections.
struct Transport {
    inner: Option<AsyncSmtpTransport<Tokio1Executor>>,
    runtime: tokio::runtime::Handle,
}

impl Transport {
    fn new(builder: &AsyncSmtpTransportBuilder) -> Result<Self, SmtpError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SmtpError::NoRuntime)?;
        Ok(Self {
            inner: Some(builder.clone().build()),
            runtime,
        })
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        let _entered = self.runtime.enter();
        drop(self.inner.take());
    }
}

/// An error and its causes as one line, each cause once.
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut cause = err.source();
    while let Some(source) = cause {
        let text = source.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = source.source();
    }
    message
}

/// `message` with every secret replaced by `***`.
fn scrub(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_owned(), |message, secret| {
        message.replace(secret.as_str(), "***")
    })
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    use super::*;
    use crate::{Email, MailContent, MailKind};

    const PASSWORD: &str = "pa55%2Fw0rd-zz";
    const DECODED: &str = "pa55/w0rd-zz";

    fn mail() -> Mail {
        Mail::new(
            Email::parse("alice@example.com").unwrap(),
            MailKind::SecurityNotice,
            MailContent::new("Hello", "Hello, Alice.\n", "<p>Hello, Alice.</p>"),
        )
    }

    /// Every way an error can be shown.
    fn shown(err: &SmtpError) -> String {
        format!("{err} {err:?} {}", describe(err))
    }

    #[tokio::test]
    async fn urls_and_addresses_are_checked_without_showing_the_password() {
        for url in [
            "not a url",
            &format!("http://user:{PASSWORD}@localhost:25"),
            &format!("smtp://user:{PASSWORD}@localhost:25?tls=sometimes"),
            &format!("smtp://user:{PASSWORD}@:25"),
        ] {
            let err = SmtpMailer::new(url, "a@example.com").unwrap_err();
            assert!(matches!(err, SmtpError::Url(_)), "{err:?}");
            let shown = shown(&err);
            assert!(
                !shown.contains(PASSWORD) && !shown.contains(DECODED),
                "{shown}"
            );
        }
        let err = SmtpMailer::new("smtp://localhost", "not an address").unwrap_err();
        assert!(
            matches!(err, SmtpError::Address { role: "sender", .. }),
            "{err:?}"
        );
        let mailer = SmtpMailer::new(
            &format!("smtps://user:{PASSWORD}@smtp.example.com?tls=required"),
            "Accounts <a@example.com>",
        )
        .unwrap();
        let debug = format!("{mailer:?}");
        assert!(debug.contains("smtps://smtp.example.com"), "{debug}");
        assert!(
            !debug.contains(PASSWORD) && !debug.contains(DECODED),
            "{debug}"
        );
    }

    #[test]
    fn outside_a_runtime_it_is_an_error_not_a_panic() {
        let err = SmtpMailer::new("smtp://localhost", "a@example.com").unwrap_err();
        assert!(matches!(err, SmtpError::NoRuntime), "{err:?}");
    }

    #[tokio::test]
    async fn a_refused_connection_fails_without_the_password() {
        // A port that was free a moment ago: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mailer = SmtpMailer::new(
            &format!("smtp://mailer:{PASSWORD}@127.0.0.1:{port}"),
            "a@example.com",
        )
        .unwrap();
        let err = mailer.deliver(&mail()).await.unwrap_err();
        assert!(
            matches!(
                err,
                SmtpError::Send {
                    permanent: false,
                    ..
                }
            ),
            "{err:?}"
        );
        let shown = shown(&err);
        assert!(
            shown.contains(&format!("smtp://127.0.0.1:{port}")),
            "{shown}"
        );
        assert!(
            !shown.contains(PASSWORD) && !shown.contains(DECODED),
            "{shown}"
        );
        let boxed = mailer.send(&mail()).await.unwrap_err();
        assert!(!format!("{boxed:?}").contains(DECODED));
    }

    #[tokio::test]
    async fn a_server_that_never_answers_fails_the_message_in_time() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts and holds connections, and never says a word.
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                open.push(stream);
            }
        });
        let mailer = SmtpMailer::with_options(
            &format!("smtp://127.0.0.1:{port}"),
            "a@example.com",
            SmtpOptions::default().with_send_timeout(Duration::from_millis(300)),
        )
        .unwrap();
        let started = std::time::Instant::now();
        let err = mailer.deliver(&mail()).await.unwrap_err();
        assert!(matches!(err, SmtpError::Timeout { .. }), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        held.abort();
    }

    /// A one-connection SMTP server that answers `DATA` with `reply` and keeps what it got.
    async fn server(reply: &'static str) -> (u16, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut data = String::new();
            write.write_all(b"220 test ESMTP\r\n").await.unwrap();
            while let Ok(Some(line)) = lines.next_line().await {
                let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                let answer = match verb.as_str() {
                    "EHLO" => "250-test\r\n250 8BITMIME\r\n".to_owned(),
                    "DATA" => {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            data.push_str(&line);
                            data.push('\n');
                        }
                        reply.to_owned()
                    }
                    "QUIT" => {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    }
                    _ => "250 OK\r\n".to_owned(),
                };
                if write.write_all(answer.as_bytes()).await.is_err() {
                    break;
                }
            }
            data
        });
        (port, task)
    }

    #[tokio::test]
    async fn a_message_carries_the_text_and_the_html_as_alternatives() {
        let (port, server) = server("250 queued\r\n").await;
        let mailer = SmtpMailer::with_options(
            &format!("smtp://127.0.0.1:{port}"),
            "Accounts <accounts@example.org>",
            SmtpOptions::default().with_pool_size(0),
        )
        .unwrap();
        mailer.deliver(&mail()).await.unwrap();
        drop(mailer);
        let data = server.await.unwrap();
        assert!(
            data.contains("From: Accounts <accounts@example.org>"),
            "{data}"
        );
        assert!(data.contains("To: alice@example.com"), "{data}");
        assert!(data.contains("Subject: Hello"), "{data}");
        assert!(
            data.contains("Content-Type: multipart/alternative"),
            "{data}"
        );
        assert!(
            data.contains("Content-Type: text/plain; charset=utf-8"),
            "{data}"
        );
        assert!(
            data.contains("Content-Type: text/html; charset=utf-8"),
            "{data}"
        );
        assert!(data.contains("<p>Hello, Alice.</p>"), "{data}");
    }

    #[tokio::test]
    async fn a_refusal_for_good_is_marked_permanent() {
        let (port, _server) = server("554 no thanks\r\n").await;
        let mailer = SmtpMailer::new(&format!("smtp://127.0.0.1:{port}"), "a@example.com").unwrap();
        let err = mailer.deliver(&mail()).await.unwrap_err();
        assert!(
            matches!(
                err,
                SmtpError::Send {
                    permanent: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("no thanks"), "{err}");
    }
}
