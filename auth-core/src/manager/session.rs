//! Authentication, login, refresh, logout and the session list.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::email::Email;
use crate::error::AuthError;
use crate::events::{EventKind, EventMethod};
use crate::hasher::{MAX_PASSWORD_BYTES, Verification};
use crate::hooks::{LoginFailure, Revocation, Throttle};
use crate::limiter::{RateDecision, RateLimit, RateLimiter};
use crate::secret::Password;
use crate::session::{
    Admission, Admitted, ClientInfo, RefreshToken, Renewal, Rotation, Session, SessionId,
    SessionMark,
};
use crate::token::{AccessClaims, AccessSubject};
use crate::user::{Profile, User, UserId};
use crate::username::Username;

use super::UserManager;
use super::emit::Event;
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

/// Why a credential check refused: the answer, the reason the hooks and the log hear, and
/// the account it was refused for, when one was found.
struct Refusal {
    error: AuthError,
    reason: LoginFailure,
    user_id: Option<UserId>,
}

impl Refusal {
    fn bad(reason: LoginFailure) -> Self {
        Self {
            error: AuthError::BadCredentials,
            reason,
            user_id: None,
        }
    }

    /// A refusal for a found account: it goes into that account's trail.
    fn of(mut self, user_id: UserId) -> Self {
        self.user_id = Some(user_id);
        self
    }

    fn internal(error: AuthError) -> Self {
        Self {
            error,
            reason: LoginFailure::WrongPassword,
            user_id: None,
        }
    }
}

/// How many times a login whose session was refused for a moved mark re-reads the user and
/// tries again (without hashing again) before it gives up.
const ADMISSION_TRIES: usize = 3;

/// The throttle slots one login attempt has taken.
///
/// Until the attempt is [settled](Budget::settle) (its password checked, or its refusal
/// decided), dropping the budget gives its slots back: a client that hangs up while its
/// login waits for the hasher learns nothing, so its attempt must not count; otherwise
/// every cancelled request would keep a slot for the whole window.
struct Budget {
    keys: Vec<String>,
    kinds: Vec<Throttle>,
    limiter: Arc<dyn RateLimiter>,
    taken_at: OffsetDateTime,
    settled: bool,
}

impl Drop for Budget {
    fn drop(&mut self) {
        if self.settled || self.keys.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let keys = std::mem::take(&mut self.keys);
        let limiter = Arc::clone(&self.limiter);
        let at = self.taken_at;
        runtime.spawn(async move {
            for key in keys {
                if let Err(err) = limiter.refund(&key, at).await {
                    tracing::warn!(target: "auth", error = %err, "could not refund the slot of a cancelled login");
                }
            }
        });
    }
}

impl Budget {
    fn new(limiter: Arc<dyn RateLimiter>, taken_at: OffsetDateTime) -> Self {
        Self {
            keys: Vec::new(),
            kinds: Vec::new(),
            limiter,
            taken_at,
            settled: false,
        }
    }

    /// The attempt's outcome is decided: its slots are the login's to spend or give back.
    fn settle(&mut self) {
        self.settled = true;
    }

    /// The per-IP key, if one was taken.
    fn ip_key(&self) -> Option<&str> {
        self.keys
            .iter()
            .zip(&self.kinds)
            .find(|(_, kind)| **kind == Throttle::LoginIp)
            .map(|(key, _)| key.as_str())
    }
}

/// Who is trying to log in, for hooks and logs.
struct Attempt<'a> {
    identifier: &'a str,
    client: &'a ClientInfo,
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
    /// [`AuthError::BadCredentials`], [`AuthError::Overloaded`] (too much hashing under way:
    /// refused before the account is looked up), or an internal error.
    pub async fn authenticate(
        &self,
        identifier: &str,
        password: &Password,
    ) -> Result<User<P>, AuthError> {
        let _ticket = self.admit_hashing()?;
        self.check_credentials(&Identifier::parse(identifier), password)
            .await
            .map(|(user, _)| user)
            .map_err(|refusal| refusal.error)
    }

    async fn check_credentials(
        &self,
        identifier: &Identifier,
        password: &Password,
    ) -> Result<(User<P>, SessionMark), Refusal> {
        let found = self.find_account(identifier, password).await?;
        self.check_password(found, password).await
    }

    /// Finds the account a login names. For a known account the user's session mark is read
    /// first and the user is read again after it, so that the user checked is never older than
    /// the mark a session will be admitted with.
    async fn find_account(
        &self,
        identifier: &Identifier,
        password: &Password,
    ) -> Result<Option<(User<P>, SessionMark)>, Refusal> {
        // Long-password DoS: refuse before any hashing (ASVS5 6.2.9). This reveals nothing
        // about the account, so the equal-work rule does not need the hasher here.
        if password.expose().len() > MAX_PASSWORD_BYTES {
            return Err(Refusal::bad(LoginFailure::WrongPassword));
        }
        let found = match identifier {
            Identifier::Email(email) => self.inner.users.find_by_email(email).await,
            Identifier::Username(name) => self.inner.users.find_by_username(name).await,
            Identifier::Neither => Ok(None),
        }
        .map_err(|err| Refusal::internal(err.into()))?;
        let Some(found) = found else {
            // The same reads as for a real account, so the store's round trips tell nothing.
            let _ = self.current_with_mark(UserId::new()).await;
            return Ok(None);
        };
        self.current_with_mark(found.id)
            .await
            .map_err(Refusal::internal)
    }

    /// The user's session mark, then the user as stored after it was read.
    pub(super) async fn current_with_mark(
        &self,
        id: UserId,
    ) -> Result<Option<(User<P>, SessionMark)>, AuthError> {
        let mark = self.inner.sessions.mark(id).await?;
        Ok(self.inner.users.get(id).await?.map(|user| (user, mark)))
    }

    /// Checks the password of a found account (or burns one hash for an unknown one).
    async fn check_password(
        &self,
        found: Option<(User<P>, SessionMark)>,
        password: &Password,
    ) -> Result<(User<P>, SessionMark), Refusal> {
        let Some((user, mark)) = found else {
            self.inner
                .hasher
                .dummy_verify(password)
                .await
                .map_err(|err| Refusal::internal(err.into()))?;
            return Err(Refusal::bad(LoginFailure::UnknownUser));
        };
        if !user.password_hash.is_usable() {
            // An account created through a provider has no password: the same hashing work
            // as for a wrong one, so that timing does not tell such accounts apart.
            self.inner
                .hasher
                .dummy_verify(password)
                .await
                .map_err(|err| Refusal::internal(err.into()))?;
            return Err(Refusal::bad(LoginFailure::WrongPassword).of(user.id));
        }
        let verification = self
            .inner
            .hasher
            .verify(password, &user.password_hash)
            .await
            .map_err(|err| Refusal::internal(err.into()))?;
        if !verification.is_valid() {
            return Err(Refusal::bad(LoginFailure::WrongPassword).of(user.id));
        }
        if !user.is_active {
            return Err(Refusal::bad(LoginFailure::Inactive).of(user.id));
        }
        if verification == Verification::ValidNeedsRehash {
            return Ok((self.rehash(user, password).await, mark));
        }
        Ok((user, mark))
    }

    /// Upgrades an outdated hash; a failure is logged and the login goes on.
    async fn rehash(&self, mut user: User<P>, password: &Password) -> User<P> {
        match self.inner.hasher.hash(password).await {
            Ok(hash) => {
                let old = std::mem::replace(&mut user.password_hash, hash);
                let updated = self.inner.users.update(&user).await;
                self.user_changed(user.id);
                if let Err(err) = updated {
                    // `Stale`: someone changed the user meanwhile; the next login upgrades.
                    tracing::warn!(target: "auth", user_id = %user.id, error = %err, "could not store the upgraded password hash");
                    user.password_hash = old;
                } else {
                    user.version = user.version.wrapping_add(1);
                    self.emit(Event::new(EventKind::PasswordRehashed).user(user.id))
                        .await;
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
    /// When too much password hashing is under way already (see
    /// [`HashAdmission`](crate::HashAdmission)), the login is refused with
    /// [`AuthError::Overloaded`] before anything else: the account is not looked up, no
    /// throttle counts the attempt and no hook hears of it, so the refusal is the same for
    /// every account, known or not.
    ///
    /// # Errors
    /// [`AuthError::Overloaded`], [`AuthError::RateLimited`], [`AuthError::BadCredentials`],
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
        // Admission first: a refused attempt must cost nothing and tell nothing.
        let ticket = self.admit_hashing()?;
        let parsed = Identifier::parse(identifier);
        let limits = self.config().rate_limits.clone();
        // Reserve before checking: every attempt takes its slot of the budgets before the
        // password is hashed, so parallel guesses cannot outrun them; a success gives the
        // per-IP slot back and clears the account's failures.
        let mut budget = Budget::new(Arc::clone(&self.inner.limiter), self.now());
        let attempt = Attempt { identifier, client };
        if let (Some(limit), Some(ip)) = (limits.login_ip, client.ip) {
            let key = format!("login:ip:{}", super::throttle_ip(ip));
            self.reserve(&mut budget, key, limit, Throttle::LoginIp, &attempt)
                .await?;
        }
        if let Some(limit) = limits.login_account {
            let key = parsed.throttle_key(identifier);
            if let Err(err) = self
                .reserve(&mut budget, key, limit, Throttle::LoginAccount, &attempt)
                .await
            {
                self.refund(&budget).await;
                budget.settle();
                return Err(err);
            }
        }
        let found = match self.find_account(&parsed, password).await {
            Ok(found) => found,
            Err(refusal) => {
                budget.settle();
                return self.refuse(refusal, &attempt).await;
            }
        };
        // The account's other names share its budget: take their slots too, still before
        // hashing, so that alternating the e-mail address and the username gains nothing.
        if let (Some(limit), Some((user, _))) = (limits.login_account, found.as_ref()) {
            for key in account_keys(user) {
                if !budget.keys.contains(&key) {
                    self.reserve(&mut budget, key, limit, Throttle::LoginAccount, &attempt)
                        .await?;
                }
            }
        }
        let checked = self.check_password(found, password).await;
        drop(ticket);
        budget.settle();
        let (user, mark) = match checked {
            Ok(checked) => checked,
            Err(refusal) => return self.refuse(refusal, &attempt).await,
        };
        // With a second factor the password is half the login: the account's failures stay
        // counted (this attempt's slot included) until the second step succeeds, so that
        // logging in again with the password never refills the budget of code guesses.
        #[cfg(feature = "mfa")]
        let second_factors = self.second_factors(&user).await?;
        #[cfg(not(feature = "mfa"))]
        let second_factors: Vec<&'static str> = Vec::new();
        if limits.login_account.is_some() && second_factors.is_empty() {
            for key in account_keys(&user) {
                self.inner.limiter.clear(&key).await?;
            }
        }
        if let Some(ip_key) = budget.ip_key() {
            self.inner.limiter.refund(ip_key, self.now()).await?;
        }
        if require_verified && !user.is_verified {
            self.emit(
                Event::new(EventKind::LoginFailed)
                    .user(user.id)
                    .client(client)
                    .method(EventMethod::Password)
                    .detail(LoginFailure::NotVerified.as_str()),
            )
            .await;
            self.inner
                .hooks
                .on_failed_login(identifier, LoginFailure::NotVerified, client)
                .await;
            return Err(AuthError::UserNotVerified);
        }
        #[cfg(feature = "mfa")]
        if !second_factors.is_empty() {
            self.emit(
                Event::new(EventKind::SecondFactorRequired)
                    .user(user.id)
                    .client(client)
                    .method(EventMethod::Password),
            )
            .await;
            return Err(AuthError::MfaRequired {
                mfa_token: self.mfa_token(&user, mark)?,
                methods: second_factors,
            });
        }
        let (user, tokens) = self
            .admit(user, mark, client, require_verified, false)
            .await?;
        self.emit(
            Event::new(EventKind::LoginSucceeded)
                .user(user.id)
                .session(tokens.session_id)
                .client(client)
                .method(EventMethod::Password),
        )
        .await;
        self.inner
            .hooks
            .on_after_login(&user, tokens.session_id, client)
            .await;
        Ok(Login { user, tokens })
    }

    /// Takes one slot of a throttle's budget, or answers `429` when none is left.
    async fn reserve(
        &self,
        budget: &mut Budget,
        key: String,
        limit: RateLimit,
        throttle: Throttle,
        attempt: &Attempt<'_>,
    ) -> Result<(), AuthError> {
        match self.inner.limiter.hit(&key, &limit, self.now()).await? {
            RateDecision::Allowed { .. } => {
                budget.keys.push(key);
                budget.kinds.push(throttle);
                Ok(())
            }
            RateDecision::Limited { retry_after } => {
                self.inner
                    .hooks
                    .on_failed_login(attempt.identifier, LoginFailure::Throttled, attempt.client)
                    .await;
                self.inner
                    .hooks
                    .on_throttled(throttle, attempt.client)
                    .await;
                self.emit(
                    Event::new(EventKind::Throttled)
                        .client(attempt.client)
                        .method(EventMethod::Password)
                        .detail(throttle.as_str()),
                )
                .await;
                Err(AuthError::RateLimited { retry_after })
            }
        }
    }

    /// Gives back the slots an attempt took when it was refused before any check.
    async fn refund(&self, budget: &Budget) {
        let now = self.now();
        for key in &budget.keys {
            if let Err(err) = self.inner.limiter.refund(key, now).await {
                tracing::warn!(target: "auth", error = %err, "could not refund a throttle slot");
            }
        }
    }

    /// A failed check: the reserved slots stay spent; the hooks and the log hear of it.
    async fn refuse<T>(&self, refusal: Refusal, attempt: &Attempt<'_>) -> Result<T, AuthError> {
        if let AuthError::BadCredentials = refusal.error {
            let mut event = Event::new(EventKind::LoginFailed)
                .client(attempt.client)
                .method(EventMethod::Password)
                .detail(refusal.reason.as_str());
            if let Some(user_id) = refusal.user_id {
                event = event.user(user_id);
            }
            self.emit(event).await;
            self.inner
                .hooks
                .on_failed_login(attempt.identifier, refusal.reason, attempt.client)
                .await;
        }
        Err(refusal.error)
    }

    /// Opens a session for a user whose password was just checked, admitted with the mark
    /// read before that check. When the mark has moved since (a change raced the login), the
    /// user is read again: if the password checked is still the current one and the account
    /// may still log in, the session is opened with the current user (its current roles and
    /// flags); otherwise the login fails as bad credentials. A login that checked one factor
    /// only (`second_factor_checked` false) is also refused when the user has gained a second
    /// factor meanwhile: adding one ends every other session, this one included.
    pub(super) async fn admit(
        &self,
        mut user: User<P>,
        mut mark: SessionMark,
        client: &ClientInfo,
        require_verified: bool,
        second_factor_checked: bool,
    ) -> Result<(User<P>, TokenPair), AuthError> {
        for _ in 0..ADMISSION_TRIES {
            if let Some(tokens) = self.open_session(&user, mark, client).await? {
                return Ok((user, tokens));
            }
            let checked_hash = user.password_hash.clone();
            match self.current_with_mark(user.id).await? {
                Some((current, current_mark))
                    if current.password_hash == checked_hash
                        && current.is_active
                        && (current.is_verified || !require_verified) =>
                {
                    #[cfg(feature = "mfa")]
                    if !second_factor_checked && !self.second_factors(&current).await?.is_empty() {
                        break;
                    }
                    #[cfg(not(feature = "mfa"))]
                    let _ = second_factor_checked;
                    user = current;
                    mark = current_mark;
                }
                _ => break,
            }
        }
        self.emit(
            Event::new(EventKind::LoginRefusedStale)
                .user(user.id)
                .client(client),
        )
        .await;
        Err(AuthError::BadCredentials)
    }

    /// Opens a new session for `user` (a new id and new secrets every time: ASVS5 7.2.4), or
    /// `None` when the user's mark is no longer `mark`.
    async fn open_session(
        &self,
        user: &User<P>,
        mark: SessionMark,
        client: &ClientInfo,
    ) -> Result<Option<TokenPair>, AuthError> {
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
        let admission = Admission {
            mark,
            max_sessions: config.max_sessions_per_user,
        };
        let evicted = match self.inner.sessions.create(&session, &admission).await? {
            Admitted::Created { evicted } => evicted,
            Admitted::StaleMark => return Ok(None),
        };
        for old in evicted {
            self.emit(
                Event::new(EventKind::SessionRevoked)
                    .user(user.id)
                    .session(old)
                    .client(client)
                    .detail(Revocation::Evicted.as_str()),
            )
            .await;
            self.inner
                .hooks
                .on_session_revoked(user.id, old, Revocation::Evicted)
                .await;
        }
        Ok(Some(TokenPair {
            access_token: access.token,
            refresh_token: refresh.expose(),
            expires_in: access.expires_in,
            refresh_expires_in: (session.effective_expiry() - now).whole_seconds(),
            session_id: id,
        }))
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
        let Some(presented) = RefreshToken::parse(refresh_token) else {
            return Err(self.refresh_refused("malformed", client).await);
        };
        let sid = presented.session_id();
        let now = self.now();
        let Some(session) = self.inner.sessions.get(sid, now).await? else {
            return Err(self.refresh_refused("unknown_session", client).await);
        };
        let user = match self.inner.users.get(session.user_id).await? {
            Some(user) if user.is_active => user,
            _ => {
                self.inner.sessions.revoke(sid).await?;
                return Err(self.refresh_refused("inactive_user", client).await);
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
                self.emit(
                    Event::new(EventKind::Refreshed)
                        .user(user.id)
                        .session(sid)
                        .client(client),
                )
                .await;
                Ok(TokenPair {
                    access_token: access.token,
                    refresh_token: next.expose(),
                    expires_in: access.expires_in,
                    refresh_expires_in: (session.effective_expiry() - now).whole_seconds(),
                    session_id: sid,
                })
            }
            Rotation::Reused { user_id } => {
                self.emit(
                    Event::new(EventKind::RefreshTokenReused)
                        .user(user_id)
                        .session(sid)
                        .client(client),
                )
                .await;
                self.inner
                    .hooks
                    .on_refresh_token_reused(user_id, sid, client)
                    .await;
                Err(AuthError::InvalidToken)
            }
            Rotation::NotFound => Err(self.refresh_refused("not_found", client).await),
        }
    }

    /// A refused refresh: logged and counted, never put in a trail. Refreshes are not
    /// throttled, so a trail open to them would let anyone who knows a session id (it is in
    /// every access token) fill its owner's trail with forged tokens.
    async fn refresh_refused(&self, reason: &'static str, client: &ClientInfo) -> AuthError {
        self.emit(
            Event::new(EventKind::RefreshFailed)
                .client(client)
                .detail(reason),
        )
        .await;
        AuthError::InvalidToken
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
        self.emit(
            Event::new(EventKind::LoggedOut)
                .user(user_id)
                .session(session),
        )
        .await;
        self.inner.hooks.on_after_logout(user_id, session).await;
        Ok(())
    }

    /// Revokes every session of a user, and returns how many there were.
    ///
    /// # Errors
    /// Only when the store fails.
    pub async fn logout_everywhere(&self, user_id: UserId) -> Result<u64, AuthError> {
        let count = self.inner.sessions.revoke_all(user_id, None).await?;
        self.emit(
            Event::new(EventKind::LoggedOutEverywhere)
                .user(user_id)
                .count(count),
        )
        .await;
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
    /// [`AuthError::SessionNotFound`] when the session does not exist, has ended (a concurrent
    /// revocation included) or belongs to someone else (the three are indistinguishable), or
    /// an internal error.
    pub async fn revoke_session(
        &self,
        user_id: UserId,
        session_id: SessionId,
    ) -> Result<(), AuthError> {
        self.revoke_one(user_id, session_id, Revocation::ByUser)
            .await
    }

    /// Revokes `user_id`'s session `session_id`, and reports it (event and hook) as `why`.
    /// Of revocations racing for one session, only the one that removed it reports it; the
    /// others find no session.
    pub(super) async fn revoke_one(
        &self,
        user_id: UserId,
        session_id: SessionId,
        why: Revocation,
    ) -> Result<(), AuthError> {
        match self.inner.sessions.get(session_id, self.now()).await? {
            Some(session) if session.user_id == user_id => {
                if !self.inner.sessions.revoke(session_id).await? {
                    return Err(AuthError::SessionNotFound);
                }
                self.emit(
                    Event::new(EventKind::SessionRevoked)
                        .user(user_id)
                        .session(session_id)
                        .detail(why.as_str()),
                )
                .await;
                self.inner
                    .hooks
                    .on_session_revoked(user_id, session_id, why)
                    .await;
                Ok(())
            }
            _ => Err(AuthError::SessionNotFound),
        }
    }
}
