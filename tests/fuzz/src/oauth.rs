//! The `oauth_state` target: the callback of an OAuth sign-in, its `state` (a signed token)
//! and the browser's CSRF cookie, through [`OAuthClient::callback`].
//!
//! The fixture starts one sign-in (GitHub, whose authorization URL needs no network) and
//! keeps its state and cookie. Properties:
//!
//! - a provider's `error` is answered with a code of safe characters only;
//! - no code, or no state: refused as such;
//! - any other state or cookie than the issued pair (a forged, changed or foreign state, a
//!   missing or wrong cookie) is refused as an invalid or expired state, before the
//!   provider is asked: never a provider error, never a sign-in.

use std::sync::{Arc, OnceLock};

use auth_core::oauth::{
    CallbackParams, OAuthClient, OAuthError, OAuthKeys, OAuthProvider, StateBinding,
};
use auth_core::{MemoryRateLimiter, UserId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use crate::input::Input;
use crate::runtime::block_on;

const REDIRECT: &str = "http://127.0.0.1:8000/auth/github/callback";

struct Fixture {
    client: OAuthClient,
    state: String,
    csrf: String,
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_748_779_200).expect("a valid timestamp")
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys = OAuthKeys::new(b"the oauth target's key, 32 bytes or more").expect("a key");
        let client = OAuthClient::new(
            [OAuthProvider::github("client-id", "client-secret")],
            keys,
            Arc::new(MemoryRateLimiter::new()),
        )
        .expect("an OAuth client");
        let binding = StateBinding {
            user: Some(UserId::new()),
            next: Some("/account".to_owned()),
        };
        let authorization = block_on(client.authorize("github", REDIRECT, &[], &binding, now()))
            .expect("GitHub's authorization URL");
        let state = authorization
            .url
            .split(['?', '&'])
            .find_map(|pair| pair.strip_prefix("state="))
            .expect("a state in the URL")
            .to_owned();
        // The state is base64url and dots: nothing to percent-decode.
        assert!(
            state
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte))
        );
        Fixture {
            client,
            state,
            csrf: authorization.csrf,
        }
    })
}

fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

pub(crate) fn run(data: &[u8]) {
    let fixture = fixture();
    let mut input = Input::new(data);
    let mode = input.byte();
    let provider = if mode & 0x80 != 0 {
        input.text()
    } else {
        "github".to_owned()
    };
    let mut params = CallbackParams {
        code: Some("code".to_owned()),
        ..CallbackParams::default()
    };
    let csrf;
    match mode % 4 {
        0 => {
            params.state = optional(input.text());
            csrf = optional(input.text());
            params.code = optional(input.text());
            params.error = optional(input.text());
        }
        1 => {
            let mut bytes = fixture.state.clone().into_bytes();
            let at = usize::from(input.u16()) % (bytes.len() + 1);
            let value = input.byte();
            match input.byte() % 4 {
                0 => {
                    if let Some(byte) = bytes.get_mut(at) {
                        *byte = value;
                    }
                }
                1 => bytes.insert(at, value),
                2 => {
                    if at < bytes.len() {
                        bytes.remove(at);
                    }
                }
                _ => bytes.truncate(at),
            }
            params.state = Some(String::from_utf8_lossy(&bytes).into_owned());
            csrf = Some(fixture.csrf.clone());
        }
        2 => {
            params.state = Some(fixture.state.clone());
            csrf = optional(input.text());
        }
        _ => {
            // A state with the issued signature and a header and payload of the fuzzer's.
            let signature = fixture.state.rsplit('.').next().unwrap_or_default();
            let header = URL_SAFE_NO_PAD.encode(input.field());
            let payload = URL_SAFE_NO_PAD.encode(input.field());
            params.state = Some(format!("{header}.{payload}.{signature}"));
            csrf = Some(fixture.csrf.clone());
        }
    }
    let issued_pair = provider == "github"
        && params.state.as_deref() == Some(fixture.state.as_str())
        && csrf.as_deref() == Some(fixture.csrf.as_str());
    if issued_pair && params.error.is_none() && params.code.is_some() {
        // The one input that goes on to the provider: not for a fuzzer without network.
        return;
    }
    let result =
        block_on(
            fixture
                .client
                .callback(&provider, REDIRECT, &params, csrf.as_deref(), now()),
        );
    let context = || format!("{provider:?} {params:?} {csrf:?}");
    match result {
        Err(OAuthError::UnknownProvider) => assert_ne!(provider, "github", "{}", context()),
        Err(OAuthError::Denied(code)) => {
            assert!(params.error.is_some(), "{}", context());
            assert!(
                code == "Bad Request"
                    || (code.len() <= 64
                        && code
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))),
                "an unsafe error code {code:?}"
            );
        }
        Err(OAuthError::MissingCode) => assert!(params.code.is_none(), "{}", context()),
        Err(OAuthError::StateInvalid | OAuthError::StateExpired | OAuthError::InvalidState) => {}
        other => panic!("{}: got past the state check: {other:?}", context()),
    }
}
