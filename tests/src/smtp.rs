//! A tiny SMTP sink on a free loopback port: it accepts every message (no TLS, no auth) and
//! keeps it, so a test can read what the server sent through `SMTP_URL`.

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
    /// A header's value (first match, case-insensitive name).
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.data.split_once("\r\n\r\n")?;
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The body, with a quoted-printable transfer encoding undone.
    pub fn text(&self) -> String {
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, body)| body)
            .unwrap_or_default();
        let quoted = self
            .header("Content-Transfer-Encoding")
            .is_some_and(|value| value.eq_ignore_ascii_case("quoted-printable"));
        if quoted {
            decode_quoted_printable(body)
        } else {
            body.to_owned()
        }
    }
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

/// A running sink; it stops with the test's runtime.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    /// The port it listens on, at `127.0.0.1`.
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Self {
            port,
            received: received.clone(),
        };
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let received = received.clone();
                tokio::spawn(async move {
                    // A broken conversation only loses that message; the test then fails
                    // on its absence, with the server's log.
                    let _ = converse(stream, received).await;
                });
            }
        });
        sink
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

async fn converse(stream: TcpStream, received: Arc<Mutex<Vec<Received>>>) -> std::io::Result<()> {
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
    use super::decode_quoted_printable;

    #[test]
    fn quoted_printable_is_decoded() {
        assert_eq!(
            decode_quoted_printable("http://x/reset#token=3Dab=\r\ncd=3D\r\nnext"),
            "http://x/reset#token=abcd=\r\nnext"
        );
    }
}
