//! Sign-in through provider accounts: the branches of `oauth_login` (log in, link by e-mail,
//! create), `oauth_associate`, `oauth_accounts` and `oauth_unlink`, as a user and as an
//! attacker would drive them, and their races.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use auth_core::conformance::{CountingHasher, TestProfile};
use auth_core::*;
use futures::future::join_all;
use time::Duration;
use tokio::sync::Notify;

use crate::harness::{Gate, Harness, PASSWORD, RecordingHooks, codec};

fn sealed(text: &str) -> SealedToken {
    SealedToken::from_bytes(text.as_bytes().to_vec())
}

/// What a provider's callback hands the manager once the protocol checks passed.
fn identity(
    provider: &str,
    account_id: &str,
    email: Option<&str>,
    verified: bool,
) -> OAuthIdentity {
    OAuthIdentity {
        provider: provider.to_owned(),
        account_id: account_id.to_owned(),
        email: email.map(str::to_owned),
        email_verified: verified,
        access_token: Some(sealed("secret access token one")),
        refresh_token: Some(sealed("secret refresh token one")),
        expires_at: None,
    }
}

fn alice_at_google() -> OAuthIdentity {
    identity("google", "g-alice", Some("alice@example.com"), true)
}

/// How many times a hook fired.
fn fired(h: &Harness, call: &str) -> usize {
    h.hooks.calls().iter().filter(|c| *c == call).count()
}

/// Every user in the store.
async fn all_users(manager: &UserManager<TestProfile>) -> Vec<User<TestProfile>> {
    manager
        .list_users(&UserQuery::default())
        .await
        .unwrap()
        .items
}

async fn password_login(h: &Harness, email: &str, password: &str) -> Result<(), AuthError> {
    h.manager
        .login(email, &Password::new(password), &h.client)
        .await
        .map(drop)
}

#[tokio::test]
async fn a_new_provider_account_creates_a_user_without_a_usable_password() {
    let h = Harness::with_oauth(|config| config);
    let login = h
        .manager
        .oauth_login(&alice_at_google(), false, &h.client)
        .await
        .unwrap();
    let alice = login.user.clone();
    assert_eq!(alice.email.as_str(), "alice@example.com");
    assert!(alice.is_verified, "verified as the provider said");
    assert!(alice.is_active && !alice.is_superuser);
    assert_eq!(alice.roles, Roles::from_iter(["reader"]));
    let stored = h.manager.get_user(alice.id).await.unwrap();
    assert!(!stored.password_hash.is_usable());
    // Register, link and login, each exactly once, in that order.
    assert_eq!(h.hooks.calls(), ["register", "oauth_link:google", "login"]);
    assert_eq!(h.hasher.runs(), 0, "no password was hashed");

    // The session is real.
    assert_eq!(
        h.live_sessions(alice.id).await,
        [login.tokens.session_id],
        "one session"
    );
    let claims = h
        .manager
        .authenticate_token(&login.tokens.access_token)
        .await
        .unwrap();
    assert_eq!(claims.sub, alice.id);

    // The link, with the tokens as sealed.
    let accounts = h.manager.oauth_accounts(alice.id).await.unwrap();
    assert_eq!(accounts.len(), 1);
    let account = &accounts[0];
    assert_eq!(account.user_id, alice.id);
    assert_eq!(
        (account.provider.as_str(), account.account_id.as_str()),
        ("google", "g-alice")
    );
    assert_eq!(account.account_email.as_deref(), Some("alice@example.com"));
    assert_eq!(
        account.access_token,
        Some(sealed("secret access token one"))
    );
    assert_eq!(
        account.refresh_token,
        Some(sealed("secret refresh token one"))
    );

    // No password opens the account: not the empty one, not the unusable hash's marker.
    for guess in ["", "!", PASSWORD, "secret access token one"] {
        assert!(
            matches!(
                password_login(&h, "alice@example.com", guess).await,
                Err(AuthError::BadCredentials)
            ),
            "{guess:?}"
        );
    }
    assert_eq!(h.live_sessions(alice.id).await.len(), 1);
}

#[tokio::test]
async fn an_unverified_provider_address_makes_an_unverified_user() {
    let h = Harness::with_oauth(|config| config);
    let login = h
        .manager
        .oauth_login(
            &identity("corp", "c-1", Some("bob@example.com"), false),
            false,
            &h.client,
        )
        .await
        .unwrap();
    assert!(!login.user.is_verified);
    assert!(!h.manager.get_user(login.user.id).await.unwrap().is_verified);
}

#[tokio::test]
async fn signing_in_again_logs_in_the_same_user_and_replaces_the_tokens() {
    let h = Harness::with_oauth(|config| config);
    let first = h
        .manager
        .oauth_login(&alice_at_google(), false, &h.client)
        .await
        .unwrap();
    let linked_at = h.manager.oauth_accounts(first.user.id).await.unwrap()[0].created_at;
    h.clock.advance(Duration::hours(1));
    let before = h.hooks.calls().len();

    let expires_at = h.manager.now() + Duration::hours(2);
    let again = OAuthIdentity {
        access_token: Some(sealed("secret access token two")),
        refresh_token: Some(sealed("secret refresh token two")),
        expires_at: Some(expires_at),
        ..alice_at_google()
    };
    let second = h
        .manager
        .oauth_login(&again, false, &h.client)
        .await
        .unwrap();
    assert_eq!(second.user.id, first.user.id);
    assert_ne!(second.tokens.session_id, first.tokens.session_id);
    assert_eq!(h.hooks.calls()[before..], ["login"], "on_after_login only");
    assert_eq!(all_users(&h.manager).await.len(), 1);
    assert_eq!(h.live_sessions(first.user.id).await.len(), 2);

    let accounts = h.manager.oauth_accounts(first.user.id).await.unwrap();
    assert_eq!(accounts.len(), 1);
    let account = &accounts[0];
    assert_eq!(
        account.access_token,
        Some(sealed("secret access token two"))
    );
    assert_eq!(
        account.refresh_token,
        Some(sealed("secret refresh token two"))
    );
    assert_eq!(account.expires_at, Some(expires_at));
    assert_eq!(account.created_at, linked_at, "still the same link");
    assert_eq!(account.updated_at, h.manager.now());

    // A provider that sends no refresh token this time (Google, after the first consent):
    // the stored one stays.
    let without = OAuthIdentity {
        access_token: Some(sealed("secret access token three")),
        refresh_token: None,
        ..alice_at_google()
    };
    h.manager
        .oauth_login(&without, false, &h.client)
        .await
        .unwrap();
    let account = &h.manager.oauth_accounts(first.user.id).await.unwrap()[0];
    assert_eq!(
        account.access_token,
        Some(sealed("secret access token three"))
    );
    assert_eq!(
        account.refresh_token,
        Some(sealed("secret refresh token two"))
    );
}

#[tokio::test]
async fn a_linked_account_logs_in_its_user_whatever_address_it_now_claims() {
    let h = Harness::with_oauth(|config| config);
    let alice = h
        .manager
        .oauth_login(&alice_at_google(), false, &h.client)
        .await
        .unwrap()
        .user;
    let bob = h.register("bob@example.com").await;
    // Alice's provider account now claims Bob's address, verified, with linking by e-mail
    // on: the account id decides, never the address.
    let claims_bob = identity("google", "g-alice", Some("bob@example.com"), true);
    let login = h
        .manager
        .oauth_login(&claims_bob, true, &h.client)
        .await
        .unwrap();
    assert_eq!(login.user.id, alice.id);
    assert!(h.live_sessions(bob.id).await.is_empty());
    assert!(h.manager.oauth_accounts(bob.id).await.unwrap().is_empty());
    // Nor does the same account id at another provider reach Alice.
    let elsewhere = identity("github", "g-alice", Some("carol@example.com"), true);
    let carol = h
        .manager
        .oauth_login(&elsewhere, false, &h.client)
        .await
        .unwrap()
        .user;
    assert_ne!(carol.id, alice.id);
    assert_eq!(all_users(&h.manager).await.len(), 3);
}

#[tokio::test]
async fn an_existing_address_is_linked_only_by_choice_and_with_a_verified_address() {
    let h = Harness::with_oauth(|config| config);
    let alice = h.register("alice@example.com").await;
    // Never into an address the user has not verified with us (someone may have registered
    // it first): refused even with linking on and a verified provider address.
    let squatter = identity("google", "g-early", Some("alice@example.com"), true);
    let err = h
        .manager
        .oauth_login(&squatter, true, &h.client)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::OAuthUserAlreadyExists), "{err:?}");
    verify(&h, alice.id).await;
    let before = h.hooks.calls().len();
    // The provider's address in another case is still Alice's.
    for (associate_by_email, verified) in [(false, false), (false, true), (true, false)] {
        let attacker = identity("google", "g-attacker", Some("ALICE@Example.com"), verified);
        let err = h
            .manager
            .oauth_login(&attacker, associate_by_email, &h.client)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::OAuthUserAlreadyExists),
            "associate {associate_by_email}, verified {verified}: {err:?}"
        );
    }
    assert!(h.manager.oauth_accounts(alice.id).await.unwrap().is_empty());
    assert!(h.live_sessions(alice.id).await.is_empty());
    assert_eq!(h.hooks.calls().len(), before, "no hook fired");
    assert_eq!(all_users(&h.manager).await.len(), 1);

    // Both: the account is linked to Alice, who is logged in.
    let owner = identity("google", "g-alice", Some("ALICE@Example.com"), true);
    let login = h
        .manager
        .oauth_login(&owner, true, &h.client)
        .await
        .unwrap();
    assert_eq!(login.user.id, alice.id);
    assert_eq!(h.hooks.calls()[before..], ["oauth_link:google", "login"]);
    let accounts = h.manager.oauth_accounts(alice.id).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].account_id, "g-alice");
    assert_eq!(h.live_sessions(alice.id).await, [login.tokens.session_id]);
    // Her password still works, and her address is still hers.
    password_login(&h, "alice@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        h.manager.get_user(alice.id).await.unwrap().email.as_str(),
        "alice@example.com"
    );
    // The next sign-in goes through the link, without linking by e-mail.
    let again = h
        .manager
        .oauth_login(&owner, false, &h.client)
        .await
        .unwrap();
    assert_eq!(again.user.id, alice.id);
}

#[tokio::test]
async fn no_usable_address_is_refused_and_creates_nothing() {
    let h = Harness::with_oauth(|config| config);
    for email in [
        None,
        Some(""),
        Some("not an address"),
        Some("a@b@example.com"),
    ] {
        let nameless = identity("github", "gh-1", email, true);
        let err = h
            .manager
            .oauth_login(&nameless, true, &h.client)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::OAuthNotAvailableEmail),
            "{email:?}: {err:?}"
        );
    }
    assert!(all_users(&h.manager).await.is_empty());
    assert!(h.hooks.calls().is_empty());
    // A linked account needs no address to sign in again.
    let user = h
        .manager
        .oauth_login(
            &identity("github", "gh-1", Some("dan@example.com"), true),
            false,
            &h.client,
        )
        .await
        .unwrap()
        .user;
    let login = h
        .manager
        .oauth_login(&identity("github", "gh-1", None, false), false, &h.client)
        .await
        .unwrap();
    assert_eq!(login.user.id, user.id);
}

/// Marks the user's address verified, as the verification link would.
async fn verify(h: &Harness, id: UserId) {
    h.manager
        .update_user(
            id,
            AdminUpdate {
                is_verified: Some(true),
                ..AdminUpdate::default()
            },
        )
        .await
        .unwrap();
}

async fn deactivate(h: &Harness, id: UserId) {
    h.manager
        .update_user(
            id,
            AdminUpdate {
                is_active: Some(false),
                ..AdminUpdate::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_inactive_user_gets_no_session() {
    let h = Harness::with_oauth(|config| config);
    let alice = h
        .manager
        .oauth_login(&alice_at_google(), false, &h.client)
        .await
        .unwrap()
        .user;
    deactivate(&h, alice.id).await;
    assert!(h.live_sessions(alice.id).await.is_empty());
    let before = h.hooks.calls().len();
    let err = h
        .manager
        .oauth_login(&alice_at_google(), false, &h.client)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::BadCredentials), "{err:?}");
    assert!(h.live_sessions(alice.id).await.is_empty());

    // Nor through linking by e-mail.
    let bob = h.register("bob@example.com").await;
    verify(&h, bob.id).await;
    deactivate(&h, bob.id).await;
    let err = h
        .manager
        .oauth_login(
            &identity("google", "g-bob", Some("bob@example.com"), true),
            true,
            &h.client,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::BadCredentials), "{err:?}");
    assert!(h.live_sessions(bob.id).await.is_empty());
    assert_eq!(fired(&h, "login"), 1, "only the first sign-in");
    assert!(!h.hooks.calls()[before..].contains(&"login".to_owned()));
}

#[tokio::test]
async fn required_verification_refuses_an_unverified_provider_address() {
    let h = Harness::with_oauth(|mut config| {
        config.require_verification = true;
        config
    });
    let unverified = identity("corp", "c-erin", Some("erin@example.com"), false);
    let err = h
        .manager
        .oauth_login(&unverified, false, &h.client)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::UserNotVerified), "{err:?}");
    let users = all_users(&h.manager).await;
    assert_eq!(users.len(), 1, "the user exists, unverified");
    let erin = &users[0];
    assert!(!erin.is_verified);
    assert!(h.live_sessions(erin.id).await.is_empty());
    assert_eq!(fired(&h, "login"), 0);

    // The same again: still no session, and no second user.
    assert!(matches!(
        h.manager.oauth_login(&unverified, false, &h.client).await,
        Err(AuthError::UserNotVerified)
    ));
    assert_eq!(all_users(&h.manager).await.len(), 1);
    assert!(h.live_sessions(erin.id).await.is_empty());

    // A verified provider address signs in; so does Erin once her address is verified.
    h.manager
        .oauth_login(&alice_at_google(), false, &h.client)
        .await
        .unwrap();
    h.manager
        .update_user(
            erin.id,
            AdminUpdate {
                is_verified: Some(true),
                ..AdminUpdate::default()
            },
        )
        .await
        .unwrap();
    let login = h
        .manager
        .oauth_login(&unverified, false, &h.client)
        .await
        .unwrap();
    assert_eq!(login.user.id, erin.id);
}

#[tokio::test]
async fn associate_links_to_the_given_user_once() {
    let h = Harness::with_oauth(|config| config);
    let alice = h.register("alice@example.com").await;
    let bob = h.register("bob@example.com").await;
    let github = identity("github", "gh-alice", Some("alice@elsewhere.example"), false);
    let before = h.hooks.calls().len();
    let linked = h.manager.oauth_associate(alice.id, &github).await.unwrap();
    assert_eq!(linked.id, alice.id);
    assert_eq!(h.hooks.calls()[before..], ["oauth_link:github"]);
    let accounts = h.manager.oauth_accounts(alice.id).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].account_id, "gh-alice");
    assert_eq!(
        accounts[0].account_email.as_deref(),
        Some("alice@elsewhere.example")
    );

    // Linked to Alice already: not again to her, not to Bob.
    for user in [alice.id, bob.id] {
        let err = h.manager.oauth_associate(user, &github).await.unwrap_err();
        assert!(
            matches!(err, AuthError::OAuthAccountAlreadyLinked),
            "{err:?}"
        );
    }
    assert!(h.manager.oauth_accounts(bob.id).await.unwrap().is_empty());
    assert_eq!(h.manager.oauth_accounts(alice.id).await.unwrap().len(), 1);
    assert_eq!(fired(&h, "oauth_link:github"), 1);
    // No such user.
    let err = h
        .manager
        .oauth_associate(UserId::new(), &identity("github", "gh-x", None, false))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::UserNotFound), "{err:?}");

    // The linked account now signs Alice in, though its address is not hers.
    let login = h
        .manager
        .oauth_login(&github, false, &h.client)
        .await
        .unwrap();
    assert_eq!(login.user.id, alice.id);
    // Several accounts at one provider are fine.
    h.manager
        .oauth_associate(alice.id, &identity("github", "gh-alice-2", None, false))
        .await
        .unwrap();
    assert_eq!(h.manager.oauth_accounts(alice.id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_user_with_a_password_may_unlink_their_last_account() {
    let h = Harness::with_oauth(|config| config);
    let alice = h.register("alice@example.com").await;
    h.manager
        .oauth_associate(alice.id, &alice_at_google())
        .await
        .unwrap();
    let before = h.hooks.calls().len();
    h.manager
        .oauth_unlink(alice.id, "google", "g-alice")
        .await
        .unwrap();
    assert_eq!(h.hooks.calls()[before..], ["oauth_unlink:google"]);
    assert!(h.manager.oauth_accounts(alice.id).await.unwrap().is_empty());
    // Gone: unlinking again finds nothing.
    let err = h
        .manager
        .oauth_unlink(alice.id, "google", "g-alice")
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::OAuthAccountNotFound), "{err:?}");
    password_login(&h, "alice@example.com", PASSWORD)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_user_without_a_password_keeps_their_last_account() {
    let h = Harness::with_oauth(|config| config);
    let alice = h
        .manager
        .oauth_login(&alice_at_google(), false, &h.client)
        .await
        .unwrap()
        .user;
    let err = h
        .manager
        .oauth_unlink(alice.id, "google", "g-alice")
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::OAuthLastLoginMethod), "{err:?}");
    assert_eq!(h.manager.oauth_accounts(alice.id).await.unwrap().len(), 1);
    assert_eq!(fired(&h, "oauth_unlink:google"), 0);

    // With a second account, either may go, but not both.
    h.manager
        .oauth_associate(alice.id, &identity("github", "gh-alice", None, false))
        .await
        .unwrap();
    h.manager
        .oauth_unlink(alice.id, "google", "g-alice")
        .await
        .unwrap();
    assert_eq!(fired(&h, "oauth_unlink:google"), 1);
    let err = h
        .manager
        .oauth_unlink(alice.id, "github", "gh-alice")
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::OAuthLastLoginMethod), "{err:?}");
    let left = h.manager.oauth_accounts(alice.id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].provider, "github");

    // Once she sets a password, the last link may go too.
    h.manager
        .update_user(
            alice.id,
            AdminUpdate {
                user: UserUpdate {
                    password: Some(Password::new(PASSWORD)),
                    ..UserUpdate::default()
                },
                ..AdminUpdate::default()
            },
        )
        .await
        .unwrap();
    h.manager
        .oauth_unlink(alice.id, "github", "gh-alice")
        .await
        .unwrap();
    assert!(h.manager.oauth_accounts(alice.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn nobody_unlinks_what_they_do_not_hold() {
    let h = Harness::with_oauth(|config| config);
    let alice = h.register("alice@example.com").await;
    let mallory = h.register("mallory@example.com").await;
    h.manager
        .oauth_associate(alice.id, &alice_at_google())
        .await
        .unwrap();
    h.manager
        .oauth_associate(mallory.id, &identity("google", "g-mallory", None, false))
        .await
        .unwrap();
    // Mallory names Alice's account, an unknown one, and a known id at another provider.
    for (provider, account_id) in [
        ("google", "g-alice"),
        ("google", "g-nobody"),
        ("github", "g-mallory"),
        ("Google", "g-mallory"),
    ] {
        let err = h
            .manager
            .oauth_unlink(mallory.id, provider, account_id)
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::OAuthAccountNotFound),
            "{provider}/{account_id}: {err:?}"
        );
    }
    assert_eq!(h.manager.oauth_accounts(alice.id).await.unwrap().len(), 1);
    assert_eq!(h.manager.oauth_accounts(mallory.id).await.unwrap().len(), 1);
    let err = h
        .manager
        .oauth_unlink(UserId::new(), "google", "g-alice")
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::UserNotFound), "{err:?}");
    assert_eq!(h.manager.oauth_accounts(alice.id).await.unwrap().len(), 1);
    assert!(
        !h.hooks
            .calls()
            .iter()
            .any(|call| call.starts_with("oauth_unlink"))
    );
}

#[tokio::test]
async fn deleting_a_user_deletes_their_links() {
    let h = Harness::with_oauth(|config| config);
    let alice = h
        .manager
        .oauth_login(&alice_at_google(), false, &h.client)
        .await
        .unwrap()
        .user;
    h.manager
        .oauth_associate(alice.id, &identity("github", "gh-alice", None, false))
        .await
        .unwrap();
    h.manager.delete_user(alice.id).await.unwrap();
    assert!(h.manager.oauth_accounts(alice.id).await.unwrap().is_empty());
    assert!(h.manager.users().get(alice.id).await.unwrap().is_none());

    // The provider account signs up anew: a new user, registered and linked again.
    let login = h
        .manager
        .oauth_login(&alice_at_google(), false, &h.client)
        .await
        .unwrap();
    assert_ne!(login.user.id, alice.id);
    assert_eq!(fired(&h, "register"), 2);
    let accounts = h.manager.oauth_accounts(login.user.id).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].provider, "google");
    // The other link went too: it can be associated with someone else now.
    let bob = h.register("bob@example.com").await;
    h.manager
        .oauth_associate(bob.id, &identity("github", "gh-alice", None, false))
        .await
        .unwrap();
}

#[tokio::test]
async fn without_an_oauth_store_every_call_is_a_configuration_error() {
    let h = Harness::new();
    let alice = h.register("alice@example.com").await;
    let config = |result: Result<(), AuthError>| {
        let err = result.unwrap_err();
        assert!(matches!(err, AuthError::Config(_)), "{err:?}");
        assert!(err.is_internal());
    };
    config(
        h.manager
            .oauth_login(
                &identity("google", "g-new", Some("new@example.com"), true),
                true,
                &h.client,
            )
            .await
            .map(drop),
    );
    config(
        h.manager
            .oauth_login(
                &identity("google", "g-alice", Some("alice@example.com"), true),
                true,
                &h.client,
            )
            .await
            .map(drop),
    );
    config(
        h.manager
            .oauth_associate(alice.id, &alice_at_google())
            .await
            .map(drop),
    );
    config(h.manager.oauth_accounts(alice.id).await.map(drop));
    config(
        h.manager
            .oauth_unlink(alice.id, "google", "g-alice")
            .await
            .map(drop),
    );
    assert_eq!(all_users(&h.manager).await.len(), 1);
    assert!(h.live_sessions(alice.id).await.is_empty());
}

/// A memory store whose reads can be held, so that racers really overlap: the next `n`
/// lookups of a provider account (or of an address) wait for each other before any goes on,
/// and the next read of a user by id can be paused.
#[derive(Debug, Default)]
struct GatedStore {
    inner: MemoryUserStore<TestProfile>,
    accounts_gate: Gate,
    email_gate: Gate,
    /// When set, the next read by id signals the first and waits for the second.
    pause: Mutex<Option<(Arc<Notify>, Arc<Notify>)>>,
}

impl GatedStore {
    fn pause_next_get(&self) -> (Arc<Notify>, Arc<Notify>) {
        let pair = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        *self.pause.lock().unwrap() = Some(pair.clone());
        pair
    }
}

#[async_trait]
impl UserStore<TestProfile> for GatedStore {
    async fn create(&self, user: &User<TestProfile>) -> Result<(), StoreError> {
        self.inner.create(user).await
    }
    async fn get(&self, id: UserId) -> Result<Option<User<TestProfile>>, StoreError> {
        let read = self.inner.get(id).await;
        let pause = self.pause.lock().unwrap().take();
        if let Some((read_done, go)) = pause {
            let go = go.notified();
            read_done.notify_one();
            go.await;
        }
        read
    }
    async fn find_by_email(&self, email: &Email) -> Result<Option<User<TestProfile>>, StoreError> {
        let read = self.inner.find_by_email(email).await;
        self.email_gate.pass().await;
        read
    }
    async fn find_by_username(
        &self,
        name: &Username,
    ) -> Result<Option<User<TestProfile>>, StoreError> {
        self.inner.find_by_username(name).await
    }
    async fn update(&self, user: &User<TestProfile>) -> Result<(), StoreError> {
        self.inner.update(user).await
    }
    async fn delete(&self, id: UserId) -> Result<bool, StoreError> {
        self.inner.delete(id).await
    }
    async fn list(&self, query: &UserQuery) -> Result<Page<User<TestProfile>>, StoreError> {
        self.inner.list(query).await
    }
}

#[async_trait]
impl OAuthAccountStore<TestProfile> for GatedStore {
    async fn create_with_account(
        &self,
        user: &User<TestProfile>,
        account: &OAuthAccount,
    ) -> Result<(), StoreError> {
        self.inner.create_with_account(user, account).await
    }
    async fn link_account(&self, account: &OAuthAccount) -> Result<(), StoreError> {
        self.inner.link_account(account).await
    }
    async fn find_account(
        &self,
        provider: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let read = self.inner.find_account(provider, account_id).await;
        self.accounts_gate.pass().await;
        read
    }
    async fn list_accounts(&self, user_id: UserId) -> Result<Vec<OAuthAccount>, StoreError> {
        self.inner.list_accounts(user_id).await
    }
    async fn update_account(&self, account: &OAuthAccount) -> Result<(), StoreError> {
        self.inner.update_account(account).await
    }
    async fn unlink_account(
        &self,
        user_id: UserId,
        provider: &str,
        account_id: &str,
        keep_one: bool,
    ) -> Result<Unlinked, StoreError> {
        self.inner
            .unlink_account(user_id, provider, account_id, keep_one)
            .await
    }
}

struct Rig {
    manager: UserManager<TestProfile>,
    store: Arc<GatedStore>,
    hooks: Arc<RecordingHooks>,
    client: ClientInfo,
}

fn rig() -> Rig {
    let store = Arc::new(GatedStore::default());
    let hooks = Arc::new(RecordingHooks::default());
    let manager = UserManager::builder(store.clone(), Arc::new(MemorySessionStore::new()), codec())
        .with_oauth_accounts(store.clone())
        .with_hasher(Arc::new(CountingHasher::new()))
        .with_hooks(hooks.clone())
        .build();
    Rig {
        manager,
        store,
        hooks,
        client: ClientInfo::new(Some("198.51.100.4".parse().unwrap()), Some("racer")),
    }
}

impl Rig {
    /// `n` sign-ins of one provider account at once.
    async fn sign_ins(
        &self,
        n: usize,
        who: &OAuthIdentity,
        associate_by_email: bool,
    ) -> Vec<Result<Login<TestProfile>, AuthError>> {
        let tasks = (0..n).map(|_| {
            let manager = self.manager.clone();
            let who = who.clone();
            let client = self.client.clone();
            tokio::spawn(
                async move { manager.oauth_login(&who, associate_by_email, &client).await },
            )
        });
        join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect()
    }
}

/// One user came of the race, and every sign-in that succeeded went to them.
async fn one_user_came_of(rig: &Rig, results: &[Result<Login<TestProfile>, AuthError>]) -> UserId {
    let users = all_users(&rig.manager).await;
    assert_eq!(users.len(), 1, "{users:?}");
    let only = users[0].id;
    for result in results {
        match result {
            Ok(login) => assert_eq!(login.user.id, only),
            Err(err) => assert!(!err.is_internal(), "{err:?}"),
        }
    }
    assert_eq!(rig.manager.oauth_accounts(only).await.unwrap().len(), 1);
    let hooks = rig.hooks.calls();
    assert_eq!(hooks.iter().filter(|c| *c == "register").count(), 1);
    assert_eq!(
        hooks.iter().filter(|c| *c == "oauth_link:google").count(),
        1
    );
    let logged_in = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(hooks.iter().filter(|c| *c == "login").count(), logged_in);
    let sessions = rig.manager.list_sessions(only).await.unwrap();
    assert_eq!(sessions.len(), logged_in);
    only
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_sign_ins_of_one_new_account_make_one_user_and_all_log_into_it() {
    let rig = rig();
    // Every racer finds no link and no user before any of them writes: all try to create.
    rig.store.accounts_gate.arm(20);
    rig.store.email_gate.arm(20);
    let results = rig.sign_ins(20, &alice_at_google(), false).await;
    one_user_came_of(&rig, &results).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_sign_ins_that_find_no_link_but_then_the_new_user_log_into_it() {
    for associate_by_email in [false, true] {
        let rig = rig();
        // Every racer finds no link; then they look the address up one by one, so all but
        // the first may find the user the first created, linked to this very account.
        rig.store.accounts_gate.arm(20);
        let results = rig
            .sign_ins(20, &alice_at_google(), associate_by_email)
            .await;
        one_user_came_of(&rig, &results).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_ungated_sign_ins_of_one_new_account_make_one_user() {
    let rig = rig();
    let results = rig.sign_ins(20, &alice_at_google(), true).await;
    one_user_came_of(&rig, &results).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

/// A sign-in of Alice's linked account that reads her, then waits while `meanwhile` runs,
/// then goes on: what does it get?
async fn sign_in_racing<F>(rig: &Rig, meanwhile: F) -> Result<Login<TestProfile>, AuthError>
where
    F: std::future::Future<Output = ()>,
{
    let (read, go) = rig.store.pause_next_get();
    let sign_in = tokio::spawn({
        let manager = rig.manager.clone();
        let client = rig.client.clone();
        async move {
            manager
                .oauth_login(&alice_at_google(), false, &client)
                .await
        }
    });
    read.notified().await;
    meanwhile.await;
    go.notify_one();
    sign_in.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_racing_a_deactivation_gets_no_session() {
    let rig = rig();
    let alice = rig
        .manager
        .oauth_login(&alice_at_google(), false, &rig.client)
        .await
        .unwrap()
        .user;
    let result = sign_in_racing(&rig, async {
        rig.manager
            .update_user(
                alice.id,
                AdminUpdate {
                    is_active: Some(false),
                    ..AdminUpdate::default()
                },
            )
            .await
            .unwrap();
    })
    .await;
    assert!(
        matches!(result, Err(AuthError::BadCredentials)),
        "{result:?}"
    );
    assert!(
        rig.manager
            .list_sessions(alice.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_sign_ins_racing_a_deactivation_leave_no_session() {
    let rig = rig();
    let alice = rig
        .manager
        .oauth_login(&alice_at_google(), false, &rig.client)
        .await
        .unwrap()
        .user;
    let who = alice_at_google();
    let signs_in = rig.sign_ins(20, &who, false);
    let deactivation = async {
        tokio::task::yield_now().await;
        rig.manager
            .update_user(
                alice.id,
                AdminUpdate {
                    is_active: Some(false),
                    ..AdminUpdate::default()
                },
            )
            .await
            .unwrap();
    };
    let (results, ()) = tokio::join!(signs_in, deactivation);
    for result in &results {
        assert!(
            matches!(result, Ok(_) | Err(AuthError::BadCredentials)),
            "{result:?}"
        );
    }
    // Whatever got in before the deactivation was revoked by it; nothing got in after.
    assert!(
        rig.manager
            .list_sessions(alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        rig.manager
            .oauth_login(&alice_at_google(), false, &rig.client)
            .await,
        Err(AuthError::BadCredentials)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_racing_a_deletion_gets_no_session() {
    let rig = rig();
    let alice = rig
        .manager
        .oauth_login(&alice_at_google(), false, &rig.client)
        .await
        .unwrap()
        .user;
    let result = sign_in_racing(&rig, async {
        rig.manager.delete_user(alice.id).await.unwrap();
    })
    .await;
    assert!(
        matches!(result, Err(AuthError::BadCredentials)),
        "{result:?}"
    );
    assert!(
        rig.manager
            .list_sessions(alice.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(all_users(&rig.manager).await.is_empty());
}

/// A password login to an account created through a provider does the same hashing work as
/// a wrong password for an account that has one: timing does not tell such accounts apart.
#[tokio::test]
async fn password_logins_to_provider_only_accounts_cost_one_hash_like_wrong_passwords() {
    let store = Arc::new(MemoryUserStore::<TestProfile>::new());
    let hasher = Arc::new(CountingHasher::new());
    let manager = UserManager::builder(store.clone(), Arc::new(MemorySessionStore::new()), codec())
        .with_oauth_accounts(store)
        .with_hasher(hasher.clone())
        .build();
    let client = ClientInfo::default();
    manager
        .oauth_login(&alice_at_google(), false, &client)
        .await
        .unwrap();
    manager
        .register(
            NewUser::new(
                Email::parse("bob@example.com").unwrap(),
                Password::new(PASSWORD),
            ),
            &client,
        )
        .await
        .unwrap();
    let before = hasher.runs();
    let refused = manager
        .login("alice@example.com", &Password::new(PASSWORD), &client)
        .await;
    assert!(
        matches!(refused, Err(AuthError::BadCredentials)),
        "{refused:?}"
    );
    let provider_only = hasher.runs() - before;
    let before = hasher.runs();
    let wrong = manager
        .login(
            "bob@example.com",
            &Password::new("not the password"),
            &client,
        )
        .await;
    assert!(matches!(wrong, Err(AuthError::BadCredentials)), "{wrong:?}");
    assert_eq!(provider_only, hasher.runs() - before);
    assert_eq!(provider_only, 1);
}
