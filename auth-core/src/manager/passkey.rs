//! Passkeys (WebAuthn, through `webauthn-rs`; feature `mfa`): registration, removal, the
//! discoverable sign-in (a passkey alone: both factors) and a passkey as the second step of
//! a password login.
//!
//! The state of a ceremony between its start and its finish travels with the client, sealed
//! (XChaCha20-Poly1305 under a key of [`MfaKeys`](crate::mfa::MfaKeys)): it lives five
//! minutes and works once (its id is spent in the rate limiter before anything is checked).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};

use crate::error::{AuthError, StoreError};
use crate::events::{EventKind, EventMethod};
use crate::hooks::{LoginFailure, Throttle};
use crate::limiter::{RateDecision, RateLimit};
use crate::mfa::{PasskeyChallenge, PasskeyInfo};
use crate::secret::Password;
use crate::session::{ClientInfo, SessionId, SessionMark};
use crate::store::{PasskeyRecord, SealedToken};
use crate::user::{Profile, User, UserId};

use super::UserManager;
use super::emit::Event;
use super::mfa::random_hex;
use super::types::Login;

/// How long a ceremony's state lives.
const CEREMONY_LIFETIME: time::Duration = time::Duration::minutes(5);
/// How young a session must be to register a passkey without the password.
const FRESH_SESSION: time::Duration = time::Duration::minutes(5);
/// The longest passkey name kept, in characters.
const MAX_NAME_CHARS: usize = 64;

const REGISTER: &str = "register";
const LOGIN: &str = "login";

/// What the sealed state of a ceremony holds.
#[derive(Serialize, Deserialize)]
struct Ceremony {
    /// Its id: spent once in the limiter.
    jti: String,
    /// Until when it may finish (Unix time).
    exp: i64,
    /// Whose: the registering user, or the user of a second step; none for a discoverable
    /// sign-in.
    user: Option<UserId>,
    /// The id of the second-step token it was started with.
    mfa: Option<String>,
    /// webauthn-rs's own state.
    state: Value,
}

fn invalid<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> AuthError {
    move |err| {
        tracing::debug!(target: "auth", error = %err, "passkey ceremony refused: {what}");
        AuthError::PasskeyInvalid
    }
}

impl<P: Profile> UserManager<P> {
    /// The relying party: the host of [`ManagerConfig::public_base_url`](super::ManagerConfig::public_base_url)
    /// with that URL's origin. Browsers refuse IP addresses as relying parties: a loopback
    /// address (the development default `http://127.0.0.1:8000`) becomes `localhost` on the
    /// same port, which reaches the same server; any other IP address cannot offer passkeys.
    fn webauthn(&self) -> Result<Webauthn, AuthError> {
        let config_error = |why: &str| {
            AuthError::Config(format!(
                "passkeys: public_base_url {:?} {why}",
                self.config().public_base_url
            ))
        };
        let mut url =
            Url::parse(&self.config().public_base_url).map_err(|_| config_error("is not a URL"))?;
        let loopback = url
            .host_str()
            .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|host| host.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback());
        if loopback {
            url.set_host(Some("localhost"))
                .map_err(|_| config_error("cannot name localhost"))?;
        }
        let Some(rp_id) = url.domain().map(str::to_owned) else {
            return Err(AuthError::PasskeysUnavailable);
        };
        let origin = Url::parse(&url.origin().ascii_serialization())
            .map_err(|_| config_error("has no origin"))?;
        WebauthnBuilder::new(&rp_id, &origin)
            .map(|builder| builder.rp_name(self.inner.action_codec.issuer()))
            .and_then(WebauthnBuilder::build)
            .map_err(|_| config_error("is not usable as a WebAuthn relying party"))
    }

    /// Seals a ceremony's state for the client.
    fn seal_ceremony<S: Serialize>(
        &self,
        kind: &str,
        user: Option<UserId>,
        mfa: Option<String>,
        state: &S,
    ) -> Result<String, AuthError> {
        let keys = &self.mfa()?.keys;
        let ceremony = Ceremony {
            jti: random_hex(16),
            exp: (self.now() + CEREMONY_LIFETIME).unix_timestamp(),
            user,
            mfa,
            state: serde_json::to_value(state)
                .map_err(|err| AuthError::Config(format!("passkey state: {err}")))?,
        };
        let plain = serde_json::to_vec(&ceremony)
            .map_err(|err| AuthError::Config(format!("passkey state: {err}")))?;
        Ok(URL_SAFE_NO_PAD.encode(keys.seal_ceremony(&plain, kind).as_bytes()))
    }

    /// Opens a ceremony's state and spends it: unknown, altered, expired or used states are
    /// [`AuthError::PasskeyInvalid`].
    async fn open_ceremony(&self, kind: &str, sealed: &str) -> Result<Ceremony, AuthError> {
        let keys = &self.mfa()?.keys;
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed.trim())
            .map_err(invalid("state not base64url"))?;
        let plain = keys
            .open_ceremony(&SealedToken::from_bytes(bytes), kind)
            .ok_or(AuthError::PasskeyInvalid)?;
        let ceremony: Ceremony =
            serde_json::from_slice(&plain).map_err(invalid("state unreadable"))?;
        let now = self.now();
        if ceremony.exp <= now.unix_timestamp() {
            return Err(AuthError::PasskeyInvalid);
        }
        let once = RateLimit::new(1, CEREMONY_LIFETIME + time::Duration::minutes(1));
        let key = format!("passkey:ceremony:{}", ceremony.jti);
        if let RateDecision::Limited { .. } = self.inner.limiter.hit(&key, &once, now).await? {
            return Err(AuthError::PasskeyInvalid);
        }
        Ok(ceremony)
    }

    /// Whether `session` is the user's and younger than five minutes (a fresh login stands
    /// in for the current password).
    pub(super) async fn fresh_session(&self, user: &User<P>, session: Option<SessionId>) -> bool {
        let Some(id) = session else {
            return false;
        };
        let now = self.now();
        match self.inner.sessions.get(id, now).await {
            Ok(Some(session)) => {
                session.user_id == user.id && now - session.created_at < FRESH_SESSION
            }
            _ => false,
        }
    }

    fn parse_passkey(record: &PasskeyRecord) -> Result<Passkey, AuthError> {
        serde_json::from_str(&record.credential).map_err(|err| {
            AuthError::Store(StoreError::Backend(
                format!("stored passkey {} unreadable: {err}", record.id).into(),
            ))
        })
    }

    /// Starts registering a passkey: the current password is checked (throttled like a
    /// login), unless `current` is a session of the user opened less than five minutes ago
    /// and no password is given. The options exclude the user's registered passkeys.
    ///
    /// # Errors
    /// [`AuthError::BadCurrentPassword`], [`AuthError::RateLimited`],
    /// [`AuthError::UserNotFound`], or an internal error (also when the public base URL has
    /// no domain name).
    pub async fn passkey_register_start(
        &self,
        user_id: UserId,
        current: Option<SessionId>,
        current_password: Option<&Password>,
    ) -> Result<PasskeyChallenge, AuthError> {
        let mfa = self.mfa()?;
        let webauthn = self.webauthn()?;
        let user = self.active_user(user_id).await?;
        if current_password.is_some() || !self.fresh_session(&user, current).await {
            self.check_current_password(&user, current_password).await?;
        }
        let exclude = mfa
            .store
            .passkeys(user.id)
            .await?
            .iter()
            .map(|record| Self::parse_passkey(record).map(|passkey| passkey.cred_id().clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let name = user.email.as_str();
        let (options, state) = webauthn
            .start_passkey_registration(*user.id.as_uuid(), name, name, Some(exclude))
            .map_err(|err| AuthError::Config(format!("passkey registration: {err}")))?;
        let mut options = serde_json::to_value(&options)
            .map_err(|err| AuthError::Config(format!("passkey options: {err}")))?;
        // A passkey should be discoverable, for the sign-in without a name: ask for a
        // resident credential where the authenticator can make one (webauthn-rs asks for
        // none; the check of the answer is the same).
        if let Some(selection) = options
            .get_mut("publicKey")
            .and_then(|key| key.get_mut("authenticatorSelection"))
            .and_then(Value::as_object_mut)
        {
            selection.insert("residentKey".to_owned(), Value::from("preferred"));
        }
        let state = self.seal_ceremony(REGISTER, Some(user.id), None, &state)?;
        Ok(PasskeyChallenge { options, state })
    }

    /// Finishes registering a passkey with the browser's answer (`credential`, the
    /// `PublicKeyCredential` of `navigator.credentials.create` as JSON, binary fields in
    /// base64url) and the `state` of the start. The other sessions end (`current` stays)
    /// and the user is told.
    ///
    /// # Errors
    /// [`AuthError::PasskeyInvalid`] (a state that is not this user's, expired or used; an
    /// answer that does not verify, without user verification, or of a credential
    /// registered already); [`AuthError::UserNotFound`]; or an internal error.
    pub async fn passkey_register_finish(
        &self,
        user_id: UserId,
        current: Option<SessionId>,
        state: &str,
        name: &str,
        credential: &Value,
    ) -> Result<PasskeyInfo, AuthError> {
        let mfa = self.mfa()?;
        let webauthn = self.webauthn()?;
        let user = self.active_user(user_id).await?;
        let ceremony = self.open_ceremony(REGISTER, state).await?;
        if ceremony.user != Some(user.id) {
            return Err(AuthError::PasskeyInvalid);
        }
        let registration: PasskeyRegistration =
            serde_json::from_value(ceremony.state).map_err(invalid("registration state"))?;
        let credential: RegisterPublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(invalid("credential"))?;
        let passkey = webauthn
            .finish_passkey_registration(&credential, &registration)
            .map_err(invalid("registration"))?;
        let mut name: String = name.trim().chars().take(MAX_NAME_CHARS).collect();
        if name.is_empty() {
            "Passkey".clone_into(&mut name);
        }
        let record = PasskeyRecord {
            id: uuid::Uuid::now_v7(),
            user_id: user.id,
            name,
            credential_id: passkey.cred_id().clone(),
            credential: serde_json::to_string(&passkey)
                .map_err(|err| AuthError::Config(format!("passkey: {err}")))?,
            created_at: self.now(),
            last_used_at: None,
        };
        match mfa.store.add_passkey(&record).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(AuthError::PasskeyInvalid),
            Err(err) => return Err(err.into()),
        }
        self.emit(
            Event::new(EventKind::PasskeyAdded)
                .user(user.id)
                .detail(record.id.to_string()),
        )
        .await;
        self.factor_changed(&user, current, "a passkey was added")
            .await?;
        Ok(PasskeyInfo::from(&record))
    }

    /// The user's passkeys, oldest first.
    ///
    /// # Errors
    /// An internal error.
    pub async fn passkeys(&self, user_id: UserId) -> Result<Vec<PasskeyInfo>, AuthError> {
        Ok(self
            .mfa()?
            .store
            .passkeys(user_id)
            .await?
            .iter()
            .map(PasskeyInfo::from)
            .collect())
    }

    /// Removes one of the user's passkeys; the other sessions end (`current` stays) and the
    /// user is told.
    ///
    /// # Errors
    /// [`AuthError::PasskeyNotFound`], [`AuthError::UserNotFound`], or an internal error.
    pub async fn passkey_remove(
        &self,
        user_id: UserId,
        current: Option<SessionId>,
        id: uuid::Uuid,
    ) -> Result<(), AuthError> {
        let mfa = self.mfa()?;
        let user = self.active_user(user_id).await?;
        if !mfa.store.remove_passkey(user.id, id).await? {
            return Err(AuthError::PasskeyNotFound);
        }
        self.emit(
            Event::new(EventKind::PasskeyRemoved)
                .user(user.id)
                .detail(id.to_string()),
        )
        .await;
        self.factor_changed(&user, current, "a passkey was removed")
            .await
    }

    /// The throttle key and limit of the client's IP for logins, if both are set.
    fn login_ip_key(&self, client: &ClientInfo) -> Option<(String, RateLimit)> {
        let limit = self.config().rate_limits.login_ip?;
        let ip = client.ip?;
        Some((format!("login:ip:{}", super::throttle_ip(ip)), limit))
    }

    /// Starts a sign-in with a passkey. Without `mfa_token`, a discoverable sign-in (the
    /// browser offers the passkeys it holds for this site; a passkey is both factors); with
    /// one (from [`AuthError::MfaRequired`]), the second step of that login, limited to the
    /// user's passkeys. Each start takes a slot of the client IP's login budget, given back
    /// when the sign-in succeeds.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`]; [`AuthError::MfaTokenInvalid`]; [`AuthError::PasskeyInvalid`]
    /// when the token's user has no passkey; or an internal error.
    pub async fn passkey_login_start(
        &self,
        mfa_token: Option<&str>,
        client: &ClientInfo,
    ) -> Result<PasskeyChallenge, AuthError> {
        let mfa = self.mfa()?;
        let webauthn = self.webauthn()?;
        if let Some((key, limit)) = self.login_ip_key(client)
            && let RateDecision::Limited { retry_after } =
                self.inner.limiter.hit(&key, &limit, self.now()).await?
        {
            self.emit(
                Event::new(EventKind::Throttled)
                    .client(client)
                    .method(EventMethod::Passkey)
                    .detail(Throttle::LoginIp.as_str()),
            )
            .await;
            self.inner
                .hooks
                .on_throttled(Throttle::LoginIp, client)
                .await;
            return Err(AuthError::RateLimited { retry_after });
        }
        let (options, state) = match mfa_token {
            None => {
                let (options, state) = webauthn
                    .start_discoverable_authentication()
                    .map_err(|err| AuthError::Config(format!("passkey sign-in: {err}")))?;
                let options = serde_json::to_value(&options)
                    .map_err(|err| AuthError::Config(format!("passkey options: {err}")))?;
                (options, self.seal_ceremony(LOGIN, None, None, &state)?)
            }
            Some(token) => {
                let (claims, user) = self.open_mfa_token(token).await?;
                let passkeys = mfa
                    .store
                    .passkeys(user.id)
                    .await?
                    .iter()
                    .map(Self::parse_passkey)
                    .collect::<Result<Vec<_>, _>>()?;
                if passkeys.is_empty() {
                    return Err(AuthError::PasskeyInvalid);
                }
                let (options, state) = webauthn
                    .start_passkey_authentication(&passkeys)
                    .map_err(|err| AuthError::Config(format!("passkey sign-in: {err}")))?;
                let options = serde_json::to_value(&options)
                    .map_err(|err| AuthError::Config(format!("passkey options: {err}")))?;
                (
                    options,
                    self.seal_ceremony(LOGIN, Some(user.id), Some(claims.jti), &state)?,
                )
            }
        };
        Ok(PasskeyChallenge { options, state })
    }

    /// A passkey failed for a known user: the hooks and the log hear of it (the account's
    /// budget was spent already).
    async fn passkey_failed(&self, user: &User<P>, client: &ClientInfo) -> AuthError {
        self.emit(
            Event::new(EventKind::LoginFailed)
                .user(user.id)
                .client(client)
                .method(EventMethod::Passkey)
                .detail(LoginFailure::WrongSecondFactor.as_str()),
        )
        .await;
        self.inner
            .hooks
            .on_failed_login(user.email.as_str(), LoginFailure::WrongSecondFactor, client)
            .await;
        AuthError::PasskeyInvalid
    }

    /// Finishes a sign-in started with [`UserManager::passkey_login_start`], with the
    /// browser's answer (`credential`, the `PublicKeyCredential` of
    /// `navigator.credentials.get` as JSON, binary fields in base64url), the `state` of the
    /// start, and for a second step the same `mfa_token`. The passkey must be the user's (a
    /// discoverable answer names its user, which must hold the passkey); user verification
    /// is required; the passkey's stored signature counter and backup flags are updated.
    /// Failures for a known user spend the account's login budget; a success clears it.
    ///
    /// # Errors
    /// [`AuthError::PasskeyInvalid`]; [`AuthError::MfaTokenInvalid`] (missing, expired, used,
    /// or not the one the start was given); [`AuthError::RateLimited`];
    /// [`AuthError::UserNotVerified`] when `require_verified` and the address is not
    /// verified; or an internal error.
    pub async fn passkey_login_finish(
        &self,
        state: &str,
        credential: &Value,
        mfa_token: Option<&str>,
        client: &ClientInfo,
        require_verified: bool,
    ) -> Result<Login<P>, AuthError> {
        let mfa = self.mfa()?;
        let webauthn = self.webauthn()?;
        let ceremony = self.open_ceremony(LOGIN, state).await?;
        let credential: PublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(invalid("credential"))?;
        let (user, mark, mut record, result) = match ceremony.user {
            Some(user_id) => {
                let token = mfa_token.ok_or(AuthError::MfaTokenInvalid)?;
                let (claims, user) = self.open_mfa_token(token).await?;
                if claims.sub != user_id || ceremony.mfa.as_deref() != Some(claims.jti.as_str()) {
                    return Err(AuthError::MfaTokenInvalid);
                }
                self.spend_code_budget(&user, client).await?;
                let token_key = self.take_mfa_token(&claims).await?;
                let record = mfa
                    .store
                    .passkey_by_credential(credential.get_credential_id())
                    .await?
                    .filter(|record| record.user_id == user.id);
                let result = match record {
                    Some(_) => serde_json::from_value::<PasskeyAuthentication>(ceremony.state)
                        .map_err(invalid("authentication state"))
                        .and_then(|state| {
                            webauthn
                                .finish_passkey_authentication(&credential, &state)
                                .map_err(invalid("authentication"))
                        }),
                    None => Err(AuthError::PasskeyInvalid),
                };
                match (record, result) {
                    (Some(record), Ok(result)) => {
                        (user, SessionMark::new(claims.mark), record, result)
                    }
                    _ => {
                        // A wrong passkey does not cost the user their password step.
                        self.inner.limiter.refund(&token_key, self.now()).await?;
                        return Err(self.passkey_failed(&user, client).await);
                    }
                }
            }
            None => {
                let (handle, credential_id) = webauthn
                    .identify_discoverable_authentication(&credential)
                    .map_err(invalid("no user handle"))?;
                let Some(record) = mfa.store.passkey_by_credential(credential_id).await? else {
                    self.emit(
                        Event::new(EventKind::LoginFailed)
                            .client(client)
                            .method(EventMethod::Passkey)
                            .detail(LoginFailure::UnknownUser.as_str()),
                    )
                    .await;
                    return Err(AuthError::PasskeyInvalid);
                };
                let (user, mark) = match self.current_with_mark(record.user_id).await? {
                    Some((user, mark)) if user.is_active => (user, mark),
                    _ => return Err(AuthError::PasskeyInvalid),
                };
                self.spend_code_budget(&user, client).await?;
                let result = if handle == *user.id.as_uuid() {
                    let passkey = Self::parse_passkey(&record)?;
                    serde_json::from_value::<DiscoverableAuthentication>(ceremony.state)
                        .map_err(invalid("authentication state"))
                        .and_then(|state| {
                            webauthn
                                .finish_discoverable_authentication_v2(&credential, state, &passkey)
                                .map_err(invalid("authentication"))
                        })
                } else {
                    Err(AuthError::PasskeyInvalid)
                };
                match result {
                    Ok(result) => (user, mark, record, result),
                    Err(_) => return Err(self.passkey_failed(&user, client).await),
                }
            }
        };
        // The signature counter and the backup flags, as this use showed them.
        let mut passkey = Self::parse_passkey(&record)?;
        passkey.update_credential(&result);
        record.credential = serde_json::to_string(&passkey)
            .map_err(|err| AuthError::Config(format!("passkey: {err}")))?;
        record.last_used_at = Some(self.now());
        match mfa.store.update_passkey(&record).await {
            // Removed while it signed in: it no longer counts.
            Err(StoreError::NotFound) => return Err(AuthError::PasskeyInvalid),
            other => other?,
        }
        self.clear_code_budget(&user).await?;
        if let Some((key, _)) = self.login_ip_key(client) {
            self.inner.limiter.refund(&key, self.now()).await?;
        }
        if require_verified && !user.is_verified {
            self.emit(
                Event::new(EventKind::LoginFailed)
                    .user(user.id)
                    .client(client)
                    .method(EventMethod::Passkey)
                    .detail(LoginFailure::NotVerified.as_str()),
            )
            .await;
            self.inner
                .hooks
                .on_failed_login(user.email.as_str(), LoginFailure::NotVerified, client)
                .await;
            return Err(AuthError::UserNotVerified);
        }
        let (user, tokens) = self
            .admit(user, mark, client, require_verified, true)
            .await?;
        self.emit(
            Event::new(EventKind::LoginSucceeded)
                .user(user.id)
                .session(tokens.session_id)
                .client(client)
                .method(EventMethod::Passkey)
                .detail(record.id.to_string()),
        )
        .await;
        self.inner
            .hooks
            .on_after_login(&user, tokens.session_id, client)
            .await;
        Ok(Login { user, tokens })
    }
}
