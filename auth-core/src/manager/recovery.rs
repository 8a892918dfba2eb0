//! E-mail verification and password reset: single-use, expiring, bound tokens.

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::email::Email;
use crate::error::{AuthError, StoreError};
use crate::events::EventKind;
use crate::hooks::Throttle;
use crate::secret::Password;
use crate::session::ClientInfo;
use crate::token::{RESET_AUDIENCE, VERIFY_AUDIENCE};
use crate::user::{Profile, User, UserId};

use super::UserManager;
use super::emit::Event;

/// The claims of a verify or reset token. The kind is its audience, so one kind is refused
/// where the other is expected (ASVS5 9.2.2). `bind` ties the token to the state it was made
/// for: the e-mail address (verify) or the current password hash (reset), so a reset token
/// dies when the password changes, which makes it single-use.
#[derive(Debug, Serialize, Deserialize)]
struct ActionClaims {
    sub: UserId,
    exp: i64,
    iat: i64,
    jti: String,
    bind: String,
}

fn email_binding(email: &Email) -> String {
    hex::encode(&Sha256::digest(email.key().as_bytes())[..16])
}

/// A reset token is bound to the password (so it dies when the password changes, which makes
/// it single-use) and to the address it was mailed to (so it dies when the address changes).
fn reset_binding<P>(user: &User<P>) -> String {
    format!(
        "{}.{}",
        user.password_hash.fingerprint(),
        email_binding(&user.email)
    )
}

fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl<P: Profile> UserManager<P> {
    fn action_token(
        &self,
        user: &User<P>,
        audience: &str,
        lifetime: time::Duration,
        bind: String,
    ) -> Result<String, AuthError> {
        let now = self.now();
        let claims = ActionClaims {
            sub: user.id,
            exp: (now + lifetime).unix_timestamp(),
            iat: now.unix_timestamp(),
            jti: random_jti(),
            bind,
        };
        self.inner
            .action_codec
            .encode(&claims, audience)
            .map_err(|err| AuthError::Token(crate::TokenError::Backend(Box::new(err))))
    }

    fn link(&self, path: &str, token: &str) -> String {
        let base = self.config().public_base_url.trim_end_matches('/');
        format!("{base}{path}#token={token}")
    }

    /// Whether another mail may go to this address now (mail bombing guard). Asked for
    /// unknown addresses too, so that both answers cost the same.
    async fn may_mail(&self, email: &Email) -> Result<bool, AuthError> {
        let Some(limit) = self.config().rate_limits.mail_account else {
            return Ok(true);
        };
        let key = format!("mail:account:{}", email.key());
        Ok(self
            .inner
            .limiter
            .hit(&key, &limit, self.now())
            .await?
            .is_allowed())
    }

    /// Sends the verification mail; failures are logged, never answered.
    pub(super) async fn send_verify_mail(&self, user: &User<P>) {
        let sent = async {
            if !self.may_mail(&user.email).await? {
                return Ok(false);
            }
            let token = self.action_token(
                user,
                VERIFY_AUDIENCE,
                self.config().verify_token_lifetime,
                email_binding(&user.email),
            )?;
            let mail = self.verify_mail(&user.email, self.link(&self.config().verify_path, &token));
            Ok::<bool, AuthError>(self.queue_mail(mail))
        }
        .await;
        match sent {
            Ok(true) => {
                self.emit(Event::new(EventKind::VerificationRequested).user(user.id))
                    .await;
                self.inner.hooks.on_after_request_verify(user).await;
            }
            Ok(false) => {
                self.emit(
                    Event::new(EventKind::MailThrottled)
                        .user(user.id)
                        .detail("verify"),
                )
                .await;
            }
            Err(err) => {
                tracing::error!(target: "auth", user_id = %user.id, error = %err, "verification mail not sent");
            }
        }
    }

    /// Sends a verification mail to an active, unverified user with this address. Answers the
    /// same, after the same work, whether or not there is one (ASVS5 6.3.8). The
    /// `on_after_request_verify` hook runs inside the request for a real address only: keep it
    /// quick (hand slow work to a task) or its time tells which addresses have accounts.
    ///
    /// # Errors
    /// Only when the user store fails.
    pub async fn request_verify(
        &self,
        email: &Email,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let eligible = self
            .inner
            .users
            .find_by_email(email)
            .await?
            .filter(|user| user.is_active && !user.is_verified);
        if let Some(user) = eligible {
            self.send_verify_mail(&user).await;
        } else {
            // The same work as for an eligible address (a throttle count and a token signed,
            // nothing sent inside the request), so the timing tells nothing.
            let _ = self.may_mail(email).await?;
            let _ = self.action_token(
                &self.draft(email.clone(), None, P::default()),
                VERIFY_AUDIENCE,
                self.config().verify_token_lifetime,
                email_binding(email),
            );
            self.emit(
                Event::new(EventKind::RequestIgnored)
                    .client(client)
                    .detail("verify"),
            )
            .await;
        }
        Ok(())
    }

    /// Verifies the address a verify token was made for.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] (token submissions per IP), [`AuthError::BadVerifyToken`]
    /// (malformed, expired, another kind, another address, unknown or inactive user),
    /// [`AuthError::AlreadyVerified`], or an internal error.
    pub async fn verify(&self, token: &str, client: &ClientInfo) -> Result<User<P>, AuthError> {
        self.throttle_token(client).await?;
        let claims: ActionClaims = self
            .inner
            .action_codec
            .decode(token, VERIFY_AUDIENCE, self.now())
            .map_err(|_| AuthError::BadVerifyToken)?;
        let mut user = match self.inner.users.get(claims.sub).await? {
            Some(user) if user.is_active && claims.bind == email_binding(&user.email) => user,
            _ => return Err(AuthError::BadVerifyToken),
        };
        if user.is_verified {
            return Err(AuthError::AlreadyVerified);
        }
        user.is_verified = true;
        user.updated_at = self.now();
        let updated = self.inner.users.update(&user).await;
        self.user_changed(user.id);
        match updated {
            Ok(()) => user.version = user.version.wrapping_add(1),
            // Another write won: a parallel submission of this token, or a change of the
            // account; either way this token is spent or void.
            Err(StoreError::Stale | StoreError::NotFound) => return Err(AuthError::BadVerifyToken),
            Err(err) => return Err(err.into()),
        }
        self.emit(Event::new(EventKind::Verified).user(user.id).client(client))
            .await;
        self.inner.hooks.on_after_verify(&user).await;
        Ok(user)
    }

    /// Sends a reset mail to an active user with this address. Answers the same whether or
    /// not there is one; over the per-account mail limit it sends nothing and still answers
    /// the same.
    ///
    /// # Errors
    /// Only when the user store fails.
    pub async fn forgot_password(
        &self,
        email: &Email,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        // Both answers do the same work (one lookup, one throttle count, one token signed,
        // nothing sent inside the request), so their timing tells nothing.
        let user = self
            .inner
            .users
            .find_by_email(email)
            .await?
            .filter(|user| user.is_active);
        let may_mail = self.may_mail(email).await?;
        let Some(user) = user else {
            let _ = self.action_token(
                &self.draft(email.clone(), None, P::default()),
                RESET_AUDIENCE,
                self.config().reset_token_lifetime,
                String::new(),
            );
            self.emit(
                Event::new(EventKind::RequestIgnored)
                    .client(client)
                    .detail("reset"),
            )
            .await;
            return Ok(());
        };
        let token = self.action_token(
            &user,
            RESET_AUDIENCE,
            self.config().reset_token_lifetime,
            reset_binding(&user),
        )?;
        if !may_mail {
            self.emit(
                Event::new(EventKind::MailThrottled)
                    .user(user.id)
                    .client(client)
                    .detail("reset"),
            )
            .await;
            return Ok(());
        }
        // Mail goes only to the address on record.
        let mail = self.reset_mail(&user.email, self.link(&self.config().reset_path, &token));
        if self.queue_mail(mail) {
            self.emit(
                Event::new(EventKind::PasswordResetRequested)
                    .user(user.id)
                    .client(client),
            )
            .await;
            self.inner.hooks.on_after_forgot_password(&user).await;
        }
        Ok(())
    }

    /// Sets a new password with a reset token, revokes every session of the user and clears
    /// the account's login throttle. Does not log anyone in.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] (token submissions per IP), [`AuthError::BadResetToken`]
    /// (malformed, expired, used, another kind, unknown or deactivated user),
    /// [`AuthError::InvalidPassword`], [`AuthError::Overloaded`] (too much hashing under way:
    /// refused before the token is read or the throttle counts it), or an internal error.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &Password,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let ticket = self.admit_hashing()?;
        self.throttle_token(client).await?;
        let claims: ActionClaims = self
            .inner
            .action_codec
            .decode(token, RESET_AUDIENCE, self.now())
            .map_err(|_| AuthError::BadResetToken)?;
        let user = match self.inner.users.get(claims.sub).await? {
            Some(user) if user.is_active && claims.bind == reset_binding(&user) => user,
            _ => return Err(AuthError::BadResetToken),
        };
        let mut user = self.with_password(user, password).await?;
        drop(ticket);
        user.updated_at = self.now();
        // The compare-and-set spends the token: of parallel submissions one write wins; the
        // others find the version moved.
        let updated = self.inner.users.update(&user).await;
        self.user_changed(user.id);
        match updated {
            Ok(()) => user.version = user.version.wrapping_add(1),
            Err(StoreError::Stale | StoreError::NotFound) => return Err(AuthError::BadResetToken),
            Err(err) => return Err(err.into()),
        }
        // ASVS5 7.4.3: a reset ends every session.
        self.inner.sessions.revoke_all(user.id, None).await?;
        for key in super::session::account_keys(&user) {
            self.inner.limiter.clear(&key).await?;
        }
        self.emit(
            Event::new(EventKind::PasswordReset)
                .user(user.id)
                .client(client),
        )
        .await;
        self.inner.hooks.on_after_reset_password(&user).await;
        Ok(())
    }

    async fn throttle_token(&self, client: &ClientInfo) -> Result<(), AuthError> {
        match client.ip {
            Some(ip) => {
                self.throttle(
                    self.config().rate_limits.token_ip,
                    &format!("token:ip:{}", super::throttle_ip(ip)),
                    Throttle::TokenIp,
                    client,
                )
                .await
            }
            None => Ok(()),
        }
    }
}
