use auth_core::*;

use crate::harness::{Harness, PASSWORD};

#[tokio::test]
async fn registration_creates_an_active_unverified_user_with_default_roles() {
    let h = Harness::new();
    let user = h.register("Alice@Example.COM").await;
    assert_eq!(user.email.as_str(), "Alice@example.com");
    assert!(user.is_active && !user.is_verified && !user.is_superuser);
    assert_eq!(user.roles, Roles::from_iter(["reader"]));
    assert!(user.password_hash.as_str().starts_with("$argon2id$"));
    assert_eq!(h.hooks.calls(), vec!["register"]);
}

#[tokio::test]
async fn registering_a_taken_address_in_other_case_is_user_already_exists() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let err = h
        .manager
        .register(Harness::new_user("ALICE@EXAMPLE.com"), &h.client)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::UserAlreadyExists), "{err:?}");
}

#[tokio::test]
async fn registering_a_taken_username_is_username_already_exists() {
    let h = Harness::new();
    let mut first = Harness::new_user("a@example.com");
    first.username = Some(Username::parse("alice").unwrap());
    h.manager.register(first, &h.client).await.unwrap();
    let mut second = Harness::new_user("b@example.com");
    second.username = Some(Username::parse("ALICE").unwrap());
    let err = h.manager.register(second, &h.client).await.unwrap_err();
    assert!(matches!(err, AuthError::UsernameAlreadyExists), "{err:?}");
}

#[tokio::test]
async fn weak_passwords_are_refused_with_a_reason_and_nothing_is_stored() {
    let h = Harness::new();
    for (password, expected) in [
        ("short", "at least 8"),
        ("password", "common"),
        ("alice-rocks-2024", "e-mail"),
        ("a forbidden phrase", "no forbidden words"),
    ] {
        let mut new = Harness::new_user("alice@example.com");
        new.password = Password::new(password);
        match h.manager.register(new, &h.client).await {
            Err(AuthError::InvalidPassword(rejection)) => {
                assert!(
                    rejection
                        .reason()
                        .to_lowercase()
                        .contains(&expected.to_lowercase()),
                    "{password}: {}",
                    rejection.reason()
                );
            }
            other => panic!("{password}: expected a rejection, got {other:?}"),
        }
    }
    let email = Email::parse("alice@example.com").unwrap();
    assert!(
        h.manager
            .users()
            .find_by_email(&email)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn enumeration_safe_mode_conceals_a_taken_address_and_fires_a_hook() {
    let h = Harness::with(
        |c| ManagerConfig {
            enumeration_safe_registration: true,
            ..c
        },
        false,
    );
    h.register("alice@example.com").await;
    let outcome = h
        .manager
        .register(Harness::new_user("alice@EXAMPLE.com"), &h.client)
        .await
        .unwrap();
    assert!(matches!(outcome, Registration::Concealed));
    assert_eq!(h.hooks.calls(), vec!["register", "duplicate"]);
}

#[tokio::test]
async fn registration_is_throttled_per_ip() {
    let h = Harness::with(
        |c| ManagerConfig {
            rate_limits: RateLimits {
                register_ip: Some(RateLimit::new(2, time::Duration::hours(1))),
                ..RateLimits::default()
            },
            ..c
        },
        false,
    );
    h.register("a@example.com").await;
    h.register("b@example.com").await;
    let err = h
        .manager
        .register(Harness::new_user("c@example.com"), &h.client)
        .await
        .unwrap_err();
    match err {
        AuthError::RateLimited { retry_after } => assert!(retry_after.whole_seconds() >= 1),
        other => panic!("expected throttling, got {other:?}"),
    }
}

#[tokio::test]
async fn create_user_sets_privileged_flags() {
    let h = Harness::new();
    let user = h
        .manager
        .create_user(
            Harness::new_user("root@example.com"),
            CreateOptions {
                superuser: true,
                verified: true,
                roles: Roles::from_iter(["author"]),
            },
        )
        .await
        .unwrap();
    assert!(user.is_superuser && user.is_verified);
    assert!(user.roles.contains("author") && user.roles.contains("reader"));
    let login = h.login("root@example.com").await;
    let claims = h
        .manager
        .authenticate_token(&login.tokens.access_token)
        .await
        .unwrap();
    assert!(claims.is_superuser && claims.has_role("anything"));
    let _ = PASSWORD;
}
