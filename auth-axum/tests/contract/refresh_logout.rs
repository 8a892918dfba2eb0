//! `POST /auth/{backend}/refresh` and `/logout` (`docs/HTTP_CONTRACT.md` §4).

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn bearer_refresh_answers_a_new_pair() {
    let app = App::new();
    let (_, tokens) = app.user("alice@example.com").await;
    let res = app
        .send(post("/auth/jwt/refresh").json(json!({"refresh_token": tokens.refresh})))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let body = res.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
    let refresh = body["refresh_token"].as_str().unwrap();
    assert_ne!(refresh, tokens.refresh);
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(app.me(access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_refreshed_access_token_outlives_the_first_one() {
    let app = App::new();
    let (_, tokens) = app.user("alice@example.com").await;
    app.clock.advance(time::Duration::minutes(10));
    let body = app
        .send(post("/auth/jwt/refresh").json(json!({"refresh_token": tokens.refresh})))
        .await
        .json();
    app.clock.advance(time::Duration::minutes(6));
    app.me(&tokens.access).await.assert_unauthorized();
    let res = app.me(body["access_token"].as_str().unwrap()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn reusing_a_refresh_token_is_401_and_kills_the_session() {
    let app = App::new();
    let (_, tokens) = app.user("alice@example.com").await;
    let rotated = app
        .send(post("/auth/jwt/refresh").json(json!({"refresh_token": tokens.refresh})))
        .await
        .json();
    let res = app
        .send(post("/auth/jwt/refresh").json(json!({"refresh_token": tokens.refresh})))
        .await;
    res.assert_unauthorized();
    // Every token of that session is dead now, the rotated ones included.
    let res = app
        .send(post("/auth/jwt/refresh").json(json!({"refresh_token": rotated["refresh_token"]})))
        .await;
    res.assert_unauthorized();
    app.me(rotated["access_token"].as_str().unwrap())
        .await
        .assert_unauthorized();
    app.me(&tokens.access).await.assert_unauthorized();
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_have_one_winner() {
    let app = App::new();
    let (_, tokens) = app.user("alice@example.com").await;
    let sends = (0..4).map(|_| {
        app.send(post("/auth/jwt/refresh").json(json!({"refresh_token": tokens.refresh})))
    });
    let results = futures::future::join_all(sends).await;
    let winners = results
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        winners,
        1,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for loser in results.iter().filter(|r| r.status != StatusCode::OK) {
        loser.assert_unauthorized();
    }
}

#[tokio::test]
async fn unknown_expired_and_malformed_refresh_tokens_are_401() {
    let app = App::new();
    let (_, tokens) = app.user("alice@example.com").await;
    for token in ["", "garbage", &"A".repeat(64), &tokens.access] {
        let res = app
            .send(post("/auth/jwt/refresh").json(json!({"refresh_token": token})))
            .await;
        res.assert_unauthorized();
    }
    // The refresh token's idle lifetime is 14 days.
    app.clock.advance(time::Duration::days(15));
    let res = app
        .send(post("/auth/jwt/refresh").json(json!({"refresh_token": tokens.refresh})))
        .await;
    res.assert_unauthorized();
    let res = app.send(post("/auth/jwt/refresh").json(json!({}))).await;
    res.assert_422_at(&["body", "refresh_token"]);
}

#[tokio::test]
async fn cookie_refresh_replaces_both_cookies() {
    let app = App::new();
    app.register("alice@example.com").await;
    let jar = app.cookie_login("alice@example.com").await;
    let res = app
        .send(post("/auth/cookie/refresh").cookie(&format!("refresh_token={}", jar.refresh)))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert!(res.body.is_empty());
    let new = res.jar();
    assert_ne!(new.refresh, jar.refresh);
    assert_eq!(
        res.set_cookie("access_token").unwrap().attributes,
        [
            "HttpOnly",
            "Max-Age=900",
            "Path=/",
            "SameSite=Lax",
            "Secure"
        ]
    );
    assert_eq!(
        res.set_cookie("refresh_token").unwrap().attributes,
        [
            "HttpOnly",
            "Max-Age=1209600",
            "Path=/",
            "SameSite=Strict",
            "Secure"
        ]
    );
    assert_eq!(
        app.send(get("/users/me").cookies(&new)).await.status,
        StatusCode::OK
    );
    // The old refresh cookie is spent; replaying it kills the session.
    let res = app
        .send(post("/auth/cookie/refresh").cookie(&format!("refresh_token={}", jar.refresh)))
        .await;
    res.assert_unauthorized();
    app.send(get("/users/me").cookies(&new))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn cookie_refresh_without_the_cookie_is_401() {
    let app = App::new();
    app.send(post("/auth/cookie/refresh"))
        .await
        .assert_unauthorized();
    app.send(post("/auth/cookie/refresh").cookie("refresh_token=nope"))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn bearer_logout_revokes_the_session() {
    let app = App::new();
    let (_, tokens) = app.user("alice@example.com").await;
    let other = app.login("alice@example.com").await;
    let res = app
        .send(post("/auth/jwt/logout").bearer(&tokens.access))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert!(res.body.is_empty());
    app.me(&tokens.access).await.assert_unauthorized();
    let res = app
        .send(post("/auth/jwt/refresh").json(json!({"refresh_token": tokens.refresh})))
        .await;
    res.assert_unauthorized();
    // Only that session.
    assert_eq!(app.me(&other.access).await.status, StatusCode::OK);
    // Logging out again is 401.
    app.send(post("/auth/jwt/logout").bearer(&tokens.access))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn cookie_logout_clears_both_cookies_and_revokes_the_session() {
    let app = App::new();
    app.register("alice@example.com").await;
    let jar = app.cookie_login("alice@example.com").await;
    let res = app.send(post("/auth/cookie/logout").cookies(&jar)).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert!(res.body.is_empty());
    let access = res.set_cookie("access_token").expect("cleared");
    assert_eq!(access.value, "");
    assert_eq!(
        access.attributes,
        ["HttpOnly", "Max-Age=0", "Path=/", "SameSite=Lax", "Secure"]
    );
    let refresh = res.set_cookie("refresh_token").expect("cleared");
    assert_eq!(refresh.value, "");
    assert_eq!(
        refresh.attributes,
        [
            "HttpOnly",
            "Max-Age=0",
            "Path=/",
            "SameSite=Strict",
            "Secure"
        ]
    );
    app.send(get("/users/me").cookies(&jar))
        .await
        .assert_unauthorized();
    app.send(post("/auth/cookie/refresh").cookies(&jar))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn logout_without_credentials_is_401() {
    let app = App::new();
    for backend in ["jwt", "cookie"] {
        app.send(post(&format!("/auth/{backend}/logout")))
            .await
            .assert_unauthorized();
        app.send(post(&format!("/auth/{backend}/logout")).bearer("not.a.token"))
            .await
            .assert_unauthorized();
    }
}

#[tokio::test]
async fn an_expired_access_token_is_401() {
    let app = App::new();
    let (_, tokens) = app.user("alice@example.com").await;
    app.clock.advance(time::Duration::minutes(15));
    app.me(&tokens.access).await.assert_unauthorized();
}
