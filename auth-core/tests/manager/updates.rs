use auth_core::conformance::TestProfile;
use auth_core::*;

use crate::harness::{Harness, PASSWORD};

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_revokes_other_sessions() {
    let h = Harness::new();
    let user = h.register("alice@example.com").await;
    let here = h.login("alice@example.com").await;
    let elsewhere = h.login("alice@example.com").await;
    let change = |current: Option<&str>| UserUpdate {
        password: Some(Password::new("a new and better phrase")),
        current_password: current.map(Password::new),
        ..UserUpdate::default()
    };
    for current in [None, Some("not my password")] {
        assert!(matches!(
            h.manager
                .update_self(user.id, Some(here.tokens.session_id), change(current))
                .await,
            Err(AuthError::BadCurrentPassword)
        ));
    }
    h.manager
        .update_self(
            user.id,
            Some(here.tokens.session_id),
            change(Some(PASSWORD)),
        )
        .await
        .unwrap();
    h.manager
        .authenticate_token(&here.tokens.access_token)
        .await
        .unwrap();
    assert!(
        h.manager
            .authenticate_token(&elsewhere.tokens.access_token)
            .await
            .is_err()
    );
    assert!(h.hooks.calls().contains(&"update:password".to_owned()));
}

#[tokio::test]
async fn changing_the_email_unverifies_and_conflicts_are_typed() {
    let h = Harness::new();
    let alice = h.register("alice@example.com").await;
    h.register("bob@example.com").await;
    h.manager
        .update_user(
            alice.id,
            AdminUpdate {
                is_verified: Some(true),
                ..AdminUpdate::default()
            },
        )
        .await
        .unwrap();
    let taken = UserUpdate {
        email: Some(Email::parse("BOB@example.com").unwrap()),
        current_password: Some(Password::new(PASSWORD)),
        ..UserUpdate::default()
    };
    assert!(matches!(
        h.manager.update_self(alice.id, None, taken).await,
        Err(AuthError::UserAlreadyExists)
    ));
    let moved = h
        .manager
        .update_self(
            alice.id,
            None,
            UserUpdate {
                email: Some(Email::parse("alice@example.org").unwrap()),
                current_password: Some(Password::new(PASSWORD)),
                profile: Some(TestProfile {
                    first_name: Some("Alice".into()),
                    second_name: None,
                    age: 30,
                }),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(!moved.is_verified);
    assert_eq!(moved.profile.age, 30);
    assert!(h.hooks.calls().contains(&"update:email,profile".to_owned()));
}

#[tokio::test]
async fn deactivation_role_and_superuser_changes_revoke_every_session() {
    let h = Harness::new();
    let user = h.register("alice@example.com").await;
    for update in [
        AdminUpdate {
            roles: Some(Roles::from_iter(["author"])),
            ..AdminUpdate::default()
        },
        AdminUpdate {
            is_superuser: Some(true),
            ..AdminUpdate::default()
        },
        AdminUpdate {
            user: UserUpdate {
                password: Some(Password::new("an admin chose this")),
                ..UserUpdate::default()
            },
            ..AdminUpdate::default()
        },
        AdminUpdate {
            is_active: Some(false),
            ..AdminUpdate::default()
        },
    ] {
        let login = match h.manager.get_user(user.id).await.unwrap().is_active {
            true => Some(
                h.manager
                    .login(
                        "alice@example.com",
                        &Password::new(if h.hooks.calls().iter().any(|c| c.contains("password")) {
                            "an admin chose this"
                        } else {
                            PASSWORD
                        }),
                        &h.client,
                    )
                    .await
                    .unwrap(),
            ),
            false => None,
        };
        h.manager.update_user(user.id, update).await.unwrap();
        if let Some(login) = login {
            assert!(
                h.manager
                    .authenticate_token(&login.tokens.access_token)
                    .await
                    .is_err()
            );
        }
    }
    let user = h.manager.get_user(user.id).await.unwrap();
    assert!(!user.is_active && user.is_superuser && user.roles.contains("author"));
}

#[tokio::test]
async fn new_roles_show_in_the_next_token() {
    let h = Harness::new();
    let user = h.register("alice@example.com").await;
    h.manager
        .update_user(
            user.id,
            AdminUpdate {
                roles: Some(Roles::from_iter(["author"])),
                ..AdminUpdate::default()
            },
        )
        .await
        .unwrap();
    let login = h.login("alice@example.com").await;
    let claims = h
        .manager
        .authenticate_token(&login.tokens.access_token)
        .await
        .unwrap();
    assert!(claims.has_role("author") && !claims.has_role("reader"));
}

#[tokio::test]
async fn deletion_revokes_sessions_and_a_hook_may_veto_it() {
    let h = Harness::new();
    let user = h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    h.manager.delete_user(user.id).await.unwrap();
    assert!(
        h.manager
            .authenticate_token(&login.tokens.access_token)
            .await
            .is_err()
    );
    assert!(matches!(
        h.manager.get_user(user.id).await,
        Err(AuthError::UserNotFound)
    ));
    assert!(matches!(
        h.manager.delete_user(user.id).await,
        Err(AuthError::UserNotFound)
    ));

    let vetoing = Harness::with(|c| c, true);
    let user = vetoing.register("bob@example.com").await;
    assert!(matches!(
        vetoing.manager.delete_user(user.id).await,
        Err(AuthError::Forbidden)
    ));
    vetoing.manager.get_user(user.id).await.unwrap();
}

#[tokio::test]
async fn an_empty_update_changes_nothing_and_fires_no_hook() {
    let h = Harness::new();
    let user = h.register("alice@example.com").await;
    let same = h
        .manager
        .update_self(user.id, None, UserUpdate::default())
        .await
        .unwrap();
    assert_eq!(same.updated_at, user.updated_at);
    assert_eq!(h.hooks.calls(), vec!["register"]);
}

#[tokio::test]
async fn changing_the_email_needs_the_current_password() {
    let h = Harness::new();
    let alice = h.register("alice@example.com").await;
    for current in [None, Some(Password::new("not the password"))] {
        let update = UserUpdate {
            email: Some(Email::parse("attacker@example.net").unwrap()),
            current_password: current,
            ..UserUpdate::default()
        };
        assert!(matches!(
            h.manager.update_self(alice.id, None, update).await,
            Err(AuthError::BadCurrentPassword)
        ));
    }
    let stored = h.manager.get_user(alice.id).await.unwrap();
    assert_eq!(stored.email.as_str(), "alice@example.com");
    assert!(h.sent().await.is_empty(), "nothing changed, nobody told");
}

#[tokio::test]
async fn an_email_change_tells_the_old_address_ends_other_sessions_and_voids_old_links() {
    let h = Harness::new();
    let alice = h.register("alice@example.com").await;
    let here = h.login("alice@example.com").await;
    let elsewhere = h.login("alice@example.com").await;
    h.manager
        .forgot_password(&Email::parse("alice@example.com").unwrap(), &h.client)
        .await
        .unwrap();
    let old_reset = h.mailed_token("alice@example.com").await;
    let update = UserUpdate {
        email: Some(Email::parse("alice@new.example").unwrap()),
        current_password: Some(Password::new(PASSWORD)),
        ..UserUpdate::default()
    };
    h.manager
        .update_self(alice.id, Some(here.tokens.session_id), update)
        .await
        .unwrap();
    let notice = h
        .sent()
        .await
        .into_iter()
        .find(|mail| matches!(mail.kind, MailKind::EmailChanged { .. }))
        .expect("a notice");
    assert_eq!(
        notice.to.as_str(),
        "alice@example.com",
        "the OLD address is told"
    );
    assert!(notice.text.contains("alice@new.example"));
    let live = h.live_sessions(alice.id).await;
    assert_eq!(live, vec![here.tokens.session_id], "other sessions end");
    assert!(
        h.manager
            .refresh(&elsewhere.tokens.refresh_token, &h.client)
            .await
            .is_err()
    );
    assert!(
        matches!(
            h.manager
                .reset_password(
                    &old_reset,
                    &Password::new("a takeover passphrase"),
                    &h.client
                )
                .await,
            Err(AuthError::BadResetToken)
        ),
        "a reset link mailed before the change is void"
    );
    assert!(h.hooks.calls().contains(&"email_changed".to_owned()));
}

#[tokio::test]
async fn wrong_current_passwords_spend_the_login_budget() {
    let h = Harness::new();
    let alice = h.register("alice@example.com").await;
    let guess = |password: &str| UserUpdate {
        password: Some(Password::new("a new long passphrase")),
        current_password: Some(Password::new(password)),
        ..UserUpdate::default()
    };
    for i in 0..10 {
        assert!(matches!(
            h.manager
                .update_self(alice.id, None, guess(&format!("guess {i}")))
                .await,
            Err(AuthError::BadCurrentPassword)
        ));
    }
    assert!(
        matches!(
            h.manager.update_self(alice.id, None, guess(PASSWORD)).await,
            Err(AuthError::RateLimited { .. })
        ),
        "past the budget even the right current password is throttled"
    );
    assert!(
        matches!(
            h.manager
                .login("alice@example.com", &Password::new(PASSWORD), &h.client)
                .await,
            Err(AuthError::RateLimited { .. })
        ),
        "and the account's logins with it"
    );
}
