//! [`MfaStore`]: users' second factors (a TOTP secret, recovery codes, passkeys), kept beside
//! the users themselves.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Profile, SealedToken, StoreError, UserId, UserStore};

/// A user's TOTP factor (RFC 6238).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpFactor {
    /// The shared secret, sealed; never stored in the clear.
    pub secret: SealedToken,
    /// Whether the user proved they hold it (a first code was accepted). Until then the
    /// factor is pending: it protects nothing and can be replaced.
    pub confirmed: bool,
    /// The last time step (Unix time / 30 s) whose code was accepted: a code is accepted only
    /// for a later step, so each code works once.
    pub last_step: Option<i64>,
    /// When the secret was made.
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for TotpFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpFactor")
            .field("secret", &self.secret)
            .field("confirmed", &self.confirmed)
            .field("last_step", &self.last_step)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A passkey (a WebAuthn credential) registered by a user.
#[derive(Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    /// Its id in our routes.
    pub id: uuid::Uuid,
    /// Whose it is.
    pub user_id: UserId,
    /// The name the user gave it.
    pub name: String,
    /// The authenticator's credential id (unique across all users).
    pub credential_id: Vec<u8>,
    /// The credential as the WebAuthn library serialises it (public key, signature counter,
    /// backup flags), opaque to the stores.
    pub credential: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last signed in.
    pub last_used_at: Option<OffsetDateTime>,
}

impl fmt::Debug for PasskeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasskeyRecord")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .finish_non_exhaustive()
    }
}

/// Second factors, in the user store's own database (deleting a user deletes their factors).
///
/// Every method is one atomic step in the store; in particular a TOTP step and a recovery
/// code are each accepted at most once, whatever the concurrency:
/// - [`MfaStore::use_totp_step`] moves `last_step` forward only from below, in one conditional
///   write: of concurrent submissions of one code, one wins.
/// - [`MfaStore::use_recovery_code`] deletes the code in one conditional write: of concurrent
///   submissions of one code, one wins.
///
/// `auth_core::conformance`'s `mfa_store_conformance!` is the definition of done.
#[async_trait]
pub trait MfaStore<P: Profile>: UserStore<P> {
    /// The user's TOTP factor, pending or confirmed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn totp(&self, user_id: UserId) -> Result<Option<TotpFactor>, StoreError>;

    /// Starts (or restarts) enrolment: a pending factor with `secret`, replacing a pending
    /// one. A confirmed factor is left alone and the answer is `false`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user does not exist.
    async fn set_pending_totp(
        &self,
        user_id: UserId,
        secret: &SealedToken,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Confirms the pending factor whose secret is `secret` (the one the caller checked the
    /// code against), accepting `step`, and stores `recovery_codes` (digests) in place of any
    /// earlier ones, all in one step. `false` when there is no such pending factor (it was
    /// replaced or confirmed meanwhile).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn confirm_totp(
        &self,
        user_id: UserId,
        secret: &SealedToken,
        step: i64,
        recovery_codes: &[Vec<u8>],
    ) -> Result<bool, StoreError>;

    /// Accepts `step` for the user's confirmed factor if it is later than the last accepted
    /// one, in one conditional write. `false`: no confirmed factor, or the step (or a later
    /// one) was accepted already.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn use_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError>;

    /// Removes the user's TOTP factor and recovery codes. Whether there was a factor.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn remove_totp(&self, user_id: UserId) -> Result<bool, StoreError>;

    /// Replaces the user's recovery codes (digests) with `codes`, in one step.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user does not exist and `codes` is not empty (codes
    /// for nobody are never stored); [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[Vec<u8>],
    ) -> Result<(), StoreError>;

    /// Spends the recovery code with this digest: `true` for the one caller that removed it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn use_recovery_code(&self, user_id: UserId, digest: &[u8]) -> Result<bool, StoreError>;

    /// How many unused recovery codes the user has.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn recovery_codes_left(&self, user_id: UserId) -> Result<u64, StoreError>;

    /// Registers a passkey.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with [`UniqueField::Passkey`](crate::UniqueField::Passkey)
    /// when its credential id is registered already (to anyone); [`StoreError::NotFound`]
    /// when the user does not exist.
    async fn add_passkey(&self, passkey: &PasskeyRecord) -> Result<(), StoreError>;

    /// A user's passkeys, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn passkeys(&self, user_id: UserId) -> Result<Vec<PasskeyRecord>, StoreError>;

    /// The passkey with this credential id, whoever holds it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<PasskeyRecord>, StoreError>;

    /// Replaces a passkey's stored credential (its new signature counter) and `last_used_at`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user holds no passkey with this id.
    async fn update_passkey(&self, passkey: &PasskeyRecord) -> Result<(), StoreError>;

    /// Removes one of a user's passkeys. Whether it was there.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn remove_passkey(&self, user_id: UserId, id: uuid::Uuid) -> Result<bool, StoreError>;

    /// Removes every factor of the user (TOTP, recovery codes, passkeys). How many factors
    /// went (the TOTP factor counts one, each passkey one).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn remove_all_factors(&self, user_id: UserId) -> Result<u64, StoreError>;
}
