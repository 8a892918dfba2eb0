//! Reading, changing and deleting accounts: by the user themselves and by administrators.

use crate::error::{AuthError, StoreError};
use crate::events::{EventKind, EventMethod};
use crate::hasher::MAX_PASSWORD_BYTES;
use crate::hooks::Throttle;
use crate::limiter::RateDecision;
use crate::secret::Password;
use crate::session::{ClientInfo, SessionId};
use crate::store::{Page, UserQuery};
use crate::user::{Profile, User, UserId};

use super::emit::Event;
use super::session::account_keys;
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

    /// A user changes their own account (`PATCH /users/me`).
    ///
    /// Changing the password or the e-mail address needs the right current password
    /// (ASVS5 6.2.3, 7.5.1); a wrong one spends the account's login budget, so past it the
    /// answer is [`AuthError::RateLimited`] even for the right one. Either change revokes
    /// every session but `current` (ASVS5 7.4.3), and any session a login racing the change
    /// would open. A new e-mail address makes the user unverified, voids every verify and
    /// reset link sent before, and a notice goes to the old address (see
    /// [`MailTemplates::email_changed`](crate::MailTemplates::email_changed)).
    ///
    /// Two concurrent updates never lose each other's changes: the write is a
    /// compare-and-set on the user's version, retried on a fresh read.
    ///
    /// # Errors
    /// [`AuthError::BadCurrentPassword`], [`AuthError::RateLimited`],
    /// [`AuthError::Overloaded`] (too much password hashing under way: refused before the
    /// current password is checked or a new one hashed), [`AuthError::InvalidPassword`],
    /// [`AuthError::UserAlreadyExists`], [`AuthError::UsernameAlreadyExists`],
    /// [`AuthError::UserNotFound`], or an internal error.
    pub async fn update_self(
        &self,
        id: UserId,
        current: Option<SessionId>,
        update: UserUpdate<P>,
    ) -> Result<User<P>, AuthError> {
        self.update_as(id, update, AdminFlags::default(), Actor::User { current })
            .await
    }

    /// An administrator changes any account (`PATCH /users/{id}`). Deactivating, changing
    /// roles or the superuser flag, setting a password and changing the e-mail address revoke
    /// every session of the user, and any session a login racing the change would open
    /// (ASVS5 7.4.2). A changed address is announced to the old one, as for
    /// [`UserManager::update_self`].
    ///
    /// # Errors
    /// As [`UserManager::update_self`], without [`AuthError::BadCurrentPassword`] and
    /// [`AuthError::RateLimited`].
    pub async fn update_user(
        &self,
        id: UserId,
        update: AdminUpdate<P>,
    ) -> Result<User<P>, AuthError> {
        let flags = AdminFlags {
            is_active: update.is_active,
            is_superuser: update.is_superuser,
            is_verified: update.is_verified,
            roles: update.roles,
        };
        self.update_as(id, update.user, flags, Actor::Admin).await
    }

    async fn update_as(
        &self,
        id: UserId,
        update: UserUpdate<P>,
        flags: AdminFlags,
        actor: Actor,
    ) -> Result<User<P>, AuthError> {
        let mut user = self.get_user(id).await?;
        let reauth = needs_password(&actor, &update, &user);
        if reauth {
            self.check_current_password(&user, update.current_password.as_ref())
                .await?;
        }
        let checked_hash = user.password_hash.clone();
        let mut new_hash = None;
        for _ in 0..UPDATE_TRIES {
            let (mut next, mut change) = changed(user.clone(), &update, &flags);
            if let Some(password) = &update.password {
                match &new_hash {
                    Some(hash) => next.password_hash = Clone::clone(hash),
                    None => {
                        // Hashing takes a place, as a login's does.
                        let _ticket = self.admit_hashing()?;
                        next = self.with_password(next, password).await?;
                        new_hash = Some(next.password_hash.clone());
                    }
                }
                change.fields.push("password");
            }
            if change.fields.is_empty() {
                return Ok(user);
            }
            next.updated_at = self.now();
            let updated = self.inner.users.update(&next).await;
            self.user_changed(id);
            match updated {
                Ok(()) => {
                    next.version = next.version.wrapping_add(1);
                    return self.after_update(&user, next, change, &actor).await;
                }
                Err(StoreError::Stale) => {
                    user = self.get_user(id).await?;
                    // The fresh read decides again whether the update needs the password: an
                    // address that was current when this request began may not be any more.
                    if needs_password(&actor, &update, &user)
                        && (!reauth || user.password_hash != checked_hash)
                    {
                        return Err(AuthError::BadCurrentPassword);
                    }
                }
                Err(err) => return Err(conflict(err)),
            }
        }
        Err(AuthError::Store(StoreError::Stale))
    }

    /// Checks a self-update's `current_password` like a login checks a password: a place
    /// among the requests that hash first ([`AuthError::Overloaded`] without one, before
    /// anything is counted), then the account's login budget; a success clears the
    /// account's failures.
    pub(super) async fn check_current_password(
        &self,
        user: &User<P>,
        current: Option<&Password>,
    ) -> Result<(), AuthError> {
        let Some(current) = current else {
            return Err(AuthError::BadCurrentPassword);
        };
        let _ticket = self.admit_hashing()?;
        let limit = self.config().rate_limits.login_account;
        if let Some(limit) = limit {
            let now = self.now();
            for key in account_keys(user) {
                if let RateDecision::Limited { retry_after } =
                    self.inner.limiter.hit(&key, &limit, now).await?
                {
                    self.emit(
                        Event::new(EventKind::Throttled)
                            .user(user.id)
                            .method(EventMethod::CurrentPassword)
                            .detail(Throttle::LoginAccount.as_str()),
                    )
                    .await;
                    self.inner
                        .hooks
                        .on_throttled(Throttle::LoginAccount, &ClientInfo::default())
                        .await;
                    return Err(AuthError::RateLimited { retry_after });
                }
            }
        }
        if current.expose().len() > MAX_PASSWORD_BYTES
            || !self
                .inner
                .hasher
                .verify(current, &user.password_hash)
                .await?
                .is_valid()
        {
            self.emit(Event::new(EventKind::CurrentPasswordWrong).user(user.id))
                .await;
            return Err(AuthError::BadCurrentPassword);
        }
        if limit.is_some() {
            for key in account_keys(user) {
                self.inner.limiter.clear(&key).await?;
            }
        }
        Ok(())
    }

    /// What follows a stored change: sessions revoked (which moves the user's session mark),
    /// the old address told of a new one, logs and hooks.
    async fn after_update(
        &self,
        old: &User<P>,
        user: User<P>,
        change: Change,
        actor: &Actor,
    ) -> Result<User<P>, AuthError> {
        let email_changed = change.fields.contains(&"email");
        if change.fields.contains(&"password") || email_changed || change.revoke_all {
            let keep = match actor {
                Actor::User { current } if !change.revoke_all => *current,
                _ => None,
            };
            let revoked = self.inner.sessions.revoke_all(user.id, keep).await?;
            if revoked > 0 {
                self.emit(
                    Event::new(EventKind::SessionRevoked)
                        .user(user.id)
                        .detail("security_change")
                        .count(revoked),
                )
                .await;
            }
        }
        let by = match actor {
            Actor::User { .. } => None,
            Actor::Admin => Some(EventMethod::Admin),
        };
        let with_actor = |event: Event<'static>| match by {
            Some(method) => event.method(method),
            None => event,
        };
        if change.fields.contains(&"password") {
            self.emit(with_actor(
                Event::new(EventKind::PasswordChanged).user(user.id),
            ))
            .await;
        }
        if change.fields.contains(&"is_active") && !user.is_active {
            self.emit(with_actor(Event::new(EventKind::Deactivated).user(user.id)))
                .await;
        }
        if email_changed {
            let notice = self.email_changed_mail(&old.email, &user.email);
            if !self.queue_mail(notice) {
                tracing::error!(target: "auth", user_id = %user.id, "notice of the e-mail change not queued");
            }
            self.emit(with_actor(
                Event::new(EventKind::EmailChanged).user(user.id),
            ))
            .await;
            self.inner.hooks.on_email_changed(&user, &old.email).await;
        }
        self.emit(with_actor(
            Event::new(EventKind::UserUpdated)
                .user(user.id)
                .detail(change.fields.join(",")),
        ))
        .await;
        self.inner
            .hooks
            .on_after_update(&user, &change.fields)
            .await;
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
        // The user goes first, then the mark moves with the sessions: a login that read the
        // user before the deletion read the mark before it moved, and is refused.
        let deleted = self.inner.users.delete(id).await;
        self.user_changed(id);
        let deleted = deleted?;
        self.inner.sessions.revoke_all(id, None).await?;
        if !deleted {
            return Err(AuthError::UserNotFound);
        }
        self.emit(Event::new(EventKind::Deleted).user(id)).await;
        self.inner.hooks.on_after_delete(&user).await;
        Ok(())
    }
}

/// Whether an update of `user` needs the current password: a user's own change of the
/// password or of the address (what account recovery depends on).
fn needs_password<P>(actor: &Actor, update: &UserUpdate<P>, user: &User<P>) -> bool {
    matches!(actor, Actor::User { .. })
        && (update.password.is_some()
            || update
                .email
                .as_ref()
                .is_some_and(|email| *email != user.email))
}

/// How many times an update is tried again on a fresh read when another write won.
const UPDATE_TRIES: usize = 3;

/// What an update changed.
#[derive(Default)]
struct Change {
    fields: Vec<&'static str>,
    revoke_all: bool,
}

/// Applies an update's fields to `user`, without the password (hashed once by the caller).
fn changed<P: Profile>(
    mut user: User<P>,
    update: &UserUpdate<P>,
    flags: &AdminFlags,
) -> (User<P>, Change) {
    let mut change = Change::default();
    if let Some(email) = &update.email
        && *email != user.email
    {
        if email.key() != user.email.key() {
            user.is_verified = false;
        }
        user.email = email.clone();
        change.fields.push("email");
    }
    if let Some(username) = &update.username
        && user.username.as_ref() != Some(username)
    {
        user.username = Some(username.clone());
        change.fields.push("username");
    }
    if let Some(profile) = &update.profile {
        user.profile = profile.clone();
        change.fields.push("profile");
    }
    if let Some(is_verified) = flags.is_verified
        && is_verified != user.is_verified
    {
        user.is_verified = is_verified;
        change.fields.push("is_verified");
    }
    if let Some(is_active) = flags.is_active
        && is_active != user.is_active
    {
        user.is_active = is_active;
        change.revoke_all |= !is_active;
        change.fields.push("is_active");
    }
    if let Some(is_superuser) = flags.is_superuser
        && is_superuser != user.is_superuser
    {
        user.is_superuser = is_superuser;
        change.revoke_all = true;
        change.fields.push("is_superuser");
    }
    if let Some(roles) = &flags.roles
        && *roles != user.roles
    {
        user.roles = roles.clone();
        change.revoke_all = true;
        change.fields.push("roles");
    }
    (user, change)
}

/// The privileged part of an update; all `None` for a self-update.
#[derive(Default)]
struct AdminFlags {
    is_active: Option<bool>,
    is_superuser: Option<bool>,
    is_verified: Option<bool>,
    roles: Option<crate::user::Roles>,
}
