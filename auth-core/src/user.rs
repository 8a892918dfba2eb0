//! The user: its id, e-mail address, username, roles, flags and the app's own profile fields.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::email::Email;
use crate::secret::PasswordHash;
use crate::username::Username;

/// A user's id (a UUID; version 7 for new users, so ids sort by creation time).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(Uuid);

impl UserId {
    /// A new, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps an existing UUID.
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID inside.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for UserId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// The app's own typed profile fields, kept by every store and flattened into the user as it
/// travels over HTTP.
///
/// Any `Serialize + DeserializeOwned + Clone + Default + Debug + Send + Sync` type that
/// serialises to a JSON object is a profile; the blanket implementation means there is
/// nothing to implement. Stores keep it as JSON, so adding an optional field needs no
/// migration.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, Default, Serialize, Deserialize)]
/// struct Names {
///     first_name: Option<String>,
///     second_name: Option<String>,
/// }
///
/// fn takes_profile<P: auth_core::Profile>() {}
/// takes_profile::<Names>();
/// ```
pub trait Profile:
    Serialize + DeserializeOwned + Clone + Default + fmt::Debug + Send + Sync + 'static
{
}

impl<T> Profile for T where
    T: Serialize + DeserializeOwned + Clone + Default + fmt::Debug + Send + Sync + 'static
{
}

/// The profile of an app that adds no fields of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoProfile {}

/// A set of role names. Superusers pass every role check.
///
/// ```
/// use auth_core::Roles;
/// let roles = Roles::from_iter(["reader", "author"]);
/// assert!(roles.contains("author"));
/// assert!(!roles.contains("editor"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Roles(BTreeSet<String>);

impl Roles {
    /// No roles.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set holds `role`.
    pub fn contains(&self, role: &str) -> bool {
        self.0.contains(role)
    }

    /// Adds a role; returns whether it was new.
    pub fn insert(&mut self, role: impl Into<String>) -> bool {
        self.0.insert(role.into())
    }

    /// Removes a role; returns whether it was there.
    pub fn remove(&mut self, role: &str) -> bool {
        self.0.remove(role)
    }

    /// The role names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// How many roles.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: Into<String>> FromIterator<S> for Roles {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

/// A user account as the stores keep it.
///
/// `P` is the app's [`Profile`]. The password hash has a redacted `Debug` and is skipped when
/// the user is serialised, so a `User` can never leak it into a response or a log line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User<P = NoProfile> {
    /// The id.
    pub id: UserId,
    /// The e-mail address, domain lower-cased; unique case-insensitively.
    pub email: Email,
    /// An optional username, unique case-insensitively; accepted at login like the e-mail.
    pub username: Option<Username>,
    /// The PHC (or imported bcrypt) hash of the password. Never serialised.
    #[serde(skip_serializing, default = "empty_hash")]
    pub password_hash: PasswordHash,
    /// Whether the account may log in.
    pub is_active: bool,
    /// Whether the user is an administrator: every role check passes.
    pub is_superuser: bool,
    /// Whether the e-mail address has been verified.
    pub is_verified: bool,
    /// The user's roles.
    pub roles: Roles,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the account last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The app's own fields.
    #[serde(flatten)]
    pub profile: P,
    /// The version the store holds: [`UserStore::update`](crate::UserStore::update) writes only
    /// over this version and stores the next, so two writers racing from one read cannot both
    /// win (a compare-and-set). New users start at 0. Never serialised.
    #[serde(skip_serializing, default)]
    pub version: u64,
}

fn empty_hash() -> PasswordHash {
    PasswordHash::new(String::new())
}

impl<P: Profile> User<P> {
    /// Whether the user has `role`, counting superusers as having every role.
    pub fn has_role(&self, role: &str) -> bool {
        self.is_superuser || self.roles.contains(role)
    }
}
