use std::sync::Arc;

use auth_core::*;
use futures::future::join_all;
use time::Duration;

use crate::harness::{Harness, PASSWORD};

#[tokio::test]
async fn every_login_opens_a_new_session_with_new_tokens() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let first = h.login("alice@example.com").await;
    let second = h.login("alice@example.com").await;
    assert_ne!(first.tokens.session_id, second.tokens.session_id);
    assert_ne!(first.tokens.refresh_token, second.tokens.refresh_token);
    assert_eq!(first.tokens.expires_in, 15 * 60);
    assert_eq!(first.tokens.refresh_expires_in, 14 * 24 * 3600);
    let sessions = h.manager.list_sessions(first.user.id).await.unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0].user_agent.as_deref(), Some("tests"));
    assert_eq!(sessions[0].ip, h.client.ip);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_session() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    let pair = h
        .manager
        .refresh(&login.tokens.refresh_token, &h.client)
        .await
        .unwrap();
    assert_ne!(pair.refresh_token, login.tokens.refresh_token);
    assert_eq!(pair.session_id, login.tokens.session_id);
    h.manager
        .authenticate_token(&pair.access_token)
        .await
        .unwrap();

    let reused = h
        .manager
        .refresh(&login.tokens.refresh_token, &h.client)
        .await;
    assert!(matches!(reused, Err(AuthError::InvalidToken)));
    // The whole session is gone: the newest refresh token and the access tokens too.
    assert!(matches!(
        h.manager.refresh(&pair.refresh_token, &h.client).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        h.manager.authenticate_token(&pair.access_token).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        h.manager
            .authenticate_token(&login.tokens.access_token)
            .await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_have_exactly_one_winner() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    let results =
        join_all((0..100).map(|_| h.manager.refresh(&login.tokens.refresh_token, &h.client))).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, AuthError::InvalidToken))
    );
}

#[tokio::test]
async fn garbage_refresh_tokens_are_invalid() {
    let h = Harness::new();
    for token in ["", "abc", &"A".repeat(64), &"é".repeat(40)] {
        assert!(matches!(
            h.manager.refresh(token, &h.client).await,
            Err(AuthError::InvalidToken)
        ));
    }
}

#[tokio::test]
async fn logout_kills_the_access_and_the_refresh_token_at_once() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    let other = h.login("alice@example.com").await;
    let claims = h
        .manager
        .authenticate_token(&login.tokens.access_token)
        .await
        .unwrap();
    h.manager.logout(claims.sub, claims.sid).await.unwrap();
    assert!(matches!(
        h.manager
            .authenticate_token(&login.tokens.access_token)
            .await,
        Err(AuthError::InvalidToken)
    ));
    assert!(matches!(
        h.manager
            .refresh(&login.tokens.refresh_token, &h.client)
            .await,
        Err(AuthError::InvalidToken)
    ));
    h.manager
        .authenticate_token(&other.tokens.access_token)
        .await
        .unwrap();
    assert!(h.hooks.calls().contains(&"logout".to_owned()));
}

#[tokio::test]
async fn without_revocation_checks_an_access_token_lives_until_exp() {
    let h = Harness::with(
        |c| ManagerConfig {
            check_revocation: false,
            ..c
        },
        false,
    );
    h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    h.manager.logout_everywhere(login.user.id).await.unwrap();
    h.manager
        .authenticate_token(&login.tokens.access_token)
        .await
        .unwrap();
}

#[tokio::test]
async fn access_tokens_expire_and_sessions_die_when_idle_or_old() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    h.clock.advance(Duration::minutes(15));
    assert!(matches!(
        h.manager
            .authenticate_token(&login.tokens.access_token)
            .await,
        Err(AuthError::InvalidToken)
    ));
    // Idle: no refresh for 14 days.
    h.clock.advance(Duration::days(14));
    assert!(matches!(
        h.manager
            .refresh(&login.tokens.refresh_token, &h.client)
            .await,
        Err(AuthError::InvalidToken)
    ));
    // Absolute: refreshed every 10 days, still dead after 30.
    let login = h.login("alice@example.com").await;
    let mut refresh = login.tokens.refresh_token;
    for _ in 0..2 {
        h.clock.advance(Duration::days(10));
        refresh = h
            .manager
            .refresh(&refresh, &h.client)
            .await
            .unwrap()
            .refresh_token;
    }
    h.clock.advance(Duration::days(10));
    assert!(matches!(
        h.manager.refresh(&refresh, &h.client).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn a_user_revokes_only_their_own_sessions() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    h.register("bob@example.com").await;
    let alice = h.login("alice@example.com").await;
    let bob = h.login("bob@example.com").await;
    assert!(matches!(
        h.manager
            .revoke_session(alice.user.id, bob.tokens.session_id)
            .await,
        Err(AuthError::SessionNotFound)
    ));
    h.manager
        .authenticate_token(&bob.tokens.access_token)
        .await
        .unwrap();
    h.manager
        .revoke_session(alice.user.id, alice.tokens.session_id)
        .await
        .unwrap();
    assert!(
        h.manager
            .authenticate_token(&alice.tokens.access_token)
            .await
            .is_err()
    );
    assert!(matches!(
        h.manager
            .revoke_session(alice.user.id, alice.tokens.session_id)
            .await,
        Err(AuthError::SessionNotFound)
    ));
}

#[tokio::test]
async fn logout_everywhere_leaves_other_users_alone() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    h.register("bob@example.com").await;
    let a1 = h.login("alice@example.com").await;
    let a2 = h.login("alice@example.com").await;
    let bob = h.login("bob@example.com").await;
    assert_eq!(h.manager.logout_everywhere(a1.user.id).await.unwrap(), 2);
    assert!(
        h.manager
            .authenticate_token(&a1.tokens.access_token)
            .await
            .is_err()
    );
    assert!(
        h.manager
            .authenticate_token(&a2.tokens.access_token)
            .await
            .is_err()
    );
    h.manager
        .authenticate_token(&bob.tokens.access_token)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_deactivated_user_cannot_refresh() {
    let h = Harness::new();
    let user = h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    let mut inactive = user.clone();
    inactive.is_active = false;
    h.manager.users().update(&inactive).await.unwrap();
    assert!(matches!(
        h.manager
            .refresh(&login.tokens.refresh_token, &h.client)
            .await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn opaque_tokens_are_looked_up_and_die_with_their_session() {
    let h = Harness::new();
    let users: Arc<dyn UserStore<auth_core::conformance::TestProfile>> =
        Arc::new(MemoryUserStore::new());
    let sessions: Arc<dyn SessionStore> = Arc::new(MemorySessionStore::new());
    let strategy = OpaqueTokenStrategy::new(
        sessions.clone(),
        Arc::new(UserStoreSubjects(users.clone())),
        Duration::minutes(30),
    );
    let manager = UserManager::builder(users, sessions, crate::harness::codec())
        .with_hasher(Arc::new(Argon2Hasher::fast_insecure()))
        .with_token_strategy(Arc::new(strategy))
        .build();
    manager
        .register(Harness::new_user("alice@example.com"), &h.client)
        .await
        .unwrap();
    let login = manager
        .login("alice@example.com", &Password::new(PASSWORD), &h.client)
        .await
        .unwrap();
    assert_eq!(login.tokens.access_token.len(), 64);
    let claims = manager
        .authenticate_token(&login.tokens.access_token)
        .await
        .unwrap();
    assert_eq!(claims.sub, login.user.id);
    let pair = manager
        .refresh(&login.tokens.refresh_token, &h.client)
        .await
        .unwrap();
    assert!(
        manager
            .authenticate_token(&login.tokens.access_token)
            .await
            .is_err(),
        "replaced"
    );
    let claims = manager
        .authenticate_token(&pair.access_token)
        .await
        .unwrap();
    manager.logout(claims.sub, claims.sid).await.unwrap();
    assert!(
        manager
            .authenticate_token(&pair.access_token)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_refresh_token_forged_from_a_session_id_ends_nothing() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let victim = h.login("alice@example.com").await;
    // The session id is readable in every access token; the secret is not.
    let forged = RefreshToken::generate(victim.tokens.session_id).expose();
    assert!(matches!(
        h.manager.refresh(&forged, &h.client).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(
        !h.hooks.calls().contains(&"refresh_reused".to_owned()),
        "a forgery is not reuse"
    );
    h.manager
        .authenticate_token(&victim.tokens.access_token)
        .await
        .expect("the victim's session lives on");
    h.manager
        .refresh(&victim.tokens.refresh_token, &h.client)
        .await
        .expect("and its refresh token still works");
}

#[tokio::test]
async fn a_replayed_refresh_token_ends_the_session_and_tells_the_hook() {
    let h = Harness::new();
    h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    h.manager
        .refresh(&login.tokens.refresh_token, &h.client)
        .await
        .unwrap();
    assert!(
        h.manager
            .refresh(&login.tokens.refresh_token, &h.client)
            .await
            .is_err()
    );
    assert!(h.hooks.calls().contains(&"refresh_reused".to_owned()));
    assert!(
        h.manager
            .authenticate_token(&login.tokens.access_token)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn logins_beyond_the_session_limit_evict_the_least_recently_used() {
    let h = Harness::with(
        |mut config| {
            config.max_sessions_per_user = Some(3);
            config
        },
        false,
    );
    let alice = h.register("alice@example.com").await;
    let mut logins = Vec::new();
    for _ in 0..3 {
        logins.push(h.login("alice@example.com").await);
        h.clock.advance(time::Duration::minutes(1));
    }
    // The first session is used again, so the second is the least recently used.
    let renewed = h
        .manager
        .refresh(&logins[0].tokens.refresh_token, &h.client)
        .await
        .unwrap();
    h.clock.advance(time::Duration::minutes(1));
    let fourth = h.login("alice@example.com").await;
    let live = h.live_sessions(alice.id).await;
    assert_eq!(live.len(), 3);
    assert!(!live.contains(&logins[1].tokens.session_id));
    assert!(live.contains(&renewed.session_id));
    assert!(live.contains(&fourth.tokens.session_id));
    assert!(
        h.hooks
            .calls()
            .contains(&"session_revoked:Evicted".to_owned())
    );
    for _ in 0..20 {
        h.login("alice@example.com").await;
    }
    assert_eq!(h.manager.list_sessions(alice.id).await.unwrap().len(), 3);
}

/// A session store whose next `parties` reads of a session wait for each other, so that
/// racers all read before any of them writes.
#[derive(Debug, Default)]
struct GatedSessions {
    inner: MemorySessionStore,
    gate: crate::harness::Gate,
}

#[async_trait::async_trait]
impl SessionStore for GatedSessions {
    async fn mark(&self, user_id: UserId) -> Result<SessionMark, StoreError> {
        self.inner.mark(user_id).await
    }
    async fn create(
        &self,
        session: &Session,
        admission: &Admission,
    ) -> Result<Admitted, StoreError> {
        self.inner.create(session, admission).await
    }
    async fn get(
        &self,
        id: SessionId,
        now: time::OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        let read = self.inner.get(id, now).await;
        self.gate.pass().await;
        read
    }
    async fn rotate(
        &self,
        id: SessionId,
        presented: &TokenHash,
        renewal: &Renewal,
    ) -> Result<Rotation, StoreError> {
        self.inner.rotate(id, presented, renewal).await
    }
    async fn revoke(&self, id: SessionId) -> Result<bool, StoreError> {
        self.inner.revoke(id).await
    }
    async fn revoke_all(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        self.inner.revoke_all(user_id, except).await
    }
    async fn list(
        &self,
        user_id: UserId,
        now: time::OffsetDateTime,
    ) -> Result<Vec<Session>, StoreError> {
        self.inner.list(user_id, now).await
    }
}

/// Revocations of one session that all read it before any removes it (the store holds each
/// read until every racer has read): one removes it and is reported, once; the others find
/// no session. Both the user's own revocation and an administrator's.
#[tokio::test]
async fn racing_revocations_of_one_session_report_it_once() {
    const RACERS: usize = 8;
    for by_admin in [false, true] {
        let sessions = Arc::new(GatedSessions::default());
        let hooks = Arc::new(crate::harness::RecordingHooks {
            calls: std::sync::Mutex::default(),
            veto_delete: false,
        });
        let manager = UserManager::builder(
            Arc::new(MemoryUserStore::<auth_core::conformance::TestProfile>::new()),
            sessions.clone(),
            crate::harness::codec(),
        )
        .with_hasher(Arc::new(auth_core::conformance::CountingHasher::new()))
        .with_hooks(hooks.clone())
        .build();
        let client = ClientInfo::default();
        manager
            .register(Harness::new_user("alice@example.com"), &client)
            .await
            .unwrap();
        let login = manager
            .login("alice@example.com", &Password::new(PASSWORD), &client)
            .await
            .unwrap();
        let (user, session) = (login.user, login.tokens.session_id);
        sessions.gate.arm(RACERS);
        let results = join_all((0..RACERS).map(|_| async {
            if by_admin {
                manager.admin_revoke_session(user.id, session).await
            } else {
                manager.revoke_session(user.id, session).await
            }
        }))
        .await;
        let won = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(won, 1, "by admin: {by_admin}: {results:?}");
        assert!(
            results
                .iter()
                .all(|result| matches!(result, Ok(()) | Err(AuthError::SessionNotFound)))
        );
        let reported = hooks
            .calls()
            .iter()
            .filter(|call| call.starts_with("session_revoked:"))
            .count();
        assert_eq!(reported, 1, "by admin: {by_admin}");
    }
}
