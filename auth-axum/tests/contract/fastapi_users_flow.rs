//! A client written for fastapi-users 15 keeps working: the same routes, status codes and
//! bodies, except the deliberate deviations of `docs/HTTP_CONTRACT.md` §9 (logout revokes;
//! password changes need the current password; extra fields in the bearer login answer).

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn a_fastapi_users_client_flow_gets_fastapi_users_answers() {
    let app = App::new();

    // POST /auth/register → 201 UserRead.
    let res = app
        .send(post("/auth/register").json(json!({
            "email": "king.arthur@camelot.bt",
            "password": "guinevere forever",
            "first_name": "Arthur",
        })))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let user = res.json();
    for (key, value) in [
        ("email", json!("king.arthur@camelot.bt")),
        ("is_active", json!(true)),
        ("is_superuser", json!(false)),
        ("is_verified", json!(false)),
    ] {
        assert_eq!(user[key], value, "{key}");
    }
    let id = user["id"].as_str().unwrap().to_owned();

    // The same address again → 400 REGISTER_USER_ALREADY_EXISTS.
    app.send(post("/auth/register").json(json!({
        "email": "king.arthur@camelot.bt", "password": "guinevere forever",
    })))
    .await
    .assert_detail(StatusCode::BAD_REQUEST, "REGISTER_USER_ALREADY_EXISTS");

    // OAuth2PasswordRequestForm as httpx / requests send it → 200 bearer token.
    let res = app
        .send(post("/auth/jwt/login").form(&[
            ("grant_type", "password"),
            ("username", "king.arthur@camelot.bt"),
            ("password", "guinevere forever"),
            ("scope", ""),
            ("client_id", ""),
            ("client_secret", ""),
        ]))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["token_type"], "bearer");
    let access = body["access_token"].as_str().unwrap().to_owned();

    // Wrong password → 400 LOGIN_BAD_CREDENTIALS.
    app.send(post("/auth/jwt/login").form(&[
        ("username", "king.arthur@camelot.bt"),
        ("password", "lancelot"),
    ]))
    .await
    .assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");

    // GET /users/me with the bearer token → 200 UserRead; without → 401 Unauthorized.
    let me = app.me(&access).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["id"], id);
    assert_eq!(me.json()["first_name"], "Arthur");
    let res = app.send(get("/users/me")).await;
    res.assert_detail(StatusCode::UNAUTHORIZED, "Unauthorized");

    // PATCH /users/me → 200 UserRead.
    let res = app
        .send(
            patch("/users/me")
                .bearer(&access)
                .json(json!({"first_name": "Arthur II"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["first_name"], "Arthur II");

    // Superuser routes → 403 Forbidden for a normal user.
    app.send(get(&format!("/users/{id}")).bearer(&access))
        .await
        .assert_detail(StatusCode::FORBIDDEN, "Forbidden");

    // Cookie login → 204, no body, a cookie.
    let res = app
        .send(post("/auth/cookie/login").form(&[
            ("username", "king.arthur@camelot.bt"),
            ("password", "guinevere forever"),
        ]))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert!(res.body.is_empty());
    let jar = res.jar();
    assert_eq!(
        app.send(get("/users/me").cookies(&jar)).await.status,
        StatusCode::OK
    );

    // Cookie logout → 204 and the cookie cleared.
    let res = app.send(post("/auth/cookie/logout").cookies(&jar)).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(res.set_cookie("access_token").unwrap().value, "");

    // POST /auth/forgot-password → 202 null; for an unknown address as well.
    for email in ["king.arthur@camelot.bt", "mordred@camelot.bt"] {
        let res = app
            .send(post("/auth/forgot-password").json(json!({"email": email})))
            .await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        assert_eq!(res.json(), json!(null));
    }

    // POST /auth/reset-password: a bad token → 400 RESET_PASSWORD_BAD_TOKEN; a weak password
    // → 400 {code, reason}; then 200 null.
    app.send(
        post("/auth/reset-password").json(json!({"token": "nope", "password": "excalibur rising"})),
    )
    .await
    .assert_detail(StatusCode::BAD_REQUEST, "RESET_PASSWORD_BAD_TOKEN");
    let token = app.mailed_token("king.arthur@camelot.bt").await;
    app.send(post("/auth/reset-password").json(json!({"token": token, "password": "abc"})))
        .await
        .assert_code_with_reason("RESET_PASSWORD_INVALID_PASSWORD");
    let res = app
        .send(
            post("/auth/reset-password")
                .json(json!({"token": token, "password": "excalibur rising"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json(), json!(null));
    // Deviation (`docs/HTTP_CONTRACT.md` §9): the reset revoked the bearer session.
    app.me(&access).await.assert_unauthorized();
    let access = app
        .login_with("king.arthur@camelot.bt", "excalibur rising")
        .await
        .access;

    // POST /auth/request-verify-token → 202 null; POST /auth/verify → 200 UserRead.
    let res = app
        .send(post("/auth/request-verify-token").json(json!({"email": "king.arthur@camelot.bt"})))
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(res.json(), json!(null));
    let token = app.mailed_token("king.arthur@camelot.bt").await;
    app.send(post("/auth/verify").json(json!({"token": "bad"})))
        .await
        .assert_detail(StatusCode::BAD_REQUEST, "VERIFY_USER_BAD_TOKEN");
    let res = app
        .send(post("/auth/verify").json(json!({"token": token})))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["is_verified"], true);
    assert_eq!(res.json()["id"], id);
    app.send(post("/auth/verify").json(json!({"token": token})))
        .await
        .assert_detail(StatusCode::BAD_REQUEST, "VERIFY_USER_ALREADY_VERIFIED");

    // Bearer logout → 204. Deviation (`docs/HTTP_CONTRACT.md` §9): the token is refused afterwards.
    let res = app.send(post("/auth/jwt/logout").bearer(&access)).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    app.me(&access).await.assert_unauthorized();

    // Missing form fields → 422 with FastAPI's shape.
    app.send(post("/auth/jwt/login").form(&[("username", "king.arthur@camelot.bt")]))
        .await
        .assert_422_at(&["body", "password"]);
}
