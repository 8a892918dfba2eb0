//! What both test files share: a store that keeps its database alive, and cleans it up, for
//! exactly as long as a test uses it.

use async_trait::async_trait;
use auth_core::conformance::TestProfile;
use auth_core::{
    Admission, Admitted, Email, Page, Renewal, Rotation, Session, SessionId, SessionMark,
    SessionStore, StoreError, TokenHash, User, UserId, UserQuery, UserStore, Username,
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
