//! Second factors (feature `mfa`): TOTP enrolment and removal, recovery codes, the second
//! step of a login, and the administrators' reset.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::AuthError;
use crate::events::{EventKind, EventMethod};
use crate::hooks::Throttle;
use crate::limiter::{RateDecision, RateLimit};
use crate::mfa::{MfaKeys, MfaProof, TotpEnrollment, qr, totp};
use crate::secret::Password;
use crate::session::{ClientInfo, SessionId, SessionMark};
use crate::store::MfaStore;
use crate::user::{Profile, User, UserId};

use super::UserManager;
use super::emit::Event;
use super::session::account_keys;
use super::types::Login;

/// The audience of second-step tokens.
const MFA_AUDIENCE: &str = "auth:mfa";
/// How long a second-step token lives.
const MFA_TOKEN_LIFETIME: time::Duration = time::Duration::minutes(5);
/// How many recovery codes a user gets.
const RECOVERY_CODES: usize = 10;

/// The second factors a manager keeps: where, and with which keys.
pub(super) struct MfaSetup<P: Profile> {
    pub(super) store: std::sync::Arc<dyn MfaStore<P>>,
    pub(super) keys: MfaKeys,
}

/// The claims of a second-step token: whose, until when, which one, and what it is bound to
/// (the password checked and the session mark read before the check).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct MfaClaims {
    pub(super) sub: UserId,
    exp: i64,
    iat: i64,
    pub(super) jti: String,
    bind: String,
    pub(super) mark: u64,
}

pub(super) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Ten recovery codes of 10 characters from an alphabet of 32 without look-alikes (50 bits
/// each), shown as `XXXXX-XXXXX`.
fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rng().fill_bytes(&mut bytes);
            // 256 is a multiple of 32: every character equally likely.
            let chars: String = bytes
                .iter()
                .map(|byte| char::from(ALPHABET[usize::from(byte % 32)]))
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

impl<P: Profile> UserManager<P> {
    pub(super) fn mfa(&self) -> Result<&MfaSetup<P>, AuthError> {
        self.inner.mfa.as_ref().ok_or_else(|| {
            AuthError::Config("no second-factor store: see UserManagerBuilder::with_mfa".to_owned())
        })
    }

    pub(super) async fn active_user(&self, user_id: UserId) -> Result<User<P>, AuthError> {
        match self.inner.users.get(user_id).await? {
            Some(user) if user.is_active => Ok(user),
            _ => Err(AuthError::UserNotFound),
        }
    }

    /// Spends a slot of the account's login budget for a code check, or answers `429`.
    pub(super) async fn spend_code_budget(
        &self,
        user: &User<P>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let Some(limit) = self.config().rate_limits.login_account else {
            return Ok(());
        };
        let now = self.now();
        for key in account_keys(user) {
            if let RateDecision::Limited { retry_after } =
                self.inner.limiter.hit(&key, &limit, now).await?
            {
                self.emit(
                    Event::new(EventKind::Throttled)
                        .user(user.id)
                        .client(client)
                        .method(EventMethod::SecondFactor)
                        .detail(Throttle::LoginAccount.as_str()),
                )
                .await;
                self.inner
                    .hooks
                    .on_throttled(Throttle::LoginAccount, client)
                    .await;
                return Err(AuthError::RateLimited { retry_after });
            }
        }
        Ok(())
    }

    /// A right code: the account's failures are forgotten.
    pub(super) async fn clear_code_budget(&self, user: &User<P>) -> Result<(), AuthError> {
        if self.config().rate_limits.login_account.is_some() {
            for key in account_keys(user) {
                self.inner.limiter.clear(&key).await?;
            }
        }
        Ok(())
    }

    /// After a factor changed: the other sessions end, the hook hears of it, and the user is
    /// told by mail.
    pub(super) async fn factor_changed(
        &self,
        user: &User<P>,
        keep: Option<SessionId>,
        what: &str,
    ) -> Result<(), AuthError> {
        let revoked = self.inner.sessions.revoke_all(user.id, keep).await?;
        self.emit(
            Event::new(EventKind::MfaChanged)
                .user(user.id)
                .detail(what)
                .count(revoked),
        )
        .await;
        let notice = format!("{what}; every other session of the account was signed out");
        if !self.queue_mail(self.security_notice_mail(&user.email, &notice)) {
            tracing::error!(target: "auth", user_id = %user.id, "security notice not queued");
        }
        self.inner.hooks.on_mfa_changed(user, what).await;
        Ok(())
    }

    /// Starts TOTP enrolment after checking the current password (throttled like a login; for
    /// an account without a password, `current` must be a session of the user opened less
    /// than five minutes ago instead): a new secret, pending until
    /// [`UserManager::totp_confirm`] sees a code of it.
    ///
    /// # Errors
    /// [`AuthError::BadCurrentPassword`], [`AuthError::RateLimited`],
    /// [`AuthError::MfaAlreadyEnabled`], [`AuthError::UserNotFound`], or an internal error.
    pub async fn totp_enroll(
        &self,
        user_id: UserId,
        current: Option<SessionId>,
        current_password: Option<&Password>,
    ) -> Result<TotpEnrollment, AuthError> {
        let mfa = self.mfa()?;
        let user = self.active_user(user_id).await?;
        // An account without a password (created through a provider) has none to give: a
        // session opened less than five minutes ago stands in for it.
        let passwordless_and_fresh =
            !user.password_hash.is_usable() && self.fresh_session(&user, current).await;
        if !passwordless_and_fresh {
            self.check_current_password(&user, current_password).await?;
        }
        let mut secret = [0u8; totp::SECRET_LEN];
        rand::rng().fill_bytes(&mut secret);
        let sealed = mfa.keys.seal_totp(&secret, user.id);
        if !mfa
            .store
            .set_pending_totp(user.id, &sealed, self.now())
            .await?
        {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        let issuer = self.inner.action_codec.issuer().to_owned();
        let (otpauth_uri, secret) = totp::otpauth(&secret, &issuer, user.email.as_str());
        let qr_svg = qr::svg(&otpauth_uri);
        Ok(TotpEnrollment {
            secret,
            otpauth_uri,
            qr_svg,
        })
    }

    /// Confirms the pending TOTP factor with a code of it: the factor protects the account
    /// from now on, the other sessions end (`current` stays), the user is told, and the
    /// recovery codes are returned, the only time they are shown.
    ///
    /// # Errors
    /// [`AuthError::MfaBadCode`] (no pending factor, or a wrong code);
    /// [`AuthError::RateLimited`]; [`AuthError::UserNotFound`]; or an internal error.
    pub async fn totp_confirm(
        &self,
        user_id: UserId,
        current: Option<SessionId>,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AuthError> {
        let mfa = self.mfa()?;
        let user = self.active_user(user_id).await?;
        self.spend_code_budget(&user, client).await?;
        let pending = match mfa.store.totp(user.id).await? {
            Some(factor) if !factor.confirmed => factor,
            _ => return Err(AuthError::MfaBadCode),
        };
        let secret = mfa
            .keys
            .open_totp(&pending.secret, user.id)
            .ok_or(AuthError::MfaBadCode)?;
        let step = totp::matching_step(&secret, code, self.now().unix_timestamp())
            .ok_or(AuthError::MfaBadCode)?;
        let codes = recovery_codes();
        let digests: Vec<Vec<u8>> = codes
            .iter()
            .map(|code| mfa.keys.code_digest(code, user.id))
            .collect();
        if !mfa
            .store
            .confirm_totp(user.id, &pending.secret, step, &digests)
            .await?
        {
            return Err(AuthError::MfaBadCode);
        }
        self.clear_code_budget(&user).await?;
        self.factor_changed(
            &user,
            current,
            "an authenticator app was added as a second factor",
        )
        .await?;
        Ok(codes)
    }

    /// Removes the TOTP factor and the recovery codes after checking the current password;
    /// the other sessions end and the user is told.
    ///
    /// # Errors
    /// [`AuthError::BadCurrentPassword`], [`AuthError::RateLimited`],
    /// [`AuthError::MfaNotEnabled`], [`AuthError::UserNotFound`], or an internal error.
    pub async fn totp_remove(
        &self,
        user_id: UserId,
        current: Option<SessionId>,
        current_password: Option<&Password>,
    ) -> Result<(), AuthError> {
        let mfa = self.mfa()?;
        let user = self.active_user(user_id).await?;
        self.check_current_password(&user, current_password).await?;
        if !mfa.store.remove_totp(user.id).await? {
            return Err(AuthError::MfaNotEnabled);
        }
        self.factor_changed(
            &user,
            current,
            "the authenticator app was removed as a second factor",
        )
        .await
    }

    /// New recovery codes after checking the current password; the old ones stop working.
    ///
    /// # Errors
    /// [`AuthError::BadCurrentPassword`], [`AuthError::RateLimited`],
    /// [`AuthError::MfaNotEnabled`] (no confirmed TOTP factor), or an internal error.
    pub async fn regenerate_recovery_codes(
        &self,
        user_id: UserId,
        current: Option<SessionId>,
        current_password: Option<&Password>,
    ) -> Result<Vec<String>, AuthError> {
        let mfa = self.mfa()?;
        let user = self.active_user(user_id).await?;
        self.check_current_password(&user, current_password).await?;
        if !mfa
            .store
            .totp(user.id)
            .await?
            .is_some_and(|factor| factor.confirmed)
        {
            return Err(AuthError::MfaNotEnabled);
        }
        let codes = recovery_codes();
        let digests: Vec<Vec<u8>> = codes
            .iter()
            .map(|code| mfa.keys.code_digest(code, user.id))
            .collect();
        mfa.store.replace_recovery_codes(user.id, &digests).await?;
        self.factor_changed(
            &user,
            current,
            "new recovery codes were made; the old ones no longer work",
        )
        .await?;
        Ok(codes)
    }

    /// The factors that stand between a right password and a session, if any.
    pub(super) async fn second_factors(
        &self,
        user: &User<P>,
    ) -> Result<Vec<&'static str>, AuthError> {
        let Some(mfa) = self.inner.mfa.as_ref() else {
            return Ok(Vec::new());
        };
        let mut methods = Vec::new();
        if mfa
            .store
            .totp(user.id)
            .await?
            .is_some_and(|factor| factor.confirmed)
        {
            methods.push("totp");
            methods.push("recovery_code");
        }
        if !mfa.store.passkeys(user.id).await?.is_empty() {
            methods.push("passkey");
        }
        Ok(methods)
    }

    /// The token of a login's second step, bound to the password just checked and the mark
    /// read before the check.
    pub(super) fn mfa_token(&self, user: &User<P>, mark: SessionMark) -> Result<String, AuthError> {
        let now = self.now();
        let claims = MfaClaims {
            sub: user.id,
            exp: (now + MFA_TOKEN_LIFETIME).unix_timestamp(),
            iat: now.unix_timestamp(),
            jti: random_hex(16),
            bind: user.password_hash.fingerprint(),
            mark: mark.get(),
        };
        self.inner
            .action_codec
            .encode(&claims, MFA_AUDIENCE)
            .map_err(|err| AuthError::Token(crate::TokenError::Backend(Box::new(err))))
    }

    /// The claims of a second-step token that is well formed, unexpired and still bound to
    /// its user's password, with that user (active). Does not spend the token.
    pub(super) async fn open_mfa_token(
        &self,
        mfa_token: &str,
    ) -> Result<(MfaClaims, User<P>), AuthError> {
        let claims: MfaClaims = self
            .inner
            .action_codec
            .decode(mfa_token, MFA_AUDIENCE, self.now())
            .map_err(|_| AuthError::MfaTokenInvalid)?;
        match self.inner.users.get(claims.sub).await? {
            Some(user) if user.is_active && user.password_hash.fingerprint() == claims.bind => {
                Ok((claims, user))
            }
            _ => Err(AuthError::MfaTokenInvalid),
        }
    }

    /// Spends a second-step token (once): its limiter key, to give it back with
    /// `limiter.refund` when the proof turns out wrong.
    pub(super) async fn take_mfa_token(&self, claims: &MfaClaims) -> Result<String, AuthError> {
        let once = RateLimit::new(1, MFA_TOKEN_LIFETIME + time::Duration::minutes(1));
        let token_key = format!("mfa:token:{}", claims.jti);
        if let RateDecision::Limited { .. } = self
            .inner
            .limiter
            .hit(&token_key, &once, self.now())
            .await?
        {
            return Err(AuthError::MfaTokenInvalid);
        }
        Ok(token_key)
    }

    /// Finishes a login that answered [`AuthError::MfaRequired`]: checks the code (throttled
    /// like a password: wrong codes spend the account's budget), spends the token, and opens
    /// the session. A TOTP code is accepted once, and never for a step before one accepted;
    /// a recovery code once.
    ///
    /// # Errors
    /// [`AuthError::MfaTokenInvalid`] (malformed, expired, used, or the password or account
    /// changed since); [`AuthError::MfaBadCode`]; [`AuthError::RateLimited`]; or an internal
    /// error.
    pub async fn mfa_login(
        &self,
        mfa_token: &str,
        proof: MfaProof<'_>,
        client: &ClientInfo,
    ) -> Result<Login<P>, AuthError> {
        self.mfa_login_requiring(mfa_token, proof, client, self.config().require_verification)
            .await
    }

    /// [`UserManager::mfa_login`], deciding per call whether a verified address is required
    /// (a login backend may require it when the manager does not).
    ///
    /// # Errors
    /// As [`UserManager::mfa_login`], and [`AuthError::UserNotVerified`].
    pub async fn mfa_login_requiring(
        &self,
        mfa_token: &str,
        proof: MfaProof<'_>,
        client: &ClientInfo,
        require_verified: bool,
    ) -> Result<Login<P>, AuthError> {
        let mfa = self.mfa()?;
        let (claims, user) = self.open_mfa_token(mfa_token).await?;
        self.spend_code_budget(&user, client).await?;
        // The token works once: taken before the code is checked, so that parallel
        // submissions with one token cannot both pass; given back when the code is wrong, so
        // that a typo does not cost the user their password step.
        let token_key = self.take_mfa_token(&claims).await?;
        let accepted = match proof {
            MfaProof::Totp(code) => match mfa.store.totp(user.id).await? {
                Some(factor) if factor.confirmed => {
                    let step = mfa
                        .keys
                        .open_totp(&factor.secret, user.id)
                        .and_then(|secret| {
                            totp::matching_step(&secret, code, self.now().unix_timestamp())
                        });
                    match step {
                        Some(step) => mfa.store.use_totp_step(user.id, step).await?,
                        None => false,
                    }
                }
                _ => false,
            },
            MfaProof::RecoveryCode(code) => {
                let digest = mfa.keys.code_digest(code, user.id);
                mfa.store.use_recovery_code(user.id, &digest).await?
            }
        };
        if !accepted {
            self.inner.limiter.refund(&token_key, self.now()).await?;
            self.emit(
                Event::new(EventKind::LoginFailed)
                    .user(user.id)
                    .client(client)
                    .method(EventMethod::SecondFactor)
                    .detail(crate::LoginFailure::WrongSecondFactor.as_str()),
            )
            .await;
            self.inner
                .hooks
                .on_failed_login(
                    user.email.as_str(),
                    crate::LoginFailure::WrongSecondFactor,
                    client,
                )
                .await;
            return Err(AuthError::MfaBadCode);
        }
        self.clear_code_budget(&user).await?;
        let (user, tokens) = self
            .admit(
                user,
                SessionMark::new(claims.mark),
                client,
                require_verified,
                true,
            )
            .await?;
        self.emit(
            Event::new(EventKind::LoginSucceeded)
                .user(user.id)
                .session(tokens.session_id)
                .client(client)
                .method(EventMethod::SecondFactor),
        )
        .await;
        self.inner
            .hooks
            .on_after_login(&user, tokens.session_id, client)
            .await;
        Ok(Login { user, tokens })
    }

    /// Removes every second factor of a user (an administrator's reset: a lost phone),
    /// ends all their sessions, and tells them.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], or an internal error.
    pub async fn mfa_reset(&self, user_id: UserId) -> Result<(), AuthError> {
        let mfa = self.mfa()?;
        let user = self
            .inner
            .users
            .get(user_id)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        mfa.store.remove_all_factors(user.id).await?;
        self.factor_changed(&user, None, "an administrator removed every second factor")
            .await
    }

    /// How many unused recovery codes the user has left.
    ///
    /// # Errors
    /// An internal error.
    pub async fn recovery_codes_left(&self, user_id: UserId) -> Result<u64, AuthError> {
        Ok(self.mfa()?.store.recovery_codes_left(user_id).await?)
    }

    /// Whether the user has a confirmed TOTP factor.
    ///
    /// # Errors
    /// An internal error.
    pub async fn totp_enabled(&self, user_id: UserId) -> Result<bool, AuthError> {
        Ok(self
            .mfa()?
            .store
            .totp(user_id)
            .await?
            .is_some_and(|factor| factor.confirmed))
    }
}
