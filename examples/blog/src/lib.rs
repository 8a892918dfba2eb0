//! A blog: everyone who signs up is a `reader`, an admin makes readers `author`s, authors
//! write posts and only admins delete them. Users carry a typed profile (a display name and
//! a bio), a hook adds every new member to the public member list, and the first admin is
//! created at start-up. Stores are in memory; swap in `auth-sqlx` or `auth-redis` for real.

use std::sync::Arc;

use auth_axum::{
    ApiError, Auth, AuthConfig, AuthCore, AuthUser, JsonBody, RequireAdmin, RequireAuthor,
    RequireReader, json_response,
};
use auth_core::{
    AuthError, CreateOptions, Email, JwtAlgorithm, JwtCodec, JwtKeys, ManagerConfig,
    MemorySessionStore, MemoryUserStore, NewUser, Roles, User, UserHooks, UserId, UserManager,
    async_trait,
};
use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

/// The blog's own fields on every user. They travel flattened into the user's JSON: the
/// registration body is `{"email", "password", "display_name", "bio"}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BlogProfile {
    /// The name shown on posts (required at registration).
    pub display_name: String,
    /// A line about the user.
    #[serde(default)]
    pub bio: Option<String>,
}

/// A post.
#[derive(Debug, Clone, Serialize)]
pub struct Post {
    id: u64,
    title: String,
    body: String,
    author_id: UserId,
    author_name: String,
}

/// What an author sends.
#[derive(Debug, Deserialize)]
pub struct NewPost {
    title: String,
    body: String,
}

/// The display names of everyone who joined, filled by the registration hook.
type Members = Arc<RwLock<Vec<String>>>;

/// The posts and the next id (in memory, like the users).
type Posts = Arc<RwLock<(u64, Vec<Post>)>>;

/// The blog's hooks: every new member joins the public member list.
#[derive(Debug)]
struct BlogHooks {
    members: Members,
}

#[async_trait]
impl UserHooks<BlogProfile> for BlogHooks {
    async fn on_after_register(&self, user: &User<BlogProfile>) {
        self.members
            .write()
            .await
            .push(user.profile.display_name.clone());
    }
}

/// The app's state: `Auth<BlogProfile>` for `AuthUser<BlogProfile>`, its profile-free part
/// for the role checks (`derive(FromRef)` exposes both), and the app's own data.
#[derive(Clone, FromRef)]
struct AppState {
    auth: Auth<BlogProfile>,
    core: AuthCore,
    posts: Posts,
    members: Members,
}

/// `GET /members`: who joined (public).
async fn list_members(State(members): State<Members>) -> Response {
    json_response(StatusCode::OK, &*members.read().await)
}

/// `GET /posts`: readers (and everyone above them) read.
async fn list_posts(_reader: RequireReader, State(posts): State<Posts>) -> Response {
    json_response(StatusCode::OK, &posts.read().await.1)
}

/// `POST /posts`: authors write; the post is signed with the profile's display name.
async fn create_post(
    _author: RequireAuthor,
    AuthUser(user): AuthUser<BlogProfile>,
    State(posts): State<Posts>,
    JsonBody(new): JsonBody<NewPost>,
) -> Response {
    let mut posts = posts.write().await;
    posts.0 += 1;
    let post = Post {
        id: posts.0,
        title: new.title,
        body: new.body,
        author_id: user.id,
        author_name: user.profile.display_name,
    };
    posts.1.push(post.clone());
    json_response(StatusCode::CREATED, &post)
}

/// `DELETE /posts/{id}`: admins only.
async fn delete_post(
    _admin: RequireAdmin,
    State(posts): State<Posts>,
    Path(id): Path<u64>,
) -> Response {
    let mut posts = posts.write().await;
    let before = posts.1.len();
    posts.1.retain(|post| post.id != id);
    if posts.1.len() == before {
        ApiError::not_found().into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

/// Creates the first admin unless an account with that address exists already.
async fn bootstrap_admin(
    manager: &UserManager<BlogProfile>,
    email: &str,
    password: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let admin = NewUser {
        profile: BlogProfile {
            display_name: "Admin".into(),
            bio: None,
        },
        ..NewUser::new(Email::parse(email)?, password)
    };
    let options = CreateOptions {
        superuser: true,
        verified: true,
        roles: Roles::new(),
    };
    match manager.create_user(admin, options).await {
        Ok(_) | Err(AuthError::UserAlreadyExists) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// The blog, signing tokens with `secret` (32+ bytes), with an admin account for
/// `admin_email` and `admin_password`.
///
/// # Errors
/// When the secret is too short or the admin's address or password is refused.
pub async fn app(
    secret: &[u8],
    admin_email: &str,
    admin_password: &str,
) -> Result<Router, Box<dyn std::error::Error>> {
    let members = Members::default();
    let manager = UserManager::<BlogProfile>::builder(
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemorySessionStore::new()),
        JwtCodec::new(JwtKeys::hmac(JwtAlgorithm::HS256, secret)?, "blog-example"),
    )
    .with_config(ManagerConfig {
        default_roles: Roles::from_iter(["reader"]),
        ..ManagerConfig::default()
    })
    .with_hooks(Arc::new(BlogHooks {
        members: members.clone(),
    }))
    .build();
    bootstrap_admin(&manager, admin_email, admin_password).await?;
    let auth = Auth::new(manager, AuthConfig::default());
    let state = AppState {
        core: auth.core(),
        auth: auth.clone(),
        posts: Posts::default(),
        members,
    };
    Ok(Router::new()
        .route("/members", get(list_members))
        .route("/posts", get(list_posts).post(create_post))
        .route("/posts/{id}", delete(delete_post))
        .merge(auth.routes())
        .with_state(state))
}
