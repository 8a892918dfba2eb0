use auth_core::*;
use time::Duration;

use crate::harness::{Harness, PASSWORD};

fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

#[tokio::test]
async fn verification_works_once() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    h.manager
        .request_verify(&email("ALICE@example.com"), &h.client)
        .await
        .unwrap();
    let token = h.mailed_token("alice@example.com").await;
    let user = h.manager.verify(&token, &h.client).await.unwrap();
    assert!(user.is_verified);
    assert!(matches!(
        h.manager.verify(&token, &h.client).await,
        Err(AuthError::AlreadyVerified)
    ));
    assert!(
        h.hooks
            .calls()
            .ends_with(&["request_verify".to_owned(), "verify".to_owned()])
    );
}

#[tokio::test]
async fn request_verify_answers_the_same_for_unknown_verified_and_inactive_users() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let token = {
        h.manager
            .request_verify(&email("alice@example.com"), &h.client)
            .await
            .unwrap();
        h.mailed_token("alice@example.com").await
    };
    h.manager.verify(&token, &h.client).await.unwrap();
    let sent = h.sent().await.len();
    h.manager
        .request_verify(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    h.manager
        .request_verify(&email("nobody@example.com"), &h.client)
        .await
        .unwrap();
    assert_eq!(
        h.sent().await.len(),
        sent,
        "no mail for verified or unknown users"
    );
}

#[tokio::test]
async fn a_verify_token_is_bound_to_the_address() {
    let h = Harness::new();
    let user = h.register("alice@example.com").await;
    h.manager
        .request_verify(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    let token = h.mailed_token("alice@example.com").await;
    let update = UserUpdate {
        email: Some(email("alice2@example.com")),
        current_password: Some(Password::new(PASSWORD)),
        ..UserUpdate::default()
    };
    h.manager.update_self(user.id, None, update).await.unwrap();
    assert!(matches!(
        h.manager.verify(&token, &h.client).await,
        Err(AuthError::BadVerifyToken)
    ));
}

#[tokio::test]
async fn verify_and_reset_tokens_are_not_interchangeable() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    h.manager
        .request_verify(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    let verify = h.mailed_token("alice@example.com").await;
    h.manager
        .forgot_password(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    let reset = h.mailed_token("alice@example.com").await;
    assert!(matches!(
        h.manager
            .reset_password(
                &verify,
                &Password::new("another fine passphrase"),
                &h.client
            )
            .await,
        Err(AuthError::BadResetToken)
    ));
    assert!(matches!(
        h.manager.verify(&reset, &h.client).await,
        Err(AuthError::BadVerifyToken)
    ));
    let login = h.login("alice@example.com").await;
    assert!(matches!(
        h.manager
            .verify(&login.tokens.access_token, &h.client)
            .await,
        Err(AuthError::BadVerifyToken)
    ));
    assert!(matches!(
        h.manager
            .reset_password(
                &login.tokens.access_token,
                &Password::new("another fine passphrase"),
                &h.client
            )
            .await,
        Err(AuthError::BadResetToken)
    ));
}

#[tokio::test]
async fn a_reset_token_works_once_revokes_sessions_and_logs_nobody_in() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    h.manager
        .forgot_password(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    let token = h.mailed_token("alice@example.com").await;
    let new_password = Password::new("another fine passphrase");
    h.manager
        .reset_password(&token, &new_password, &h.client)
        .await
        .unwrap();
    assert!(
        h.manager
            .authenticate_token(&login.tokens.access_token)
            .await
            .is_err()
    );
    assert!(
        h.manager
            .refresh(&login.tokens.refresh_token, &h.client)
            .await
            .is_err()
    );
    assert!(
        h.manager
            .list_sessions(login.user.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        h.manager
            .reset_password(&token, &Password::new("yet another passphrase"), &h.client)
            .await,
        Err(AuthError::BadResetToken)
    ));
    h.manager
        .login("alice@example.com", &new_password, &h.client)
        .await
        .unwrap();
    assert!(
        h.manager
            .login("alice@example.com", &Password::new(PASSWORD), &h.client)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_reset_token_expires_after_an_hour() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    h.manager
        .forgot_password(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    let token = h.mailed_token("alice@example.com").await;
    h.clock.advance(Duration::hours(1) + Duration::seconds(1));
    assert!(matches!(
        h.manager
            .reset_password(&token, &Password::new("another fine passphrase"), &h.client)
            .await,
        Err(AuthError::BadResetToken)
    ));
}

#[tokio::test]
async fn a_reset_for_a_user_deactivated_after_asking_is_a_bad_token() {
    let h = Harness::new();
    let user = h.register("alice@example.com").await;
    h.manager
        .forgot_password(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    let token = h.mailed_token("alice@example.com").await;
    h.manager
        .update_user(
            user.id,
            AdminUpdate {
                is_active: Some(false),
                ..AdminUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        h.manager
            .reset_password(&token, &Password::new("another fine passphrase"), &h.client)
            .await,
        Err(AuthError::BadResetToken)
    ));
}

#[tokio::test]
async fn a_weak_new_password_is_refused_at_reset_and_the_token_survives() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    h.manager
        .forgot_password(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    let token = h.mailed_token("alice@example.com").await;
    assert!(matches!(
        h.manager
            .reset_password(&token, &Password::new("short"), &h.client)
            .await,
        Err(AuthError::InvalidPassword(_))
    ));
    h.manager
        .reset_password(&token, &Password::new("another fine passphrase"), &h.client)
        .await
        .unwrap();
}

#[tokio::test]
async fn forgot_password_answers_the_same_and_stops_mailing_over_the_limit() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    h.manager
        .forgot_password(&email("nobody@example.com"), &h.client)
        .await
        .unwrap();
    assert!(h.sent().await.is_empty());
    for _ in 0..5 {
        h.manager
            .forgot_password(&email("alice@example.com"), &h.client)
            .await
            .unwrap();
    }
    assert_eq!(h.sent().await.len(), 3, "3 mails per hour per account");
    assert!(
        h.mailer
            .sent()
            .iter()
            .all(|m| m.to.as_str() == "alice@example.com")
    );
}

#[tokio::test]
async fn token_submissions_are_throttled_per_ip() {
    let h = Harness::new();
    for _ in 0..30 {
        assert!(matches!(
            h.manager.verify("garbage", &h.client).await,
            Err(AuthError::BadVerifyToken)
        ));
    }
    assert!(matches!(
        h.manager.verify("garbage", &h.client).await,
        Err(AuthError::RateLimited { .. })
    ));
}

#[tokio::test]
async fn mails_never_reveal_their_link_in_debug_output() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    h.manager
        .forgot_password(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    let token = h.mailed_token("alice@example.com").await;
    let debug = format!("{:?}", h.sent().await);
    assert!(!debug.contains(&token));
}

#[tokio::test]
async fn the_mails_state_the_configured_lifetimes_which_the_tokens_keep() {
    let h = Harness::with(
        |config| ManagerConfig {
            verify_token_lifetime: Duration::hours(2),
            reset_token_lifetime: Duration::minutes(30),
            app_name: "Example <Shop>".into(),
            ..config
        },
        false,
    );
    h.register("alice@example.com").await;
    h.manager
        .request_verify(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    h.manager
        .forgot_password(&email("alice@example.com"), &h.client)
        .await
        .unwrap();
    let sent = h.sent().await;
    let [verify, reset] = sent.as_slice() else {
        panic!("two mails: {sent:?}")
    };
    for (mail, words) in [(verify, "2 hours"), (reset, "30 minutes")] {
        let (MailKind::Verify { link } | MailKind::ResetPassword { link }) = &mail.kind else {
            panic!("a mail with a link: {mail:?}")
        };
        assert!(mail.text.contains(link.as_str()), "{}", mail.text);
        assert!(
            mail.html.contains(&format!("href=\"{link}\"")),
            "{}",
            mail.html
        );
        let expires = format!("expires in {words}.");
        assert!(mail.text.contains(&expires), "{}", mail.text);
        assert!(mail.html.contains(&expires), "{}", mail.html);
        assert!(mail.text.contains("Example <Shop>"), "{}", mail.text);
        assert!(mail.html.contains("Example &lt;Shop&gt;"), "{}", mail.html);
    }
    // The reset link dies when its mail says it does.
    let token = h.mailed_token("alice@example.com").await;
    h.clock
        .advance(Duration::minutes(30) + Duration::seconds(1));
    assert!(matches!(
        h.manager
            .reset_password(&token, &Password::new("another fine passphrase"), &h.client)
            .await,
        Err(AuthError::BadResetToken)
    ));
}
