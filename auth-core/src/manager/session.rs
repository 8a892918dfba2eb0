//! Authentication, login, refresh, logout and the session list.

use crate::email::Email;
use crate::error::AuthError;
use crate::hasher::{MAX_PASSWORD_BYTES, Verification};
use crate::hooks::LoginFailure;
use crate::limiter::RateDecision;
use crate::secret::Password;
use crate::session::{ClientInfo, RefreshToken, Renewal, Rotation, Session, SessionId};
use crate::token::{AccessClaims, AccessSubject};
use crate::user::{Profile, User, UserId};
use crate::username::Username;

use super::UserManager;
use super::types::{Login, TokenPair};

/// How a login name is looked up: an e-mail address when it has an `@`, else a username.
enum Identifier {
    Email(Email),
    Username(Username),
    Neither,
}

/// The throttle key of a login by e-mail address.
fn email_key(email: &Email) -> String {
    format!("login:account:{}", email.key())
}

/// The throttle key of a login by username.
fn username_key(name: &Username) -> String {
    format!("login:account:~{}", name.key())
}

/// Every throttle key of an account: one per name it logs in with. A failure counts against
/// all of them, so the e-mail address and the username share one budget of failures instead
/// of giving an attacker one each.
pub(super) fn account_keys<P>(user: &User<P>) -> Vec<String> {
    let mut keys = vec![email_key(&user.email)];
    keys.extend(user.username.as_ref().map(username_key));
    keys
}

impl Identifier {
    fn parse(raw: &str) -> Self {
        if raw.contains('@') {
            Email::parse(raw).map_or(Self::Neither, Self::Email)
        } else {
            Username::parse(raw).map_or(Self::Neither, Self::Username)
        }
    }

    /// The throttle key of the account: the same for every spelling of one account, and
    /// defined for unknown accounts too, so throttling reveals nothing.
    fn throttle_key(&self, raw: &str) -> String {
        match self {
            Self::Email(email) => email_key(email),
            Self::Username(name) => username_key(name),
            Self::Neither => format!(
                "login:account:?{}",
                raw.trim()
                    .chars()
                    .take(256)
                    .collect::<String>()
                    .to_lowercase()
            ),
        }
    }
}

/// Why [`UserManager::check_credentials`] refused, with the account when there is one (its
/// throttle keys all count the failure).
struct Refusal<P> {
    error: AuthError,
    reason: LoginFailure,
    account: Option<User<P>>,
}

impl<P: Profile> UserManager<P> {
    /// Checks a login name (e-mail address or username) and password, without throttling or
    /// a session.
    ///
    /// Unknown user, wrong password and inactive user all answer
    /// [`AuthError::BadCredentials`], and the hasher runs exactly once on each of those paths
    /// (ASVS5 6.3.8). A matching hash with outdated parameters is upgraded.
    ///
    /// # Errors
    /// [`AuthError::BadCredentials`], or an internal error.
    pub async fn authenticate(
        &self,
        identifier: &str,
        password: &Password,
    ) -> Result<User<P>, AuthError> {
        self.check_credentials(&Identifier::parse(identifier), password)
            .await
            .map_err(|refusal| refusal.error)
    }

    async fn check_credentials(
        &self,
        identifier: &Identifier,
        password: &Password,
    ) -> Result<User<P>, Refusal<P>> {
        let bad = |reason, account| Refusal {
            error: AuthError::BadCredentials,
            reason,
            account,
        };
        let internal = |err: AuthError| Refusal {
            error: err,
            reason: LoginFailure::WrongPassword,
            account: None,
        };
        // Long-password DoS: refuse before any hashing (ASVS5 6.2.9). This reveals nothing
        // about the account, so the equal-work rule does not need the hasher here.
        if password.expose().len() > MAX_PASSWORD_BYTES {
            return Err(bad(LoginFailure::WrongPassword, None));
        }
        let found = match identifier {
            Identifier::Email(email) => self.inner.users.find_by_email(email).await,
            Identifier::Username(name) => self.inner.users.find_by_username(name).await,
            Identifier::Neither => Ok(None),
        }
        .map_err(|err| internal(err.into()))?;
        let Some(user) = found else {
            self.inner
                .hasher
                .dummy_verify(password)
                .await
                .map_err(|err| internal(err.into()))?;
            return Err(bad(LoginFailure::UnknownUser, None));
        };
        let verification = self
            .inner
            .hasher
            .verify(password, &user.password_hash)
            .await
            .map_err(|err| internal(err.into()))?;
        if !verification.is_valid() {
            return Err(bad(LoginFailure::WrongPassword, Some(user)));
        }
        if !user.is_active {
            return Err(bad(LoginFailure::Inactive, Some(user)));
        }
        if verification == Verification::ValidNeedsRehash {
            return Ok(self.rehash(user, password).await);
        }
        Ok(user)
    }

    /// Upgrades an outdated hash; a failure is logged and the login goes on.
    async fn rehash(&self, mut user: User<P>, password: &Password) -> User<P> {
        match self.inner.hasher.hash(password).await {
            Ok(hash) => {
                let old = std::mem::replace(&mut user.password_hash, hash);
                if let Err(err) = self.inner.users.update(&user).await {
                    tracing::error!(target: "auth", user_id = %user.id, error = %err, "could not store the upgraded password hash");
                    user.password_hash = old;
                } else {
                    tracing::info!(target: "auth", event = "password_rehashed", user_id = %user.id, "password hash upgraded");
                }
            }
            Err(err) => {
                tracing::error!(target: "auth", user_id = %user.id, error = %err, "could not upgrade the password hash");
            }
        }
        user
    }

    /// Logs a user in: throttles failures per account and per IP, checks the credentials,
    /// opens a new session and issues its tokens.
    ///
    /// While an account is throttled even the right password is refused; a successful login
    /// clears the account's failures.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`], [`AuthError::BadCredentials`],
    /// [`AuthError::UserNotVerified`] (when [`ManagerConfig::require_verification`](super::ManagerConfig::require_verification)
    /// is on and the credentials are right), or an internal error.
    pub async fn login(
        &self,
        identifier: &str,
        password: &Password,
        client: &ClientInfo,
    ) -> Result<Login<P>, AuthError> {
        self.login_requiring(
            identifier,
            password,
            client,
            self.config().require_verification,
        )
        .await
    }

    /// [`UserManager::login`], deciding per call whether a verified address is required (a
    /// login backend may require it when the manager does not). With `require_verified`, an
    /// unverified user with the right password gets [`AuthError::UserNotVerified`], no session
    /// is opened and no login hook fires.
    ///
    /// # Errors
    /// As [`UserManager::login`].
    pub async fn login_requiring(
        &self,
        identifier: &str,
        password: &Password,
        client: &ClientInfo,
        require_verified: bool,
    ) -> Result<Login<P>, AuthError> {
        let parsed = Identifier::parse(identifier);
        let account_key = parsed.throttle_key(identifier);
        let ip_key = client.ip.map(|ip| format!("login:ip:{ip}"));
        let limits = self.config().rate_limits.clone();
        let now = self.now();
        for (limit, key) in [
            (limits.login_account, Some(&account_key)),
            (limits.login_ip, ip_key.as_ref()),
        ] {
            let (Some(limit), Some(key)) = (limit, key) else {
                continue;
            };
            if let RateDecision::Limited { retry_after } =
                self.inner.limiter.peek(key, &limit, now).await?
            {
                self.inner
                    .hooks
                    .on_failed_login(identifier, LoginFailure::Throttled, client)
                    .await;
                tracing::warn!(target: "auth", event = "login_throttled", ip = ?client.ip, "login throttled");
                return Err(AuthError::RateLimited { retry_after });
            }
        }
        let user = match self.check_credentials(&parsed, password).await {
            Ok(user) => user,
            Err(Refusal {
                error: AuthError::BadCredentials,
                reason,
                account,
            }) => {
                let mut account_keys_hit = vec![account_key.clone()];
                for key in account.as_ref().map(account_keys).unwrap_or_default() {
                    if !account_keys_hit.contains(&key) {
                        account_keys_hit.push(key);
                    }
                }
                if let Some(limit) = limits.login_account {
                    for key in &account_keys_hit {
                        self.inner.limiter.hit(key, &limit, now).await?;
                    }
                }
                if let (Some(limit), Some(key)) = (limits.login_ip, ip_key.as_ref()) {
                    self.inner.limiter.hit(key, &limit, now).await?;
                }
                tracing::warn!(target: "auth", event = "login_failed", reason = ?reason, ip = ?client.ip, "login failed");
                self.inner
                    .hooks
                    .on_failed_login(identifier, reason, client)
                    .await;
                return Err(AuthError::BadCredentials);
            }
            Err(refusal) => return Err(refusal.error),
        };
        if limits.login_account.is_some() {
            for key in account_keys(&user) {
                self.inner.limiter.clear(&key).await?;
            }
        }
        if require_verified && !user.is_verified {
            self.inner
                .hooks
                .on_failed_login(identifier, LoginFailure::NotVerified, client)
                .await;
            return Err(AuthError::UserNotVerified);
        }
        let tokens = self.open_session(&user, client).await?;
        tracing::info!(target: "auth", event = "login_succeeded", user_id = %user.id, session_id = %tokens.session_id, ip = ?client.ip, "login succeeded");
        self.inner
            .hooks
            .on_after_login(&user, tokens.session_id, client)
            .await;
        Ok(Login { user, tokens })
    }

    /// Opens a new session for `user` (a new id and new secrets every time: ASVS5 7.2.4).
    async fn open_session(
        &self,
        user: &User<P>,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let now = self.now();
        let config = self.config();
        let id = SessionId::random();
        let refresh = RefreshToken::generate(id);
        let access = self
            .inner
            .tokens
            .issue(&AccessSubject::from(user), id, now)
            .await
            .map_err(AuthError::Token)?;
        let expires_at = now + config.session_lifetime;
        let session = Session {
            id,
            user_id: user.id,
            refresh_hash: refresh.hash(),
            access_hash: access.stored_hash,
            created_at: now,
            last_used_at: now,
            idle_expires_at: (now + config.refresh_lifetime).min(expires_at),
            expires_at,
            user_agent: client.user_agent.clone(),
            ip: client.ip,
        };
        self.inner.sessions.create(&session).await?;
        Ok(TokenPair {
            access_token: access.token,
            refresh_token: refresh.expose(),
            expires_in: access.expires_in,
            refresh_expires_in: (session.effective_expiry() - now).whole_seconds(),
            session_id: id,
        })
    }

    /// Exchanges a refresh token for a new pair. Every refresh token works once: presenting
    /// a used one revokes its whole session (RFC 9700 §4.14.2), and of parallel refreshes with
    /// one token exactly one succeeds.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for unknown, expired, revoked or reused tokens and
    /// inactive users, or an internal error.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, AuthError> {
        let presented = RefreshToken::parse(refresh_token).ok_or(AuthError::InvalidToken)?;
        let sid = presented.session_id();
        let now = self.now();
        let session = self
            .inner
            .sessions
            .get(sid, now)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let user = match self.inner.users.get(session.user_id).await? {
            Some(user) if user.is_active => user,
            _ => {
                self.inner.sessions.revoke(sid).await?;
                return Err(AuthError::InvalidToken);
            }
        };
        let access = self
            .inner
            .tokens
            .issue(&AccessSubject::from(&user), sid, now)
            .await
            .map_err(AuthError::Token)?;
        let next = RefreshToken::generate(sid);
        let renewal = Renewal {
            refresh_hash: next.hash(),
            access_hash: access.stored_hash,
            now,
            idle_expires_at: now + self.config().refresh_lifetime,
        };
        match self
            .inner
            .sessions
            .rotate(sid, &presented.hash(), &renewal)
            .await?
        {
            Rotation::Rotated(session) => {
                tracing::info!(target: "auth", event = "refreshed", user_id = %user.id, session_id = %sid, ip = ?client.ip, "session refreshed");
                Ok(TokenPair {
                    access_token: access.token,
                    refresh_token: next.expose(),
                    expires_in: access.expires_in,
                    refresh_expires_in: (session.effective_expiry() - now).whole_seconds(),
                    session_id: sid,
                })
            }
            Rotation::Reused { user_id } => {
                tracing::warn!(target: "auth", event = "refresh_token_reused", user_id = %user_id, session_id = %sid, ip = ?client.ip, "a used refresh token was presented again; session revoked");
                Err(AuthError::InvalidToken)
            }
            Rotation::NotFound => Err(AuthError::InvalidToken),
        }
    }

    /// Turns a presented access token into claims: the per-request path. With
    /// [`ManagerConfig::check_revocation`](super::ManagerConfig::check_revocation) on (the
    /// default), the token's session must still be live, so logout is immediate.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`], or an internal error when a store fails (fail closed).
    pub async fn authenticate_token(&self, token: &str) -> Result<AccessClaims, AuthError> {
        self.inner.authenticator.authenticate(token).await
    }

    /// Logs out one session of a user (the `sid` and `sub` of their access token): its
    /// refresh token dies at once, and so does its access token wherever revocation is
    /// checked.
    ///
    /// # Errors
    /// Only when the store fails.
    pub async fn logout(&self, user_id: UserId, session: SessionId) -> Result<(), AuthError> {
        self.inner.sessions.revoke(session).await?;
        tracing::info!(target: "auth", event = "logout", user_id = %user_id, session_id = %session, "logged out");
        self.inner.hooks.on_after_logout(user_id, session).await;
        Ok(())
    }

    /// Revokes every session of a user, and returns how many there were.
    ///
    /// # Errors
    /// Only when the store fails.
    pub async fn logout_everywhere(&self, user_id: UserId) -> Result<u64, AuthError> {
        let count = self.inner.sessions.revoke_all(user_id, None).await?;
        tracing::info!(target: "auth", event = "logout_everywhere", user_id = %user_id, sessions = count, "every session revoked");
        Ok(count)
    }

    /// A user's live sessions, oldest first.
    ///
    /// # Errors
    /// Only when the store fails.
    pub async fn list_sessions(&self, user_id: UserId) -> Result<Vec<Session>, AuthError> {
        Ok(self.inner.sessions.list(user_id, self.now()).await?)
    }

    /// Revokes one of a user's sessions.
    ///
    /// # Errors
    /// [`AuthError::SessionNotFound`] when the session does not exist or belongs to someone
    /// else (the two are indistinguishable), or an internal error.
    pub async fn revoke_session(
        &self,
        user_id: UserId,
        session_id: SessionId,
    ) -> Result<(), AuthError> {
        match self.inner.sessions.get(session_id, self.now()).await? {
            Some(session) if session.user_id == user_id => {
                self.inner.sessions.revoke(session_id).await?;
                tracing::info!(target: "auth", event = "session_revoked", user_id = %user_id, session_id = %session_id, "session revoked");
                Ok(())
            }
            _ => Err(AuthError::SessionNotFound),
        }
    }
}
