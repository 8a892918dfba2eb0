//! Registration, and creating users on an administrator's behalf.

use crate::error::{AuthError, StoreError, UniqueField};
use crate::events::{EventKind, EventMethod};
use crate::secret::{Password, PasswordHash};
use crate::session::ClientInfo;
use crate::user::{Profile, User, UserId};

use super::emit::Event;
use super::types::{CreateOptions, NewUser, Registration};
use super::{UserManager, conflict};

impl<P: Profile> UserManager<P> {
    /// Registers a visitor: validates the password, hashes it and stores the user with the
    /// default roles, active, not verified and not a superuser.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] (registrations per IP), [`AuthError::InvalidPassword`],
    /// [`AuthError::UserAlreadyExists`] (unless enumeration-safe mode conceals it),
    /// [`AuthError::UsernameAlreadyExists`], [`AuthError::Overloaded`] (too much hashing under
    /// way: refused before the throttle counts it), or an internal error.
    pub async fn register(
        &self,
        new: NewUser<P>,
        client: &ClientInfo,
    ) -> Result<Registration<P>, AuthError> {
        let ticket = self.admit_hashing()?;
        if let Some(ip) = client.ip {
            self.throttle(
                self.config().rate_limits.register_ip,
                &format!("register:ip:{}", super::throttle_ip(ip)),
                crate::hooks::Throttle::RegisterIp,
                client,
            )
            .await?;
        }
        let user = self.draft(new.email, new.username, new.profile);
        let user = self.with_password(user, &new.password).await?;
        drop(ticket);
        match self.inner.users.create(&user).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueField::Email))
                if self.config().enumeration_safe_registration =>
            {
                let existing = self.inner.users.find_by_email(&user.email).await?;
                let mut event = Event::new(EventKind::RegistrationConcealed).client(client);
                if let Some(existing) = &existing {
                    event = event.user(existing.id);
                }
                self.emit(event).await;
                if let Some(existing) = existing {
                    self.inner.hooks.on_duplicate_registration(&existing).await;
                }
                return Ok(Registration::Concealed);
            }
            Err(err) => return Err(conflict(err)),
        }
        self.emit(
            Event::new(EventKind::Registered)
                .user(user.id)
                .client(client)
                .method(EventMethod::Password),
        )
        .await;
        self.inner.hooks.on_after_register(&user).await;
        if self.config().send_verification_on_register {
            self.send_verify_mail(&user).await;
        }
        Ok(Registration::Created(user))
    }

    /// Creates a user with privileged settings, for administrators and the command line.
    /// Not throttled; the password rules still apply.
    ///
    /// # Errors
    /// As [`UserManager::register`], without throttling or concealment.
    pub async fn create_user(
        &self,
        new: NewUser<P>,
        options: CreateOptions,
    ) -> Result<User<P>, AuthError> {
        let mut user = self.draft(new.email, new.username, new.profile);
        user.is_superuser = options.superuser;
        user.is_verified = options.verified;
        for role in options.roles.iter() {
            user.roles.insert(role);
        }
        let user = self.with_password(user, &new.password).await?;
        self.inner.users.create(&user).await.map_err(conflict)?;
        self.emit(
            Event::new(EventKind::Registered)
                .user(user.id)
                .method(EventMethod::Admin)
                .superuser(user.is_superuser),
        )
        .await;
        self.inner.hooks.on_after_register(&user).await;
        Ok(user)
    }

    pub(super) fn draft(
        &self,
        email: crate::Email,
        username: Option<crate::Username>,
        profile: P,
    ) -> User<P> {
        let now = self.now();
        User {
            id: UserId::new(),
            email,
            username,
            password_hash: PasswordHash::new(String::new()),
            is_active: true,
            is_superuser: false,
            is_verified: false,
            roles: self.config().default_roles.clone(),
            created_at: now,
            updated_at: now,
            profile,
            version: 0,
        }
    }

    /// Checks `password` against the policy and the hook, for `user` as it will be, and
    /// returns `user` with the password's hash.
    pub(super) async fn with_password(
        &self,
        mut user: User<P>,
        password: &Password,
    ) -> Result<User<P>, AuthError> {
        self.config()
            .password_policy
            .check(password, Some(&user.email), user.username.as_ref())
            .map_err(AuthError::InvalidPassword)?;
        self.inner
            .hooks
            .validate_password(password, &user)
            .await
            .map_err(AuthError::InvalidPassword)?;
        user.password_hash = self.inner.hasher.hash(password).await?;
        Ok(user)
    }
}
