//! The [`OAuthAccountStore`] behaviours.

use futures::future::join_all;
use time::Duration;

use super::users::sample_user;
use super::{TestProfile, now_seconds, unique_tag};
use crate::{OAuthAccount, OAuthAccountStore, SealedToken, StoreError, UniqueField, Unlinked};
use crate::{User, UserId};

/// A link of `user_id` to the `provider` account `account_id`, every optional field set
/// (the tokens are bytes no text column would keep: a NUL, invalid UTF-8), times in whole
/// seconds.
pub fn sample_account(user_id: UserId, provider: &str, account_id: &str) -> OAuthAccount {
    let now = now_seconds();
    OAuthAccount {
        user_id,
        provider: provider.to_owned(),
        account_id: account_id.to_owned(),
        account_email: Some(format!("Someone.{account_id}@Provider.example")),
        access_token: Some(SealedToken::from_bytes(
            [&[0, 0xff, 0xfe, b'a'][..], account_id.as_bytes()].concat(),
        )),
        refresh_token: Some(SealedToken::from_bytes(vec![0xc3, 0x28, 0, 7, 0x80])),
        expires_at: Some(now + Duration::hours(1)),
        created_at: now,
        updated_at: now + Duration::seconds(3),
    }
}

/// A user created in `store`, for links to go to.
async fn stored_user<S: OAuthAccountStore<TestProfile> + ?Sized>(store: &S) -> User<TestProfile> {
    let user = sample_user(&unique_tag());
    store.create(&user).await.unwrap();
    user
}

/// Every field of a link comes back as it went in: sealed tokens byte for byte, and a link
/// with no address, no tokens and no expiry as exactly that.
pub async fn link_then_find_round_trips_every_field<S: OAuthAccountStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = stored_user(store).await;
    let tag = unique_tag();
    let full = sample_account(user.id, "google", &format!("sub-{tag}"));
    store.link_account(&full).await.unwrap();
    let found = store
        .find_account("google", &full.account_id)
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&full));

    let mut bare = sample_account(user.id, "github", &format!("{tag}-1"));
    bare.account_email = None;
    bare.access_token = None;
    bare.refresh_token = None;
    bare.expires_at = None;
    store.link_account(&bare).await.unwrap();
    let found = store
        .find_account("github", &bare.account_id)
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&bare));

    let listed = store.list_accounts(user.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.contains(&full) && listed.contains(&bare),
        "{listed:?}"
    );
}

/// A link is found by its exact (provider, account id): the account id in another letter
/// case, the provider in another case, another provider, or a prefix finds nothing. (Trailing
/// spaces are not tried: MySQL's and MariaDB's `_bin` collations ignore them.)
pub async fn find_account_compares_exactly<S: OAuthAccountStore<TestProfile> + ?Sized>(store: &S) {
    let user = stored_user(store).await;
    let account = sample_account(user.id, "corp", &format!("AbC-{}", unique_tag()));
    store.link_account(&account).await.unwrap();
    let id = &account.account_id;
    assert!(store.find_account("corp", id).await.unwrap().is_some());
    for (provider, account_id) in [
        ("corp", id.to_lowercase()),
        ("corp", id.to_uppercase()),
        ("Corp", id.clone()),
        ("CORP", id.clone()),
        ("google", id.clone()),
        ("corp", id[..id.len() - 1].to_owned()),
    ] {
        assert_eq!(
            store.find_account(provider, &account_id).await.unwrap(),
            None,
            "({provider:?}, {account_id:?}) is not ({:?}, {id:?})",
            account.provider
        );
    }
}

/// One provider account may be linked to one user: twenty users link it at once, exactly one
/// wins, every other gets a conflict on the provider account, and the link names the winner.
pub async fn concurrent_links_of_one_account_have_one_winner<
    S: OAuthAccountStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let mut users = Vec::new();
    for _ in 0..20 {
        users.push(stored_user(store).await);
    }
    let account_id = format!("raced-{}", unique_tag());
    let links: Vec<OAuthAccount> = users
        .iter()
        .map(|user| sample_account(user.id, "google", &account_id))
        .collect();
    let results = join_all(links.iter().map(|link| store.link_account(link))).await;
    let mut winners = Vec::new();
    for (link, result) in links.iter().zip(results) {
        match result {
            Ok(()) => winners.push(link.user_id),
            Err(StoreError::Conflict(UniqueField::OAuthAccount)) => {}
            Err(other) => panic!("expected Ok or a provider-account conflict, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one link wins");
    let found = store.find_account("google", &account_id).await.unwrap();
    assert_eq!(found.map(|link| link.user_id), Some(winners[0]));
    let mut holders = 0;
    for user in &users {
        holders += store.list_accounts(user.id).await.unwrap().len();
    }
    assert_eq!(holders, 1, "one link in all");
}

/// Linking an account its user already holds is a conflict too, and leaves the link as it
/// was.
pub async fn linking_an_account_twice_to_one_user_is_a_conflict<
    S: OAuthAccountStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let user = stored_user(store).await;
    let account = sample_account(user.id, "github", &unique_tag());
    store.link_account(&account).await.unwrap();
    let mut again = account.clone();
    again.account_email = Some("other@example.com".to_owned());
    match store.link_account(&again).await {
        Err(StoreError::Conflict(UniqueField::OAuthAccount)) => {}
        other => panic!("expected a provider-account conflict, got {other:?}"),
    }
    assert_eq!(store.list_accounts(user.id).await.unwrap(), vec![account]);
}

/// Linking to a user that does not exist is `NotFound` and stores nothing.
pub async fn linking_to_a_missing_user_is_not_found<S: OAuthAccountStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let ghost = UserId::new();
    let account = sample_account(ghost, "google", &unique_tag());
    match store.link_account(&account).await {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(
        store
            .find_account("google", &account.account_id)
            .await
            .unwrap(),
        None
    );
    assert!(store.list_accounts(ghost).await.unwrap().is_empty());
}

/// `create_with_account` creates the user and the link to them.
pub async fn create_with_account_creates_both<S: OAuthAccountStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = sample_user(&unique_tag());
    let account = sample_account(user.id, "google", &unique_tag());
    store.create_with_account(&user, &account).await.unwrap();
    let loaded = store.get(user.id).await.unwrap().expect("the user");
    assert_eq!(loaded.email, user.email);
    assert_eq!(loaded.profile, user.profile);
    assert_eq!(
        store
            .find_account("google", &account.account_id)
            .await
            .unwrap(),
        Some(account.clone())
    );
    assert_eq!(store.list_accounts(user.id).await.unwrap(), vec![account]);
}

/// A taken e-mail address fails `create_with_account` as a whole: an e-mail conflict, and
/// the provider account is not linked to anyone.
pub async fn create_with_account_with_a_taken_email_links_nothing<
    S: OAuthAccountStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let first = stored_user(store).await;
    let mut second = sample_user(&unique_tag());
    second.email = first.email.clone();
    let account = sample_account(second.id, "google", &unique_tag());
    match store.create_with_account(&second, &account).await {
        Err(StoreError::Conflict(UniqueField::Email)) => {}
        other => panic!("expected an e-mail conflict, got {other:?}"),
    }
    assert_eq!(
        store
            .find_account("google", &account.account_id)
            .await
            .unwrap(),
        None,
        "no link stored"
    );
    assert!(store.get(second.id).await.unwrap().is_none());
    assert!(store.list_accounts(first.id).await.unwrap().is_empty());
    // The account is still free.
    let mut later = account.clone();
    later.user_id = first.id;
    store.link_account(&later).await.unwrap();
}

/// A provider account linked to someone else fails `create_with_account` as a whole: a
/// provider-account conflict, and no user is stored.
pub async fn create_with_account_with_a_taken_account_creates_no_user<
    S: OAuthAccountStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let holder = stored_user(store).await;
    let account = sample_account(holder.id, "github", &unique_tag());
    store.link_account(&account).await.unwrap();
    let newcomer = sample_user(&unique_tag());
    let mut taken = account.clone();
    taken.user_id = newcomer.id;
    match store.create_with_account(&newcomer, &taken).await {
        Err(StoreError::Conflict(UniqueField::OAuthAccount)) => {}
        other => panic!("expected a provider-account conflict, got {other:?}"),
    }
    assert!(store.get(newcomer.id).await.unwrap().is_none());
    assert!(
        store
            .find_by_email(&newcomer.email)
            .await
            .unwrap()
            .is_none(),
        "no user stored"
    );
    assert_eq!(
        store
            .find_account("github", &account.account_id)
            .await
            .unwrap()
            .map(|link| link.user_id),
        Some(holder.id)
    );
    // The address is still free.
    store.create(&newcomer).await.unwrap();
}

/// Twenty different newcomers sign up with one provider account at once: one of them
/// exists afterwards, holding the link; the others got a provider-account conflict and
/// left no user behind.
pub async fn concurrent_creations_with_one_account_leave_one_user<
    S: OAuthAccountStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let account_id = format!("signup-{}", unique_tag());
    let signups: Vec<(User<TestProfile>, OAuthAccount)> = (0..20)
        .map(|_| {
            let user = sample_user(&unique_tag());
            let account = sample_account(user.id, "google", &account_id);
            (user, account)
        })
        .collect();
    let results = join_all(
        signups
            .iter()
            .map(|(user, account)| store.create_with_account(user, account)),
    )
    .await;
    let mut winners = Vec::new();
    for ((user, _), result) in signups.iter().zip(results) {
        match result {
            Ok(()) => winners.push(user.id),
            Err(StoreError::Conflict(UniqueField::OAuthAccount)) => {}
            Err(other) => panic!("expected Ok or a provider-account conflict, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one sign-up wins");
    let mut existing = Vec::new();
    for (user, _) in &signups {
        if store.find_by_email(&user.email).await.unwrap().is_some() {
            existing.push(user.id);
        }
    }
    assert_eq!(existing, winners, "exactly one user exists: the winner");
    let found = store.find_account("google", &account_id).await.unwrap();
    assert_eq!(found.map(|link| link.user_id), Some(winners[0]));
}

/// Deleting a user deletes their links, and their provider accounts can then be linked to
/// someone else.
pub async fn deleting_a_user_deletes_their_links<S: OAuthAccountStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = stored_user(store).await;
    let tag = unique_tag();
    let first = sample_account(user.id, "google", &format!("{tag}-g"));
    let second = sample_account(user.id, "github", &format!("{tag}-h"));
    store.link_account(&first).await.unwrap();
    store.link_account(&second).await.unwrap();
    let bystander = stored_user(store).await;
    let kept = sample_account(bystander.id, "google", &format!("{tag}-b"));
    store.link_account(&kept).await.unwrap();

    assert!(store.delete(user.id).await.unwrap());
    for link in [&first, &second] {
        assert_eq!(
            store
                .find_account(&link.provider, &link.account_id)
                .await
                .unwrap(),
            None
        );
    }
    assert!(store.list_accounts(user.id).await.unwrap().is_empty());
    assert_eq!(
        store.list_accounts(bystander.id).await.unwrap(),
        vec![kept],
        "other users' links stay"
    );

    let next = stored_user(store).await;
    let mut moved = first.clone();
    moved.user_id = next.id;
    store
        .link_account(&moved)
        .await
        .expect("the account is free again");
    assert_eq!(
        store
            .find_account("google", &first.account_id)
            .await
            .unwrap()
            .map(|link| link.user_id),
        Some(next.id)
    );
}

/// `update_account` replaces the address, the tokens, the expiry and `updated_at`, and
/// keeps when the account was linked.
pub async fn update_account_replaces_the_tokens_and_expiry<
    S: OAuthAccountStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let user = stored_user(store).await;
    let account = sample_account(user.id, "google", &unique_tag());
    store.link_account(&account).await.unwrap();

    let mut renewed = account.clone();
    renewed.account_email = Some("renamed@provider.example".to_owned());
    renewed.access_token = Some(SealedToken::from_bytes(vec![9, 0, 9, 0xff]));
    renewed.refresh_token = None;
    renewed.expires_at = Some(account.created_at + Duration::hours(2));
    renewed.updated_at = account.updated_at + Duration::minutes(30);
    renewed.created_at = account.created_at + Duration::days(1);
    store.update_account(&renewed).await.unwrap();
    let mut expected = renewed.clone();
    expected.created_at = account.created_at;
    let found = store
        .find_account("google", &account.account_id)
        .await
        .unwrap();
    assert_eq!(found, Some(expected.clone()), "created_at is kept");

    let mut cleared = expected.clone();
    cleared.account_email = None;
    cleared.access_token = None;
    cleared.expires_at = None;
    cleared.updated_at += Duration::minutes(1);
    store.update_account(&cleared).await.unwrap();
    assert_eq!(store.list_accounts(user.id).await.unwrap(), vec![cleared]);
}

/// Updating a link the user does not hold (another user's, or none at all) is `NotFound`
/// and changes nothing.
pub async fn update_account_of_a_link_not_held_is_not_found<
    S: OAuthAccountStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let owner = stored_user(store).await;
    let other = stored_user(store).await;
    let account = sample_account(owner.id, "github", &unique_tag());
    store.link_account(&account).await.unwrap();

    let mut hijack = account.clone();
    hijack.user_id = other.id;
    hijack.access_token = Some(SealedToken::from_bytes(b"stolen".to_vec()));
    hijack.updated_at += Duration::minutes(5);
    match store.update_account(&hijack).await {
        Err(StoreError::NotFound) => {}
        other => panic!("another user's link: expected NotFound, got {other:?}"),
    }
    let missing = sample_account(owner.id, "github", &unique_tag());
    match store.update_account(&missing).await {
        Err(StoreError::NotFound) => {}
        other => panic!("a missing link: expected NotFound, got {other:?}"),
    }
    let ghost = sample_account(UserId::new(), "github", &unique_tag());
    match store.update_account(&ghost).await {
        Err(StoreError::NotFound) => {}
        other => panic!("a missing user: expected NotFound, got {other:?}"),
    }
    assert_eq!(
        store
            .find_account("github", &account.account_id)
            .await
            .unwrap(),
        Some(account),
        "unchanged"
    );
    assert!(store.list_accounts(other.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .find_account("github", &missing.account_id)
            .await
            .unwrap(),
        None,
        "no link created"
    );
}

/// A user's links are listed oldest first, then by provider, then by account id (compared
/// as text), and only theirs; a user without links has an empty list.
pub async fn list_accounts_is_ordered_and_only_the_users<
    S: OAuthAccountStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let user = stored_user(store).await;
    let other = stored_user(store).await;
    let tag = unique_tag();
    let now = now_seconds();
    let at = |provider: &str, account_id: &str, created_at| {
        let mut account = sample_account(user.id, provider, &format!("{tag}-{account_id}"));
        account.created_at = created_at;
        account.updated_at = created_at;
        account
    };
    let oldest = at("zeta", "z", now - Duration::minutes(5));
    let apple = at("apple", "z", now);
    let github_1 = at("github", "1", now);
    let github_10 = at("github", "10", now);
    let github_2 = at("github", "2", now);
    let newest = at("apple", "a", now + Duration::minutes(5));
    // Linked in another order than listed.
    for account in [&newest, &github_2, &apple, &github_10, &oldest, &github_1] {
        store.link_account(account).await.unwrap();
    }
    let theirs = sample_account(other.id, "apple", &format!("{tag}-0"));
    store.link_account(&theirs).await.unwrap();

    let listed = store.list_accounts(user.id).await.unwrap();
    assert_eq!(
        listed,
        vec![oldest, apple, github_1, github_10, github_2, newest]
    );
    assert_eq!(store.list_accounts(other.id).await.unwrap(), vec![theirs]);
    let lonely = stored_user(store).await;
    assert!(store.list_accounts(lonely.id).await.unwrap().is_empty());
}

/// Unlinking removes the user's own link; a link of another user, an unknown one, or one
/// already removed is `NotFound` and changes nothing.
pub async fn unlink_removes_only_the_users_own_link<S: OAuthAccountStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let owner = stored_user(store).await;
    let other = stored_user(store).await;
    let tag = unique_tag();
    let first = sample_account(owner.id, "google", &format!("{tag}-1"));
    let second = sample_account(owner.id, "google", &format!("{tag}-2"));
    store.link_account(&first).await.unwrap();
    store.link_account(&second).await.unwrap();

    for keep_one in [false, true] {
        assert_eq!(
            store
                .unlink_account(other.id, "google", &first.account_id, keep_one)
                .await
                .unwrap(),
            Unlinked::NotFound,
            "another user's link"
        );
        assert_eq!(
            store
                .unlink_account(owner.id, "google", &format!("{tag}-3"), keep_one)
                .await
                .unwrap(),
            Unlinked::NotFound,
            "an unknown link"
        );
        assert_eq!(
            store
                .unlink_account(owner.id, "github", &first.account_id, keep_one)
                .await
                .unwrap(),
            Unlinked::NotFound,
            "the same id at another provider"
        );
        assert_eq!(
            store
                .unlink_account(UserId::new(), "google", &first.account_id, keep_one)
                .await
                .unwrap(),
            Unlinked::NotFound,
            "a missing user"
        );
    }
    assert_eq!(store.list_accounts(owner.id).await.unwrap().len(), 2);

    assert_eq!(
        store
            .unlink_account(owner.id, "google", &first.account_id, false)
            .await
            .unwrap(),
        Unlinked::Removed
    );
    assert_eq!(
        store
            .find_account("google", &first.account_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .unlink_account(owner.id, "google", &first.account_id, false)
            .await
            .unwrap(),
        Unlinked::NotFound,
        "already removed"
    );
    assert_eq!(store.list_accounts(owner.id).await.unwrap(), vec![second]);
}

/// With `keep_one`, a user's last link stays (`LastLoginMethod`); with two, one goes; without
/// `keep_one`, the last goes too.
pub async fn keep_one_keeps_the_last_link<S: OAuthAccountStore<TestProfile> + ?Sized>(store: &S) {
    let user = stored_user(store).await;
    let tag = unique_tag();
    let first = sample_account(user.id, "google", &format!("{tag}-1"));
    let second = sample_account(user.id, "github", &format!("{tag}-2"));
    store.link_account(&first).await.unwrap();

    assert_eq!(
        store
            .unlink_account(user.id, "google", &first.account_id, true)
            .await
            .unwrap(),
        Unlinked::LastLoginMethod
    );
    assert_eq!(
        store.list_accounts(user.id).await.unwrap(),
        vec![first.clone()],
        "the last link stays"
    );
    assert_eq!(
        store
            .unlink_account(user.id, "google", &format!("{tag}-9"), true)
            .await
            .unwrap(),
        Unlinked::NotFound,
        "a link the user does not hold is not found, even when they hold only one"
    );

    store.link_account(&second).await.unwrap();
    assert_eq!(
        store
            .unlink_account(user.id, "google", &first.account_id, true)
            .await
            .unwrap(),
        Unlinked::Removed
    );
    assert_eq!(
        store
            .unlink_account(user.id, "github", &second.account_id, true)
            .await
            .unwrap(),
        Unlinked::LastLoginMethod
    );
    assert_eq!(
        store.list_accounts(user.id).await.unwrap(),
        vec![second.clone()]
    );
    assert_eq!(
        store
            .unlink_account(user.id, "github", &second.account_id, false)
            .await
            .unwrap(),
        Unlinked::Removed,
        "without keep_one the last link goes"
    );
    assert!(store.list_accounts(user.id).await.unwrap().is_empty());
}

/// A user with exactly two links, and ten concurrent unlinks with `keep_one` split over
/// both: exactly one is removed in all, and one link remains (three rounds).
pub async fn concurrent_unlinks_keeping_one_leave_one_link<
    S: OAuthAccountStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    for _ in 0..3 {
        let user = stored_user(store).await;
        let tag = unique_tag();
        let links = [
            sample_account(user.id, "google", &format!("{tag}-g")),
            sample_account(user.id, "github", &format!("{tag}-h")),
        ];
        for link in &links {
            store.link_account(link).await.unwrap();
        }
        let results = join_all((0..10).map(|i| {
            let link = &links[i % 2];
            store.unlink_account(user.id, &link.provider, &link.account_id, true)
        }))
        .await;
        let mut removed = 0;
        for result in results {
            match result.unwrap() {
                Unlinked::Removed => removed += 1,
                Unlinked::LastLoginMethod | Unlinked::NotFound => {}
            }
        }
        assert_eq!(removed, 1, "exactly one unlink removes a link");
        let left = store.list_accounts(user.id).await.unwrap();
        assert_eq!(left.len(), 1, "one link remains: {left:?}");
        assert!(links.contains(&left[0]));
    }
}
