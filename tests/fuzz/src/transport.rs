//! The `transport` target: how a request presents its access token, the `Authorization`
//! header (`Bearer <token>`) or the access cookie, read by [`CurrentUser`] in a real router.
//!
//! The manager's token strategy is a recorder: it notes every token handed to it and accepts
//! exactly one. Properties:
//!
//! - any headers: the answer is `200` or `401`, never a server error, and `200` only when the
//!   recorded token is the accepted one; a token handed over is non-empty, has no surrounding
//!   white space, and is a piece of a header the request carried (a cookie's has no `;`);
//! - headers built around a token (bearer scheme in any case, spaces around it, other
//!   cookies before and after it, a quoted cookie value): the strategy gets exactly the
//!   token's bytes, and the bearer header wins over the cookie.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use auth_axum::{Auth, AuthConfig, CurrentUser};
use auth_core::{
    AccessClaims, AccessSubject, Authentication, IssuedToken, JwtAlgorithm, JwtCodec, JwtKeys,
    ManagerConfig, MemorySessionStore, MemoryUserStore, NoProfile, Roles, SessionId, TokenError,
    TokenStrategy, UserId, UserManager, async_trait,
};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::routing::get;
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::input::Input;
use crate::runtime::block_on;

/// The one token the recorder accepts.
const ACCEPTED: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmdXp6In0.c2lnbmF0dXJl";

/// Characters a token of ours is made of (base64url and the JWS dots).
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

#[derive(Debug, Default)]
struct Recorder {
    seen: Mutex<Vec<String>>,
}

impl Recorder {
    fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .seen
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }
}

#[async_trait]
impl TokenStrategy for Recorder {
    async fn issue(
        &self,
        _subject: &AccessSubject,
        _session: SessionId,
        _now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError> {
        Err(TokenError::Invalid)
    }

    fn authenticate<'a>(&'a self, token: &'a str, _now: OffsetDateTime) -> Authentication<'a> {
        self.seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(token.to_owned());
        Authentication::ready(if token == ACCEPTED {
            Ok(AccessClaims {
                sub: UserId::new(),
                sid: SessionId::random(),
                exp: i64::MAX,
                iat: 0,
                jti: "fuzz".to_owned(),
                roles: Roles::new(),
                is_superuser: false,
                is_verified: true,
            })
        } else {
            Err(TokenError::Invalid)
        })
    }
}

struct Fixture {
    router: Router,
    recorder: Arc<Recorder>,
}

thread_local! {
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

async fn whoami(user: CurrentUser) -> String {
    user.id.to_string()
}

fn build() -> Fixture {
    let recorder = Arc::new(Recorder::default());
    let codec = JwtCodec::new(
        JwtKeys::hmac(JwtAlgorithm::HS256, b"transport target secret, 32 byte").expect("a key"),
        "fuzz",
    );
    let manager = UserManager::<NoProfile>::builder(
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemorySessionStore::new()),
        codec,
    )
    .with_token_strategy(recorder.clone())
    .with_config(ManagerConfig {
        // The recorder's sessions do not exist: only the transport is under test.
        check_revocation: false,
        ..ManagerConfig::default()
    })
    .build();
    let auth = Auth::new(manager, AuthConfig::default());
    let router = Router::new().route("/whoami", get(whoami)).with_state(auth);
    Fixture { router, recorder }
}

/// What the router answered, and the tokens the strategy was handed.
fn send(headers: &[(header::HeaderName, HeaderValue)]) -> (StatusCode, Vec<String>) {
    FIXTURE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let fixture = cell.get_or_insert_with(build);
        let mut request = Request::get("/whoami");
        for (name, value) in headers {
            request = request.header(name, value.clone());
        }
        let request = request.body(Body::empty()).expect("a request");
        let response = block_on(fixture.router.clone().oneshot(request)).expect("infallible");
        (response.status(), fixture.recorder.take())
    })
}

pub(crate) fn run(data: &[u8]) {
    let mut input = Input::new(data);
    match input.byte() % 2 {
        0 => raw(&mut input),
        _ => built(&mut input),
    }
}

/// Headers as the fuzzer wrote them.
fn raw(input: &mut Input<'_>) {
    let mut headers = Vec::new();
    let authorization = input.field();
    if let Ok(value) = HeaderValue::from_bytes(authorization)
        && !authorization.is_empty()
    {
        headers.push((header::AUTHORIZATION, value));
    }
    for _ in 0..2 {
        let cookie = input.field();
        if let Ok(value) = HeaderValue::from_bytes(cookie)
            && !cookie.is_empty()
        {
            headers.push((header::COOKIE, value));
        }
    }
    let (status, seen) = send(&headers);
    assert!(
        status == StatusCode::OK || status == StatusCode::UNAUTHORIZED,
        "{status} for {headers:?}"
    );
    assert!(seen.len() <= 1, "the strategy was asked twice: {seen:?}");
    assert_eq!(
        status == StatusCode::OK,
        seen.first().is_some_and(|token| token == ACCEPTED),
        "{status} for {seen:?}"
    );
    if let Some(token) = seen.first() {
        assert!(!token.is_empty());
        assert_eq!(token.trim(), token, "a token with white space around it");
        let texts: Vec<&str> = headers
            .iter()
            .filter_map(|(_, value)| value.to_str().ok())
            .collect();
        assert!(
            texts.iter().any(|text| text.contains(token.as_str())),
            "{token:?} is in none of {headers:?}"
        );
        let from_bearer = headers.iter().any(|(name, value)| {
            *name == header::AUTHORIZATION
                && value
                    .to_str()
                    .is_ok_and(|text| text.contains(token.as_str()))
        });
        if !from_bearer {
            assert!(!token.contains(';'), "a cookie value with a `;`: {token:?}");
        }
    }
}

/// A token from the token alphabet, framed by the fuzzer's choices.
fn built(input: &mut Input<'_>) {
    let choices = input.byte();
    let mut token: String = input
        .field()
        .iter()
        .map(|byte| char::from(TOKEN_ALPHABET[usize::from(*byte) % TOKEN_ALPHABET.len()]))
        .collect();
    if token.is_empty() || choices & 0x40 != 0 {
        token = ACCEPTED.to_owned();
    }
    let spaces = |count: u8| " ".repeat(usize::from(count % 3));
    // Other cookies, with names that are not the access cookie's.
    let others: Vec<String> = (0..2)
        .map(|_| {
            let text = input.text();
            let (name, value) = text.split_once('=').unwrap_or((&text, ""));
            let clean = |part: &str| -> String {
                part.chars()
                    .filter(|c| c.is_ascii_graphic() && !matches!(c, ';' | '=' | '"' | ','))
                    .collect()
            };
            format!("x{}={}", clean(name), clean(value))
        })
        .collect();
    let mut headers = Vec::new();
    let bearer = choices & 0x01 != 0;
    if bearer {
        let scheme = ["Bearer", "bearer", "BEARER", "bEaReR"][usize::from(choices >> 1 & 3)];
        let value = format!(
            "{scheme} {}{token}{}",
            spaces(choices >> 3),
            spaces(choices >> 5)
        );
        headers.push((
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).expect("printable"),
        ));
    }
    let quoted = choices & 0x80 != 0;
    let cookie_token = if bearer { ACCEPTED } else { token.as_str() };
    let value = if quoted {
        format!("\"{cookie_token}\"")
    } else {
        cookie_token.to_owned()
    };
    let cookie = format!(
        "{}; {}access_token={value}{}; {}",
        others[0],
        spaces(choices),
        spaces(choices >> 2),
        others[1]
    );
    headers.push((
        header::COOKIE,
        HeaderValue::from_str(&cookie).expect("printable"),
    ));
    let (status, seen) = send(&headers);
    assert_eq!(seen, [token.clone()], "for {headers:?}");
    assert_eq!(
        status == StatusCode::OK,
        token == ACCEPTED,
        "{status} for {headers:?}"
    );
}
