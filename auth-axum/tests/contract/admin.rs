//! The superusers' `/users` and `/users/{id}` (`docs/HTTP_CONTRACT.md` §6).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_user_list_pages_and_filters() {
    let app = App::new();
    let root = app.admin().await;
    for n in 0..60 {
        app.create(&format!("user{n:02}@example.com"), Default::default())
            .await;
    }
    app.create("Someone@Elsewhere.org", Default::default())
        .await;

    let res = app.send(get("/users").bearer(&root.access)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let page = res.json();
    assert_eq!(page.as_object().unwrap().len(), 2, "{{items, total}}");
    assert_eq!(page["total"], 62);
    assert_eq!(page["items"].as_array().unwrap().len(), 50, "default limit");
    for user in page["items"].as_array().unwrap() {
        assert_user_read(user);
    }

    let page = app
        .send(get("/users?limit=5&offset=58").bearer(&root.access))
        .await
        .json();
    assert_eq!(page["total"], 62);
    assert_eq!(page["items"].as_array().unwrap().len(), 4);

    let page = app
        .send(get("/users?email=ELSEWHERE").bearer(&root.access))
        .await
        .json();
    assert_eq!(page["total"], 1);
    assert_eq!(emails(&page), ["Someone@elsewhere.org"]);

    let page = app
        .send(get("/users?email=user0&limit=100").bearer(&root.access))
        .await
        .json();
    assert_eq!(page["total"], 10);
}

#[tokio::test]
async fn the_user_list_validates_limit_and_offset() {
    let app = App::new();
    let root = app.admin().await;
    for (query, loc) in [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
    ] {
        app.send(get(&format!("/users?{query}")).bearer(&root.access))
            .await
            .assert_422_at(&["query", loc]);
    }
    let res = app
        .send(get("/users?limit=100&offset=0").bearer(&root.access))
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn admin_routes_are_for_superusers_only() {
    let app = App::new();
    let (id, user) = app.user("alice@example.com").await;
    let admin_id = app.admin().await;
    let root_id = app.me(&admin_id.access).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for req in [
        get("/users"),
        get(&format!("/users/{root_id}")),
        patch(&format!("/users/{id}")).json(json!({"is_superuser": true})),
        delete(&format!("/users/{root_id}")),
        get("/users/not-a-uuid"),
    ] {
        let res = app.send(req.bearer(&user.access)).await;
        res.assert_detail(StatusCode::FORBIDDEN, "Forbidden");
    }
    for req in [
        get("/users"),
        get(&format!("/users/{root_id}")),
        patch(&format!("/users/{id}")).json(json!({"is_superuser": true})),
        delete(&format!("/users/{root_id}")),
    ] {
        app.send(req).await.assert_unauthorized();
    }
    assert_eq!(app.me(&user.access).await.json()["is_superuser"], false);
}

#[tokio::test]
async fn read_one_user_and_404_for_unknown_or_malformed_ids() {
    let app = App::new();
    let root = app.admin().await;
    let (id, _) = app.user("alice@example.com").await;
    let res = app
        .send(get(&format!("/users/{id}")).bearer(&root.access))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let user = res.json();
    assert_user_read(&user);
    assert_eq!(user["email"], "alice@example.com");
    for bad in [
        "00000000-0000-4000-8000-000000000000",
        "not-a-uuid",
        "12345",
        "%FF%FE",
        "%00",
        &"a".repeat(5000),
    ] {
        for req in [
            get(&format!("/users/{bad}")),
            patch(&format!("/users/{bad}")).json(json!({"first_name": "x"})),
            delete(&format!("/users/{bad}")),
        ] {
            app.send(req.bearer(&root.access))
                .await
                .assert_detail(StatusCode::NOT_FOUND, "Not Found");
        }
    }
}

#[tokio::test]
async fn admin_patch_sets_flags_roles_profile_and_password() {
    let app = App::new();
    let root = app.admin().await;
    let (id, _) = app.user("alice@example.com").await;
    let res = app
        .send(
            patch(&format!("/users/{id}"))
                .bearer(&root.access)
                .json(json!({
                    "is_verified": true,
                    "roles": ["reader", "author"],
                    "first_name": "Alice",
                    "username": "alice",
                    "password": NEW_PASSWORD,
                })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let user = res.json();
    assert_user_read(&user);
    assert_eq!(user["is_verified"], true);
    assert_eq!(user["roles"], json!(["author", "reader"]));
    assert_eq!(user["first_name"], "Alice");
    assert_eq!(user["second_name"], json!(null));
    assert_eq!(user["username"], "alice");
    let read = app
        .send(get(&format!("/users/{id}")).bearer(&root.access))
        .await
        .json();
    assert_eq!(read["first_name"], "Alice");
    let list = app
        .send(get("/users?email=alice").bearer(&root.access))
        .await
        .json();
    assert_eq!(list["items"][0]["first_name"], "Alice");
    assert_eq!(list["items"][0]["username"], "alice");
    let login = app.login_with("alice", NEW_PASSWORD).await;
    let me = app.me(&login.access).await.json();
    assert_eq!(me["first_name"], "Alice");
    assert_eq!(me["roles"], json!(["author", "reader"]));
    // And the admin may make someone a superuser.
    let user = app
        .send(
            patch(&format!("/users/{id}"))
                .bearer(&root.access)
                .json(json!({"is_superuser": true})),
        )
        .await
        .json();
    assert_eq!(user["is_superuser"], true);
}

#[tokio::test]
async fn admin_patch_answers_the_update_error_codes() {
    let app = App::new();
    let root = app.admin().await;
    let (id, _) = app.user("alice@example.com").await;
    app.send(post("/auth/register").json(json!({
        "email": "bob@example.com", "password": PASSWORD, "username": "bob",
    })))
    .await;
    let url = format!("/users/{id}");
    app.send(
        patch(&url)
            .bearer(&root.access)
            .json(json!({"email": "bob@example.com"})),
    )
    .await
    .assert_detail(StatusCode::BAD_REQUEST, "UPDATE_USER_EMAIL_ALREADY_EXISTS");
    app.send(
        patch(&url)
            .bearer(&root.access)
            .json(json!({"username": "BOB"})),
    )
    .await
    .assert_detail(
        StatusCode::BAD_REQUEST,
        "UPDATE_USER_USERNAME_ALREADY_EXISTS",
    );
    app.send(
        patch(&url)
            .bearer(&root.access)
            .json(json!({"password": "password"})),
    )
    .await
    .assert_code_with_reason("UPDATE_USER_INVALID_PASSWORD");
    app.send(
        patch(&url)
            .bearer(&root.access)
            .json(json!({"is_active": "yes"})),
    )
    .await
    .assert_422_at(&["body", "is_active"]);
    app.send(
        patch(&url)
            .bearer(&root.access)
            .json(json!({"roles": "admin"})),
    )
    .await
    .assert_422_at(&["body", "roles"]);
    app.send(patch(&url).bearer(&root.access).json(json!({"email": 1})))
        .await
        .assert_422_at(&["body", "email"]);
}

#[tokio::test]
async fn deactivating_a_user_revokes_their_sessions() {
    let app = App::new();
    let root = app.admin().await;
    let (id, login) = app.user("alice@example.com").await;
    let user = app
        .send(
            patch(&format!("/users/{id}"))
                .bearer(&root.access)
                .json(json!({"is_active": false})),
        )
        .await
        .json();
    assert_eq!(user["is_active"], false);
    app.me(&login.access).await.assert_unauthorized();
    app.send(post("/auth/jwt/refresh").json(json!({"refresh_token": login.refresh})))
        .await
        .assert_unauthorized();
    app.send(
        post("/auth/jwt/login").form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
    )
    .await
    .assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
    // Reactivated, they may log in again.
    app.send(
        patch(&format!("/users/{id}"))
            .bearer(&root.access)
            .json(json!({"is_active": true})),
    )
    .await;
    app.login("alice@example.com").await;
}

#[tokio::test]
async fn changing_roles_or_superuser_revokes_the_users_sessions() {
    let app = App::new();
    let root = app.admin().await;
    let (id, login) = app.user("alice@example.com").await;
    app.send(
        patch(&format!("/users/{id}"))
            .bearer(&root.access)
            .json(json!({"roles": ["author"]})),
    )
    .await;
    app.me(&login.access).await.assert_unauthorized();
    let login = app.login("alice@example.com").await;
    app.send(
        patch(&format!("/users/{id}"))
            .bearer(&root.access)
            .json(json!({"is_superuser": true})),
    )
    .await;
    app.me(&login.access).await.assert_unauthorized();
    // A profile-only change does not.
    let login = app.login("alice@example.com").await;
    app.send(
        patch(&format!("/users/{id}"))
            .bearer(&root.access)
            .json(json!({"first_name": "A"})),
    )
    .await;
    assert_eq!(app.me(&login.access).await.status, StatusCode::OK);
    // The admin's own session is untouched throughout.
    assert_eq!(app.me(&root.access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn deleting_a_user_revokes_their_sessions() {
    let app = App::new();
    let root = app.admin().await;
    let (id, login) = app.user("alice@example.com").await;
    let res = app
        .send(delete(&format!("/users/{id}")).bearer(&root.access))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert!(res.body.is_empty());
    app.me(&login.access).await.assert_unauthorized();
    app.send(get(&format!("/users/{id}")).bearer(&root.access))
        .await
        .assert_detail(StatusCode::NOT_FOUND, "Not Found");
    app.send(delete(&format!("/users/{id}")).bearer(&root.access))
        .await
        .assert_detail(StatusCode::NOT_FOUND, "Not Found");
    // The address is free again.
    app.register("alice@example.com").await;
}
