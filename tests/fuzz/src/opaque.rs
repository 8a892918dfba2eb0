//! The `opaque` target: refresh tokens and opaque access tokens ([`OpaqueTokenStrategy`]),
//! which are a session id and a secret, base64url-encoded.
//!
//! Properties:
//!
//! - [`RefreshToken::parse`] accepts only the canonical text of a token: what it accepts,
//!   [`RefreshToken::expose`] writes back byte for byte;
//! - the strategy accepts only the live session's exact access token, and
//!   [`UserManager::refresh`] only its exact refresh token: a token with any byte changed,
//!   or another session's id, is refused;
//! - a refresh rotates: the new pair works, and the spent refresh token is refused when
//!   presented again (a replay, which ends the session).

use std::cell::RefCell;
use std::sync::Arc;

use auth_core::{
    Argon2Hasher, ClientInfo, Email, ManagerConfig, ManualClock, MemorySessionStore,
    MemoryUserStore, NewUser, NoProfile, OpaqueTokenStrategy, Password, RateLimits, RefreshToken,
    TokenPair, TokenStrategy, UserManager, UserStore, UserStoreSubjects,
};
use time::{Duration, OffsetDateTime};

use crate::input::Input;
use crate::runtime::block_on;

const EMAIL: &str = "carol@example.com";
const PASSWORD: &str = "a quiet river at dawn";

struct Fixture {
    manager: UserManager<NoProfile>,
    strategy: OpaqueTokenStrategy,
    /// The live session's tokens.
    tokens: TokenPair,
}

thread_local! {
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_748_779_200).expect("a valid timestamp")
}

fn client() -> ClientInfo {
    ClientInfo::new(None, None)
}

fn build() -> Fixture {
    let users = Arc::new(MemoryUserStore::<NoProfile>::new());
    let sessions = Arc::new(MemorySessionStore::new());
    let subjects: Arc<dyn UserStore<NoProfile>> = users.clone();
    let strategy = OpaqueTokenStrategy::new(
        sessions.clone(),
        Arc::new(UserStoreSubjects(subjects)),
        Duration::minutes(30),
    );
    let codec = auth_core::JwtCodec::new(
        auth_core::JwtKeys::hmac(
            auth_core::JwtAlgorithm::HS256,
            b"opaque target secret, 32 bytes!!",
        )
        .expect("an HMAC key"),
        "fuzz",
    );
    let manager = UserManager::builder(users, sessions, codec)
        .with_token_strategy(Arc::new(strategy.clone()))
        .with_hasher(Arc::new(Argon2Hasher::fast_insecure()))
        .with_clock(Arc::new(ManualClock::new(now())))
        .with_config(ManagerConfig {
            rate_limits: RateLimits::none(),
            ..ManagerConfig::default()
        })
        .build();
    let email = Email::parse(EMAIL).expect("an address");
    block_on(manager.register(NewUser::new(email, PASSWORD), &client()))
        .expect("the fixture's user registers");
    let tokens = login(&manager);
    Fixture {
        manager,
        strategy,
        tokens,
    }
}

fn login(manager: &UserManager<NoProfile>) -> TokenPair {
    block_on(manager.login(EMAIL, &Password::new(PASSWORD), &client()))
        .expect("the fixture's user logs in")
        .tokens
}

fn accepted(strategy: &OpaqueTokenStrategy, token: &str) -> bool {
    block_on(strategy.authenticate(token, now())).is_ok()
}

pub(crate) fn run(data: &[u8]) {
    FIXTURE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let fixture = cell.get_or_insert_with(build);
        check(fixture, data);
        // A replay ends the session: log in again so the next input starts from a live one.
        if !accepted(&fixture.strategy, &fixture.tokens.access_token) {
            fixture.tokens = login(&fixture.manager);
        }
    });
}

fn check(fixture: &mut Fixture, data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte() % 3;
    let token = match mode {
        0 => String::from_utf8_lossy(input.rest()).into_owned(),
        _ => {
            let original = if mode == 1 {
                &fixture.tokens.access_token
            } else {
                &fixture.tokens.refresh_token
            };
            let mut bytes = original.clone().into_bytes();
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
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };

    if let Some(parsed) = RefreshToken::parse(&token) {
        assert_eq!(
            parsed.expose(),
            token,
            "a refresh token parsed from a text that is not its own"
        );
    }

    let access_ok = accepted(&fixture.strategy, &token);
    assert_eq!(
        access_ok,
        token == fixture.tokens.access_token,
        "the opaque strategy's answer for {token:?}"
    );

    let refreshed = block_on(fixture.manager.refresh(&token, &client()));
    match refreshed {
        Ok(pair) => {
            assert_eq!(
                token, fixture.tokens.refresh_token,
                "a refresh accepted a token that is not the session's"
            );
            assert!(accepted(&fixture.strategy, &pair.access_token));
            assert!(
                !accepted(&fixture.strategy, &fixture.tokens.access_token),
                "the access token before the refresh still works"
            );
            let spent = std::mem::replace(&mut fixture.tokens, pair);
            assert!(
                block_on(fixture.manager.refresh(&spent.refresh_token, &client())).is_err(),
                "a spent refresh token was accepted again"
            );
        }
        Err(_) => assert_ne!(
            token, fixture.tokens.refresh_token,
            "the session's refresh token was refused"
        ),
    }
}
