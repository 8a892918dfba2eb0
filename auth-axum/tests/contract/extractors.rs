//! The extractors on a small app router: who is asking, and whether they may (401 vs 403).

use auth_axum::{
    AuthRejection, AuthUser, CurrentUser, RequireAdmin, RequireAuthor, RequireReader, RequireRole,
    Role, VerifiedUser,
};
use auth_core::CreateOptions;
use axum::Router;
use axum::http::StatusCode;
use axum::routing;
use serde_json::{Value, json};

use crate::harness::*;

struct Editor;
impl Role for Editor {
    const NAME: &'static str = "editor";
}

async fn me(user: CurrentUser) -> String {
    user.id.to_string()
}

async fn maybe(user: Option<CurrentUser>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.id.to_string())
}

/// Says which rejection, if any, the extractor made.
async fn probe(user: Result<CurrentUser, AuthRejection>) -> String {
    match user {
        Ok(_) => "user".to_owned(),
        Err(rejection) => format!("{rejection:?}"),
    }
}

async fn admin_probe(admin: Result<RequireAdmin, AuthRejection>) -> String {
    match admin {
        Ok(_) => "admin".to_owned(),
        Err(rejection) => format!("{rejection:?}"),
    }
}

async fn verified(VerifiedUser(user): VerifiedUser) -> String {
    user.id.to_string()
}

async fn admin(RequireAdmin(user): RequireAdmin) -> String {
    user.id.to_string()
}

async fn author(RequireRole(user, _): RequireAuthor) -> String {
    user.id.to_string()
}

async fn reader(RequireRole(user, _): RequireReader) -> String {
    user.id.to_string()
}

async fn editor(RequireRole(user, _): RequireRole<Editor>) -> String {
    user.id.to_string()
}

async fn profile(AuthUser(user): AuthUser<Names>) -> axum::Json<Value> {
    axum::Json(json!({"email": user.email.as_str(), "first_name": user.profile.first_name}))
}

fn app() -> App {
    let parts = App::auth(reference_manager_config(), reference_auth_config());
    let state = parts.0.clone();
    let router = Router::new()
        .route("/me", routing::get(me).post(me))
        .route("/maybe", routing::get(maybe).post(maybe))
        .route("/probe", routing::get(probe).post(probe))
        .route("/admin-probe", routing::get(admin_probe))
        .route("/verified", routing::get(verified))
        .route("/admin", routing::get(admin))
        .route("/author", routing::get(author))
        .route("/reader", routing::get(reader))
        .route("/editor", routing::get(editor))
        .route("/profile", routing::get(profile))
        .with_state(state)
        .merge(parts.0.routes());
    App::from_parts(router, parts)
}

const GUARDED: &[&str] = &[
    "/me",
    "/verified",
    "/admin",
    "/author",
    "/reader",
    "/editor",
    "/profile",
];

#[tokio::test]
async fn every_guard_answers_401_without_a_valid_token() {
    let app = app();
    let (_, login) = app.user("alice@example.com").await;
    app.clock.advance(time::Duration::minutes(16));
    for path in GUARDED {
        app.send(get(path)).await.assert_unauthorized();
        app.send(get(path).bearer("forged"))
            .await
            .assert_unauthorized();
        app.send(get(path).bearer(&login.access))
            .await
            .assert_unauthorized();
        app.send(get(path).cookie("access_token=forged"))
            .await
            .assert_unauthorized();
    }
}

#[tokio::test]
async fn current_user_is_the_tokens_user_by_bearer_or_cookie() {
    let app = app();
    let (id, login) = app.user("alice@example.com").await;
    let res = app.send(get("/me").bearer(&login.access)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.text(), id);
    let jar = app.cookie_login("alice@example.com").await;
    let res = app.send(get("/me").cookies(&jar)).await;
    assert_eq!(res.text(), id);
    // After logout the token is refused at once.
    app.send(post("/auth/jwt/logout").bearer(&login.access))
        .await;
    app.send(get("/me").bearer(&login.access))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn optional_current_user_is_none_instead_of_401() {
    let app = app();
    let (id, login) = app.user("alice@example.com").await;
    for req in [
        get("/maybe"),
        get("/maybe").bearer("forged"),
        get("/maybe").cookie("access_token=x"),
    ] {
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.text(), "anonymous");
    }
    let res = app.send(get("/maybe").bearer(&login.access)).await;
    assert_eq!(res.text(), id);
    // A cross-site unsafe cookie request is still refused, not downgraded to anonymous.
    let jar = app.cookie_login("alice@example.com").await;
    let res = app
        .send(
            post("/maybe")
                .cookies(&jar)
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    res.assert_detail(StatusCode::FORBIDDEN, "Forbidden");
}

#[tokio::test]
async fn verified_user_is_403_until_verified() {
    let app = app();
    let (_, login) = app.user("alice@example.com").await;
    app.send(get("/verified").bearer(&login.access))
        .await
        .assert_detail(StatusCode::FORBIDDEN, "Forbidden");
    app.send(post("/auth/request-verify-token").json(json!({"email": "alice@example.com"})))
        .await;
    let token = app.mailed_token("alice@example.com").await;
    let res = app
        .send(post("/auth/verify").json(json!({"token": token})))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    // A token issued after verification carries it.
    let login = app.login("alice@example.com").await;
    assert_eq!(
        app.send(get("/verified").bearer(&login.access))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn require_admin_is_403_for_everyone_but_superusers() {
    let app = app();
    let (_, login) = app.user("alice@example.com").await;
    app.send(get("/admin").bearer(&login.access))
        .await
        .assert_detail(StatusCode::FORBIDDEN, "Forbidden");
    let root = app.admin().await;
    assert_eq!(
        app.send(get("/admin").bearer(&root.access)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn require_role_checks_the_role_and_lets_superusers_through() {
    let app = app();
    let (_, reader_login) = app.user("alice@example.com").await;
    app.create(
        "writer@example.com",
        CreateOptions {
            roles: auth_core::Roles::from_iter(["author"]),
            ..Default::default()
        },
    )
    .await;
    let writer = app.login("writer@example.com").await;
    let root = app.admin().await;
    let cases = [
        (&reader_login, "/reader", StatusCode::OK),
        (&reader_login, "/author", StatusCode::FORBIDDEN),
        (&reader_login, "/editor", StatusCode::FORBIDDEN),
        (&writer, "/author", StatusCode::OK),
        (&writer, "/reader", StatusCode::OK),
        (&writer, "/editor", StatusCode::FORBIDDEN),
        (&root, "/author", StatusCode::OK),
        (&root, "/editor", StatusCode::OK),
    ];
    for (login, path, status) in cases {
        let res = app.send(get(path).bearer(&login.access)).await;
        assert_eq!(res.status, status, "{path}: {}", res.text());
        if status == StatusCode::FORBIDDEN {
            res.assert_detail(StatusCode::FORBIDDEN, "Forbidden");
        }
    }
}

#[tokio::test]
async fn role_changes_take_effect_at_the_next_login() {
    let app = app();
    let (id, login) = app.user("alice@example.com").await;
    let root = app.admin().await;
    app.send(
        patch(&format!("/users/{id}"))
            .bearer(&root.access)
            .json(json!({"roles": ["author"]})),
    )
    .await;
    // The old token, which said "reader", is dead.
    app.send(get("/reader").bearer(&login.access))
        .await
        .assert_unauthorized();
    let login = app.login("alice@example.com").await;
    assert_eq!(
        app.send(get("/author").bearer(&login.access)).await.status,
        StatusCode::OK
    );
    app.send(get("/reader").bearer(&login.access))
        .await
        .assert_detail(StatusCode::FORBIDDEN, "Forbidden");
}

#[tokio::test]
async fn auth_user_loads_the_whole_user_with_the_profile() {
    let app = app();
    let res = app
        .send(post("/auth/register").json(json!({
            "email": "alice@example.com", "password": PASSWORD, "first_name": "Alice",
        })))
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let login = app.login("alice@example.com").await;
    let res = app.send(get("/profile").bearer(&login.access)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body: Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(
        body,
        json!({"email": "alice@example.com", "first_name": "Alice"})
    );
}

#[tokio::test]
async fn auth_user_is_401_once_the_user_is_gone() {
    let app = app();
    let (id, login) = app.user("alice@example.com").await;
    // Deleted behind the manager's back: the session is still live, the user is not.
    let id: auth_core::UserId = id.parse().unwrap();
    assert!(app.manager().users().delete(id).await.unwrap());
    app.send(get("/profile").bearer(&login.access))
        .await
        .assert_unauthorized();
    app.me(&login.access).await.assert_unauthorized();
}

#[tokio::test]
async fn rejections_say_why_and_option_is_none_only_for_anonymous() {
    let app = app();
    let (_, login) = app.user("alice@example.com").await;
    let jar = app.cookie_login("alice@example.com").await;
    for (req, expected) in [
        // No credentials at all.
        (get("/probe"), "MissingCredentials"),
        // Credentials that do not count: a rejection of their own, not "none".
        (get("/probe").bearer("forged"), "InvalidCredentials"),
        (get("/probe").cookie("access_token=x"), "InvalidCredentials"),
        (get("/probe").bearer(&login.access), "user"),
        (
            post("/probe")
                .cookies(&jar)
                .header("sec-fetch-site", "cross-site"),
            "CrossSite",
        ),
        (get("/admin-probe").bearer(&login.access), "Forbidden"),
        (get("/admin-probe"), "MissingCredentials"),
    ] {
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.text(), expected);
    }
    // `Option<CurrentUser>` is `None` for the anonymous kinds only; a rejection that is not
    // about being anonymous still refuses the request.
    assert_eq!(app.send(get("/maybe")).await.text(), "anonymous");
    app.send(
        post("/maybe")
            .cookies(&jar)
            .header("sec-fetch-site", "cross-site"),
    )
    .await
    .assert_detail(StatusCode::FORBIDDEN, "Forbidden");
    // After logout the same token is invalid: the plain extractor answers the contract's 401.
    app.send(post("/auth/jwt/logout").bearer(&login.access))
        .await;
    assert_eq!(
        app.send(get("/probe").bearer(&login.access)).await.text(),
        "InvalidCredentials"
    );
    app.send(get("/me").bearer(&login.access))
        .await
        .assert_unauthorized();
}
