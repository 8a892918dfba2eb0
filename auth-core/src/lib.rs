//! Core of the axum accounts workspace.
#![forbid(unsafe_code)]

mod clock;
mod email;
mod error;
mod hasher;
mod secret;
mod session;
mod store;
mod token;
mod user;
mod username;

pub use clock::{Clock, ManualClock, SystemClock};
pub use email::{Email, EmailError};
pub use error::{AuthError, BoxError, StoreError, UniqueField};
pub use hasher::{
    Argon2Hasher, Argon2Params, HashError, PasswordHasher, PasswordPolicy, PasswordRejection,
    Verification,
};
pub use secret::{Password, PasswordHash, TokenHash};
pub use session::{ClientInfo, RefreshToken, Renewal, Rotation, Session, SessionId};
pub use store::{Page, SessionStore, UserQuery, UserStore};
pub use token::{
    AccessClaims, AccessSubject, IssuedToken, JwtAlgorithm, JwtCodec, JwtError, JwtKeys,
    JwtStrategy, OpaqueTokenStrategy, SubjectSource, TokenError, TokenStrategy,
};
pub use user::{NoProfile, Profile, Roles, User, UserId};
pub use username::{Username, UsernameError};
