//! A tiny SMTP sink on a free loopback port: it accepts every message (no TLS, no auth) and
//! keeps it, so a test can read what the server sent through `SMTP_URL`. It can also be slow
//! (each message waits before its content is taken) or silent (it accepts connections and
//! never answers), for the tests of a mail server in trouble.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One accepted message.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// The `MAIL FROM` address.
    pub from: String,
    /// The `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message as sent after `DATA`, headers included, dot-unstuffed, CRLF line ends.
    pub data: String,
}

impl Received {
    /// A header's value (first match, case-insensitive name, folded lines joined).
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.data, name)
    }

    /// The MIME parts of a `multipart/*` message, their transfer encodings undone; empty for
    /// a message of one part.
    pub fn parts(&self) -> Vec<Part> {
        parts(&self.data)
    }

    /// The decoded body of the part whose `Content-Type` starts with `content_type`.
    pub fn part(&self, content_type: &str) -> Option<String> {
        self.parts()
            .into_iter()
            .find(|part| part.content_type.starts_with(content_type))
            .map(|part| part.body)
    }

    /// The plain text: the `text/plain` part of a multipart message, or the whole body of a
    /// message of one part, its transfer encoding undone.
    pub fn text(&self) -> String {
        self.part("text/plain")
            .unwrap_or_else(|| decoded_body(&self.data))
    }

    /// The `text/html` part.
    pub fn html(&self) -> Option<String> {
        self.part("text/html")
    }
}

/// One part of a multipart message.
#[derive(Debug, Clone)]
pub struct Part {
    /// Its `Content-Type` header.
    pub content_type: String,
    /// Its body, transfer encoding undone.
    pub body: String,
}

/// A header of an entity (headers, blank line, body), folded lines joined.
fn header(entity: &str, name: &str) -> Option<String> {
    let head = entity
        .split_once("\r\n\r\n")
        .map_or(entity, |(head, _)| head);
    let mut unfolded: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match unfolded.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => unfolded.push(line.to_owned()),
        }
    }
    unfolded.iter().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The body of an entity, with its `Content-Transfer-Encoding` undone.
fn decoded_body(entity: &str) -> String {
    let body = entity
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    let encoding = header(entity, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            use base64::Engine as _;
            let compact: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap_or_else(|err| panic!("bad base64 body ({err}): {body}"));
            String::from_utf8(bytes).unwrap()
        }
        _ => body.to_owned(),
    }
}

/// The parts of a multipart entity, by its boundary.
fn parts(entity: &str) -> Vec<Part> {
    let Some(content_type) = header(entity, "Content-Type") else {
        return Vec::new();
    };
    if !content_type.to_ascii_lowercase().starts_with("multipart/") {
        return Vec::new();
    }
    let boundary = content_type
        .split(';')
        .find_map(|param| param.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .unwrap_or_else(|| panic!("a multipart message without a boundary: {content_type}"));
    let body = entity
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    let delimiter = format!("--{boundary}");
    let end = format!("--{boundary}--");
    let body = body.split(&end).next().unwrap_or_default();
    body.split(&delimiter)
        .skip(1)
        .map(|part| {
            let part = part.strip_prefix("\r\n").unwrap_or(part);
            let part = part.strip_suffix("\r\n").unwrap_or(part);
            Part {
                content_type: header(part, "Content-Type").unwrap_or_default(),
                body: decoded_body(part),
            }
        })
        .collect()
}

/// Decodes quoted-printable text (RFC 2045 §6.7): soft line breaks and `=XX` escapes.
fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a sink answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// At once.
    Prompt,
    /// Waits this long before answering each `DATA` command: a message's content arrives
    /// only after the wait.
    Slow(Duration),
    /// Accepts connections and never says a word.
    Silent,
}

/// A running sink; it stops with the test's runtime.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    /// The port it listens on, at `127.0.0.1`.
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    connections: Arc<AtomicUsize>,
}

impl SmtpSink {
    /// Listens on a free loopback port, and answers at once.
    pub async fn start() -> Self {
        Self::start_with(Behaviour::Prompt).await
    }

    /// Listens on a free loopback port, and answers as `behaviour` says.
    pub async fn start_with(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let sink = Self {
            port,
            received: received.clone(),
            connections: connections.clone(),
        };
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                if behaviour == Behaviour::Silent {
                    held.push(stream);
                    continue;
                }
                let received = received.clone();
                tokio::spawn(async move {
                    // A broken conversation only loses that message; the test then fails
                    // on its absence, with the server's log.
                    let _ = converse(stream, received, behaviour).await;
                });
            }
        });
        sink
    }

    /// How many connections it accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// `smtp://127.0.0.1:<port>`: plain SMTP, no TLS.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message so far.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Waits (up to ten seconds) for the `n`-th message (from 1) to `to` whose subject
    /// contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str, n: usize) -> Received {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found: Vec<Received> = self
                .received()
                .into_iter()
                .filter(|mail| {
                    mail.to.iter().any(|rcpt| rcpt.eq_ignore_ascii_case(to))
                        && mail.header("Subject").is_some_and(|s| s.contains(subject))
                })
                .collect();
            if let Some(mail) = found.get(n - 1) {
                return mail.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no message #{n} {subject:?} to {to}; received: {:?}",
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The address inside `MAIL FROM:<...>` / `RCPT TO:<...>`.
fn address(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..]
        .find('>')
        .map_or(argument.len(), |i| start + i);
    argument[start..end].to_owned()
}

async fn converse(
    stream: TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Behaviour,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut current = Received::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250 8BITMIME\r\n",
            "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                current = Received {
                    from: address(&command[4..]),
                    ..Received::default()
                };
                b"250 OK\r\n"
            }
            "RCPT" => {
                current.to.push(address(&command[4..]));
                b"250 OK\r\n"
            }
            "DATA" => {
                if let Behaviour::Slow(delay) = behaviour {
                    tokio::time::sleep(delay).await;
                }
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    // Dot-stuffing (RFC 5321 §4.5.2).
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                current.data = data;
                received
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(std::mem::take(&mut current));
                b"250 OK queued\r\n"
            }
            "RSET" => {
                current = Received::default();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::{Received, decode_quoted_printable};

    #[test]
    fn multipart_messages_are_taken_apart() {
        let data = "From: a@example.com\r\nContent-Type: multipart/alternative;\r\n \
                    boundary=\"XyZ\"\r\nMIME-Version: 1.0\r\n\r\n--XyZ\r\n\
                    Content-Type: text/plain; charset=utf-8\r\n\
                    Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc\r\n\
                    --XyZ\r\nContent-Type: text/html; charset=utf-8\r\n\
                    Content-Transfer-Encoding: base64\r\n\r\nPHA+aGk8L3A+\r\n--XyZ--\r\n";
        let mail = Received {
            data: data.to_owned(),
            ..Received::default()
        };
        assert_eq!(
            mail.header("Content-Type").unwrap(),
            "multipart/alternative; boundary=\"XyZ\""
        );
        assert_eq!(mail.parts().len(), 2);
        assert_eq!(mail.text(), "a=bc");
        assert_eq!(mail.html().unwrap(), "<p>hi</p>");
    }

    #[test]
    fn quoted_printable_is_decoded() {
        assert_eq!(
            decode_quoted_printable("http://x/reset#token=3Dab=\r\ncd=3D\r\nnext"),
            "http://x/reset#token=abcd=\r\nnext"
        );
    }
}
