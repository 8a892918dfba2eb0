//! [`UserQuery`] and [`UserSort`]: which users a listing shows, and in which order.

use std::cmp::Ordering;

use crate::user::User;
#[cfg(doc)]
use crate::{email::Email, user::UserId};

/// Which users to list, in which order, and which page of them.
///
/// `#[non_exhaustive]`, so that filters can be added without breaking callers: start from
/// [`UserQuery::default`] (every user, 50 a page, creation order) and narrow it with the
/// `with_*` methods, or set the public fields on a mutable value.
///
/// ```
/// use auth_core::{UserQuery, UserSort};
/// let query = UserQuery::default()
///     .with_limit(20)
///     .with_role("editor")
///     .with_active(true)
///     .with_sort(UserSort::EmailDesc);
/// assert_eq!(query.role.as_deref(), Some("editor"));
/// assert_eq!(query.is_verified, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserQuery {
    /// At most this many users (the HTTP routes cap it at 100).
    pub limit: u32,
    /// Skip this many users first.
    pub offset: u64,
    /// Only users whose e-mail address contains this, case-insensitively. Matched literally:
    /// `%` and `_` are no wildcards.
    pub email_contains: Option<String>,
    /// Only users holding this role, compared exactly (superusers without it do not count).
    pub role: Option<String>,
    /// Only active (`true`) or inactive (`false`) users.
    pub is_active: Option<bool>,
    /// Only verified (`true`) or unverified (`false`) users.
    pub is_verified: Option<bool>,
    /// Only superusers (`true`) or only other users (`false`).
    pub is_superuser: Option<bool>,
    /// The order of the listing.
    pub sort: UserSort,
}

impl Default for UserQuery {
    fn default() -> Self {
        Self {
            limit: 50,
            offset: 0,
            email_contains: None,
            role: None,
            is_active: None,
            is_verified: None,
            is_superuser: None,
            sort: UserSort::default(),
        }
    }
}

impl UserQuery {
    /// At most `limit` users.
    #[must_use]
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Skips `offset` users first.
    #[must_use]
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Only users whose e-mail address contains `needle`, case-insensitively.
    #[must_use]
    pub fn with_email_contains(mut self, needle: impl Into<String>) -> Self {
        self.email_contains = Some(needle.into());
        self
    }

    /// Only users holding `role`.
    #[must_use]
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Only active (`true`) or inactive (`false`) users.
    #[must_use]
    pub fn with_active(mut self, active: bool) -> Self {
        self.is_active = Some(active);
        self
    }

    /// Only verified (`true`) or unverified (`false`) users.
    #[must_use]
    pub fn with_verified(mut self, verified: bool) -> Self {
        self.is_verified = Some(verified);
        self
    }

    /// Only superusers (`true`) or only other users (`false`).
    #[must_use]
    pub fn with_superuser(mut self, superuser: bool) -> Self {
        self.is_superuser = Some(superuser);
        self
    }

    /// Lists in this order.
    #[must_use]
    pub fn with_sort(mut self, sort: UserSort) -> Self {
        self.sort = sort;
        self
    }

    /// Whether `user` passes every filter of the query (not the page): what a store that
    /// filters in memory keeps.
    pub fn matches<P>(&self, user: &User<P>) -> bool {
        let needle = self.email_contains.as_deref().map(str::to_lowercase);
        needle
            .as_deref()
            .is_none_or(|needle| user.email.key().contains(needle))
            && self
                .role
                .as_deref()
                .is_none_or(|role| user.roles.contains(role))
            && self.is_active.is_none_or(|flag| user.is_active == flag)
            && self.is_verified.is_none_or(|flag| user.is_verified == flag)
            && self
                .is_superuser
                .is_none_or(|flag| user.is_superuser == flag)
    }
}

/// The order of a user listing. Ties (equal creation times or, never, equal addresses) are
/// broken by id, in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserSort {
    /// By id: creation order for the time-ordered ids of [`UserId::new`], but not for
    /// imported users, who keep the ids of the system they came from. The default.
    #[default]
    Id,
    /// Oldest account first, by `created_at`.
    CreatedAt,
    /// Newest account first.
    CreatedAtDesc,
    /// By [`Email::key`] (the lower-cased address), in code point order.
    Email,
    /// By [`Email::key`], in reverse.
    EmailDesc,
}

impl UserSort {
    /// The sort a `sort` query parameter names: `created_at`, `-created_at`, `email` or
    /// `-email`; `None` for anything else.
    ///
    /// ```
    /// use auth_core::UserSort;
    /// assert_eq!(UserSort::parse("-email"), Some(UserSort::EmailDesc));
    /// assert_eq!(UserSort::parse("password"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "created_at" => Some(Self::CreatedAt),
            "-created_at" => Some(Self::CreatedAtDesc),
            "email" => Some(Self::Email),
            "-email" => Some(Self::EmailDesc),
            _ => None,
        }
    }

    /// The order of two users under this sort.
    pub fn compare<P>(self, a: &User<P>, b: &User<P>) -> Ordering {
        match self {
            Self::Id => a.id.cmp(&b.id),
            Self::CreatedAt => (a.created_at, a.id).cmp(&(b.created_at, b.id)),
            Self::CreatedAtDesc => (b.created_at, b.id).cmp(&(a.created_at, a.id)),
            Self::Email => (a.email.key(), a.id).cmp(&(b.email.key(), b.id)),
            Self::EmailDesc => (b.email.key(), b.id).cmp(&(a.email.key(), a.id)),
        }
    }
}
