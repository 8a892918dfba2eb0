//! Cookie requests and CSRF (contract §4 "Cookie requests and CSRF", §10 `ALLOWED_ORIGINS`).

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::*;

async fn signed_in() -> (App, Jar) {
    let app = App::new();
    app.register("alice@example.com").await;
    let jar = app.cookie_login("alice@example.com").await;
    (app, jar)
}

fn rename(jar: &Jar) -> Req {
    patch("/users/me")
        .cookies(jar)
        .json(json!({"first_name": "Renamed"}))
}

#[tokio::test]
async fn cross_site_fetch_metadata_refuses_unsafe_cookie_requests() {
    let (app, jar) = signed_in().await;
    for req in [
        rename(&jar),
        delete("/users/me/sessions").cookies(&jar),
        post("/auth/cookie/logout").cookies(&jar),
        post("/auth/jwt/logout").cookies(&jar),
        post("/auth/cookie/refresh").cookies(&jar),
    ] {
        let res = app.send(req.header("sec-fetch-site", "cross-site")).await;
        res.assert_detail(StatusCode::FORBIDDEN, "Forbidden");
        assert!(res.set_cookies().is_empty());
    }
    // Nothing happened: the session lives and the name is unchanged.
    let me = app.send(get("/users/me").cookies(&jar)).await.json();
    assert_eq!(me["first_name"], json!(null));
}

#[tokio::test]
async fn a_foreign_origin_refuses_unsafe_cookie_requests() {
    let (app, jar) = signed_in().await;
    for origin in [
        "https://evil.example",
        "null",
        "https://api.example.com.evil.example",
        "http://app.example.co",
    ] {
        let res = app.send(rename(&jar).header("origin", origin)).await;
        res.assert_detail(StatusCode::FORBIDDEN, "Forbidden");
    }
    // A same-site sibling that is not allowed is refused too.
    let res = app
        .send(
            rename(&jar)
                .header("sec-fetch-site", "same-site")
                .header("origin", "https://blog.example.com"),
        )
        .await;
    res.assert_detail(StatusCode::FORBIDDEN, "Forbidden");
}

#[tokio::test]
async fn the_servers_own_origin_and_allowed_origins_may_send_unsafe_cookie_requests() {
    let (app, jar) = signed_in().await;
    for (origin, site) in [
        ("https://api.example.com", "same-origin"),
        ("https://API.example.com/", "same-origin"),
        (ALLOWED_ORIGIN, "same-site"),
        ("https://app.example.com/", "same-site"),
    ] {
        let res = app
            .send(
                rename(&jar)
                    .header("origin", origin)
                    .header("sec-fetch-site", site),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{origin}: {}", res.text());
    }
}

#[tokio::test]
async fn requests_without_origin_or_fetch_metadata_are_allowed() {
    let (app, jar) = signed_in().await;
    let res = app.send(rename(&jar)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app.send(post("/auth/cookie/logout").cookies(&jar)).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn safe_methods_are_not_checked() {
    let (app, jar) = signed_in().await;
    let res = app
        .send(
            get("/users/me")
                .cookies(&jar)
                .header("sec-fetch-site", "cross-site")
                .header("origin", "https://evil.example"),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn bearer_requests_are_not_affected() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    let res = app
        .send(
            patch("/users/me")
                .bearer(&login.access)
                .json(json!({"first_name": "Bearer"}))
                .header("sec-fetch-site", "cross-site")
                .header("origin", "https://evil.example"),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app
        .send(
            post("/auth/jwt/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)])
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app
        .send(
            post("/auth/jwt/logout")
                .bearer(&login.access)
                .header("origin", "https://evil.example"),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn cross_site_cookie_login_is_refused() {
    // Login CSRF: a foreign site must not sign the browser into the attacker's account.
    let app = App::new();
    app.register("alice@example.com").await;
    let res = app
        .send(
            post("/auth/cookie/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)])
                .header("origin", "https://evil.example"),
        )
        .await;
    res.assert_detail(StatusCode::FORBIDDEN, "Forbidden");
    assert!(res.set_cookies().is_empty());
}

#[tokio::test]
async fn an_anonymous_cross_site_request_is_not_forbidden_but_unauthorized() {
    let app = App::new();
    let res = app
        .send(
            patch("/users/me")
                .json(json!({"first_name": "x"}))
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    res.assert_unauthorized();
}
