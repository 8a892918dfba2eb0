//! `AuthLayer`: deny by default, redirects, and transparent refresh
//! (`docs/HTTP_CONTRACT.md` §7, HTML pages).

use auth_axum::{AuthLayer, CurrentUser};
use axum::Router;
use axum::http::StatusCode;
use axum::routing;
use serde_json::json;
use time::Duration;

use crate::harness::*;

async fn account(user: CurrentUser) -> String {
    format!("account of {}", user.id)
}

/// A reference-server-like app: public home, login and register pages and auth routes; a
/// private account page and API; the layer in front of everything.
fn app() -> App {
    let parts = App::auth(reference_manager_config(), reference_auth_config());
    let auth = &parts.0;
    let router = Router::new()
        .route("/", routing::get(|| async { "home" }))
        .route("/health", routing::get(|| async { "ok" }))
        .route("/login", routing::get(|| async { "login page" }))
        .route("/register", routing::get(|| async { "register page" }))
        .route("/account", routing::get(account))
        .route("/api/data", routing::get(account).post(account))
        .with_state(auth.clone())
        .merge(auth.routes())
        .fallback(auth_axum::not_found)
        .layer(
            AuthLayer::new(auth.clone())
                .public(["/", "/health", "/login", "/register", "/auth/*"])
                .login_page("/login")
                .redirect_signed_in(["/login", "/register"], "/account"),
        );
    App::from_parts(router, parts)
}

fn html(path: &str) -> Req {
    get(path).header("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
}

async fn signed_in() -> (App, Jar) {
    let app = app();
    app.register("alice@example.com").await;
    let jar = app.cookie_login("alice@example.com").await;
    (app, jar)
}

#[tokio::test]
async fn public_paths_are_open_to_anyone() {
    let app = app();
    for path in ["/", "/health", "/login", "/register"] {
        let res = app.send(html(path)).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
    }
    // The auth routes under /auth/* work anonymously.
    app.register("alice@example.com").await;
    app.login("alice@example.com").await;
}

#[tokio::test]
async fn everything_else_is_denied_by_default_with_401_for_apis() {
    let app = app();
    for req in [
        get("/api/data"),
        get("/api/data").header("accept", "application/json"),
        post("/api/data").header("accept", "text/html"),
        get("/users/me"),
        delete("/users/me/sessions").header("accept", "text/html"),
    ] {
        app.send(req).await.assert_unauthorized();
    }
}

#[tokio::test]
async fn unknown_paths_are_404_for_everyone_never_a_login_redirect() {
    let (app, jar) = signed_in().await;
    let login = app.login("alice@example.com").await;
    for path in [
        "/not-declared-anywhere",
        "/authx",
        "/account/nope",
        "/%5Cevil.com",
    ] {
        for req in [
            html(path),
            get(path).header("accept", "*/*"),
            get(path),
            get(path).header("accept", "application/json"),
            post(path).header("accept", "text/html"),
            html(path).cookies(&jar),
            get(path).bearer(&login.access),
        ] {
            let res = app.send(req).await;
            res.assert_detail(StatusCode::NOT_FOUND, "Not Found");
            assert_eq!(res.header("location"), None, "{path}");
        }
    }
}

#[tokio::test]
async fn anonymous_browsers_are_sent_to_the_login_page_with_next() {
    let app = app();
    let res = app.send(html("/account")).await;
    assert!(res.status.is_redirection(), "{}", res.status);
    assert_eq!(res.header("location"), Some("/login?next=/account"));
    let res = app.send(html("/account?tab=security&x=1")).await;
    assert_eq!(
        res.header("location"),
        Some("/login?next=/account%3Ftab%3Dsecurity%26x%3D1")
    );
}

#[tokio::test]
async fn the_next_parameter_is_only_ever_a_safe_path() {
    // A browser reads `//evil.example` or `/\evil.example` as another host. Such paths match
    // no route, so they are not found; and a protected page whose address fails the rule of
    // `safe_next` sends the visitor to the login page without a `next`.
    let app = app();
    for path in [
        "//evil.example/account",
        "/%5Cevil.example",
        "/%09/evil.example",
        "///evil.example",
    ] {
        let res = app.send(html(path)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(res.header("location"), None, "{path}");
    }
    for (path, location) in [
        ("/account?then=//evil.example", "/login"),
        ("/account?then=%5Cevil.example", "/login"),
        ("/account?then=%0A", "/login"),
        ("/account?tab=a", "/login?next=/account%3Ftab%3Da"),
    ] {
        let res = app.send(html(path)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.header("location"), Some(location), "{path}");
    }
}

#[tokio::test]
async fn signed_in_visitors_pass_by_cookie_or_bearer() {
    let (app, jar) = signed_in().await;
    let res = app.send(html("/account").cookies(&jar)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.text().starts_with("account of "));
    assert!(res.set_cookies().is_empty(), "nothing to refresh");
    let login = app.login("alice@example.com").await;
    let res = app.send(get("/api/data").bearer(&login.access)).await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn signed_in_visitors_of_login_and_register_go_to_the_account() {
    let (app, jar) = signed_in().await;
    for path in ["/login", "/register"] {
        let res = app.send(html(path).cookies(&jar)).await;
        assert!(res.status.is_redirection(), "{path}: {}", res.status);
        assert_eq!(res.header("location"), Some("/account"));
    }
}

/// Sends `cookie` to the account page after the access token expired, and checks the page
/// was served with a fresh pair of cookies that work.
async fn assert_refreshed_transparently(app: &App, jar: &Jar, cookie: &str) {
    let res = app.send(html("/account").cookie(cookie)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.text().starts_with("account of "));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let cookies = res.set_cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    let access = res.set_cookie("access_token").unwrap();
    assert_eq!(
        access.attributes,
        [
            "HttpOnly",
            "Max-Age=900",
            "Path=/",
            "SameSite=Lax",
            "Secure"
        ]
    );
    let refresh = res.set_cookie("refresh_token").unwrap();
    assert_eq!(
        refresh.attributes,
        [
            "HttpOnly",
            "Max-Age=1209600",
            "Path=/",
            "SameSite=Strict",
            "Secure"
        ]
    );
    assert_ne!(refresh.value, jar.refresh, "rotated");
    // The new cookies work without another refresh.
    let res = app.send(html("/account").cookies(&res.jar())).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.set_cookies().is_empty());
}

#[tokio::test]
async fn an_expired_access_cookie_is_refreshed_transparently() {
    let (app, jar) = signed_in().await;
    app.clock.advance(Duration::minutes(16));
    assert_refreshed_transparently(&app, &jar, &jar.header()).await;
}

#[tokio::test]
async fn a_dropped_access_cookie_is_refreshed_transparently() {
    // The browser deletes the access cookie when its Max-Age runs out.
    let (app, jar) = signed_in().await;
    app.clock.advance(Duration::minutes(16));
    assert_refreshed_transparently(&app, &jar, &format!("refresh_token={}", jar.refresh)).await;
}

#[tokio::test]
async fn without_a_valid_refresh_cookie_an_expired_visitor_is_anonymous() {
    let (app, jar) = signed_in().await;
    app.clock.advance(Duration::days(15));
    let res = app.send(html("/account").cookies(&jar)).await;
    assert_eq!(res.header("location"), Some("/login?next=/account"));
    assert!(res.set_cookies().is_empty());
    let res = app
        .send(get("/api/data").cookie("access_token=x; refresh_token=y"))
        .await;
    res.assert_unauthorized();
    // Public pages stay open.
    assert_eq!(
        app.send(html("/login").cookies(&jar)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn cross_site_unsafe_requests_are_not_refreshed() {
    let (app, jar) = signed_in().await;
    app.clock.advance(Duration::minutes(16));
    let res = app
        .send(
            post("/api/data")
                .cookie(&format!("refresh_token={}", jar.refresh))
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert!(res.status == StatusCode::UNAUTHORIZED || res.status == StatusCode::FORBIDDEN);
    assert!(res.set_cookies().is_empty());
    // The refresh token was not spent.
    let res = app
        .send(post("/auth/cookie/refresh").cookie(&format!("refresh_token={}", jar.refresh)))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
}

#[tokio::test]
async fn the_refresh_route_behind_the_layer_keeps_the_session_alive() {
    // A cookie client whose access cookie expired calls the refresh route itself: the layer
    // must not spend the refresh token the handler is about to present.
    let (app, jar) = signed_in().await;
    app.clock.advance(Duration::minutes(16));
    let res = app
        .send(post("/auth/cookie/refresh").cookie(&format!("refresh_token={}", jar.refresh)))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let new = res.jar();
    assert_eq!(
        res.set_cookies().len(),
        2,
        "one access and one refresh cookie: {:?}",
        res.set_cookies()
    );
    let res = app.send(html("/account").cookies(&new)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app
        .send(post("/auth/cookie/refresh").cookie(&format!("refresh_token={}", new.refresh)))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
}

#[tokio::test]
async fn logout_behind_the_layer_with_an_expired_access_cookie_clears_the_cookies() {
    let (app, jar) = signed_in().await;
    app.clock.advance(Duration::minutes(16));
    let res = app
        .send(post("/auth/cookie/logout").cookie(&format!("refresh_token={}", jar.refresh)))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    // What the browser keeps: both cookies cleared.
    assert_eq!(res.set_cookie("access_token").unwrap().value, "");
    assert_eq!(res.set_cookie("refresh_token").unwrap().value, "");
    app.send(post("/auth/cookie/refresh").cookie(&format!("refresh_token={}", jar.refresh)))
        .await
        .assert_unauthorized();
}

#[tokio::test]
async fn a_new_login_behind_the_layer_keeps_the_new_sessions_cookies() {
    let (app, jar) = signed_in().await;
    app.clock.advance(Duration::minutes(16));
    let res = app
        .send(
            post("/auth/cookie/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)])
                .cookie(&format!("refresh_token={}", jar.refresh)),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let kept = res.jar();
    let sessions = app
        .send(get("/users/me/sessions").cookie(&format!("access_token={}", kept.access)))
        .await
        .json();
    let current: Vec<_> = sessions
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == json!(true))
        .collect();
    assert_eq!(current.len(), 1);
    // The newest session (the login's), not the refreshed old one.
    let newest = sessions
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|s| s["created_at"].as_str().unwrap().to_owned())
        .unwrap();
    assert_eq!(current[0]["id"], newest["id"]);
}

#[tokio::test]
async fn plain_http_clients_accepting_anything_are_sent_to_the_login_page_too() {
    let app = app();
    let res = app.send(get("/account").header("accept", "*/*")).await;
    assert!(res.status.is_redirection(), "{}", res.status);
    assert_eq!(res.header("location"), Some("/login?next=/account"));
}
