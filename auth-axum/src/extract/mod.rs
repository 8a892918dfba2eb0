//! Extractors: who is asking, and whether they may.

mod current_user;
mod full_user;
mod rejection;
mod roles;

pub(crate) use current_user::authenticate;
pub use current_user::{CurrentUser, VerifiedUser};
pub use full_user::AuthUser;
pub use rejection::AuthRejection;
pub use roles::{
    Admin, Author, Reader, RequireAdmin, RequireAuthor, RequireReader, RequireRole, Role,
};
