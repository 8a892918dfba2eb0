//! # auth-core
//!
//! The heart of the axum accounts workspace: user accounts, sessions and tokens for Rust web
//! apps, with no web framework and no database in sight. `auth-sqlx` and `auth-redis` provide
//! stores, `auth-axum` the HTTP layer.
//!
//! - Domain types: [`User`] with the app's own typed [`Profile`] fields, [`Email`] (validated,
//!   case-insensitive), [`Username`], [`Roles`], [`Session`], ids as newtypes.
//! - Four traits: [`UserStore`], [`SessionStore`], [`PasswordHasher`], [`TokenStrategy`];
//!   plus [`RateLimiter`] and [`Mailer`], whose mails' words come from [`MailTemplates`].
//! - Implementations: [`Argon2Hasher`] (OWASP baseline, off the async runtime, capped),
//!   [`JwtStrategy`] (HS256/384/512, RS256, ES256, EdDSA) over a [`JwtKeySet`] that rotates
//!   and reloads without a restart ([`JwtKeyReloader`]) and publishes its JWKS,
//!   [`OpaqueTokenStrategy`], and
//!   in-memory stores ([`MemoryUserStore`], [`MemorySessionStore`], [`MemoryRateLimiter`]).
//! - [`UserManager`]: every rule of registration, login, refresh with rotation and reuse
//!   detection, logout, sessions, verification, reset and administration, with
//!   [`UserHooks`] around every step.
//! - Configuration from environment variables: [`env::Env`] (the process environment, a map
//!   or a closure) with typed getters and one error, [`env::EnvError`];
//!   [`ManagerConfig::from_env`] and [`JwtConfig::from_env`] read this crate's variables.
//!
//! ## Quick start
//!
//! ```
//! use std::sync::Arc;
//! use auth_core::{
//!     ClientInfo, Email, JwtAlgorithm, JwtCodec, JwtKeys, MemorySessionStore, MemoryUserStore,
//!     NewUser, NoProfile, Password, UserManager,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Keys: at least 32 random bytes for HMAC (RFC 8725 §3.5).
//! let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"replace me with 32+ random bytes!!")?;
//! let manager = UserManager::<NoProfile>::builder(
//!     Arc::new(MemoryUserStore::new()),
//!     Arc::new(MemorySessionStore::new()),
//!     JwtCodec::new(keys, "my-app"),
//! )
//! # .with_hasher(Arc::new(auth_core::Argon2Hasher::fast_insecure()))
//! .build();
//!
//! let client = ClientInfo::default();
//! let email = Email::parse("alice@example.com")?;
//! manager.register(NewUser::new(email, "correct horse battery staple"), &client).await?;
//!
//! let login = manager
//!     .login("alice@example.com", &Password::new("correct horse battery staple"), &client)
//!     .await?;
//! let claims = manager.authenticate_token(&login.tokens.access_token).await?;
//! assert_eq!(claims.sub, login.user.id);
//!
//! // Refresh tokens rotate: the old one is now spent.
//! let pair = manager.refresh(&login.tokens.refresh_token, &client).await?;
//! assert!(manager.refresh(&login.tokens.refresh_token, &client).await.is_err());
//! // ...and presenting it again revoked the whole session, new tokens included.
//! assert!(manager.authenticate_token(&pair.access_token).await.is_err());
//! # Ok(())
//! # }
//! ```
//!
//! ## Features
//!
//! | feature | default | what it turns on |
//! |---|---|---|
//! | `bcrypt` | yes | verifying bcrypt hashes of imported users (upgraded to Argon2id at login) |
//! | `test-suite` | no | `auth_core::conformance`: the suite every store backend runs |
//! | `metrics` | no | operators' metrics through the `metrics` facade (any exporter): `auth_mails_total`, `auth_password_hash_duration_seconds` and the manager's counters (see [`events`]) |
//! | `smtp` | no | `SmtpMailer`: mail over SMTP (lettre, rustls), pooled and bounded in time |
//!
//! ## Design notes
//!
//! Stores and strategies are held as `Arc<dyn Trait>` and the traits use `#[async_trait]`:
//! they are chosen once at start-up from configuration, and a boxed future per call costs
//! nothing next to a database round trip or a signature check.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authenticator;
mod cache;
mod clock;
mod email;
pub mod env;
mod error;
pub mod events;
mod hasher;
mod hooks;
mod limiter;
mod mail;
mod mail_queue;
mod manager;
mod memory;
#[cfg(any(feature = "oauth", feature = "mfa"))]
mod sealing;
mod secret;
mod session;
mod store;
mod token;
mod user;
mod username;

#[cfg(feature = "test-suite")]
pub mod conformance;
#[cfg(feature = "mfa")]
#[cfg_attr(docsrs, doc(cfg(feature = "mfa")))]
pub mod mfa;
#[cfg(feature = "oauth")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
pub mod oauth;

/// The example test file of docs/WRITING_A_STORE.md, compiled and run as a doc test.
#[cfg(all(doctest, feature = "test-suite"))]
#[doc = include_str!("../../docs/WRITING_A_STORE.md")]
pub struct WritingAStoreDoctests;

/// The examples of docs/MAIL.md, compiled and run as doc tests.
#[cfg(all(doctest, feature = "smtp"))]
#[doc = include_str!("../../docs/MAIL.md")]
pub struct MailDoctests;

/// The attribute that makes the async traits of this crate implementable (and
/// object-safe): put `#[async_trait]` on an `impl UserHooks for ...` block, a store or a
/// mailer. Re-exported so that an app needs no dependency of its own.
pub use async_trait::async_trait;
pub use authenticator::Authenticator;
pub use cache::{
    DEFAULT_SESSION_CACHE_CAPACITY, DEFAULT_USER_CACHE_CAPACITY, SessionCache, UserCache,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use email::{Email, EmailError};
pub use env::{Env, EnvError};
pub use error::{AuthError, BoxError, StoreError, UniqueField};
pub use events::{AuditEvent, EventKind, EventMethod};
pub use hasher::{
    Argon2Hasher, Argon2Params, HashAdmission, HashError, MAX_PASSWORD_BYTES, PasswordHasher,
    PasswordPolicy, PasswordRejection, Verification,
};
pub use hooks::{LoginFailure, NoHooks, Revocation, Throttle, UserHooks};
pub use limiter::{
    MemoryRateLimiter, RateDecision, RateLimit, RateLimitParseError, RateLimiter, retry_after,
};
pub use mail::{
    DefaultMailTemplates, FileMailer, LogMailer, Mail, MailContent, MailContext, MailError,
    MailKind, MailLink, MailTemplates, Mailer, MemoryMailer, duration_in_words, escape_html,
};
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub use mail::{SmtpError, SmtpMailer, SmtpOptions};
pub use mail_queue::{MailQueue, MailQueueConfig};
pub use manager::{
    AdminUpdate, CreateOptions, ImportError, ImportedUser, Login, ManagerConfig, NewUser,
    OAuthIdentity, RateLimits, Registration, TokenPair, UserManager, UserManagerBuilder,
    UserUpdate,
};
pub use memory::{MemoryAuditLog, MemorySessionStore, MemoryUserStore};
pub use secret::{Password, PasswordHash, TokenHash, UnsupportedHash};
pub use session::{
    Admission, Admitted, ClientInfo, REMEMBERED_ROTATIONS, RefreshToken, Renewal, Rotation,
    Session, SessionId, SessionMark,
};
pub use store::{
    AuditLog, AuditQuery, MfaStore, OAuthAccount, OAuthAccountStore, Page, PasskeyRecord,
    RevocationEvent, RevocationFeed, RevocationSink, Revocations, SealedToken, SessionStore,
    TotpFactor, Unlinked, UserQuery, UserSort, UserStore,
};
pub use token::{
    ACCESS_AUDIENCE, AccessClaims, AccessSubject, Authentication, DEFAULT_VERIFIED_TOKEN_CACHE,
    IssuedToken, JwtAlgorithm, JwtCodec, JwtConfig, JwtError, JwtKeyDir, JwtKeyReloader, JwtKeySet,
    JwtKeySource, JwtKeys, JwtStrategy, OpaqueTokenStrategy, RESET_AUDIENCE, SharedJwtKeySet,
    SubjectSource, TokenError, TokenStrategy, UserStoreSubjects, VERIFY_AUDIENCE,
};
pub use user::{NoProfile, Profile, Roles, User, UserId};
pub use username::{Username, UsernameError};
