//! The `email` and `username` targets: canonicalisation of the two login names.
//!
//! Each input is two strings, `a` and `b` (separated by a NUL byte). Properties:
//!
//! - parsing never panics, and what it accepts is within the documented limits;
//! - the canonical form is a fixed point: parsing it again gives the same value and key;
//! - the key is a fixed point too: the key of a parsed key is that key;
//! - deserialising the JSON string gives what parsing gives;
//! - two inputs whose keys are equal are one identity: once `a` is registered, `b` is found
//!   as that account and cannot be registered again; two inputs whose keys differ are two
//!   accounts.

use std::cell::RefCell;
use std::sync::Arc;

use auth_core::{
    Argon2Hasher, AuthError, ClientInfo, Email, ManagerConfig, MemorySessionStore, MemoryUserStore,
    NewUser, NoProfile, PasswordPolicy, RateLimits, Registration, UserManager, UserStore, Username,
};

use crate::input::Input;
use crate::runtime::block_on;

const PASSWORD: &str = "a quiet river at dawn";

struct Fixture {
    manager: UserManager<NoProfile>,
    users: Arc<MemoryUserStore<NoProfile>>,
}

thread_local! {
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

fn with_fixture(check: impl FnOnce(&Fixture)) {
    FIXTURE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let fixture = cell.get_or_insert_with(|| {
            let users = Arc::new(MemoryUserStore::<NoProfile>::new());
            let codec = auth_core::JwtCodec::new(
                auth_core::JwtKeys::hmac(
                    auth_core::JwtAlgorithm::HS256,
                    b"identity target secret, 32 bytes",
                )
                .expect("an HMAC key"),
                "fuzz",
            );
            let manager =
                UserManager::builder(users.clone(), Arc::new(MemorySessionStore::new()), codec)
                    .with_hasher(Arc::new(Argon2Hasher::fast_insecure()))
                    .with_config(ManagerConfig {
                        rate_limits: RateLimits::none(),
                        // Any name the fuzzer finds must register with the one password.
                        password_policy: PasswordPolicy::default().with_personal_check(false),
                        ..ManagerConfig::default()
                    })
                    .build();
            Fixture { manager, users }
        });
        check(fixture);
    });
}

fn client() -> ClientInfo {
    ClientInfo::new(None, None)
}

/// Registers `new`, runs `check` with the account, and deletes it again so every input
/// starts from an empty store.
fn registered(fixture: &Fixture, new: NewUser<NoProfile>, check: impl FnOnce(auth_core::UserId)) {
    let id = match block_on(fixture.manager.register(new, &client())) {
        Ok(Registration::Created(user)) => user.id,
        other => panic!("a valid name could not be registered: {other:?}"),
    };
    check(id);
    assert!(block_on(fixture.users.delete(id)).expect("the memory store answers"));
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

pub(crate) fn run_email(data: &[u8]) {
    let mut input = Input::new(data);
    let (a, b) = (input.text(), input.text());
    let parsed_a = check_email(&a);
    let parsed_b = check_email(&b);
    let (Some(a), Some(b)) = (parsed_a, parsed_b) else {
        return;
    };
    with_fixture(|fixture| {
        registered(fixture, NewUser::new(a.clone(), PASSWORD), |id| {
            let found =
                block_on(fixture.users.find_by_email(&b)).expect("the memory store answers");
            let again = block_on(
                fixture
                    .manager
                    .register(NewUser::new(b.clone(), PASSWORD), &client()),
            );
            if a.key() == b.key() {
                assert_eq!(
                    found.map(|user| user.id),
                    Some(id),
                    "{a:?} and {b:?} share a key"
                );
                assert!(
                    matches!(again, Err(AuthError::UserAlreadyExists)),
                    "{b:?} registered beside {a:?}: {again:?}"
                );
            } else {
                assert!(found.is_none(), "{b:?} found as {a:?}");
                match again {
                    Ok(Registration::Created(user)) => {
                        assert!(
                            block_on(fixture.users.delete(user.id))
                                .expect("the memory store answers")
                        );
                    }
                    other => panic!("{b:?} refused beside {a:?}: {other:?}"),
                }
            }
        });
    });
}

fn check_email(raw: &str) -> Option<Email> {
    let parsed = Email::parse(raw);
    let from_json: Result<Email, _> = serde_json::from_str(&json_string(raw));
    assert_eq!(
        parsed.as_ref().ok(),
        from_json.as_ref().ok(),
        "parse and deserialise disagree on {raw:?}"
    );
    let email = parsed.ok()?;
    let text = email.as_str();
    assert!(!text.is_empty() && text.len() <= 254, "{text:?}");
    assert_eq!(text.matches('@').count(), 1, "{text:?}");
    assert!(text.len() <= raw.len() * 4 + 64, "{text:?} from {raw:?}");
    let again = Email::parse(text).unwrap_or_else(|err| panic!("{text:?} from {raw:?}: {err}"));
    assert_eq!(
        again, email,
        "the canonical form of {raw:?} is not a fixed point"
    );
    assert_eq!(again.key(), email.key());
    let key = email.key();
    if let Ok(keyed) = Email::parse(&key) {
        assert_eq!(keyed.key(), key, "the key of {raw:?} is not a fixed point");
    }
    Some(email)
}

pub(crate) fn run_username(data: &[u8]) {
    let mut input = Input::new(data);
    let (a, b) = (input.text(), input.text());
    let parsed_a = check_username(&a);
    let parsed_b = check_username(&b);
    let (Some(a), Some(b)) = (parsed_a, parsed_b) else {
        return;
    };
    let with_name = |address: &str, name: &Username| {
        let mut new = NewUser::new(Email::parse(address).expect("an address"), PASSWORD);
        new.username = Some(name.clone());
        new
    };
    with_fixture(|fixture| {
        registered(fixture, with_name("a@example.com", &a), |id| {
            let found =
                block_on(fixture.users.find_by_username(&b)).expect("the memory store answers");
            let again = block_on(
                fixture
                    .manager
                    .register(with_name("b@example.com", &b), &client()),
            );
            if a.key() == b.key() {
                assert_eq!(
                    found.map(|user| user.id),
                    Some(id),
                    "{a:?} and {b:?} share a key"
                );
                assert!(
                    matches!(again, Err(AuthError::UsernameAlreadyExists)),
                    "{b:?} registered beside {a:?}: {again:?}"
                );
            } else {
                assert!(found.is_none(), "{b:?} found as {a:?}");
                match again {
                    Ok(Registration::Created(user)) => {
                        assert!(
                            block_on(fixture.users.delete(user.id))
                                .expect("the memory store answers")
                        );
                    }
                    other => panic!("{b:?} refused beside {a:?}: {other:?}"),
                }
            }
        });
    });
}

fn check_username(raw: &str) -> Option<Username> {
    let parsed = Username::parse(raw);
    let from_json: Result<Username, _> = serde_json::from_str(&json_string(raw));
    assert_eq!(
        parsed.as_ref().ok(),
        from_json.as_ref().ok(),
        "parse and deserialise disagree on {raw:?}"
    );
    let name = parsed.ok()?;
    let text = name.as_str();
    assert!((3..=64).contains(&text.chars().count()), "{text:?}");
    assert!(!text.contains('@'), "{text:?}");
    let again = Username::parse(text).unwrap_or_else(|err| panic!("{text:?} from {raw:?}: {err}"));
    assert_eq!(
        again, name,
        "the canonical form of {raw:?} is not a fixed point"
    );
    assert_eq!(again.key(), name.key());
    let key = name.key();
    if let Ok(keyed) = Username::parse(&key) {
        assert_eq!(keyed.key(), key, "the key of {raw:?} is not a fixed point");
    }
    Some(name)
}
