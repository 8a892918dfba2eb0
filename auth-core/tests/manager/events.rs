//! The events each step emits, as the audit log keeps them.

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::conformance::TestProfile;
use auth_core::*;
use time::Duration;

use crate::harness::{Harness, PASSWORD, codec};

const NEW_PASSWORD: &str = "another quiet river at dusk";

fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

fn wrong() -> Password {
    Password::new("not the password at all")
}

#[tokio::test]
async fn a_session_life_is_recorded_step_by_step() {
    let h = Harness::new();
    let alice = h.register("alice@example.com").await;
    assert!(
        h.manager
            .login("alice@example.com", &wrong(), &h.client)
            .await
            .is_err()
    );
    let first = h.login("alice@example.com").await;
    h.manager
        .refresh(&first.tokens.refresh_token, &h.client)
        .await
        .unwrap();
    assert!(
        h.manager
            .refresh(&first.tokens.refresh_token, &h.client)
            .await
            .is_err()
    );
    let second = h.login("alice@example.com").await;
    h.manager
        .logout(alice.id, second.tokens.session_id)
        .await
        .unwrap();
    assert_eq!(
        h.trail(alice.id).await,
        [
            "registered/password",
            "login_failed/password:wrong_password",
            "login_succeeded/password",
            "refreshed",
            "refresh_token_reused",
            "login_succeeded/password",
            "logged_out",
        ]
    );
    let events = h.events(alice.id).await;
    assert!(events.iter().all(|event| event.user_id() == alice.id));
    let login = &events[4];
    assert_eq!(login.session_id(), Some(first.tokens.session_id));
    assert_eq!(login.ip(), h.client.ip);
    assert_eq!(login.user_agent(), Some("tests"));
    assert_eq!(events[2].session_id(), Some(first.tokens.session_id));
    assert_eq!(events[0].session_id(), Some(second.tokens.session_id));
    assert!(
        events.windows(2).all(|pair| pair[0].at() >= pair[1].at()),
        "newest first"
    );
}

#[tokio::test]
async fn each_failure_names_its_reason() {
    let h = Harness::with(
        |config| ManagerConfig {
            rate_limits: RateLimits {
                login_account: Some(RateLimit::new(2, Duration::minutes(15))),
                ..RateLimits::none()
            },
            ..config
        },
        false,
    );
    let alice = h.register("alice@example.com").await;
    let bob = h.register("bob@example.com").await;
    h.manager
        .update_user(
            alice.id,
            AdminUpdate {
                is_active: Some(false),
                ..AdminUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(
        h.manager
            .login("alice@example.com", &Password::new(PASSWORD), &h.client)
            .await
            .is_err()
    );
    assert!(
        h.manager
            .login("nobody@example.com", &wrong(), &h.client)
            .await
            .is_err()
    );
    assert!(matches!(
        h.manager
            .login_requiring("bob@example.com", &Password::new(PASSWORD), &h.client, true)
            .await,
        Err(AuthError::UserNotVerified)
    ));
    for _ in 0..2 {
        assert!(
            h.manager
                .login("bob@example.com", &wrong(), &h.client)
                .await
                .is_err()
        );
    }
    assert!(matches!(
        h.manager
            .login("bob@example.com", &wrong(), &h.client)
            .await,
        Err(AuthError::RateLimited { .. })
    ));
    assert_eq!(
        h.trail(alice.id).await,
        [
            "registered/password",
            "deactivated/admin",
            "user_updated/admin:is_active",
            "login_failed/password:inactive",
        ]
    );
    assert_eq!(
        h.trail(bob.id).await,
        [
            "registered/password",
            "login_failed/password:not_verified",
            "login_failed/password:wrong_password",
            "login_failed/password:wrong_password",
        ],
        "a throttled attempt names no account: it is logged and counted, not in the trail"
    );
}

#[tokio::test]
async fn account_changes_name_their_fields_never_their_values() {
    let h = Harness::new();
    let alice = h.register("alice@example.com").await;
    let here = h.login("alice@example.com").await;
    let _elsewhere = h.login("alice@example.com").await;
    h.manager
        .update_self(
            alice.id,
            Some(here.tokens.session_id),
            UserUpdate {
                password: Some(Password::new(NEW_PASSWORD)),
                current_password: Some(Password::new(PASSWORD)),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(
        h.manager
            .update_self(
                alice.id,
                Some(here.tokens.session_id),
                UserUpdate {
                    email: Some(email("alice.new@example.com")),
                    current_password: Some(Password::new(PASSWORD)),
                    ..UserUpdate::default()
                },
            )
            .await
            .is_err(),
        "the old password is no longer the current one"
    );
    h.manager
        .update_self(
            alice.id,
            Some(here.tokens.session_id),
            UserUpdate {
                email: Some(email("alice.new@example.com")),
                current_password: Some(Password::new(NEW_PASSWORD)),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    h.manager.delete_user(alice.id).await.unwrap();
    assert_eq!(
        h.trail(alice.id).await,
        [
            "registered/password",
            "login_succeeded/password",
            "login_succeeded/password",
            "session_revoked:security_change",
            "password_changed",
            "user_updated:password",
            "current_password_wrong",
            "email_changed",
            "user_updated:email",
            "deleted",
        ]
    );
    let shown = format!("{:?}", h.events(alice.id).await);
    for secret in [PASSWORD, NEW_PASSWORD, "alice.new@example.com"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[tokio::test]
async fn recovery_and_verification_are_recorded() {
    let h = Harness::new();
    let alice = h.register("alice@example.com").await;
    h.manager
        .request_verify(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    let verify = h.mailed_token("alice@example.com").await;
    h.manager.verify(&verify, &h.client).await.unwrap();
    h.manager
        .forgot_password(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    h.manager
        .forgot_password(&email("nobody@example.com"), &h.client)
        .await
        .unwrap();
    let reset = h.mailed_token("alice@example.com").await;
    h.manager
        .reset_password(&reset, &Password::new(NEW_PASSWORD), &h.client)
        .await
        .unwrap();
    assert_eq!(
        h.trail(alice.id).await,
        [
            "registered/password",
            "verification_requested",
            "verified",
            "password_reset_requested",
            "password_reset",
        ]
    );
    let shown = format!("{:?}", h.events(alice.id).await);
    for secret in [verify.as_str(), reset.as_str(), NEW_PASSWORD, "#token="] {
        assert!(!shown.contains(secret), "a token or password in {shown}");
    }
}

#[tokio::test]
async fn revocations_say_why() {
    let h = Harness::with(
        |config| ManagerConfig {
            max_sessions_per_user: Some(1),
            ..config
        },
        false,
    );
    let alice = h.register("alice@example.com").await;
    let first = h.login("alice@example.com").await;
    let second = h.login("alice@example.com").await;
    h.manager
        .revoke_session(alice.id, second.tokens.session_id)
        .await
        .unwrap();
    h.login("alice@example.com").await;
    h.manager.logout_everywhere(alice.id).await.unwrap();
    assert_eq!(
        h.trail(alice.id).await,
        [
            "registered/password",
            "login_succeeded/password",
            "session_revoked:evicted",
            "login_succeeded/password",
            "session_revoked:by_user",
            "login_succeeded/password",
            "logged_out_everywhere",
        ]
    );
    let events = h.events(alice.id).await;
    assert_eq!(events[4].session_id(), Some(first.tokens.session_id));
    assert_eq!(events[2].session_id(), Some(second.tokens.session_id));
}

#[tokio::test]
async fn a_concealed_duplicate_registration_is_told_to_the_owner() {
    let h = Harness::with(
        |config| ManagerConfig {
            enumeration_safe_registration: true,
            ..config
        },
        false,
    );
    let alice = h.register("alice@example.com").await;
    let again = h
        .manager
        .register(Harness::new_user("alice@example.com"), &h.client)
        .await
        .unwrap();
    assert!(matches!(again, Registration::Concealed));
    assert_eq!(
        h.trail(alice.id).await,
        ["registered/password", "registration_concealed"]
    );
}

#[tokio::test]
async fn no_secret_reaches_any_field() {
    let h = Harness::new();
    let alice = h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    let pair = h
        .manager
        .refresh(&login.tokens.refresh_token, &h.client)
        .await
        .unwrap();
    let _ = h
        .manager
        .refresh(&login.tokens.refresh_token, &h.client)
        .await;
    let _ = h
        .manager
        .login("alice@example.com", &wrong(), &h.client)
        .await;
    let events = h.events(alice.id).await;
    assert_eq!(events.len(), 5);
    let secrets = [
        PASSWORD,
        "not the password at all",
        login.tokens.access_token.as_str(),
        login.tokens.refresh_token.as_str(),
        pair.access_token.as_str(),
        pair.refresh_token.as_str(),
    ];
    for event in &events {
        let fields = [
            Some(event.kind()),
            event.method(),
            event.detail(),
            event.user_agent(),
        ];
        for field in fields.into_iter().flatten() {
            for secret in secrets {
                assert!(!field.contains(secret), "a secret in {event:?}");
            }
        }
        let shown = format!("{event:?}");
        for secret in secrets {
            assert!(!shown.contains(secret), "a secret in {shown}");
        }
    }
}

#[tokio::test]
async fn another_users_events_are_never_in_a_trail() {
    let h = Harness::new();
    let alice = h.register("alice@example.com").await;
    let bob = h.register("bob@example.com").await;
    let alices = h.login("alice@example.com").await;
    let _ = h
        .manager
        .login("bob@example.com", &wrong(), &h.client)
        .await;
    h.manager
        .logout(alice.id, alices.tokens.session_id)
        .await
        .unwrap();
    assert_eq!(
        h.trail(bob.id).await,
        [
            "registered/password",
            "login_failed/password:wrong_password"
        ]
    );
    assert_eq!(
        h.trail(alice.id).await,
        [
            "registered/password",
            "login_succeeded/password",
            "logged_out"
        ]
    );
    assert!(
        h.events(bob.id)
            .await
            .iter()
            .all(|event| event.user_id() == bob.id)
    );
}

#[tokio::test]
async fn events_older_than_the_retention_are_pruned() {
    let h = Harness::with(
        |config| ManagerConfig {
            audit_retention: Duration::days(1),
            ..config
        },
        false,
    );
    let alice = h.register("alice@example.com").await;
    h.clock.advance(Duration::days(2));
    h.login("alice@example.com").await;
    h.manager.flush_audit().await;
    assert_eq!(h.manager.prune_audit_log().await.unwrap(), 1);
    assert_eq!(h.trail(alice.id).await, ["login_succeeded/password"]);
    assert_eq!(
        h.audit
            .prune(time::OffsetDateTime::UNIX_EPOCH)
            .await
            .unwrap(),
        0
    );
}

/// A log whose every write fails.
#[derive(Debug)]
struct BrokenLog;

#[async_trait]
impl AuditLog for BrokenLog {
    async fn record(&self, _event: &AuditEvent) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("the audit database is down".into()))
    }
    async fn list(&self, _user: UserId, _q: &AuditQuery) -> Result<Page<AuditEvent>, StoreError> {
        Err(StoreError::Unavailable("the audit database is down".into()))
    }
    async fn prune(&self, _older_than: time::OffsetDateTime) -> Result<u64, StoreError> {
        Err(StoreError::Unavailable("the audit database is down".into()))
    }
}

#[tokio::test]
async fn a_failing_audit_log_never_fails_a_request() {
    let manager = UserManager::<TestProfile>::builder(
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemorySessionStore::new()),
        codec(),
    )
    .with_hasher(Arc::new(conformance::CountingHasher::new()))
    .with_audit_log(Arc::new(BrokenLog))
    .build();
    let client = ClientInfo::default();
    manager
        .register(Harness::new_user("alice@example.com"), &client)
        .await
        .unwrap();
    let login = manager
        .login("alice@example.com", &Password::new(PASSWORD), &client)
        .await
        .unwrap();
    manager
        .refresh(&login.tokens.refresh_token, &client)
        .await
        .unwrap();
    manager.flush_audit().await;
    assert!(
        manager
            .user_events(login.user.id, &AuditQuery::default())
            .await
            .is_err()
    );
}

/// The counters of feature `metrics`, read through a recorder of the test's own.
#[cfg(feature = "metrics")]
mod counters {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use metrics::{
        Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    use crate::harness::Harness;

    type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

    #[derive(Default)]
    struct Counting(Counts);

    struct One(String, Counts);

    impl CounterFn for One {
        fn increment(&self, value: u64) {
            *self.1.lock().unwrap().entry(self.0.clone()).or_default() += value;
        }
        fn absolute(&self, value: u64) {
            self.1.lock().unwrap().insert(self.0.clone(), value);
        }
    }

    impl Recorder for Counting {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            let mut labels: Vec<String> = key
                .labels()
                .map(|label| format!("{}={}", label.key(), label.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            Counter::from_arc(Arc::new(One(name, Arc::clone(&self.0))))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    #[test]
    fn the_manager_counts_logins_refreshes_revocations_and_registrations() {
        let recorder = Counting::default();
        let counts = Arc::clone(&recorder.0);
        let _guard = metrics::set_default_local_recorder(&recorder);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let h = Harness::new();
            let alice = h.register("alice@example.com").await;
            let _ = h
                .manager
                .login("alice@example.com", &super::wrong(), &h.client)
                .await;
            let _ = h
                .manager
                .login("nobody@example.com", &super::wrong(), &h.client)
                .await;
            let login = h.login("alice@example.com").await;
            h.manager
                .refresh(&login.tokens.refresh_token, &h.client)
                .await
                .unwrap();
            let _ = h
                .manager
                .refresh(&login.tokens.refresh_token, &h.client)
                .await;
            let _ = h.manager.refresh("not a token", &h.client).await;
            let again = h.login("alice@example.com").await;
            h.manager
                .logout(alice.id, again.tokens.session_id)
                .await
                .unwrap();
        });
        let counts = counts.lock().unwrap().clone();
        let expected: BTreeMap<String, u64> = [
            ("auth_registrations_total{method=password}", 1),
            (
                "auth_logins_total{method=password,outcome=failure,reason=wrong_password}",
                1,
            ),
            (
                "auth_logins_total{method=password,outcome=failure,reason=unknown_user}",
                1,
            ),
            (
                "auth_logins_total{method=password,outcome=success,reason=}",
                2,
            ),
            ("auth_refreshes_total{outcome=success}", 1),
            ("auth_refreshes_total{outcome=failure}", 2),
            ("auth_refresh_reuse_total{}", 1),
            ("auth_revocations_total{reason=reuse}", 1),
            ("auth_revocations_total{reason=logout}", 1),
        ]
        .into_iter()
        .map(|(name, count)| (name.to_owned(), count))
        .collect();
        assert_eq!(counts, expected);
    }
}
