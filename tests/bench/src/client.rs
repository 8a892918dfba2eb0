//! A minimal HTTP/1.1 keep-alive client: the requests of every case as bytes, and a blocking
//! connection for the callgrind runs and the latency probe.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::BoxError;
use crate::cases::{Credential, PASSWORD, USER_EMAIL};

/// The GET of a case, with its token in a bearer header or the access cookie.
pub(crate) fn get_request(
    addr: SocketAddr,
    credential: Credential,
    token: &str,
    path: &str,
) -> Vec<u8> {
    let auth = match credential {
        Credential::None => String::new(),
        Credential::Bearer => format!("Authorization: Bearer {token}\r\n"),
        Credential::Cookie => format!("Cookie: access_token={token}\r\n"),
    };
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n").into_bytes()
}

/// The JSON body of a login.
pub(crate) fn login_body() -> String {
    format!(r#"{{"username":"{USER_EMAIL}","password":"{PASSWORD}"}}"#)
}

/// The login POST.
pub(crate) fn login_request(addr: SocketAddr) -> Vec<u8> {
    let body = login_body();
    format!(
        "POST /auth/jwt/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The head of a response: its status, the length of the head and of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) head_len: usize,
    pub(crate) body_len: usize,
}

/// Parses the head at the start of `buf`: `Ok(None)` while it is incomplete.
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<Head>, BoxError> {
    let Some(end) = buf.windows(4).position(|window| window == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end])?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or("malformed status line")?;
    let mut body_len = 0;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                body_len = value.trim().parse()?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err("chunked responses are not supported by the bench client".into());
            }
        }
    }
    Ok(Some(Head {
        status,
        head_len: end + 4,
        body_len,
    }))
}

/// One blocking keep-alive connection.
pub(crate) struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Where the last response's body starts in `buf`, and its length.
    body: (usize, usize),
}

impl Connection {
    pub(crate) fn open(addr: SocketAddr) -> Result<Self, BoxError> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(4096),
            body: (0, 0),
        })
    }

    /// Sends `request` and reads the whole response; returns its status.
    pub(crate) fn send(&mut self, request: &[u8]) -> Result<u16, BoxError> {
        self.stream.write_all(request)?;
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(head) = parse_head(&self.buf)? {
                let total = head.head_len + head.body_len;
                while self.buf.len() < total {
                    let n = self.stream.read(&mut chunk)?;
                    if n == 0 {
                        return Err("connection closed mid-response".into());
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                self.body = (head.head_len, head.body_len);
                return Ok(head.status);
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err("connection closed before a response".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The body of the last response.
    pub(crate) fn body(&self) -> &[u8] {
        let (start, len) = self.body;
        self.buf.get(start..start + len).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_parsed_once_complete() {
        let response = b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nHello, World!";
        assert_eq!(parse_head(&response[..20]).ok().flatten(), None);
        assert_eq!(
            parse_head(response).ok().flatten(),
            Some(Head {
                status: 200,
                head_len: 39,
                body_len: 13
            })
        );
    }
}
