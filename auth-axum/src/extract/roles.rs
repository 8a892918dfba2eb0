//! Role checks: [`RequireRole`], [`RequireAdmin`] and the reference server's roles.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::AuthRejection;
use super::CurrentUser;
use crate::state::AuthCore;

/// A role an app checks for. Superusers pass every role check.
///
/// ```
/// use auth_axum::{RequireRole, Role};
///
/// struct Editor;
/// impl Role for Editor {
///     const NAME: &'static str = "editor";
/// }
///
/// async fn publish(RequireRole(user, ..): RequireRole<Editor>) -> String {
///     format!("published by {}", user.id)
/// }
/// ```
pub trait Role: Send + Sync + 'static {
    /// The role's name, as stored in the user's roles.
    const NAME: &'static str;
}

/// The `reader` role (the role behind [`RequireReader`]).
#[derive(Debug)]
pub struct Reader;
impl Role for Reader {
    const NAME: &'static str = "reader";
}

/// The `author` role (the role behind [`RequireAuthor`]).
#[derive(Debug)]
pub struct Author;
impl Role for Author {
    const NAME: &'static str = "author";
}

/// Superusers only (no role name grants it); checked by [`RequireAdmin`].
#[derive(Debug)]
pub struct Admin;

/// A [`CurrentUser`] with role `R`: rejects like [`CurrentUser`], and with
/// [`AuthRejection::Forbidden`] (`403`) without the role.
/// Checked against the token's claims, which only the server writes. Superusers pass.
///
/// Take the user out with the tuple pattern `RequireRole(user, ..)`, or keep the extractor and
/// read the user through it (it dereferences to [`CurrentUser`]):
///
/// ```
/// use auth_axum::{RequireRole, Role};
///
/// struct Editor;
/// impl Role for Editor {
///     const NAME: &'static str = "editor";
/// }
///
/// async fn publish(RequireRole(user, ..): RequireRole<Editor>) -> String {
///     format!("published by {}", user.id)
/// }
///
/// async fn review(editor: RequireRole<Editor>) -> String {
///     format!("reviewed by {}", editor.id)
/// }
/// # fn routes() -> axum::Router<auth_axum::AuthCore> {
/// #     axum::Router::new()
/// #         .route("/publish", axum::routing::post(publish))
/// #         .route("/review", axum::routing::post(review))
/// # }
/// ```
#[derive(Debug)]
pub struct RequireRole<R>(pub CurrentUser, pub PhantomData<R>);

impl<S, R> FromRequestParts<S> for RequireRole<R>
where
    S: Send + Sync,
    R: Role,
    AuthCore: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if user.has_role(R::NAME) {
            Ok(Self(user, PhantomData))
        } else {
            Err(AuthRejection::Forbidden)
        }
    }
}

/// A superuser: rejects like [`CurrentUser`], and with [`AuthRejection::Forbidden`] (`403`)
/// for everyone else.
///
/// ```
/// use auth_axum::RequireAdmin;
/// use axum::{Router, routing::delete};
///
/// async fn purge(RequireAdmin(admin): RequireAdmin) -> String {
///     format!("cache purged by {}", admin.id)
/// }
///
/// let app: Router<auth_axum::AuthCore> = Router::new().route("/cache", delete(purge));
/// # drop(app);
/// ```
#[derive(Debug)]
pub struct RequireAdmin(pub CurrentUser);

impl<S> FromRequestParts<S> for RequireAdmin
where
    S: Send + Sync,
    AuthCore: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if user.is_superuser {
            Ok(Self(user))
        } else {
            Err(AuthRejection::Forbidden)
        }
    }
}

impl<R> RequireRole<R> {
    /// The user, giving up the extractor.
    pub fn into_user(self) -> CurrentUser {
        self.0
    }
}

impl<R> Deref for RequireRole<R> {
    type Target = CurrentUser;

    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

impl Deref for RequireAdmin {
    type Target = CurrentUser;

    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

/// Users with the `author` role (superusers pass): `RequireRole<Author>`.
///
/// A type alias, so it names the type but not the tuple constructor: the pattern
/// `RequireAuthor(user, ..)` does not compile. Write `RequireRole(user, ..): RequireAuthor`,
/// or take `author: RequireAuthor` and read `author.id` (it dereferences to
/// [`CurrentUser`]):
///
/// ```
/// use auth_axum::{RequireAuthor, RequireRole};
///
/// async fn create_post(RequireRole(user, ..): RequireAuthor) -> String {
///     format!("post by {}", user.id)
/// }
///
/// async fn edit_post(author: RequireAuthor) -> String {
///     format!("edited by {}", author.id)
/// }
/// # fn routes() -> axum::Router<auth_axum::AuthCore> {
/// #     axum::Router::new()
/// #         .route("/posts", axum::routing::post(create_post))
/// #         .route("/posts/edit", axum::routing::put(edit_post))
/// # }
/// ```
pub type RequireAuthor = RequireRole<Author>;

/// Users with the `reader` role (superusers pass): `RequireRole<Reader>`.
///
/// A type alias, like [`RequireAuthor`]: destructure it as `RequireRole(user, ..)`, or keep
/// it whole and read the user through it.
///
/// ```
/// use auth_axum::{RequireReader, RequireRole};
///
/// async fn read_post(RequireRole(user, ..): RequireReader) -> String {
///     format!("shown to {}", user.id)
/// }
///
/// async fn list_posts(reader: RequireReader) -> String {
///     format!("listed for {}", reader.id)
/// }
/// # fn routes() -> axum::Router<auth_axum::AuthCore> {
/// #     axum::Router::new()
/// #         .route("/posts/one", axum::routing::get(read_post))
/// #         .route("/posts", axum::routing::get(list_posts))
/// # }
/// ```
pub type RequireReader = RequireRole<Reader>;
