use std::sync::Arc;

use async_trait::async_trait;
use auth_core::*;

use crate::harness::{Harness, PASSWORD};

#[tokio::test]
async fn the_hasher_runs_exactly_once_for_unknown_wrong_and_inactive() {
    let h = Harness::new();
    let user = h.register("alice@example.com").await;
    let mut inactive = h.register("bob@example.com").await;
    inactive.is_active = false;
    h.manager.users().update(&inactive).await.unwrap();

    for (who, password) in [
        ("nobody@example.com", PASSWORD),
        ("alice@example.com", "wrong password!"),
        ("bob@example.com", PASSWORD),
        ("no_such_name", PASSWORD),
    ] {
        let before = h.hasher.runs();
        let err = h
            .manager
            .login(who, &Password::new(password), &h.client)
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::BadCredentials), "{who}: {err:?}");
        assert_eq!(h.hasher.runs() - before, 1, "{who}: hasher runs");
    }
    let before = h.hasher.runs();
    h.login("alice@example.com").await;
    assert_eq!(h.hasher.runs() - before, 1);
    assert_eq!(
        h.hooks.calls()[2..],
        [
            "failed:UnknownUser",
            "failed:WrongPassword",
            "failed:Inactive",
            "failed:UnknownUser",
            "login"
        ]
    );
    let _ = user;
}

#[tokio::test]
async fn login_accepts_the_username_and_any_case_of_the_email() {
    let h = Harness::new();
    let mut new = Harness::new_user("alice@example.com");
    new.username = Some(Username::parse("Alice_W").unwrap());
    h.manager.register(new, &h.client).await.unwrap();
    h.login("ALICE@Example.com").await;
    h.login("alice_w").await;
}

#[tokio::test]
async fn an_overlong_password_is_refused_without_hashing() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let before = h.hasher.runs();
    let err = h
        .manager
        .login(
            "alice@example.com",
            &Password::new("x".repeat(1025)),
            &h.client,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::BadCredentials));
    assert_eq!(h.hasher.runs(), before);
}

#[tokio::test]
async fn an_unverified_user_is_refused_when_verification_is_required() {
    let h = Harness::with(
        |c| ManagerConfig {
            require_verification: true,
            ..c
        },
        false,
    );
    h.register("alice@example.com").await;
    let err = h
        .manager
        .login("alice@example.com", &Password::new(PASSWORD), &h.client)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::UserNotVerified), "{err:?}");
    let wrong = h
        .manager
        .login(
            "alice@example.com",
            &Password::new("not the password"),
            &h.client,
        )
        .await
        .unwrap_err();
    assert!(matches!(wrong, AuthError::BadCredentials));
}

#[tokio::test]
async fn a_throttled_account_is_refused_even_with_the_right_password_until_reset() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    for _ in 0..10 {
        let err = h
            .manager
            .login(
                "ALICE@example.com",
                &Password::new("wrong password!"),
                &h.client,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::BadCredentials));
    }
    let runs = h.hasher.runs();
    let err = h
        .manager
        .login("alice@example.com", &Password::new(PASSWORD), &h.client)
        .await
        .unwrap_err();
    match err {
        AuthError::RateLimited { retry_after } => {
            assert!(retry_after <= time::Duration::minutes(15));
        }
        other => panic!("expected throttling, got {other:?}"),
    }
    assert_eq!(h.hasher.runs(), runs, "no hashing while throttled");

    // Forgot / reset still work for a throttled account, and the reset lifts the throttle.
    let email = Email::parse("alice@example.com").unwrap();
    h.manager.forgot_password(&email, &h.client).await.unwrap();
    let token = h.mailed_token("alice@example.com").await;
    h.manager
        .reset_password(&token, &Password::new("a brand new passphrase"), &h.client)
        .await
        .unwrap();
    h.manager
        .login(
            "alice@example.com",
            &Password::new("a brand new passphrase"),
            &h.client,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn failures_by_username_and_by_email_share_one_account_budget() {
    let h = Harness::new();
    let mut new = Harness::new_user("alice@example.com");
    new.username = Some(Username::parse("alice").unwrap());
    h.manager.register(new, &h.client).await.unwrap();
    for n in 0..10 {
        let name = if n % 2 == 0 {
            "alice"
        } else {
            "alice@example.com"
        };
        let err = h
            .manager
            .login(name, &Password::new("wrong password!"), &h.client)
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::BadCredentials));
    }
    for name in ["alice", "ALICE@example.com"] {
        let err = h
            .manager
            .login(name, &Password::new(PASSWORD), &h.client)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::RateLimited { .. }),
            "{name}: {err:?}"
        );
    }
}

#[tokio::test]
async fn the_throttle_window_ends_and_success_clears_failures() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    for _ in 0..9 {
        let _ = h
            .manager
            .login(
                "alice@example.com",
                &Password::new("wrong password!"),
                &h.client,
            )
            .await;
    }
    h.login("alice@example.com").await;
    for _ in 0..9 {
        let _ = h
            .manager
            .login(
                "alice@example.com",
                &Password::new("wrong password!"),
                &h.client,
            )
            .await;
    }
    h.login("alice@example.com").await;
    for _ in 0..10 {
        let _ = h
            .manager
            .login(
                "alice@example.com",
                &Password::new("wrong password!"),
                &h.client,
            )
            .await;
    }
    assert!(matches!(
        h.manager
            .login("alice@example.com", &Password::new(PASSWORD), &h.client)
            .await,
        Err(AuthError::RateLimited { .. })
    ));
    h.clock.advance(time::Duration::minutes(15));
    h.login("alice@example.com").await;
}

#[tokio::test]
async fn login_failures_are_throttled_per_ip_across_accounts() {
    let h = Harness::with(
        |c| ManagerConfig {
            rate_limits: RateLimits {
                login_ip: Some(RateLimit::new(3, time::Duration::minutes(15))),
                ..RateLimits::default()
            },
            ..c
        },
        false,
    );
    h.register("alice@example.com").await;
    for who in ["a@example.com", "b@example.com", "c@example.com"] {
        let _ = h
            .manager
            .login(who, &Password::new(PASSWORD), &h.client)
            .await;
    }
    assert!(matches!(
        h.manager
            .login("alice@example.com", &Password::new(PASSWORD), &h.client)
            .await,
        Err(AuthError::RateLimited { .. })
    ));
    let elsewhere = ClientInfo::new(Some("198.51.100.1".parse().unwrap()), None);
    h.manager
        .login("alice@example.com", &Password::new(PASSWORD), &elsewhere)
        .await
        .unwrap();
}

#[tokio::test]
async fn one_ipv6_subscriber_cannot_rotate_addresses_past_the_ip_budget() {
    let h = Harness::with(
        |mut config| {
            config.rate_limits.login_account = None;
            config.rate_limits.login_ip = Some(RateLimit::new(5, time::Duration::minutes(15)));
            config
        },
        false,
    );
    let mut throttled = 0;
    for i in 1..=10u16 {
        let client = ClientInfo::new(
            Some(std::net::IpAddr::V6(std::net::Ipv6Addr::new(
                0x2001, 0xdb8, 7, 7, i, i, i, i,
            ))),
            None,
        );
        if let Err(AuthError::RateLimited { .. }) = h
            .manager
            .login(
                "nobody@example.com",
                &Password::new("a wrong guess"),
                &client,
            )
            .await
        {
            throttled += 1;
        }
    }
    assert_eq!(
        throttled, 5,
        "ten addresses of one /64 share one budget of five"
    );
}

/// A hasher whose verifications wait at a gate until the test opens it, and say when one
/// has arrived there.
#[derive(Debug, Default)]
struct GatedHasher {
    inner: Argon2Hasher,
    arrived: tokio::sync::Notify,
    open: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl PasswordHasher for GatedHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        self.inner.hash(password).await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError> {
        self.arrived.notify_one();
        while !self.open.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        self.inner.verify(password, hash).await
    }

    async fn dummy_verify(&self, password: &Password) -> Result<(), HashError> {
        self.inner.dummy_verify(password).await
    }
}

/// A client that hangs up while its login waits for the hasher learns nothing, so the
/// attempt gives its slots back: cancelled requests cannot use up a budget (the account's,
/// or the IP's) that only answers decide.
#[tokio::test]
async fn a_login_cancelled_before_its_check_gives_its_slots_back() {
    let hasher = Arc::new(GatedHasher {
        inner: Argon2Hasher::fast_insecure(),
        ..GatedHasher::default()
    });
    let mut config = ManagerConfig::default();
    config.rate_limits.login_account = Some(RateLimit::new(1, time::Duration::minutes(15)));
    config.rate_limits.login_ip = Some(RateLimit::new(1, time::Duration::minutes(15)));
    let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"a test secret of at least 32 bytes!!").unwrap();
    let manager = UserManager::<NoProfile>::builder(
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemorySessionStore::new()),
        JwtCodec::new(keys, "https://test.invalid"),
    )
    .with_hasher(hasher.clone())
    .with_config(config)
    .build();
    let client = ClientInfo::new(Some("203.0.113.9".parse().unwrap()), None);
    manager
        .register(
            NewUser::new(Email::parse("alice@example.com").unwrap(), PASSWORD),
            &client,
        )
        .await
        .unwrap();

    let cancelled = {
        let (manager, client) = (manager.clone(), client.clone());
        tokio::spawn(async move {
            let _ = manager
                .login("alice@example.com", &Password::new(PASSWORD), &client)
                .await;
        })
    };
    hasher.arrived.notified().await;
    cancelled.abort();
    let _ = cancelled.await;
    // The refund runs on a task of its own.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    hasher.open.store(true, std::sync::atomic::Ordering::SeqCst);
    manager
        .login("alice@example.com", &Password::new(PASSWORD), &client)
        .await
        .expect("the cancelled attempt kept no slot");
}
