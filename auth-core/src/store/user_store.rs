//! [`UserStore`]: where user accounts live.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::email::Email;
use crate::error::StoreError;
use crate::user::{NoProfile, Profile, User, UserId};
use crate::username::Username;

use super::user_query::UserQuery;

/// One page of a listing and the total number of matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page, in the order the query asked for.
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: u64,
}

/// Where user accounts live.
///
/// Every rule (password policy, who may change what) lives in the
/// [`UserManager`](crate::UserManager); a store only keeps rows. It must:
/// - decide uniqueness of the e-mail address and the username itself, case-insensitively
///   and atomically (a unique index, not a read-then-write race), answering
///   [`StoreError::Conflict`];
/// - look users up by [`Email::key`] and [`Username::key`];
/// - keep the app's [`Profile`] fields as they were given;
/// - list with every filter of the [`UserQuery`] (values matched literally, never as
///   patterns) in the order it asks for, by default in id order (creation order: ids are
///   time-ordered).
///
/// The `auth_core::conformance` suite (feature `test-suite`) checks all of that.
///
/// # Why `#[async_trait]`
/// The manager holds its store as `Arc<dyn UserStore<P>>`, chosen once at start-up,
/// so the trait must be object-safe; the one boxed future per call is noise next to a database
/// round trip.
///
/// # Implementing it
/// A complete, if simple, store over a `Mutex<Vec<_>>` (the crate's
/// [`MemoryUserStore`](crate::MemoryUserStore) is the real one):
///
/// ```
/// use std::sync::Mutex;
/// use async_trait::async_trait;
/// use auth_core::{Email, Page, Profile, StoreError, UniqueField, User, UserId, UserQuery, UserStore, Username};
///
/// #[derive(Debug, Default)]
/// struct VecStore<P>(Mutex<Vec<User<P>>>);
///
/// impl<P> VecStore<P> {
///     fn rows(&self) -> std::sync::MutexGuard<'_, Vec<User<P>>> {
///         self.0.lock().unwrap_or_else(|e| e.into_inner())
///     }
/// }
///
/// fn clash<P>(a: &User<P>, b: &User<P>) -> Option<UniqueField> {
///     if a.id == b.id { return None; }
///     if a.email.key() == b.email.key() { return Some(UniqueField::Email); }
///     match (&a.username, &b.username) {
///         (Some(x), Some(y)) if x.key() == y.key() => Some(UniqueField::Username),
///         _ => None,
///     }
/// }
///
/// #[async_trait]
/// impl<P: Profile> UserStore<P> for VecStore<P> {
///     async fn create(&self, user: &User<P>) -> Result<(), StoreError> {
///         let mut rows = self.rows();
///         if let Some(field) = rows.iter().find_map(|row| clash(row, user)) {
///             return Err(StoreError::Conflict(field));
///         }
///         rows.push(user.clone());
///         Ok(())
///     }
///     async fn get(&self, id: UserId) -> Result<Option<User<P>>, StoreError> {
///         Ok(self.rows().iter().find(|u| u.id == id).cloned())
///     }
///     async fn find_by_email(&self, email: &Email) -> Result<Option<User<P>>, StoreError> {
///         Ok(self.rows().iter().find(|u| u.email.key() == email.key()).cloned())
///     }
///     async fn find_by_username(&self, name: &Username) -> Result<Option<User<P>>, StoreError> {
///         Ok(self.rows().iter().find(|u| u.username.as_ref().is_some_and(|n| n.key() == name.key())).cloned())
///     }
///     async fn update(&self, user: &User<P>) -> Result<(), StoreError> {
///         let mut rows = self.rows();
///         if let Some(field) = rows.iter().find_map(|row| clash(row, user)) {
///             return Err(StoreError::Conflict(field));
///         }
///         let row = rows.iter_mut().find(|u| u.id == user.id).ok_or(StoreError::NotFound)?;
///         if row.version != user.version {
///             return Err(StoreError::Stale);
///         }
///         *row = User { version: user.version + 1, ..user.clone() };
///         Ok(())
///     }
///     async fn delete(&self, id: UserId) -> Result<bool, StoreError> {
///         let mut rows = self.rows();
///         let before = rows.len();
///         rows.retain(|u| u.id != id);
///         Ok(rows.len() != before)
///     }
///     async fn list(&self, query: &UserQuery) -> Result<Page<User<P>>, StoreError> {
///         let mut matching: Vec<User<P>> = self.rows().iter()
///             .filter(|u| query.matches(u))
///             .cloned().collect();
///         matching.sort_by(|a, b| query.sort.compare(a, b));
///         let total = matching.len() as u64;
///         let items = matching.into_iter().skip(query.offset as usize).take(query.limit as usize).collect();
///         Ok(Page { items, total })
///     }
/// }
/// ```
#[async_trait]
pub trait UserStore<P: Profile = NoProfile>: Debug + Send + Sync + 'static {
    /// Inserts a new user.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the e-mail address or username is taken.
    async fn create(&self, user: &User<P>) -> Result<(), StoreError>;

    /// The user with this id.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn get(&self, id: UserId) -> Result<Option<User<P>>, StoreError>;

    /// The user with this e-mail address, compared by [`Email::key`].
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User<P>>, StoreError>;

    /// The user with this username, compared by [`Username::key`].
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn find_by_username(&self, username: &Username) -> Result<Option<User<P>>, StoreError>;

    /// Replaces every field of the user with this id **if** the stored version still equals
    /// `user.version`, and stores `user.version + 1`: one atomic compare-and-set, so of
    /// several writers that read the same version exactly one wins (a spent reset token, a
    /// verification, two concurrent edits). The caller's copy keeps the old version; read the
    /// user again, or add one, before the next write.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such user; [`StoreError::Stale`] when its
    /// version has moved; [`StoreError::Conflict`] when the new e-mail address or username
    /// belongs to someone else.
    async fn update(&self, user: &User<P>) -> Result<(), StoreError>;

    /// Deletes the user; `false` when there was none.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn delete(&self, id: UserId) -> Result<bool, StoreError>;

    /// One page of the users that pass the query's filters, in its order, and how many pass
    /// in all.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn list(&self, query: &UserQuery) -> Result<Page<User<P>>, StoreError>;

    /// How the store announces that a user's record changed (any update or deletion), so that
    /// a [`UserCache`](crate::UserCache) may answer reads from memory. The default,
    /// [`Revocations::Unannounced`](crate::Revocations::Unannounced), means no cache.
    fn changes(&self) -> crate::Revocations {
        crate::Revocations::Unannounced
    }
}
