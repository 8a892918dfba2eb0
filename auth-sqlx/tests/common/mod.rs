//! What both test files share: a store that keeps its database alive, and cleans it up, for
//! exactly as long as a test uses it.

use async_trait::async_trait;
use auth_core::conformance::TestProfile;
use auth_core::conformance::now_seconds;
use auth_core::conformance::sessions::{admit, sample_session};
use auth_core::{
    Admission, Admitted, Email, Page, REMEMBERED_ROTATIONS, Renewal, Rotation, Session, SessionId,
    SessionMark, SessionStore, StoreError, TokenHash, User, UserId, UserQuery, UserStore, Username,
};
use time::OffsetDateTime;

/// A store and the guard of its database (a temporary directory, a Postgres schema), dropped
/// together when the test ends.
#[derive(Debug)]
pub(crate) struct Fixture<S, G> {
    pub(crate) store: S,
    /// Held, never read: dropping it removes the database.
    pub(crate) _guard: G,
}

#[async_trait]
impl<S: UserStore<TestProfile>, G: std::fmt::Debug + Send + Sync + 'static> UserStore<TestProfile>
    for Fixture<S, G>
{
    async fn create(&self, user: &User<TestProfile>) -> Result<(), StoreError> {
        self.store.create(user).await
    }
    async fn get(&self, id: UserId) -> Result<Option<User<TestProfile>>, StoreError> {
        self.store.get(id).await
    }
    async fn find_by_email(&self, email: &Email) -> Result<Option<User<TestProfile>>, StoreError> {
        self.store.find_by_email(email).await
    }
    async fn find_by_username(
        &self,
        username: &Username,
    ) -> Result<Option<User<TestProfile>>, StoreError> {
        self.store.find_by_username(username).await
    }
    async fn update(&self, user: &User<TestProfile>) -> Result<(), StoreError> {
        self.store.update(user).await
    }
    async fn delete(&self, id: UserId) -> Result<bool, StoreError> {
        self.store.delete(id).await
    }
    async fn list(&self, query: &UserQuery) -> Result<Page<User<TestProfile>>, StoreError> {
        self.store.list(query).await
    }
}

#[async_trait]
impl<S: SessionStore, G: std::fmt::Debug + Send + Sync + 'static> SessionStore for Fixture<S, G> {
    async fn mark(&self, user_id: UserId) -> Result<SessionMark, StoreError> {
        self.store.mark(user_id).await
    }
    async fn create(
        &self,
        session: &Session,
        admission: &Admission,
    ) -> Result<Admitted, StoreError> {
        self.store.create(session, admission).await
    }
    async fn get(&self, id: SessionId, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
        self.store.get(id, now).await
    }
    async fn is_live(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.store.is_live(id, now).await
    }
    async fn rotate(
        &self,
        id: SessionId,
        presented: &TokenHash,
        renewal: &Renewal,
    ) -> Result<Rotation, StoreError> {
        self.store.rotate(id, presented, renewal).await
    }
    async fn revoke(&self, id: SessionId) -> Result<bool, StoreError> {
        self.store.revoke(id).await
    }
    async fn revoke_all(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        self.store.revoke_all(user_id, except).await
    }
    async fn list(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError> {
        self.store.list(user_id, now).await
    }
    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.store.sweep_expired(now).await
    }
}

fn renewal(secret: &[u8], now: OffsetDateTime) -> Renewal {
    Renewal {
        refresh_hash: TokenHash::of(secret),
        access_hash: None,
        now,
        idle_expires_at: now + time::Duration::days(1),
    }
}

/// A session remembers exactly its last [`REMEMBERED_ROTATIONS`] rotated-away secrets: one
/// rotation more and the oldest is forgotten, so presenting it is a plain `NotFound` that ends
/// nothing, while the next oldest is still a replay.
pub(crate) async fn only_the_last_rotations_are_remembered<S: SessionStore + ?Sized>(store: &S) {
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
