//! The [`UserStore`] behaviours.

use futures::future::join_all;
use time::Duration;

use super::{TestProfile, now_seconds, unique_tag};
use crate::{
    Email, PasswordHash, Roles, StoreError, UniqueField, User, UserId, UserQuery, UserStore,
    Username,
};

/// A user with a unique address `<prefix>-<tag>@Example.COM`, all flags set oddly so that
/// dropped fields show.
pub fn sample_user(tag: &str) -> User<TestProfile> {
    let now = now_seconds();
    User {
        id: UserId::new(),
        email: Email::parse(&format!("Someone.{tag}@Example.COM")).unwrap(),
        username: Some(Username::parse(&format!("User_{tag}")).unwrap()),
        password_hash: PasswordHash::new(format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${tag}")),
        is_active: true,
        is_superuser: false,
        is_verified: true,
        roles: Roles::from_iter(["reader", "author"]),
        created_at: now,
        updated_at: now + Duration::seconds(5),
        profile: TestProfile {
            first_name: Some("Zoë".to_owned()),
            second_name: None,
            age: 42,
        },
        version: 0,
    }
}

fn assert_same(actual: &User<TestProfile>, expected: &User<TestProfile>) {
    assert_eq!(actual.id, expected.id);
    assert_eq!(actual.email, expected.email);
    assert_eq!(actual.username, expected.username);
    assert_eq!(actual.password_hash, expected.password_hash);
    assert_eq!(actual.is_active, expected.is_active);
    assert_eq!(actual.is_superuser, expected.is_superuser);
    assert_eq!(actual.is_verified, expected.is_verified);
    assert_eq!(actual.roles, expected.roles);
    assert_eq!(actual.created_at, expected.created_at);
    assert_eq!(actual.updated_at, expected.updated_at);
    assert_eq!(actual.profile, expected.profile);
}

/// Every field, the profile included, comes back as it went in.
pub async fn create_then_get_round_trips_every_field<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = sample_user(&unique_tag());
    store.create(&user).await.unwrap();
    let loaded = store.get(user.id).await.unwrap().expect("created user");
    assert_same(&loaded, &user);
}

/// `ALICE@EXAMPLE.com` finds `alice@example.com`.
pub async fn lookup_by_email_is_case_insensitive<S: UserStore<TestProfile> + ?Sized>(store: &S) {
    let tag = unique_tag();
    let user = sample_user(&tag);
    store.create(&user).await.unwrap();
    let shouted = Email::parse(&format!("SOMEONE.{}@example.com", tag.to_uppercase())).unwrap();
    let found = store.find_by_email(&shouted).await.unwrap().expect("found");
    assert_eq!(found.id, user.id);
    assert_eq!(found.email, user.email, "the stored spelling is kept");
}

/// Usernames are found whatever their case.
pub async fn lookup_by_username_is_case_insensitive<S: UserStore<TestProfile> + ?Sized>(store: &S) {
    let tag = unique_tag();
    let user = sample_user(&tag);
    store.create(&user).await.unwrap();
    let name = Username::parse(&format!("USER_{}", tag.to_uppercase())).unwrap();
    let found = store.find_by_username(&name).await.unwrap().expect("found");
    assert_eq!(found.id, user.id);
}

/// Unknown ids, addresses and usernames find nothing, without an error.
pub async fn unknown_lookups_find_nothing<S: UserStore<TestProfile> + ?Sized>(store: &S) {
    let tag = unique_tag();
    assert!(store.get(UserId::new()).await.unwrap().is_none());
    let email = Email::parse(&format!("nobody-{tag}@example.com")).unwrap();
    assert!(store.find_by_email(&email).await.unwrap().is_none());
    let name = Username::parse(&format!("nobody_{tag}")).unwrap();
    assert!(store.find_by_username(&name).await.unwrap().is_none());
}

/// A second account with the same address in other letter case is a typed conflict.
pub async fn duplicate_email_in_other_case_is_a_conflict<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let tag = unique_tag();
    let first = sample_user(&tag);
    store.create(&first).await.unwrap();
    let mut second = sample_user(&unique_tag());
    second.email = Email::parse(&first.email.as_str().to_uppercase()).unwrap();
    match store.create(&second).await {
        Err(StoreError::Conflict(UniqueField::Email)) => {}
        other => panic!("expected an e-mail conflict, got {other:?}"),
    }
    assert!(
        store.get(second.id).await.unwrap().is_none(),
        "nothing stored"
    );
}

/// A second account with the same username in other letter case is a typed conflict.
pub async fn duplicate_username_in_other_case_is_a_conflict<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let first = sample_user(&unique_tag());
    store.create(&first).await.unwrap();
    let mut second = sample_user(&unique_tag());
    second.username =
        Some(Username::parse(&first.username.as_ref().unwrap().as_str().to_uppercase()).unwrap());
    match store.create(&second).await {
        Err(StoreError::Conflict(UniqueField::Username)) => {}
        other => panic!("expected a username conflict, got {other:?}"),
    }
}

/// Keys are compared exactly, as [`Email::key`] and [`Username::key`] make them: addresses and
/// names that differ only by an accent, by `ß` against `ss`, or by a letter some collation
/// folds, are different users. (A database comparing its text case- or accent-insensitively
/// would refuse the second registration, and could find the first user for the second's
/// login.)
pub async fn keys_differing_only_by_accents_are_different_users<
    S: UserStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let tag = unique_tag();
    let pairs = [("cafe", "café"), ("strasse", "straße"), ("anna", "änna")];
    for (plain, marked) in pairs {
        let mut first = sample_user(&format!("{tag}a{plain}"));
        first.email = Email::parse(&format!("{plain}.{tag}@example.com")).unwrap();
        first.username = Some(Username::parse(&format!("{plain}_{tag}")).unwrap());
        let mut second = sample_user(&format!("{tag}b{plain}"));
        second.email = Email::parse(&format!("{marked}.{tag}@example.com")).unwrap();
        second.username = Some(Username::parse(&format!("{marked}_{tag}")).unwrap());
        store.create(&first).await.unwrap();
        store
            .create(&second)
            .await
            .unwrap_or_else(|err| panic!("{marked:?} is not {plain:?}: {err:?}"));
        for user in [&first, &second] {
            let by_email = store.find_by_email(&user.email).await.unwrap().unwrap();
            assert_eq!(by_email.id, user.id, "{}", user.email);
            let name = user.username.as_ref().unwrap();
            let by_name = store.find_by_username(name).await.unwrap().unwrap();
            assert_eq!(by_name.id, user.id, "{name:?}");
        }
    }
}

/// A conflict is named by the key that clashed, whatever the clashing value spells: an
/// address that contains the word `username_key` is still an e-mail conflict.
pub async fn a_conflict_is_named_by_its_key_not_by_the_value<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let tag = unique_tag();
    let mut first = sample_user(&format!("{tag}a"));
    first.email = Email::parse(&format!("username_key.{tag}@example.com")).unwrap();
    store.create(&first).await.unwrap();
    let mut second = sample_user(&format!("{tag}b"));
    second.email = first.email.clone();
    match store.create(&second).await {
        Err(StoreError::Conflict(UniqueField::Email)) => {}
        other => panic!("expected an e-mail conflict, got {other:?}"),
    }
    let mut third = sample_user(&format!("{tag}c"));
    third.username = Some(Username::parse(&format!("email_key_{tag}")).unwrap());
    store.create(&third).await.unwrap();
    let mut fourth = sample_user(&format!("{tag}d"));
    fourth.username = third.username.clone();
    match store.create(&fourth).await {
        Err(StoreError::Conflict(UniqueField::Username)) => {}
        other => panic!("expected a username conflict, got {other:?}"),
    }
}

/// Many users may have no username.
pub async fn users_without_username_do_not_collide<S: UserStore<TestProfile> + ?Sized>(store: &S) {
    for _ in 0..3 {
        let mut user = sample_user(&unique_tag());
        user.username = None;
        store.create(&user).await.unwrap();
        assert_eq!(store.get(user.id).await.unwrap().unwrap().username, None);
    }
}

/// 100 concurrent registrations of one address in different letter cases: exactly one row,
/// 99 conflicts, no other error.
pub async fn concurrent_registrations_of_one_email_have_one_winner<
    S: UserStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let tag = unique_tag();
    let users: Vec<User<TestProfile>> = (0..100)
        .map(|i| {
            let mut user = sample_user(&format!("{tag}{i}"));
            let local: String = format!("race.{tag}")
                .chars()
                .enumerate()
                .map(|(j, c)| {
                    if (i >> (j % 7)) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            user.email = Email::parse(&format!("{local}@Example.com")).unwrap();
            user.username = None;
            user
        })
        .collect();
    let results = join_all(users.iter().map(|user| store.create(user))).await;
    let mut won = 0;
    for result in results {
        match result {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(UniqueField::Email)) => {}
            Err(other) => panic!("expected success or an e-mail conflict, got {other:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one registration wins");
    let page = store
        .list(
            &UserQuery::default()
                .with_limit(100)
                .with_email_contains(format!("race.{tag}")),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1, "exactly one row");
}

/// An update replaces every field; the old address and username are free afterwards.
pub async fn update_replaces_fields_and_moves_the_indexes<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let mut user = sample_user(&unique_tag());
    store.create(&user).await.unwrap();
    let old_email = user.email.clone();
    let old_name = user.username.clone().unwrap();
    let tag = unique_tag();
    user.email = Email::parse(&format!("moved.{tag}@example.org")).unwrap();
    user.username = Some(Username::parse(&format!("moved_{tag}")).unwrap());
    user.password_hash = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3");
    user.is_active = false;
    user.is_superuser = true;
    user.is_verified = false;
    user.roles = Roles::from_iter(["admin"]);
    user.updated_at += Duration::seconds(60);
    user.profile = TestProfile {
        first_name: None,
        second_name: Some("Smith".to_owned()),
        age: 7,
    };
    store.update(&user).await.unwrap();
    assert_same(&store.get(user.id).await.unwrap().unwrap(), &user);
    assert!(store.find_by_email(&old_email).await.unwrap().is_none());
    assert!(store.find_by_username(&old_name).await.unwrap().is_none());
    assert_eq!(
        store.find_by_email(&user.email).await.unwrap().unwrap().id,
        user.id
    );
    let mut reuse = sample_user(&unique_tag());
    reuse.email = old_email;
    reuse.username = Some(old_name);
    store
        .create(&reuse)
        .await
        .expect("old address and name are free");
}

/// Moving to someone else's address or username is a typed conflict and changes nothing.
pub async fn update_to_a_taken_email_or_username_is_a_conflict<
    S: UserStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let first = sample_user(&unique_tag());
    let second = sample_user(&unique_tag());
    store.create(&first).await.unwrap();
    store.create(&second).await.unwrap();
    let mut moved = second.clone();
    moved.email = Email::parse(&first.email.key()).unwrap();
    match store.update(&moved).await {
        Err(StoreError::Conflict(UniqueField::Email)) => {}
        other => panic!("expected an e-mail conflict, got {other:?}"),
    }
    let mut renamed = second.clone();
    renamed.username = first.username.clone();
    match store.update(&renamed).await {
        Err(StoreError::Conflict(UniqueField::Username)) => {}
        other => panic!("expected a username conflict, got {other:?}"),
    }
    assert_same(&store.get(second.id).await.unwrap().unwrap(), &second);
}

/// Updating a user that does not exist is `NotFound` and creates nothing.
pub async fn update_of_a_missing_user_is_not_found<S: UserStore<TestProfile> + ?Sized>(store: &S) {
    let ghost = sample_user(&unique_tag());
    match store.update(&ghost).await {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(store.get(ghost.id).await.unwrap().is_none());
}

/// `update` writes only over the version it was given and stores the next one: a write
/// from a stale read is `Stale` and changes nothing.
pub async fn update_is_a_compare_and_set_on_the_version<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = sample_user(&unique_tag());
    store.create(&user).await.unwrap();
    let read = store.get(user.id).await.unwrap().unwrap();
    assert_eq!(read.version, 0, "a new user starts at version 0");
    let mut first = read.clone();
    first.profile.age = 1;
    store.update(&first).await.unwrap();
    let stored = store.get(user.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.profile.age, 1);
    let mut late = read;
    late.profile.age = 2;
    late.is_superuser = true;
    match store.update(&late).await {
        Err(StoreError::Stale) => {}
        other => panic!("a write from a stale read must be Stale, got {other:?}"),
    }
    let stored = store.get(user.id).await.unwrap().unwrap();
    assert_eq!(stored.profile.age, 1, "the stale write changed nothing");
    assert!(!stored.is_superuser);
    let mut next = stored;
    next.profile.age = 3;
    store.update(&next).await.unwrap();
    assert_eq!(store.get(user.id).await.unwrap().unwrap().version, 2);
}

/// Twenty writers that read the same version write in parallel: exactly one wins, the
/// others are `Stale`, and the stored user is the winner's.
pub async fn concurrent_conditional_updates_have_one_winner<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = sample_user(&unique_tag());
    store.create(&user).await.unwrap();
    let read = store.get(user.id).await.unwrap().unwrap();
    let writes: Vec<User<TestProfile>> = (0..20u32)
        .map(|age| {
            let mut write = read.clone();
            write.profile.age = 100 + age;
            write
        })
        .collect();
    let results = join_all(writes.iter().map(|write| store.update(write))).await;
    let mut winners = Vec::new();
    for (write, result) in writes.iter().zip(results) {
        match result {
            Ok(()) => winners.push(write.profile.age),
            Err(StoreError::Stale) => {}
            Err(other) => panic!("expected Ok or Stale, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one conditional update wins");
    let stored = store.get(user.id).await.unwrap().unwrap();
    assert_eq!(stored.profile.age, winners[0]);
    assert_eq!(stored.version, 1);
}

/// Deleting removes the user, frees the address, and says whether there was one.
pub async fn delete_removes_the_user_and_frees_the_email<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = sample_user(&unique_tag());
    store.create(&user).await.unwrap();
    assert!(store.delete(user.id).await.unwrap());
    assert!(!store.delete(user.id).await.unwrap());
    assert!(store.get(user.id).await.unwrap().is_none());
    assert!(store.find_by_email(&user.email).await.unwrap().is_none());
    let mut again = sample_user(&unique_tag());
    again.email = user.email.clone();
    store.create(&again).await.expect("the address is free");
}

/// Listing pages through the users in creation order, with the total of all matches.
pub async fn list_pages_in_creation_order_with_a_total<S: UserStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let tag = unique_tag();
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut user = sample_user(&format!("{tag}x{i}"));
        user.email = Email::parse(&format!("page{i}.{tag}@example.com")).unwrap();
        store.create(&user).await.unwrap();
        ids.push(user.id);
    }
    let query = |offset| {
        UserQuery::default()
            .with_limit(3)
            .with_offset(offset)
            .with_email_contains(tag.clone())
    };
    let mut seen = Vec::new();
    for offset in [0, 3, 6] {
        let page = store.list(&query(offset)).await.unwrap();
        assert_eq!(page.total, 7);
        seen.extend(page.items.iter().map(|user| user.id));
    }
    assert_eq!(seen, ids, "every user once, in creation order");
    let beyond = store.list(&query(50)).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 7);
}

/// The e-mail filter is a case-insensitive substring match.
pub async fn list_filters_by_email_substring_case_insensitively<
    S: UserStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let tag = unique_tag();
    let mut wanted = sample_user(&format!("{tag}a"));
    wanted.email = Email::parse(&format!("Wanted.{tag}@Example.com")).unwrap();
    let mut other = sample_user(&format!("{tag}b"));
    other.email = Email::parse(&format!("other.{tag}@example.com")).unwrap();
    store.create(&wanted).await.unwrap();
    store.create(&other).await.unwrap();
    let page = store
        .list(
            &UserQuery::default()
                .with_limit(10)
                .with_email_contains(format!("WANTED.{}", tag.to_uppercase())),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].id, wanted.id);
    // Characters that are wildcards in SQL are matched literally.
    let none = store
        .list(
            &UserQuery::default()
                .with_limit(10)
                .with_email_contains(format!("%{tag}_")),
        )
        .await
        .unwrap();
    assert_eq!(none.total, 0);
}
