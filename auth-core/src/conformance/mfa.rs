//! The [`MfaStore`] behaviours.

use futures::future::join_all;
use time::Duration;

use super::users::sample_user;
use super::{TestProfile, now_seconds, unique_tag};
use crate::{MfaStore, PasskeyRecord, SealedToken, StoreError, TotpFactor, UniqueField};
use crate::{User, UserId};

/// A sealed TOTP secret: bytes no text column would keep (a NUL, invalid UTF-8), then `tag`.
pub fn sample_secret(tag: &str) -> SealedToken {
    SealedToken::from_bytes([&[0, 0xff, 0xfe, 0x80][..], tag.as_bytes()].concat())
}

/// `n` distinct recovery-code digests of 32 bytes each (a SHA-256 digest's length), unique to
/// this call.
pub fn sample_codes(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let a = uuid::Uuid::new_v4();
            let b = uuid::Uuid::new_v4();
            [a.as_bytes().as_slice(), b.as_bytes().as_slice()].concat()
        })
        .collect()
}

/// A passkey of `user_id` with this credential id, never used yet, created now (whole
/// seconds); its credential is JSON with a counter at 0 and a non-ASCII name.
pub fn sample_passkey(user_id: UserId, credential_id: &[u8]) -> PasskeyRecord {
    PasskeyRecord {
        id: uuid::Uuid::now_v7(),
        user_id,
        name: format!("Zoë's key {}", unique_tag()),
        credential_id: credential_id.to_vec(),
        credential: r#"{"cred":{"id":"AAEC","counter":0},"backup_eligible":true,"note":"clé"}"#
            .to_owned(),
        created_at: now_seconds(),
        last_used_at: None,
    }
}

/// A credential id unique to this call: bytes no text column would keep, then a tag.
pub fn sample_credential_id() -> Vec<u8> {
    [&[0, 0xff, 0x01, 0xc3][..], uuid::Uuid::new_v4().as_bytes()].concat()
}

/// A user created in `store`, for factors to go to.
async fn stored_user<S: MfaStore<TestProfile> + ?Sized>(store: &S) -> User<TestProfile> {
    let user = sample_user(&unique_tag());
    store.create(&user).await.unwrap();
    user
}

/// A user with a confirmed factor of `secret`, step 1000 accepted, and `codes`.
async fn confirmed_user<S: MfaStore<TestProfile> + ?Sized>(
    store: &S,
    codes: &[Vec<u8>],
) -> User<TestProfile> {
    let user = stored_user(store).await;
    let secret = sample_secret(&unique_tag());
    assert!(
        store
            .set_pending_totp(user.id, &secret, now_seconds())
            .await
            .unwrap()
    );
    assert!(
        store
            .confirm_totp(user.id, &secret, 1000, codes)
            .await
            .unwrap()
    );
    user
}

/// A pending factor comes back as it went in: the sealed secret byte for byte, not
/// confirmed, no step accepted, created when set. A user without one has none.
pub async fn a_pending_totp_round_trips<S: MfaStore<TestProfile> + ?Sized>(store: &S) {
    let user = stored_user(store).await;
    assert_eq!(store.totp(user.id).await.unwrap(), None);
    let secret = sample_secret(&unique_tag());
    let now = now_seconds();
    assert!(store.set_pending_totp(user.id, &secret, now).await.unwrap());
    assert_eq!(
        store.totp(user.id).await.unwrap(),
        Some(TotpFactor {
            secret,
            confirmed: false,
            last_step: None,
            created_at: now,
        })
    );
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 0);
    assert_eq!(store.totp(UserId::new()).await.unwrap(), None);
}

/// `set_pending_totp` replaces a pending factor (secret and creation time); once the factor
/// is confirmed it answers `false` and changes nothing.
pub async fn set_pending_replaces_a_pending_factor_but_not_a_confirmed_one<
    S: MfaStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let user = stored_user(store).await;
    let first = sample_secret(&unique_tag());
    let second = sample_secret(&unique_tag());
    let now = now_seconds();
    assert!(store.set_pending_totp(user.id, &first, now).await.unwrap());
    let later = now + Duration::minutes(2);
    assert!(
        store
            .set_pending_totp(user.id, &second, later)
            .await
            .unwrap(),
        "a pending factor is replaced"
    );
    let pending = store.totp(user.id).await.unwrap().expect("a factor");
    assert_eq!(pending.secret, second);
    assert!(!pending.confirmed);
    assert_eq!(pending.last_step, None);
    assert_eq!(pending.created_at, later);
    assert!(
        store
            .set_pending_totp(user.id, &second, later)
            .await
            .unwrap(),
        "the same secret again is still a pending factor replaced"
    );

    let codes = sample_codes(3);
    assert!(
        store
            .confirm_totp(user.id, &second, 77, &codes)
            .await
            .unwrap()
    );
    let confirmed = store.totp(user.id).await.unwrap().expect("a factor");
    let third = sample_secret(&unique_tag());
    assert!(
        !store
            .set_pending_totp(user.id, &third, later + Duration::minutes(1))
            .await
            .unwrap(),
        "a confirmed factor is left alone"
    );
    assert_eq!(store.totp(user.id).await.unwrap(), Some(confirmed));
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 3);
}

/// `set_pending_totp` for a user that does not exist is `NotFound` and stores nothing.
pub async fn set_pending_for_a_missing_user_is_not_found<S: MfaStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let ghost = UserId::new();
    match store
        .set_pending_totp(ghost, &sample_secret("ghost"), now_seconds())
        .await
    {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(store.totp(ghost).await.unwrap(), None);
}

/// Confirming the pending factor with its secret confirms it, accepts the step and stores the
/// recovery codes.
pub async fn confirm_accepts_the_step_and_stores_the_codes<S: MfaStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = stored_user(store).await;
    let secret = sample_secret(&unique_tag());
    let now = now_seconds();
    assert!(store.set_pending_totp(user.id, &secret, now).await.unwrap());
    let codes = sample_codes(10);
    assert!(
        store
            .confirm_totp(user.id, &secret, 58_000_123, &codes)
            .await
            .unwrap()
    );
    assert_eq!(
        store.totp(user.id).await.unwrap(),
        Some(TotpFactor {
            secret,
            confirmed: true,
            last_step: Some(58_000_123),
            created_at: now,
        })
    );
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 10);
    for code in &codes {
        assert!(store.use_recovery_code(user.id, code).await.unwrap());
    }
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 0);
}

/// Confirming with another secret than the pending one (one replaced meanwhile) is `false`
/// and changes nothing: the factor stays pending, no codes are stored. With no factor at all,
/// or for a user that does not exist, it is `false` too.
pub async fn confirm_with_a_stale_secret_is_refused<S: MfaStore<TestProfile> + ?Sized>(store: &S) {
    let user = stored_user(store).await;
    let codes = sample_codes(4);
    let stale = sample_secret(&unique_tag());
    assert!(
        !store
            .confirm_totp(user.id, &stale, 5, &codes)
            .await
            .unwrap(),
        "no factor yet"
    );
    let now = now_seconds();
    assert!(store.set_pending_totp(user.id, &stale, now).await.unwrap());
    let current = sample_secret(&unique_tag());
    assert!(
        store
            .set_pending_totp(user.id, &current, now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .confirm_totp(user.id, &stale, 5, &codes)
            .await
            .unwrap(),
        "the replaced secret"
    );
    let mut prefix = current.as_bytes().to_vec();
    prefix.pop();
    assert!(
        !store
            .confirm_totp(user.id, &SealedToken::from_bytes(prefix), 5, &codes)
            .await
            .unwrap(),
        "a prefix of the secret"
    );
    assert_eq!(
        store.totp(user.id).await.unwrap(),
        Some(TotpFactor {
            secret: current.clone(),
            confirmed: false,
            last_step: None,
            created_at: now,
        })
    );
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 0);
    assert!(
        !store
            .confirm_totp(UserId::new(), &current, 5, &codes)
            .await
            .unwrap(),
        "a missing user"
    );
}

/// A factor is confirmed once: a second confirmation is `false` and keeps the step and the
/// codes of the first.
pub async fn confirming_twice_is_refused_the_second_time<S: MfaStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = stored_user(store).await;
    let secret = sample_secret(&unique_tag());
    assert!(
        store
            .set_pending_totp(user.id, &secret, now_seconds())
            .await
            .unwrap()
    );
    let first_codes = sample_codes(2);
    assert!(
        store
            .confirm_totp(user.id, &secret, 100, &first_codes)
            .await
            .unwrap()
    );
    let before = store.totp(user.id).await.unwrap();
    let second_codes = sample_codes(5);
    assert!(
        !store
            .confirm_totp(user.id, &secret, 200, &second_codes)
            .await
            .unwrap()
    );
    assert_eq!(store.totp(user.id).await.unwrap(), before);
    assert_eq!(before.and_then(|factor| factor.last_step), Some(100));
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 2);
    assert!(
        !store
            .use_recovery_code(user.id, &second_codes[0])
            .await
            .unwrap(),
        "the second confirmation's codes were not stored"
    );
    assert!(
        store
            .use_recovery_code(user.id, &first_codes[0])
            .await
            .unwrap()
    );
}

/// `use_totp_step` accepts only a step later than the last accepted one, and only for a
/// confirmed factor.
pub async fn use_totp_step_accepts_only_later_steps<S: MfaStore<TestProfile> + ?Sized>(store: &S) {
    let user = confirmed_user(store, &[]).await;
    for (step, accepted) in [
        (1000, false),
        (999, false),
        (-1, false),
        (1001, true),
        (1001, false),
        (1005, true),
        (1003, false),
        (1006, true),
    ] {
        assert_eq!(
            store.use_totp_step(user.id, step).await.unwrap(),
            accepted,
            "step {step}"
        );
    }
    assert_eq!(
        store
            .totp(user.id)
            .await
            .unwrap()
            .and_then(|factor| factor.last_step),
        Some(1006)
    );

    let pending = stored_user(store).await;
    let secret = sample_secret(&unique_tag());
    assert!(
        store
            .set_pending_totp(pending.id, &secret, now_seconds())
            .await
            .unwrap()
    );
    assert!(
        !store.use_totp_step(pending.id, 5).await.unwrap(),
        "an unconfirmed factor accepts no code"
    );
    let factor = store.totp(pending.id).await.unwrap().expect("a factor");
    assert!(!factor.confirmed);
    assert_eq!(factor.last_step, None);

    let bare = stored_user(store).await;
    assert!(!store.use_totp_step(bare.id, 5).await.unwrap(), "no factor");
    assert!(
        !store.use_totp_step(UserId::new(), 5).await.unwrap(),
        "no user"
    );
}

/// Twenty submissions of one code (one step) at once: exactly one is accepted (three rounds).
pub async fn concurrent_uses_of_one_step_have_one_winner<S: MfaStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = confirmed_user(store, &[]).await;
    for round in 1..=3 {
        let step = 1000 + round;
        let results = join_all((0..20).map(|_| store.use_totp_step(user.id, step))).await;
        let accepted = results
            .into_iter()
            .map(Result::unwrap)
            .filter(|accepted| *accepted)
            .count();
        assert_eq!(accepted, 1, "exactly one submission of step {step} wins");
        assert_eq!(
            store
                .totp(user.id)
                .await
                .unwrap()
                .and_then(|factor| factor.last_step),
            Some(step)
        );
    }
}

/// `remove_totp` removes the factor and the recovery codes, and only the user's; removing
/// again is `false`.
pub async fn remove_totp_removes_the_factor_and_the_codes<S: MfaStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = confirmed_user(store, &sample_codes(3)).await;
    let bystander = confirmed_user(store, &sample_codes(2)).await;
    let kept = store.totp(bystander.id).await.unwrap();
    assert!(store.remove_totp(user.id).await.unwrap());
    assert_eq!(store.totp(user.id).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 0);
    assert!(
        !store.remove_totp(user.id).await.unwrap(),
        "already removed"
    );
    assert!(!store.remove_totp(UserId::new()).await.unwrap(), "no user");
    assert_eq!(store.totp(bystander.id).await.unwrap(), kept);
    assert_eq!(store.recovery_codes_left(bystander.id).await.unwrap(), 2);

    // A pending factor is a factor too, and enrolment can start over.
    let secret = sample_secret(&unique_tag());
    assert!(
        store
            .set_pending_totp(user.id, &secret, now_seconds())
            .await
            .unwrap()
    );
    assert!(store.remove_totp(user.id).await.unwrap());
    assert_eq!(store.totp(user.id).await.unwrap(), None);
}

/// `replace_recovery_codes` voids every earlier code; an empty set leaves none. Codes for a
/// user that does not exist are `NotFound`.
pub async fn replace_recovery_codes_voids_the_old_ones<S: MfaStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let old = sample_codes(2);
    let user = confirmed_user(store, &old).await;
    let new = sample_codes(3);
    store.replace_recovery_codes(user.id, &new).await.unwrap();
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 3);
    for code in &old {
        assert!(!store.use_recovery_code(user.id, code).await.unwrap());
    }
    assert!(store.use_recovery_code(user.id, &new[1]).await.unwrap());
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 2);
    store.replace_recovery_codes(user.id, &[]).await.unwrap();
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 0);
    assert!(!store.use_recovery_code(user.id, &new[0]).await.unwrap());
    assert!(
        store.totp(user.id).await.unwrap().is_some(),
        "the factor stays"
    );

    let ghost = UserId::new();
    match store.replace_recovery_codes(ghost, &sample_codes(1)).await {
        Err(StoreError::NotFound) => {}
        other => panic!("codes for a missing user: expected NotFound, got {other:?}"),
    }
    assert_eq!(store.recovery_codes_left(ghost).await.unwrap(), 0);
}

/// A recovery code is accepted once, and only from its own user: the same digest held by
/// two users is two codes.
pub async fn a_recovery_code_is_used_once_and_only_by_its_user<
    S: MfaStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let codes = sample_codes(3);
    let user = confirmed_user(store, &codes).await;
    let other = confirmed_user(store, &codes[..1]).await;
    let stranger = stored_user(store).await;
    assert!(
        !store
            .use_recovery_code(stranger.id, &codes[0])
            .await
            .unwrap(),
        "another user's code"
    );
    assert!(
        !store
            .use_recovery_code(user.id, &codes[0][..31])
            .await
            .unwrap(),
        "a prefix"
    );
    assert!(store.use_recovery_code(user.id, &codes[0]).await.unwrap());
    assert!(
        !store.use_recovery_code(user.id, &codes[0]).await.unwrap(),
        "used already"
    );
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 2);
    assert_eq!(
        store.recovery_codes_left(other.id).await.unwrap(),
        1,
        "the other user's copy stays"
    );
    assert!(store.use_recovery_code(other.id, &codes[0]).await.unwrap());
}

/// Twenty submissions of one recovery code at once: exactly one is accepted (three rounds).
pub async fn concurrent_uses_of_one_recovery_code_have_one_winner<
    S: MfaStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let codes = sample_codes(4);
    let user = confirmed_user(store, &codes).await;
    for (round, code) in codes.iter().take(3).enumerate() {
        let results = join_all((0..20).map(|_| store.use_recovery_code(user.id, code))).await;
        let accepted = results
            .into_iter()
            .map(Result::unwrap)
            .filter(|accepted| *accepted)
            .count();
        assert_eq!(accepted, 1, "exactly one submission wins (round {round})");
    }
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 1);
}

/// Passkeys come back as they went in (bytes, JSON text, times), listed oldest first and only
/// the user's, and are found by their credential id, exactly: a prefix or a longer id finds
/// nothing. A credential id may be 1023 bytes long.
pub async fn passkeys_round_trip_oldest_first<S: MfaStore<TestProfile> + ?Sized>(store: &S) {
    let user = stored_user(store).await;
    let other = stored_user(store).await;
    let now = now_seconds();
    let at = |created_at| {
        let mut passkey = sample_passkey(user.id, &sample_credential_id());
        passkey.created_at = created_at;
        passkey
    };
    let oldest = at(now - Duration::days(3));
    let mut middle = at(now - Duration::hours(1));
    middle.last_used_at = Some(now - Duration::minutes(5));
    let mut newest = at(now);
    newest.credential_id =
        [newest.credential_id.clone(), vec![0xab; 1023]].concat()[..1023].to_vec();
    for passkey in [&newest, &oldest, &middle] {
        store.add_passkey(passkey).await.unwrap();
    }
    let theirs = sample_passkey(other.id, &sample_credential_id());
    store.add_passkey(&theirs).await.unwrap();

    assert_eq!(
        store.passkeys(user.id).await.unwrap(),
        vec![oldest.clone(), middle.clone(), newest.clone()]
    );
    assert_eq!(store.passkeys(other.id).await.unwrap(), vec![theirs]);
    assert!(store.passkeys(UserId::new()).await.unwrap().is_empty());
    for passkey in [&oldest, &middle, &newest] {
        assert_eq!(
            store
                .passkey_by_credential(&passkey.credential_id)
                .await
                .unwrap()
                .as_ref(),
            Some(passkey)
        );
    }
    let id = &middle.credential_id;
    for near in [
        id[..id.len() - 1].to_vec(),
        [id.as_slice(), &[0]].concat(),
        [id.as_slice(), b" "].concat(),
    ] {
        assert_eq!(
            store.passkey_by_credential(&near).await.unwrap(),
            None,
            "{near:?} is not {id:?}"
        );
    }
}

/// `update_passkey` replaces the stored credential and `last_used_at` and keeps the rest; a
/// passkey the user does not hold (another user's, or none) is `NotFound` and unchanged.
pub async fn update_passkey_replaces_the_credential_and_last_use<
    S: MfaStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let user = stored_user(store).await;
    let other = stored_user(store).await;
    let passkey = sample_passkey(user.id, &sample_credential_id());
    store.add_passkey(&passkey).await.unwrap();

    let mut used = passkey.clone();
    used.credential = r#"{"cred":{"id":"AAEC","counter":41},"backup_eligible":true}"#.to_owned();
    used.last_used_at = Some(passkey.created_at + Duration::minutes(9));
    used.name = "renamed".to_owned();
    used.created_at += Duration::days(1);
    store.update_passkey(&used).await.unwrap();
    let mut expected = used.clone();
    expected.name.clone_from(&passkey.name);
    expected.created_at = passkey.created_at;
    assert_eq!(
        store
            .passkey_by_credential(&passkey.credential_id)
            .await
            .unwrap(),
        Some(expected.clone()),
        "the name and creation time are kept"
    );

    let mut hijack = used.clone();
    hijack.user_id = other.id;
    hijack.credential = "{}".to_owned();
    match store.update_passkey(&hijack).await {
        Err(StoreError::NotFound) => {}
        other => panic!("another user's passkey: expected NotFound, got {other:?}"),
    }
    let mut missing = used.clone();
    missing.id = uuid::Uuid::now_v7();
    match store.update_passkey(&missing).await {
        Err(StoreError::NotFound) => {}
        other => panic!("a missing passkey: expected NotFound, got {other:?}"),
    }
    assert_eq!(store.passkeys(user.id).await.unwrap(), vec![expected]);
    assert!(store.passkeys(other.id).await.unwrap().is_empty());
}

/// `remove_passkey` removes the user's own passkey; another user's, an unknown one, or one
/// already removed is `false` and changes nothing.
pub async fn remove_passkey_removes_only_the_users_own<S: MfaStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = stored_user(store).await;
    let other = stored_user(store).await;
    let first = sample_passkey(user.id, &sample_credential_id());
    let second = sample_passkey(user.id, &sample_credential_id());
    store.add_passkey(&first).await.unwrap();
    store.add_passkey(&second).await.unwrap();

    assert!(!store.remove_passkey(other.id, first.id).await.unwrap());
    assert!(
        !store
            .remove_passkey(user.id, uuid::Uuid::now_v7())
            .await
            .unwrap()
    );
    assert_eq!(store.passkeys(user.id).await.unwrap().len(), 2);
    assert!(store.remove_passkey(user.id, first.id).await.unwrap());
    assert!(
        !store.remove_passkey(user.id, first.id).await.unwrap(),
        "already removed"
    );
    assert_eq!(
        store
            .passkey_by_credential(&first.credential_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.passkeys(user.id).await.unwrap(), vec![second]);
    // Its credential id is free again.
    let again = sample_passkey(other.id, &first.credential_id);
    store.add_passkey(&again).await.unwrap();
}

/// A credential id is registered once, across all users: another user's registration of it,
/// or the holder's own second one, is a passkey conflict and stores nothing.
pub async fn a_credential_id_is_unique_across_users<S: MfaStore<TestProfile> + ?Sized>(store: &S) {
    let holder = stored_user(store).await;
    let other = stored_user(store).await;
    let credential_id = sample_credential_id();
    let passkey = sample_passkey(holder.id, &credential_id);
    store.add_passkey(&passkey).await.unwrap();
    for user in [&other, &holder] {
        let clash = sample_passkey(user.id, &credential_id);
        match store.add_passkey(&clash).await {
            Err(StoreError::Conflict(UniqueField::Passkey)) => {}
            result => panic!("expected a passkey conflict, got {result:?}"),
        }
    }
    assert!(store.passkeys(other.id).await.unwrap().is_empty());
    assert_eq!(store.passkeys(holder.id).await.unwrap(), vec![passkey]);
}

/// Twenty users register one credential id at once: exactly one wins, every other gets a
/// passkey conflict, and the passkey is the winner's.
pub async fn concurrent_adds_of_one_credential_have_one_winner<
    S: MfaStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    let mut users = Vec::new();
    for _ in 0..20 {
        users.push(stored_user(store).await);
    }
    let credential_id = sample_credential_id();
    let passkeys: Vec<PasskeyRecord> = users
        .iter()
        .map(|user| sample_passkey(user.id, &credential_id))
        .collect();
    let results = join_all(passkeys.iter().map(|passkey| store.add_passkey(passkey))).await;
    let mut winners = Vec::new();
    for (passkey, result) in passkeys.iter().zip(results) {
        match result {
            Ok(()) => winners.push(passkey.user_id),
            Err(StoreError::Conflict(UniqueField::Passkey)) => {}
            Err(other) => panic!("expected Ok or a passkey conflict, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one registration wins");
    let found = store.passkey_by_credential(&credential_id).await.unwrap();
    assert_eq!(found.map(|passkey| passkey.user_id), Some(winners[0]));
    let mut held = 0;
    for user in &users {
        held += store.passkeys(user.id).await.unwrap().len();
    }
    assert_eq!(held, 1, "one passkey in all");
}

/// Registering a passkey for a user that does not exist is `NotFound` and stores nothing.
pub async fn adding_a_passkey_for_a_missing_user_is_not_found<S: MfaStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let ghost = UserId::new();
    let passkey = sample_passkey(ghost, &sample_credential_id());
    match store.add_passkey(&passkey).await {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(
        store
            .passkey_by_credential(&passkey.credential_id)
            .await
            .unwrap(),
        None
    );
    assert!(store.passkeys(ghost).await.unwrap().is_empty());
}

/// `remove_all_factors` removes the TOTP factor (one), every passkey (one each) and the
/// recovery codes (none), and only the user's; then nothing is left to count.
pub async fn remove_all_factors_counts_and_leaves_nothing<S: MfaStore<TestProfile> + ?Sized>(
    store: &S,
) {
    let user = confirmed_user(store, &sample_codes(5)).await;
    for _ in 0..2 {
        store
            .add_passkey(&sample_passkey(user.id, &sample_credential_id()))
            .await
            .unwrap();
    }
    let bystander = confirmed_user(store, &sample_codes(1)).await;
    let kept = sample_passkey(bystander.id, &sample_credential_id());
    store.add_passkey(&kept).await.unwrap();

    assert_eq!(store.remove_all_factors(user.id).await.unwrap(), 3);
    assert_eq!(store.totp(user.id).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 0);
    assert!(store.passkeys(user.id).await.unwrap().is_empty());
    assert_eq!(store.remove_all_factors(user.id).await.unwrap(), 0);

    assert!(store.totp(bystander.id).await.unwrap().is_some());
    assert_eq!(store.recovery_codes_left(bystander.id).await.unwrap(), 1);
    assert_eq!(store.passkeys(bystander.id).await.unwrap(), vec![kept]);

    // A pending factor counts one; codes alone count none, and go.
    let pending = stored_user(store).await;
    let secret = sample_secret(&unique_tag());
    assert!(
        store
            .set_pending_totp(pending.id, &secret, now_seconds())
            .await
            .unwrap()
    );
    assert_eq!(store.remove_all_factors(pending.id).await.unwrap(), 1);
    let codes_only = stored_user(store).await;
    store
        .replace_recovery_codes(codes_only.id, &sample_codes(2))
        .await
        .unwrap();
    assert_eq!(store.remove_all_factors(codes_only.id).await.unwrap(), 0);
    assert_eq!(store.recovery_codes_left(codes_only.id).await.unwrap(), 0);
    assert_eq!(store.remove_all_factors(UserId::new()).await.unwrap(), 0);
}

/// Deleting a user deletes their TOTP factor, recovery codes and passkeys; their credential
/// ids can then be registered by someone else, and other users' factors stay.
pub async fn deleting_a_user_deletes_their_factors<S: MfaStore<TestProfile> + ?Sized>(store: &S) {
    let codes = sample_codes(3);
    let user = confirmed_user(store, &codes).await;
    let passkey = sample_passkey(user.id, &sample_credential_id());
    store.add_passkey(&passkey).await.unwrap();
    let bystander = confirmed_user(store, &codes).await;
    let kept = sample_passkey(bystander.id, &sample_credential_id());
    store.add_passkey(&kept).await.unwrap();

    assert!(store.delete(user.id).await.unwrap());
    assert_eq!(store.totp(user.id).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 0);
    assert!(store.passkeys(user.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .passkey_by_credential(&passkey.credential_id)
            .await
            .unwrap(),
        None
    );

    assert!(store.totp(bystander.id).await.unwrap().is_some());
    assert_eq!(store.recovery_codes_left(bystander.id).await.unwrap(), 3);
    assert_eq!(store.passkeys(bystander.id).await.unwrap(), vec![kept]);

    let next = stored_user(store).await;
    let moved = sample_passkey(next.id, &passkey.credential_id);
    store
        .add_passkey(&moved)
        .await
        .expect("the credential id is free again");
    // The deleted user's id gets nothing back.
    let recreated = User {
        id: user.id,
        ..sample_user(&unique_tag())
    };
    store.create(&recreated).await.unwrap();
    assert_eq!(store.totp(user.id).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(user.id).await.unwrap(), 0);
    assert!(store.passkeys(user.id).await.unwrap().is_empty());
}

/// Enrolment steps of one user racing each other (confirmations, restarts of enrolment with
/// another secret, replacements of the recovery codes, removals) all succeed, none failing
/// on a lock the others hold (a deadlock), and at most one confirmation wins (three rounds).
pub async fn concurrent_enrolment_steps_of_one_user_all_succeed<
    S: MfaStore<TestProfile> + ?Sized,
>(
    store: &S,
) {
    for _ in 0..3 {
        let user = stored_user(store).await;
        let secret = sample_secret(&unique_tag());
        assert!(
            store
                .set_pending_totp(user.id, &secret, now_seconds())
                .await
                .unwrap()
        );
        let codes = sample_codes(8);
        let confirms =
            join_all((0..8).map(|i| {
                store.confirm_totp(user.id, &secret, 1000, std::slice::from_ref(&codes[i]))
            }));
        // Restarts with another secret: only the first pending factor can be confirmed.
        let other = sample_secret(&unique_tag());
        let restarts =
            join_all((0..8).map(|_| store.set_pending_totp(user.id, &other, now_seconds())));
        let replacements = join_all(
            codes
                .chunks(2)
                .map(|pair| store.replace_recovery_codes(user.id, pair)),
        );
        let removals = join_all((0..2).map(|_| store.remove_all_factors(user.id)));
        let (confirms, restarts, replacements, removals) =
            futures::join!(confirms, restarts, replacements, removals);
        let mut confirmed = 0;
        for result in confirms {
            confirmed += usize::from(result.expect("a confirmation fails on no lock"));
        }
        assert!(confirmed <= 1, "at most one confirmation wins");
        for result in restarts {
            result.expect("a restart of enrolment fails on no lock");
        }
        for result in replacements {
            result.expect("a replacement of the codes fails on no lock");
        }
        for result in removals {
            result.expect("a removal fails on no lock");
        }
    }
}
