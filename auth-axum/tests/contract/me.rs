//! `/users/me` and `/users/me/sessions` (`docs/HTTP_CONTRACT.md` §5).

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn me_answers_the_user_read() {
    let app = App::new();
    let (id, login) = app.user("alice@example.com").await;
    let res = app.me(&login.access).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let user = res.json();
    assert_user_read(&user);
    assert_eq!(user["id"], id);
    assert_eq!(user["email"], "alice@example.com");
}

#[tokio::test]
async fn me_without_valid_credentials_is_401() {
    let app = App::new();
    app.send(get("/users/me")).await.assert_unauthorized();
    app.me("not-a-token").await.assert_unauthorized();
    app.send(get("/users/me").header("authorization", "Basic YWxpY2U6c2VjcmV0"))
        .await
        .assert_unauthorized();
    app.send(get("/users/me").cookie("access_token=forged"))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn patch_me_updates_the_profile_partially() {
    let app = App::new();
    let res = app
        .send(post("/auth/register").json(json!({
            "email": "alice@example.com", "password": PASSWORD,
            "first_name": "Alice", "second_name": "Liddell",
        })))
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let login = app.login("alice@example.com").await;
    let res = app
        .send(
            patch("/users/me")
                .bearer(&login.access)
                .json(json!({"first_name": "Alicia"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let user = res.json();
    assert_user_read(&user);
    assert_eq!(user["first_name"], "Alicia");
    assert_eq!(user["second_name"], "Liddell", "untouched fields stay");
    let me = app.me(&login.access).await.json();
    assert_eq!(me["first_name"], "Alicia");
    assert_eq!(me["second_name"], "Liddell");
    // A field set to null is cleared.
    let user = app
        .send(
            patch("/users/me")
                .bearer(&login.access)
                .json(json!({"second_name": null})),
        )
        .await
        .json();
    assert_eq!(user["second_name"], json!(null));
    assert_eq!(user["first_name"], "Alicia");
}

#[tokio::test]
async fn patch_me_ignores_privileged_fields() {
    let app = App::new();
    let (id, login) = app.user("mallory@example.com").await;
    let res = app
        .send(patch("/users/me").bearer(&login.access).json(json!({
            "id": "00000000-0000-4000-8000-000000000000",
            "is_superuser": true,
            "is_active": false,
            "is_verified": true,
            "roles": ["admin", "author"],
            "hashed_password": "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA",
            "password_hash": "x",
            "first_name": "Mal",
        })))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    for user in [res.json(), app.me(&login.access).await.json()] {
        assert_user_read(&user);
        assert_eq!(user["id"], id);
        assert_eq!(user["is_superuser"], false);
        assert_eq!(user["is_active"], true);
        assert_eq!(user["is_verified"], false);
        assert_eq!(user["roles"], json!(["reader"]));
        assert_eq!(user["first_name"], "Mal");
    }
    // The session was not touched and the password still works.
    app.login("mallory@example.com").await;
    let res = app.send(get("/users").bearer(&login.access)).await;
    res.assert_detail(StatusCode::FORBIDDEN, "Forbidden");
}

#[tokio::test]
async fn changing_the_email_makes_the_user_unverified() {
    let app = App::new();
    app.create(
        "alice@example.com",
        auth_core::CreateOptions {
            verified: true,
            ..Default::default()
        },
    )
    .await;
    let login = app.login("alice@example.com").await;
    assert_eq!(app.me(&login.access).await.json()["is_verified"], true);
    let user = app
        .send(
            patch("/users/me")
                .bearer(&login.access)
                .json(json!({"email": "alicia@example.com", "current_password": PASSWORD})),
        )
        .await
        .json();
    assert_eq!(user["email"], "alicia@example.com");
    assert_eq!(user["is_verified"], false);
    app.login("alicia@example.com").await;
}

#[tokio::test]
async fn patch_me_with_a_taken_email_or_username_is_refused() {
    let app = App::new();
    app.send(post("/auth/register").json(json!({
        "email": "bob@example.com", "password": PASSWORD, "username": "bob",
    })))
    .await;
    let (_, login) = app.user("alice@example.com").await;
    app.send(
        patch("/users/me")
            .bearer(&login.access)
            .json(json!({"email": "BOB@example.com", "current_password": PASSWORD})),
    )
    .await
    .assert_detail(StatusCode::BAD_REQUEST, "UPDATE_USER_EMAIL_ALREADY_EXISTS");
    app.send(
        patch("/users/me")
            .bearer(&login.access)
            .json(json!({"username": "Bob"})),
    )
    .await
    .assert_detail(
        StatusCode::BAD_REQUEST,
        "UPDATE_USER_USERNAME_ALREADY_EXISTS",
    );
    let me = app.me(&login.access).await.json();
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["username"], json!(null));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    for body in [
        json!({"password": NEW_PASSWORD}),
        json!({"password": NEW_PASSWORD, "current_password": "not my password"}),
    ] {
        app.send(patch("/users/me").bearer(&login.access).json(body))
            .await
            .assert_detail(StatusCode::BAD_REQUEST, "UPDATE_USER_BAD_CURRENT_PASSWORD");
    }
    app.send(
        patch("/users/me")
            .bearer(&login.access)
            .json(json!({"password": "short", "current_password": PASSWORD})),
    )
    .await
    .assert_code_with_reason("UPDATE_USER_INVALID_PASSWORD");
    // Nothing changed.
    app.login("alice@example.com").await;
}

#[tokio::test]
async fn changing_the_password_revokes_every_other_session() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    let other = app.login("alice@example.com").await;
    let res = app
        .send(
            patch("/users/me")
                .bearer(&login.access)
                .json(json!({"password": NEW_PASSWORD, "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        app.me(&login.access).await.status,
        StatusCode::OK,
        "this session lives"
    );
    app.me(&other.access).await.assert_unauthorized();
    app.send(post("/auth/jwt/refresh").json(json!({"refresh_token": other.refresh})))
        .await
        .assert_unauthorized();
    app.login_with("alice@example.com", NEW_PASSWORD).await;
}

#[tokio::test]
async fn patch_me_validates_the_body() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    app.send(
        patch("/users/me")
            .bearer(&login.access)
            .json(json!({"email": "nope"})),
    )
    .await
    .assert_422_at(&["body", "email"]);
    app.send(
        patch("/users/me")
            .bearer(&login.access)
            .json(json!({"first_name": 3})),
    )
    .await
    .assert_422_at(&["body", "first_name"]);
    app.send(
        patch("/users/me")
            .bearer(&login.access)
            .json(json!({"password": 3})),
    )
    .await
    .assert_422_at(&["body", "password"]);
    let res = app
        .send(patch("/users/me").bearer(&login.access).json(json!([1, 2])))
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    // Authentication comes before the body.
    app.send(patch("/users/me").json(json!({"email": "nope"})))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn sessions_are_listed_with_the_current_one_marked() {
    let app = App::new();
    let (_, first) = app.user("alice@example.com").await;
    let second = app
        .send(
            post("/auth/jwt/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)])
                .header("user-agent", "Contract/1.0")
                .peer("198.51.100.77".parse().unwrap()),
        )
        .await
        .json();
    let res = app
        .send(get("/users/me/sessions").bearer(second["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let sessions = res.json();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for session in sessions {
        let mut keys: Vec<&str> = session
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "created_at",
                "current",
                "expires_at",
                "id",
                "ip",
                "last_used_at",
                "user_agent"
            ]
        );
        assert!(
            session["id"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .is_ok()
        );
        assert!(!session.to_string().contains(&first.refresh));
    }
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "Contract/1.0");
    assert_eq!(current[0]["ip"], "198.51.100.77");
    let other = sessions.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["ip"], CLIENT_IP.to_string());
    app.send(get("/users/me/sessions"))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn deleting_one_session_revokes_it_only() {
    let app = App::new();
    let (_, first) = app.user("alice@example.com").await;
    let second = app.login("alice@example.com").await;
    let sessions = app
        .send(get("/users/me/sessions").bearer(&second.access))
        .await
        .json();
    let first_id = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .send(delete(&format!("/users/me/sessions/{first_id}")).bearer(&second.access))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert!(res.body.is_empty());
    app.me(&first.access).await.assert_unauthorized();
    assert_eq!(app.me(&second.access).await.status, StatusCode::OK);
    // Gone now.
    app.send(delete(&format!("/users/me/sessions/{first_id}")).bearer(&second.access))
        .await
        .assert_detail(StatusCode::NOT_FOUND, "Not Found");
}

#[tokio::test]
async fn deleting_another_users_session_is_404_and_harmless() {
    let app = App::new();
    let (_, alice) = app.user("alice@example.com").await;
    let (_, bob) = app.user("bob@example.com").await;
    let bobs = app
        .send(get("/users/me/sessions").bearer(&bob.access))
        .await
        .json();
    let bob_session = bobs[0]["id"].as_str().unwrap();
    app.send(delete(&format!("/users/me/sessions/{bob_session}")).bearer(&alice.access))
        .await
        .assert_detail(StatusCode::NOT_FOUND, "Not Found");
    assert_eq!(app.me(&bob.access).await.status, StatusCode::OK);
    for id in [
        "not-a-uuid",
        "%FF%FE",
        "00000000-0000-4000-8000-000000000000",
    ] {
        app.send(delete(&format!("/users/me/sessions/{id}")).bearer(&alice.access))
            .await
            .assert_detail(StatusCode::NOT_FOUND, "Not Found");
    }
    app.send(delete(&format!("/users/me/sessions/{bob_session}")))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn deleting_all_sessions_logs_out_everywhere_this_one_included() {
    let app = App::new();
    let (_, first) = app.user("alice@example.com").await;
    let second = app.login("alice@example.com").await;
    let (_, bob) = app.user("bob@example.com").await;
    let res = app
        .send(delete("/users/me/sessions").bearer(&second.access))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    app.me(&first.access).await.assert_unauthorized();
    app.me(&second.access).await.assert_unauthorized();
    app.send(post("/auth/jwt/refresh").json(json!({"refresh_token": first.refresh})))
        .await
        .assert_unauthorized();
    assert_eq!(app.me(&bob.access).await.status, StatusCode::OK);
    app.send(delete("/users/me/sessions"))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn deleting_all_sessions_with_cookies_clears_them() {
    let app = App::new();
    app.register("alice@example.com").await;
    let jar = app.cookie_login("alice@example.com").await;
    let res = app.send(delete("/users/me/sessions").cookies(&jar)).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert_eq!(res.set_cookie("access_token").unwrap().value, "");
    assert!(
        res.set_cookie("refresh_token")
            .unwrap()
            .attributes
            .contains(&"Max-Age=0".to_owned())
    );
}

#[tokio::test]
async fn changing_only_the_case_of_the_email_keeps_the_verification() {
    let app = App::new();
    app.create(
        "alice@example.com",
        auth_core::CreateOptions {
            verified: true,
            ..Default::default()
        },
    )
    .await;
    let login = app.login("alice@example.com").await;
    let res = app
        .send(
            patch("/users/me")
                .bearer(&login.access)
                .json(json!({"email": "Alice@EXAMPLE.com", "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let user = res.json();
    assert_eq!(user["email"], "Alice@example.com");
    assert_eq!(user["is_verified"], true);
}

#[tokio::test]
async fn an_email_change_without_the_right_current_password_is_refused() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    for body in [
        json!({"email": "attacker@example.net"}),
        json!({"email": "attacker@example.net", "current_password": "not it at all"}),
    ] {
        app.send(patch("/users/me").bearer(&login.access).json(body))
            .await
            .assert_detail(StatusCode::BAD_REQUEST, "UPDATE_USER_BAD_CURRENT_PASSWORD");
    }
    assert_eq!(
        app.me(&login.access).await.json()["email"],
        "alice@example.com"
    );
    assert_eq!(app.mails_to("attacker@example.net").await, 0);
}

#[tokio::test]
async fn current_password_guesses_are_throttled_like_logins() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    let mut throttled = None;
    for i in 0..12 {
        let res = app
            .send(patch("/users/me").bearer(&login.access).json(json!({
                "password": "a new long passphrase",
                "current_password": format!("guess number {i}"),
            })))
            .await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(i);
            assert!(res.headers.get("retry-after").is_some());
            break;
        }
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    }
    assert_eq!(throttled, Some(10), "the account budget is ten failures");
    let res = app
        .send(patch("/users/me").bearer(&login.access).json(json!({
            "password": "a new long passphrase", "current_password": PASSWORD,
        })))
        .await;
    assert_eq!(
        res.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right one"
    );
}

#[tokio::test]
async fn an_email_change_tells_the_old_address() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    let res = app
        .send(patch("/users/me").bearer(&login.access).json(json!({
            "email": "alice@new.example", "current_password": PASSWORD,
        })))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(app.mails_to("alice@example.com").await, 1);
}
