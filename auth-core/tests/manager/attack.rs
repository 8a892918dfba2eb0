//! An attacker's tests of the second factors and the provider sign-in: a password login that
//! would refill the budget of code guesses, a provider sign-in past a second factor, linking
//! by e-mail past a second factor or into an account registered by someone else first.
#![cfg(all(feature = "mfa", feature = "oauth"))]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use auth_core::conformance::{CountingHasher, TestProfile};
use auth_core::mfa::{MfaKeys, MfaProof};
use auth_core::*;
use time::Duration;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::harness::{PASSWORD, codec};

struct Rig {
    manager: UserManager<TestProfile>,
    client: ClientInfo,
}

fn rig(limits: RateLimits) -> Rig {
    let users = Arc::new(MemoryUserStore::<TestProfile>::new());
    let sessions = Arc::new(MemorySessionStore::new());
    let config = ManagerConfig {
        rate_limits: limits,
        ..ManagerConfig::default()
    };
    let manager = UserManager::builder(users.clone(), sessions, codec())
        .with_hasher(Arc::new(CountingHasher::new()))
        .with_clock(Arc::new(ManualClock::starting_now()))
        .with_mailer(Arc::new(MemoryMailer::new()))
        .with_config(config)
        .with_oauth_accounts(users.clone())
        .with_mfa(
            users,
            MfaKeys::new(b"an mfa key of at least thirty-two bytes!").unwrap(),
        )
        .build();
    Rig {
        manager,
        client: ClientInfo::new(Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9))), Some("t")),
    }
}

fn code_at(secret: &str, unix: i64) -> String {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, bytes, None, String::new())
        .generate(u64::try_from(unix).unwrap())
}

/// A six-digit code that is none of the three the server accepts right now.
fn wrong_code(secret: &str, unix: i64) -> String {
    let right: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|d| code_at(secret, unix + d))
        .collect();
    (0..)
        .map(|n| format!("{n:06}"))
        .find(|c| !right.contains(c))
        .unwrap()
}

async fn register(rig: &Rig, email: &str) -> User<TestProfile> {
    match rig
        .manager
        .register(
            NewUser::new(Email::parse(email).unwrap(), PASSWORD),
            &rig.client,
        )
        .await
        .unwrap()
    {
        Registration::Created(user) => user,
        other => panic!("{other:?}"),
    }
}

/// Registers `email` with a confirmed TOTP factor; the secret in base 32.
async fn with_totp(rig: &Rig, email: &str) -> (User<TestProfile>, String) {
    let user = register(rig, email).await;
    let enrolment = rig
        .manager
        .totp_enroll(user.id, None, Some(&Password::new(PASSWORD)))
        .await
        .unwrap();
    let now = rig.manager.now().unix_timestamp();
    rig.manager
        .totp_confirm(user.id, None, &code_at(&enrolment.secret, now), &rig.client)
        .await
        .unwrap();
    (user, enrolment.secret)
}

async fn mfa_token(rig: &Rig, email: &str) -> String {
    match rig
        .manager
        .login(email, &Password::new(PASSWORD), &rig.client)
        .await
    {
        Err(AuthError::MfaRequired { mfa_token, .. }) => mfa_token,
        other => panic!("expected MfaRequired, got {:?}", other.map(|l| l.user.id)),
    }
}

/// Wrong codes spend the account's login budget; past it, even the right code gets 429. A
/// password login must not refill that budget before it hands out the `mfa_token`, or
/// whoever knows the password would guess (budget - 1) codes, log in again, and guess again,
/// for ever.
#[tokio::test]
async fn a_password_login_never_refills_the_budget_of_code_guesses() {
    let rig = rig(RateLimits {
        login_account: Some(RateLimit::new(5, Duration::minutes(15))),
        ..RateLimits::default()
    });
    let (_, secret) = with_totp(&rig, "victim@example.com").await;
    let mut wrong = 0;
    for _round in 0..5 {
        // A password login that needs a second factor keeps its slot of the budget: the
        // budget bites at the password step too.
        let token = match rig
            .manager
            .login("victim@example.com", &Password::new(PASSWORD), &rig.client)
            .await
        {
            Err(AuthError::MfaRequired { mfa_token, .. }) => mfa_token,
            Err(AuthError::RateLimited { .. }) => return,
            other => panic!("{:?}", other.map(|l| l.user.id)),
        };
        for _ in 0..4 {
            let now = rig.manager.now().unix_timestamp();
            let guess = wrong_code(&secret, now);
            match rig
                .manager
                .mfa_login(&token, MfaProof::Totp(&guess), &rig.client)
                .await
            {
                Err(AuthError::MfaBadCode) => wrong += 1,
                Err(AuthError::RateLimited { .. }) => return, // the contract holds
                other => panic!("{:?}", other.map(|l| l.user.id)),
            }
        }
    }
    // 20 wrong codes against a budget of 5 in one window, and still:
    let token = mfa_token(&rig, "victim@example.com").await;
    let now = rig.manager.now().unix_timestamp();
    let result = rig
        .manager
        .mfa_login(&token, MfaProof::Totp(&code_at(&secret, now)), &rig.client)
        .await;
    assert!(
        matches!(result, Err(AuthError::RateLimited { .. })),
        "after {wrong} wrong codes in one window (budget 5) the right code still opened a session: \
         the budget never bit"
    );
}

/// A user with a confirmed second factor and a linked provider account signs in
/// through the provider with no second step at all.
#[tokio::test]
async fn a_provider_sign_in_asks_for_a_confirmed_second_factor() {
    let rig = rig(RateLimits::default());
    let (user, _) = with_totp(&rig, "victim@example.com").await;
    let identity = OAuthIdentity {
        provider: "google".to_owned(),
        account_id: "g-victim".to_owned(),
        email: Some("victim@example.com".to_owned()),
        email_verified: true,
        access_token: None,
        refresh_token: None,
        expires_at: None,
    };
    rig.manager
        .oauth_associate(user.id, &identity)
        .await
        .unwrap();
    let result = rig.manager.oauth_login(&identity, false, &rig.client).await;
    assert!(
        matches!(result, Err(AuthError::MfaRequired { .. })),
        "a provider sign-in of a user with TOTP opened a session without the second factor"
    );
}

/// Worse with linking by e-mail on: whoever holds a provider account that asserts
/// the victim's address (a taken-over mailbox, which TOTP is meant to survive) links it to
/// the victim and is signed in, past the victim's TOTP.
#[tokio::test]
async fn linking_by_email_never_reaches_past_a_confirmed_second_factor() {
    let rig = rig(RateLimits::default());
    with_totp(&rig, "victim@example.com").await;
    let attacker = OAuthIdentity {
        provider: "trusted".to_owned(),
        account_id: "attacker-sub".to_owned(),
        email: Some("victim@example.com".to_owned()),
        email_verified: true,
        access_token: None,
        refresh_token: None,
        expires_at: None,
    };
    let result = rig.manager.oauth_login(&attacker, true, &rig.client).await;
    assert!(
        matches!(result, Err(AuthError::OAuthUserAlreadyExists)),
        "linking by e-mail must not reach past the victim's second factor: {:?}",
        result.map(|login| login.user.id)
    );
}

/// Pre-account takeover: The attacker registers the victim's address first, with a
/// password of their own (never verified). The victim later signs in with a provider that
/// links by e-mail: the provider account is linked to the attacker's account, which the
/// attacker still opens with their password.
#[tokio::test]
async fn linking_by_email_never_reaches_into_an_unverified_account() {
    let rig = rig(RateLimits::default());
    let squatted = register(&rig, "victim@example.com").await;
    assert!(!squatted.is_verified);
    let victim = OAuthIdentity {
        provider: "trusted".to_owned(),
        account_id: "victim-sub".to_owned(),
        email: Some("victim@example.com".to_owned()),
        email_verified: true,
        access_token: None,
        refresh_token: None,
        expires_at: None,
    };
    let result = rig.manager.oauth_login(&victim, true, &rig.client).await;
    assert!(
        matches!(result, Err(AuthError::OAuthUserAlreadyExists)),
        "a provider account must not be linked into an account whose address was never verified: {:?}",
        result.map(|login| login.user.id)
    );
    let accounts = rig.manager.oauth_accounts(squatted.id).await.unwrap();
    assert!(accounts.is_empty(), "no link was made: {accounts:?}");
}
