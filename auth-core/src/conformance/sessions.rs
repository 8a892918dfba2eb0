//! The [`SessionStore`] behaviours.

use std::net::{IpAddr, Ipv6Addr};

use futures::future::join_all;
use time::{Duration, OffsetDateTime};

use super::now_seconds;
use crate::{
    Admission, Admitted, REMEMBERED_ROTATIONS, Renewal, Rotation, Session, SessionId, SessionStore,
    TokenHash, UserId,
};

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

/// Stores `session` with its user's current mark and no session limit; it must be admitted.
pub async fn admit<S: SessionStore + ?Sized>(store: &S, session: &Session) {
    let mark = store.mark(session.user_id).await.unwrap();
    let admission = Admission {
        mark,
        max_sessions: None,
    };
    assert_eq!(
        store.create(session, &admission).await.unwrap(),
        Admitted::Created { evicted: vec![] },
        "a session with the current mark and no limit is admitted"
    );
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
    admit(store, &session).await;
    assert_eq!(
        store.get(session.id, now).await.unwrap(),
        Some(session.clone())
    );
    assert!(store.is_live(session.id, now).await.unwrap());
    let mut bare = sample_session(UserId::new(), now);
    bare.access_hash = None;
    bare.user_agent = None;
    bare.ip = None;
    admit(store, &bare).await;
    assert_eq!(store.get(bare.id, now).await.unwrap(), Some(bare));
    assert!(store.get(SessionId::random(), now).await.unwrap().is_none());
}

/// Past its idle expiry, or its absolute expiry, a session is gone for every method.
pub async fn expired_sessions_are_gone<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    let idle = sample_session(user, now);
    admit(store, &idle).await;
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
    admit(store, &absolute).await;
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
    admit(store, &session).await;
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
    admit(store, &session).await;
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
    admit(store, &session).await;
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
    admit(store, &session).await;
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
    admit(store, &gone).await;
    admit(store, &kept).await;
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
        admit(store, session).await;
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
        admit(store, session).await;
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
        admit(store, &session).await;
        created.push(session);
    }
    let mut dead = sample_session(user, now - Duration::days(2));
    dead.idle_expires_at = now - Duration::days(1);
    admit(store, &dead).await;
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

/// A store that counts live sessions counts exactly those live at the time asked about, of
/// every user: an expired session, a revoked one and one evicted by the limit do not count. A
/// store that cannot count cheaply answers `None`, always.
pub async fn live_sessions_are_counted<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let Some(before) = store.count_live(now).await.unwrap() else {
        assert_eq!(
            store.count_live(now + Duration::days(1)).await.unwrap(),
            None,
            "a store that cannot count never can"
        );
        return;
    };
    assert_eq!(before, 0, "a fresh store has no session");
    let (alice, bob) = (UserId::new(), UserId::new());
    let mut sessions = Vec::new();
    for user in [alice, alice, bob] {
        let session = sample_session(user, now);
        admit(store, &session).await;
        sessions.push(session);
    }
    let mut dead = sample_session(bob, now - Duration::days(3));
    dead.idle_expires_at = now - Duration::days(2);
    admit(store, &dead).await;
    assert_eq!(store.count_live(now).await.unwrap(), Some(before + 3));
    assert_eq!(
        store.count_live(now + Duration::days(2)).await.unwrap(),
        Some(0),
        "in two days every idle expiry has passed"
    );
    assert!(store.revoke(sessions[0].id).await.unwrap());
    assert_eq!(store.count_live(now).await.unwrap(), Some(before + 2));
    let mark = store.mark(bob).await.unwrap();
    let admitted = store
        .create(
            &sample_session(bob, now),
            &Admission {
                mark,
                max_sessions: Some(1),
            },
        )
        .await
        .unwrap();
    assert!(matches!(admitted, Admitted::Created { .. }), "{admitted:?}");
    assert_eq!(
        store.count_live(now).await.unwrap(),
        Some(before + 2),
        "the new session of bob evicted his old one"
    );
    assert_eq!(store.revoke_all(alice, None).await.unwrap(), 1);
    assert_eq!(store.count_live(now).await.unwrap(), Some(before + 1));
}

/// Sweeping deletes expired sessions (the row itself: it is not found even when asked about
/// a time it was live) and counts them, and never touches live ones. A store whose backend
/// expires rows by itself may count zero, but the row must be gone all the same.
pub async fn sweep_deletes_expired_sessions_and_keeps_live_ones<S: SessionStore + ?Sized>(
    store: &S,
) {
    let now = now_seconds();
    let user = UserId::new();
    let live = sample_session(user, now);
    let born = now - Duration::days(3);
    let mut dead = sample_session(user, born);
    dead.idle_expires_at = now - Duration::days(2);
    admit(store, &live).await;
    admit(store, &dead).await;
    assert!(
        store.get(live.id, born).await.unwrap().is_some(),
        "positive control: asked about an earlier time, a stored row is found (so the absence \
         of the dead one below means its row is gone, not hidden by the time)"
    );
    // Give a backend with its own expiry (a TTL) the moment it needs.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let swept = store.sweep_expired(now).await.unwrap();
    assert!(
        swept <= 1,
        "only the dead session may be swept, swept {swept}"
    );
    assert!(
        store.get(dead.id, born).await.unwrap().is_none(),
        "the expired row is gone (swept {swept})"
    );
    assert!(store.get(live.id, now).await.unwrap().is_some());
    assert_eq!(store.list(user, now).await.unwrap().len(), 1);
    let again = store.sweep_expired(now).await.unwrap();
    assert_eq!(again, 0, "nothing left to sweep");
}

/// `revoke_all` moves the user's mark, even when the user has no session, and only that
/// user's; a session offered with the old mark is refused and not stored.
pub async fn creation_with_a_moved_mark_is_refused<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    let bystander = UserId::new();
    let before = store.mark(user).await.unwrap();
    let theirs = store.mark(bystander).await.unwrap();
    store.revoke_all(user, None).await.unwrap();
    let after = store.mark(user).await.unwrap();
    assert_ne!(before, after, "revoke_all moves the mark without sessions");
    assert_eq!(store.mark(bystander).await.unwrap(), theirs);
    let session = sample_session(user, now);
    let stale = Admission {
        mark: before,
        max_sessions: None,
    };
    assert_eq!(
        store.create(&session, &stale).await.unwrap(),
        Admitted::StaleMark
    );
    assert!(store.get(session.id, now).await.unwrap().is_none());
    assert!(store.list(user, now).await.unwrap().is_empty());
    let fresh = Admission {
        mark: after,
        max_sessions: None,
    };
    assert!(matches!(
        store.create(&session, &fresh).await.unwrap(),
        Admitted::Created { .. }
    ));
    assert!(store.get(session.id, now).await.unwrap().is_some());
}

/// Logins racing a "revoke everything": 50 creations with the mark read before, in parallel
/// with one `revoke_all`. Whatever the interleaving, no session survives: each was either
/// created before the revocation (and revoked with the others) or refused.
pub async fn creations_racing_revoke_all_leave_no_session<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    for _ in 0..3 {
        let mark = store.mark(user).await.unwrap();
        let admission = Admission {
            mark,
            max_sessions: None,
        };
        let sessions: Vec<Session> = (0..50).map(|_| sample_session(user, now)).collect();
        let creations = join_all(sessions.iter().map(|s| store.create(s, &admission)));
        let revocation = async {
            tokio::task::yield_now().await;
            store.revoke_all(user, None).await.unwrap()
        };
        let (created, _) = futures::join!(creations, revocation);
        for result in created {
            result.unwrap();
        }
        assert!(
            store.list(user, now).await.unwrap().is_empty(),
            "a session created with a stale mark survived the revocation"
        );
        for session in &sessions {
            assert!(!store.is_live(session.id, now).await.unwrap());
        }
    }
}

/// With a limit of three, the fourth session evicts the least recently used one (not the
/// oldest: a rotation counts as a use), in the same step.
pub async fn sessions_beyond_the_limit_evict_the_least_recently_used<S: SessionStore + ?Sized>(
    store: &S,
) {
    let now = now_seconds();
    let user = UserId::new();
    let limit = Admission {
        mark: store.mark(user).await.unwrap(),
        max_sessions: Some(3),
    };
    let mut sessions = Vec::new();
    for minutes in [30, 20, 10] {
        let session = sample_session(user, now - Duration::minutes(minutes));
        assert_eq!(
            store.create(&session, &limit).await.unwrap(),
            Admitted::Created { evicted: vec![] }
        );
        sessions.push(session);
    }
    // The oldest is used now: the second oldest becomes the least recently used.
    assert!(matches!(
        store
            .rotate(
                sessions[0].id,
                &sessions[0].refresh_hash,
                &renewal(b"used", now)
            )
            .await
            .unwrap(),
        Rotation::Rotated(_)
    ));
    let fourth = sample_session(user, now);
    assert_eq!(
        store.create(&fourth, &limit).await.unwrap(),
        Admitted::Created {
            evicted: vec![sessions[1].id]
        }
    );
    assert!(store.get(sessions[1].id, now).await.unwrap().is_none());
    assert!(!store.is_live(sessions[1].id, now).await.unwrap());
    assert_eq!(store.list(user, now).await.unwrap().len(), 3);
    assert!(store.get(fourth.id, now).await.unwrap().is_some());
}

/// Forty parallel logins of one user under a limit of five leave at most five sessions.
pub async fn concurrent_creations_respect_the_session_limit<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    let limit = Admission {
        mark: store.mark(user).await.unwrap(),
        max_sessions: Some(5),
    };
    let sessions: Vec<Session> = (0..40).map(|_| sample_session(user, now)).collect();
    for result in join_all(sessions.iter().map(|s| store.create(s, &limit))).await {
        assert!(matches!(result.unwrap(), Admitted::Created { .. }));
    }
    let live = store.list(user, now).await.unwrap().len();
    assert_eq!(live, 5, "the limit holds under concurrency");
}

/// A secret the session never issued (a forgery built from a session id read in an access
/// token) is not reuse: it changes nothing. A secret it did issue and rotate away is.
pub async fn a_forged_secret_is_not_reuse<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    let session = sample_session(user, now);
    admit(store, &session).await;
    let first = renewal(b"first", now);
    assert!(matches!(
        store
            .rotate(session.id, &session.refresh_hash, &first)
            .await
            .unwrap(),
        Rotation::Rotated(_)
    ));
    let forged = TokenHash::of(b"never issued");
    assert_eq!(
        store
            .rotate(session.id, &forged, &renewal(b"f", now))
            .await
            .unwrap(),
        Rotation::NotFound
    );
    assert!(
        store.is_live(session.id, now).await.unwrap(),
        "a forgery ends nothing"
    );
    let second = renewal(b"second", now);
    assert!(
        matches!(
            store
                .rotate(session.id, &first.refresh_hash, &second)
                .await
                .unwrap(),
            Rotation::Rotated(_)
        ),
        "the current secret still works after a forgery"
    );
    assert_eq!(
        store
            .rotate(session.id, &session.refresh_hash, &renewal(b"r", now))
            .await
            .unwrap(),
        Rotation::Reused { user_id: user },
        "a secret issued and rotated away is reuse"
    );
    assert!(!store.is_live(session.id, now).await.unwrap());
}

/// A session remembers exactly its last [`REMEMBERED_ROTATIONS`] rotated-away secrets: one
/// rotation more and the oldest is forgotten, so presenting it is a plain `NotFound` that ends
/// nothing, while the next oldest is still a replay that ends the session.
pub async fn reuse_is_recognised_across_many_rotations<S: SessionStore + ?Sized>(store: &S) {
    let now = now_seconds();
    let user = UserId::new();
    let session = sample_session(user, now);
    admit(store, &session).await;
    let mut current = session.refresh_hash;
    let mut spent = Vec::new();
    for i in 0..=REMEMBERED_ROTATIONS {
        let next = renewal(format!("secret {i}").as_bytes(), now);
        assert!(matches!(
            store.rotate(session.id, &current, &next).await.unwrap(),
            Rotation::Rotated(_)
        ));
        spent.push(current);
        current = next.refresh_hash;
    }
    assert_eq!(
        store
            .rotate(session.id, &spent[0], &renewal(b"too late", now))
            .await
            .unwrap(),
        Rotation::NotFound,
        "the oldest secret has been forgotten"
    );
    assert!(store.is_live(session.id, now).await.unwrap());
    assert_eq!(
        store
            .rotate(session.id, &spent[1], &renewal(b"replay", now))
            .await
            .unwrap(),
        Rotation::Reused { user_id: user },
        "the oldest remembered secret is a replay"
    );
    assert!(!store.is_live(session.id, now).await.unwrap());
}
