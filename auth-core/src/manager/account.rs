//! Reading, changing and deleting accounts: by the user themselves and by administrators.

use crate::error::AuthError;
use crate::session::SessionId;
use crate::store::{Page, UserQuery};
use crate::user::{Profile, User, UserId};

use super::types::{AdminUpdate, UserUpdate};
use super::{UserManager, conflict};

/// Who is changing the account, which decides what is allowed and which sessions survive.
enum Actor {
    /// The user, from session `current`: a password change needs the current password and
    /// ends every other session.
    User { current: Option<SessionId> },
    /// An administrator: no current password; a password change ends every session.
    Admin,
}

impl<P: Profile> UserManager<P> {
    /// The user with this id.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], or an internal error.
    pub async fn get_user(&self, id: UserId) -> Result<User<P>, AuthError> {
        self.inner
            .users
            .get(id)
            .await?
            .ok_or(AuthError::UserNotFound)
    }

    /// One page of users.
    ///
    /// # Errors
    /// Only when the store fails.
    pub async fn list_users(&self, query: &UserQuery) -> Result<Page<User<P>>, AuthError> {
        Ok(self.inner.users.list(query).await?)
    }

    /// A user changes their own account (`PATCH /users/me`). Changing the password needs the
    /// right current password (ASVS5 6.2.3) and revokes every session but `current`
    /// (ASVS5 7.4.3); changing the e-mail address makes the user unverified.
    ///
    /// # Errors
    /// [`AuthError::BadCurrentPassword`], [`AuthError::InvalidPassword`],
    /// [`AuthError::UserAlreadyExists`], [`AuthError::UsernameAlreadyExists`],
    /// [`AuthError::UserNotFound`], or an internal error.
    pub async fn update_self(
        &self,
        id: UserId,
        current: Option<SessionId>,
        update: UserUpdate<P>,
    ) -> Result<User<P>, AuthError> {
        let user = self.get_user(id).await?;
        self.apply(user, update, AdminFlags::default(), Actor::User { current })
            .await
    }

    /// An administrator changes any account (`PATCH /users/{id}`). Deactivating, changing
    /// roles or the superuser flag, and setting a password revoke every session of the user
    /// (ASVS5 7.4.2).
    ///
    /// # Errors
    /// As [`UserManager::update_self`], without [`AuthError::BadCurrentPassword`].
    pub async fn update_user(
        &self,
        id: UserId,
        update: AdminUpdate<P>,
    ) -> Result<User<P>, AuthError> {
        let user = self.get_user(id).await?;
        let flags = AdminFlags {
            is_active: update.is_active,
            is_superuser: update.is_superuser,
            is_verified: update.is_verified,
            roles: update.roles,
        };
        self.apply(user, update.user, flags, Actor::Admin).await
    }

    async fn apply(
        &self,
        mut user: User<P>,
        update: UserUpdate<P>,
        flags: AdminFlags,
        actor: Actor,
    ) -> Result<User<P>, AuthError> {
        let mut changed: Vec<&'static str> = Vec::new();
        let mut revoke_all = false;
        if let Some(email) = update.email
            && email != user.email
        {
            if email.key() != user.email.key() {
                user.is_verified = false;
            }
            user.email = email;
            changed.push("email");
        }
        if let Some(username) = update.username
            && user.username.as_ref() != Some(&username)
        {
            user.username = Some(username);
            changed.push("username");
        }
        if let Some(profile) = update.profile {
            user.profile = profile;
            changed.push("profile");
        }
        if let Some(is_verified) = flags.is_verified
            && is_verified != user.is_verified
        {
            user.is_verified = is_verified;
            changed.push("is_verified");
        }
        if let Some(is_active) = flags.is_active
            && is_active != user.is_active
        {
            user.is_active = is_active;
            revoke_all |= !is_active;
            changed.push("is_active");
        }
        if let Some(is_superuser) = flags.is_superuser
            && is_superuser != user.is_superuser
        {
            user.is_superuser = is_superuser;
            revoke_all = true;
            changed.push("is_superuser");
        }
        if let Some(roles) = flags.roles
            && roles != user.roles
        {
            user.roles = roles;
            revoke_all = true;
            changed.push("roles");
        }
        if let Some(password) = update.password {
            if let Actor::User { .. } = actor {
                let current = update
                    .current_password
                    .ok_or(AuthError::BadCurrentPassword)?;
                let verification = self
                    .inner
                    .hasher
                    .verify(&current, &user.password_hash)
                    .await?;
                if !verification.is_valid() {
                    return Err(AuthError::BadCurrentPassword);
                }
            }
            user = self.with_password(user, &password).await?;
            changed.push("password");
        }
        if changed.is_empty() {
            return Ok(user);
        }
        user.updated_at = self.now();
        self.inner.users.update(&user).await.map_err(conflict)?;
        if changed.contains(&"password") || revoke_all {
            let keep = match actor {
                Actor::User { current } if !revoke_all => current,
                _ => None,
            };
            let revoked = self.inner.sessions.revoke_all(user.id, keep).await?;
            tracing::info!(target: "auth", event = "sessions_revoked_on_change", user_id = %user.id, sessions = revoked, "sessions revoked after a security-relevant change");
        }
        tracing::info!(target: "auth", event = "user_updated", user_id = %user.id, fields = ?changed, "user updated");
        self.inner.hooks.on_after_update(&user, &changed).await;
        Ok(user)
    }

    /// Deletes a user and revokes every session of theirs. The `on_before_delete` hook may
    /// veto.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], the hook's veto, or an internal error.
    pub async fn delete_user(&self, id: UserId) -> Result<(), AuthError> {
        let user = self.get_user(id).await?;
        self.inner.hooks.on_before_delete(&user).await?;
        self.inner.sessions.revoke_all(id, None).await?;
        if !self.inner.users.delete(id).await? {
            return Err(AuthError::UserNotFound);
        }
        tracing::info!(target: "auth", event = "user_deleted", user_id = %id, "user deleted");
        self.inner.hooks.on_after_delete(&user).await;
        Ok(())
    }
}

/// The privileged part of an update; all `None` for a self-update.
#[derive(Default)]
struct AdminFlags {
    is_active: Option<bool>,
    is_superuser: Option<bool>,
    is_verified: Option<bool>,
    roles: Option<crate::user::Roles>,
}
