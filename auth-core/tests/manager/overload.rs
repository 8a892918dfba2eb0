//! Back-pressure: a bounded number of logins, registrations and resets hash or wait to hash;
//! the rest are refused at once, before any lookup, throttle, hook or hash. Shown by counting
//! hasher calls while the hasher is held, never by timing.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use auth_core::conformance::{HeldHasher, TestProfile};
use auth_core::*;
use time::Duration;

use crate::harness::{Harness, PASSWORD};

struct Rig {
    manager: UserManager<TestProfile>,
    hasher: Arc<HeldHasher>,
    hooks: Arc<crate::harness::RecordingHooks>,
    client: ClientInfo,
}

/// A manager with these places and a budget of three failed logins per account and three
/// registrations per IP.
fn rig(admission: Option<HashAdmission>) -> Rig {
    let mut limits = RateLimits::none();
    limits.login_account = Some(RateLimit::new(3, Duration::minutes(15)));
    limits.register_ip = Some(RateLimit::new(3, Duration::hours(1)));
    rig_with(admission, limits)
}

/// A manager with these places and throttles.
fn rig_with(admission: Option<HashAdmission>, limits: RateLimits) -> Rig {
    let hasher = Arc::new(HeldHasher::new());
    let hooks = Arc::new(crate::harness::RecordingHooks::default());
    let config = ManagerConfig {
        rate_limits: limits,
        hash_admission: admission,
        ..ManagerConfig::default()
    };
    let manager = UserManager::builder(
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemorySessionStore::new()),
        crate::harness::codec(),
    )
    .with_hasher(hasher.clone())
    .with_hooks(hooks.clone())
    .with_config(config)
    .build();
    Rig {
        manager,
        hasher,
        hooks,
        client: ClientInfo::new(Some("198.51.100.9".parse().unwrap()), Some("storm")),
    }
}

fn places(slots: usize, queue: usize) -> Option<HashAdmission> {
    Some(HashAdmission {
        slots,
        queue,
        retry_after: Duration::seconds(2),
    })
}

impl Rig {
    fn spawn_login(
        &self,
        who: &'static str,
        password: &'static str,
    ) -> tokio::task::JoinHandle<Result<Login<TestProfile>, AuthError>> {
        let manager = self.manager.clone();
        let client = self.client.clone();
        tokio::spawn(async move { manager.login(who, &Password::new(password), &client).await })
    }

    async fn login(&self, who: &str, password: &str) -> Result<(), AuthError> {
        self.manager
            .login(who, &Password::new(password), &self.client)
            .await
            .map(|_| ())
    }

    async fn register(&self, email: &str) -> Result<(), AuthError> {
        self.manager
            .register(Harness::new_user(email), &self.client)
            .await
            .map(|_| ())
    }
}

#[track_caller]
fn assert_overloaded(result: Result<(), AuthError>) {
    match result {
        Err(AuthError::Overloaded { retry_after }) => {
            assert_eq!(retry_after, Duration::seconds(2));
        }
        other => panic!("expected Overloaded, got {other:?}"),
    }
}

#[tokio::test]
async fn logins_beyond_the_places_are_refused_before_any_work_and_count_nowhere() {
    let rig = rig(places(1, 1));
    rig.register("alice@example.com").await.unwrap();
    let registered_runs = rig.hasher.runs();
    rig.hasher.hold().await;

    // Two wrong guesses take both places and wait in the hasher.
    let first = rig.spawn_login("alice@example.com", "wrong guess one!");
    let second = rig.spawn_login("alice@example.com", "wrong guess two!");
    rig.hasher.until_entered(2 + 1).await;

    // Everything else is refused at once, the same way for a known and an unknown account
    // and for the right password, and without reaching the hasher.
    for _ in 0..10 {
        assert_overloaded(rig.login("alice@example.com", PASSWORD).await);
        assert_overloaded(rig.login("nobody@example.com", PASSWORD).await);
        assert_overloaded(rig.login("no_such_name", "wrong").await);
    }
    assert_overloaded(rig.register("bob@example.com").await);
    assert_overloaded(
        rig.manager
            .authenticate("alice@example.com", &Password::new(PASSWORD))
            .await
            .map(|_| ()),
    );
    assert_overloaded(
        rig.manager
            .reset_password("not even a token", &Password::new(PASSWORD), &rig.client)
            .await,
    );
    assert_eq!(rig.hasher.entered(), 3, "the refused requests never hashed");
    let hooks = rig.hooks.calls();
    assert!(
        !hooks
            .iter()
            .any(|call| call.starts_with("failed") || call.starts_with("throttled")),
        "a refusal is not a failed login: {hooks:?}"
    );

    rig.hasher.release();
    for login in [first, second] {
        assert!(matches!(
            login.await.unwrap(),
            Err(AuthError::BadCredentials)
        ));
    }
    assert_eq!(rig.hasher.runs() - registered_runs, 2);
    // Thirty refused attempts on the account did not spend its budget of three failures: two
    // wrong guesses did, and the right password still gets in.
    rig.login("alice@example.com", PASSWORD).await.unwrap();
    // Nor did the refused registration spend the address's budget of three (one used).
    rig.register("bob@example.com").await.unwrap();
    rig.register("carol@example.com").await.unwrap();
    assert!(
        rig.manager
            .users()
            .find_by_email(&Email::parse("bob@example.com").unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

/// A self-update's current password is checked like a login's password, and a new password
/// is hashed like a registration's: beyond the places both are refused before hashing,
/// without spending the account's budget.
#[tokio::test]
async fn password_checks_and_new_passwords_of_self_updates_take_places_too() {
    let rig = rig(places(1, 0));
    rig.register("alice@example.com").await.unwrap();
    let alice = rig
        .manager
        .users()
        .find_by_email(&Email::parse("alice@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    rig.hasher.hold().await;
    let waiting = rig.spawn_login("alice@example.com", "a wrong guess");
    rig.hasher.until_entered(2).await;
    let entered = rig.hasher.entered();

    let change_password = UserUpdate {
        password: Some(Password::new("a brand new passphrase")),
        current_password: Some(Password::new(PASSWORD)),
        ..UserUpdate::default()
    };
    for _ in 0..5 {
        assert_overloaded(
            rig.manager
                .update_self(alice.id, None, change_password.clone())
                .await
                .map(|_| ()),
        );
    }
    assert_eq!(
        rig.hasher.entered(),
        entered,
        "the refused updates never hashed"
    );

    rig.hasher.release();
    assert!(matches!(
        waiting.await.unwrap(),
        Err(AuthError::BadCredentials)
    ));
    // The refusals spent nothing: the update goes through now.
    rig.manager
        .update_self(alice.id, None, change_password)
        .await
        .unwrap();
    rig.login("alice@example.com", "a brand new passphrase")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_place_is_freed_when_the_work_ends_or_the_client_hangs_up() {
    let rig = rig(places(1, 0));
    rig.register("alice@example.com").await.unwrap();
    rig.hasher.hold().await;
    let waiting = rig.spawn_login("alice@example.com", PASSWORD);
    rig.hasher.until_entered(2).await;
    assert_overloaded(rig.login("alice@example.com", PASSWORD).await);

    // The client hangs up: its place is free again.
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    let again = rig.spawn_login("alice@example.com", PASSWORD);
    rig.hasher.until_entered(3).await;
    assert_overloaded(rig.login("alice@example.com", PASSWORD).await);

    // It finishes: free again, for as many logins as follow.
    rig.hasher.release();
    again.await.unwrap().unwrap();
    for _ in 0..5 {
        rig.login("alice@example.com", PASSWORD).await.unwrap();
    }
}

#[tokio::test]
async fn admission_counts_places_not_logins_in_sequence_and_none_means_unbounded() {
    // Places bound the logins at once, not in total. (No throttle: parallel logins of one
    // account would otherwise spend its budget before hashing.)
    let bounded = rig_with(places(2, 3), RateLimits::none());
    bounded.register("alice@example.com").await.unwrap();
    for _ in 0..20 {
        bounded.login("alice@example.com", PASSWORD).await.unwrap();
    }
    bounded.hasher.hold().await;
    let entered = bounded.hasher.entered();
    let storm: Vec<_> = (0..12)
        .map(|_| bounded.spawn_login("alice@example.com", PASSWORD))
        .collect();
    bounded.hasher.until_entered(entered + 5).await;
    // The seven others are answered while the five wait.
    tokio::time::timeout(StdDuration::from_secs(5), async {
        while storm.iter().filter(|login| login.is_finished()).count() < 7 {
            tokio::time::sleep(StdDuration::from_millis(2)).await;
        }
    })
    .await
    .expect("the refusals came at once");
    assert_eq!(
        bounded.hasher.entered(),
        entered + 5,
        "slots + queue hashed"
    );
    bounded.hasher.release();
    let mut outcomes = (0, 0);
    for login in storm {
        match login.await.unwrap() {
            Ok(_) => outcomes.0 += 1,
            Err(AuthError::Overloaded { .. }) => outcomes.1 += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(outcomes, (5, 7));

    // Without admission every login waits for the hasher.
    let unbounded = rig_with(None, RateLimits::none());
    unbounded.register("alice@example.com").await.unwrap();
    unbounded.hasher.hold().await;
    let storm: Vec<_> = (0..100)
        .map(|_| unbounded.spawn_login("alice@example.com", PASSWORD))
        .collect();
    unbounded.hasher.until_entered(1 + 100).await;
    unbounded.hasher.release();
    for login in storm {
        login.await.unwrap().unwrap();
    }
}

#[test]
fn the_default_configuration_bounds_hashing() {
    let admission = ManagerConfig::default().hash_admission.unwrap();
    assert!(admission.slots >= 1);
    assert_eq!(admission.queue, 64);
    assert_eq!(admission.retry_after, Duration::seconds(1));
}
