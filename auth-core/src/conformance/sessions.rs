//! The [`SessionStore`] behaviours.

use std::net::{IpAddr, Ipv6Addr};

use futures::future::join_all;
use time::{Duration, OffsetDateTime};

use super::now_seconds;
use crate::{Renewal, Rotation, Session, SessionId, SessionStore, TokenHash, UserId};

/// A session of `user_id` created at `now`: idle expiry in one day, absolute in seven.
pub fn sample_session(user_id: UserId, now: OffsetDateTime) -> Session {
    let id = SessionId::random();
    Session {
        id,
        user_id,
        refresh_hash: TokenHash::of(id.as_uuid().as_bytes()),
        access_hash: Some(TokenHash::of(b"access")),
        created_at: now,
        last_used_at: now,
        idle_expires_at: now + Duration::days(1),
        expires_at: now + Duration::days(7),
        user_agent: Some("Mozilla/5.0 (conformance) ✓".to_owned()),
        ip: Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    }
}

fn renewal(secret: &[u8], now: OffsetDateTime) -> Renewal {
    Renewal {
        refresh_hash: TokenHash::of(secret),
        access_hash: None,
        now,
        idle_expires_at: now + Duration::days(1),
    }
}

/// Every field comes back as it went in.
pub async fn create_then_get_round_trips_every_field<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let session = sample_session(UserId::new(), now);
    store.create(&session).await.unwrap();
    assert_eq!(
        store.get(session.id, now).await.unwrap(),
        Some(session.clone())
    );
    assert!(store.is_live(session.id, now).await.unwrap());
    let mut bare = sample_session(UserId::new(), now);
    bare.access_hash = None;
    bare.user_agent = None;
    bare.ip = None;
    store.create(&bare).await.unwrap();
    assert_eq!(store.get(bare.id, now).await.unwrap(), Some(bare));
    assert!(store.get(SessionId::random(), now).await.unwrap().is_none());
}

/// Past its idle expiry, or its absolute expiry, a session is gone for every method.
pub async fn expired_sessions_are_gone<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    let idle = sample_session(user, now);
    store.create(&idle).await.unwrap();
    let after_idle = idle.idle_expires_at;
    assert!(store.get(idle.id, after_idle).await.unwrap().is_none());
    assert!(!store.is_live(idle.id, after_idle).await.unwrap());
    assert!(store.list(user, after_idle).await.unwrap().is_empty());
    let hash = idle.refresh_hash;
    assert_eq!(
        store
            .rotate(idle.id, &hash, &renewal(b"n", after_idle))
            .await
            .unwrap(),
        Rotation::NotFound
    );
    let mut absolute = sample_session(user, now);
    absolute.idle_expires_at = now + Duration::days(30);
    absolute.expires_at = now + Duration::hours(1);
    store.create(&absolute).await.unwrap();
    assert!(
        store
            .get(absolute.id, now + Duration::minutes(59))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .get(absolute.id, now + Duration::hours(1))
            .await
            .unwrap()
            .is_none()
    );
}

/// The current token rotates: the new digest is stored, `last_used_at` and the idle expiry
/// move, and the old digest no longer works.
pub async fn rotation_with_the_current_token_rotates<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let session = sample_session(UserId::new(), now);
    store.create(&session).await.unwrap();
    let later = now + Duration::hours(3);
    let mut next = renewal(b"second", later);
    next.access_hash = Some(TokenHash::of(b"second access"));
    let rotated = match store
        .rotate(session.id, &session.refresh_hash, &next)
        .await
        .unwrap()
    {
        Rotation::Rotated(rotated) => rotated,
        other => panic!("expected a rotation, got {other:?}"),
    };
    assert_eq!(rotated.refresh_hash, next.refresh_hash);
    assert_eq!(rotated.access_hash, next.access_hash);
    assert_eq!(rotated.last_used_at, later);
    assert_eq!(rotated.idle_expires_at, later + Duration::days(1));
    assert_eq!(rotated.created_at, session.created_at);
    assert_eq!(store.get(session.id, later).await.unwrap(), Some(rotated));
    let third = renewal(b"third", later);
    match store
        .rotate(session.id, &next.refresh_hash, &third)
        .await
        .unwrap()
    {
        Rotation::Rotated(_) => {}
        other => panic!("the new token must rotate, got {other:?}"),
    }
}

/// A renewal never extends a session past its absolute expiry.
pub async fn rotation_caps_the_idle_expiry_at_the_absolute_expiry<S: SessionStore + ?Sized>(
    store: &S,
) {
    let now = now_seconds();
    let session = sample_session(UserId::new(), now);
    store.create(&session).await.unwrap();
    let mut next = renewal(b"n", now + Duration::hours(12));
    next.idle_expires_at = now + Duration::days(60);
    match store
        .rotate(session.id, &session.refresh_hash, &next)
        .await
        .unwrap()
    {
        Rotation::Rotated(rotated) => assert_eq!(rotated.idle_expires_at, session.expires_at),
        other => panic!("expected a rotation, got {other:?}"),
    }
}

/// Presenting a token that was already used reports reuse and revokes the whole session.
pub async fn rotation_with_a_used_token_reports_reuse_and_revokes<S: SessionStore + ?Sized>(
    store: &S,
) {
    let now = now_seconds();
    let user = UserId::new();
    let session = sample_session(user, now);
    store.create(&session).await.unwrap();
    let next = renewal(b"next", now);
    assert!(matches!(
        store
            .rotate(session.id, &session.refresh_hash, &next)
            .await
            .unwrap(),
        Rotation::Rotated(_)
    ));
    assert_eq!(
        store
            .rotate(session.id, &session.refresh_hash, &renewal(b"x", now))
            .await
            .unwrap(),
        Rotation::Reused { user_id: user }
    );
    assert!(
        store.get(session.id, now).await.unwrap().is_none(),
        "revoked"
    );
    assert_eq!(
        store
            .rotate(session.id, &next.refresh_hash, &renewal(b"y", now))
            .await
            .unwrap(),
        Rotation::NotFound,
        "the newest token died with the session"
    );
}

/// Unknown and expired sessions do not rotate.
pub async fn rotation_of_unknown_or_expired_sessions_is_not_found<S: SessionStore + ?Sized>(
    store: &S,
) {
    let now = now_seconds();
    assert_eq!(
        store
            .rotate(
                SessionId::random(),
                &TokenHash::of(b"a"),
                &renewal(b"b", now)
            )
            .await
            .unwrap(),
        Rotation::NotFound
    );
}

/// 100 concurrent rotations with one token: exactly one wins.
pub async fn concurrent_rotations_with_one_token_have_one_winner<S: SessionStore + ?Sized>(
    store: &S,
) {
    let now = now_seconds();
    let session = sample_session(UserId::new(), now);
    store.create(&session).await.unwrap();
    let renewals: Vec<Renewal> = (0..100u32)
        .map(|i| renewal(&i.to_be_bytes(), now))
        .collect();
    let results = join_all(
        renewals
            .iter()
            .map(|next| store.rotate(session.id, &session.refresh_hash, next)),
    )
    .await;
    let mut winners = 0;
    for result in results {
        match result.unwrap() {
            Rotation::Rotated(_) => winners += 1,
            Rotation::Reused { .. } | Rotation::NotFound => {}
        }
    }
    assert_eq!(winners, 1, "exactly one rotation wins");
}

/// Revoking removes one session and says whether there was one.
pub async fn revoke_removes_one_session<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    let gone = sample_session(user, now);
    let kept = sample_session(user, now);
    store.create(&gone).await.unwrap();
    store.create(&kept).await.unwrap();
    assert!(store.revoke(gone.id).await.unwrap());
    assert!(!store.revoke(gone.id).await.unwrap());
    assert!(store.get(gone.id, now).await.unwrap().is_none());
    assert!(!store.is_live(gone.id, now).await.unwrap());
    assert!(store.get(kept.id, now).await.unwrap().is_some());
    assert!(store.is_live(kept.id, now).await.unwrap());
}

/// "Log out everywhere" revokes every session of one user and no one else's.
pub async fn revoke_all_leaves_other_users_alone<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let target = UserId::new();
    let bystander = UserId::new();
    let mine: Vec<Session> = (0..5).map(|_| sample_session(target, now)).collect();
    let theirs: Vec<Session> = (0..5).map(|_| sample_session(bystander, now)).collect();
    for session in mine.iter().chain(&theirs) {
        store.create(session).await.unwrap();
    }
    assert_eq!(store.revoke_all(target, None).await.unwrap(), 5);
    for session in &mine {
        assert!(store.get(session.id, now).await.unwrap().is_none());
        assert!(!store.is_live(session.id, now).await.unwrap());
    }
    for session in &theirs {
        assert!(store.get(session.id, now).await.unwrap().is_some());
        assert!(store.is_live(session.id, now).await.unwrap());
    }
    assert_eq!(store.list(bystander, now).await.unwrap().len(), 5);
    assert_eq!(store.revoke_all(target, None).await.unwrap(), 0);
}

/// `revoke_all` with `except` keeps that one session (a password change keeps the current
/// session alive).
pub async fn revoke_all_can_keep_one_session<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    let sessions: Vec<Session> = (0..3).map(|_| sample_session(user, now)).collect();
    for session in &sessions {
        store.create(session).await.unwrap();
    }
    assert_eq!(
        store.revoke_all(user, Some(sessions[1].id)).await.unwrap(),
        2
    );
    let left = store.list(user, now).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, sessions[1].id);
}

/// The list holds the user's live sessions, oldest first.
pub async fn list_returns_live_sessions_oldest_first<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    let mut created = Vec::new();
    for minutes in [30, 10, 20] {
        let mut session = sample_session(user, now - Duration::minutes(minutes));
        session.idle_expires_at = now + Duration::days(1);
        store.create(&session).await.unwrap();
        created.push(session);
    }
    let mut dead = sample_session(user, now - Duration::days(2));
    dead.idle_expires_at = now - Duration::days(1);
    store.create(&dead).await.unwrap();
    let listed: Vec<SessionId> = store
        .list(user, now)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![created[0].id, created[2].id, created[1].id]);
    assert!(store.list(UserId::new(), now).await.unwrap().is_empty());
}

/// Sweeping expired sessions never touches live ones.
pub async fn sweep_keeps_live_sessions<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    let live = sample_session(user, now);
    let mut dead = sample_session(user, now - Duration::days(3));
    dead.idle_expires_at = now - Duration::days(2);
    store.create(&live).await.unwrap();
    store.create(&dead).await.unwrap();
    store.sweep_expired(now).await.unwrap();
    assert!(store.get(live.id, now).await.unwrap().is_some());
    assert!(store.get(dead.id, now).await.unwrap().is_none());
    assert_eq!(store.list(user, now).await.unwrap().len(), 1);
}
