//! Cookie requests and CSRF (`docs/HTTP_CONTRACT.md` §4 "Cookie requests and CSRF", §10
//! `ALLOWED_ORIGINS`).

use std::collections::BTreeSet;

use auth_core::{CreateOptions, Session, UserQuery};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

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

/// Every unsafe route the routers mount that acts on a browser's cookies (or, for the cookie
/// login, sets them), with what its same-origin request answers. The test below refuses to
/// run unless this list and [`NOT_COOKIE_AUTHENTICATED`] together are exactly the unsafe
/// operations of the OpenAPI document, so a new route must be placed in one of them.
const CSRF_TABLE: &[(&str, &str, u16)] = &[
    ("POST", "/auth/cookie/login", 204),
    ("POST", "/auth/cookie/refresh", 204),
    ("POST", "/auth/cookie/logout", 204),
    ("POST", "/auth/jwt/logout", 204),
    ("PATCH", "/users/me", 200),
    ("DELETE", "/users/me/sessions", 204),
    ("DELETE", "/users/me/sessions/{id}", 204),
    ("PATCH", "/users/{id}", 200),
    ("DELETE", "/users/{id}", 204),
    ("DELETE", "/users/{id}/sessions", 204),
    ("DELETE", "/users/{id}/sessions/{sid}", 204),
];

/// Unsafe routes that read no cookie: their credential, if any, is in the body, so a
/// cross-site page gains nothing from the browser's cookies there.
const NOT_COOKIE_AUTHENTICATED: &[(&str, &str)] = &[
    ("POST", "/auth/register"),
    ("POST", "/auth/request-verify-token"),
    ("POST", "/auth/verify"),
    ("POST", "/auth/forgot-password"),
    ("POST", "/auth/reset-password"),
    // Tokens come back in the body, which a cross-site page cannot read; no cookie is set.
    ("POST", "/auth/jwt/login"),
    ("POST", "/auth/jwt/refresh"),
];

/// The hostile variants every row is tried with.
const CROSS_SITE: &[(&str, &str)] = &[
    ("sec-fetch-site", "cross-site"),
    ("origin", "https://evil.example"),
    ("origin", "null"),
];

/// The same-origin variants, one fresh scene each: every one must get through.
const SAME_ORIGIN: &[&[(&str, &str)]] = &[
    &[("origin", "https://api.example.com")],
    &[("sec-fetch-site", "same-origin")],
    &[("origin", ALLOWED_ORIGIN), ("sec-fetch-site", "same-site")],
];

/// The unsafe operations of the OpenAPI document, as `("POST", "/path/{id}")`.
fn documented_unsafe_operations(app: &App) -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(app.auth.openapi()).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            let method = method.to_ascii_uppercase();
            if !["GET", "HEAD", "OPTIONS", "TRACE"].contains(&method.as_str()) {
                ops.insert((method, path.clone()));
            }
        }
    }
    ops
}

/// A signed-in browser for each kind of route, and what the routes act on.
struct Scene {
    app: App,
    /// Alice's cookies.
    alice: Jar,
    /// Alice's id, whose sessions the superuser could revoke.
    alice_id: String,
    /// Another of Alice's sessions (a bearer login), which she could revoke.
    alice_other_sid: String,
    /// A superuser's cookies.
    root: Jar,
    /// A user the superuser could edit or delete.
    bob_id: String,
}

impl Scene {
    async fn new() -> Self {
        let app = App::new();
        let alice_id = app.register("alice@example.com").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let alice = app.cookie_login("alice@example.com").await;
        let other = app.login("alice@example.com").await;
        let alice_other_sid = crate::errors::split_jwt(&other.access).claims["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        app.create(
            "root@example.com",
            CreateOptions {
                superuser: true,
                verified: true,
                ..CreateOptions::default()
            },
        )
        .await;
        let root = app.cookie_login("root@example.com").await;
        let bob_id = app.register("bob@example.com").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            app,
            alice,
            alice_id,
            alice_other_sid,
            root,
            bob_id,
        }
    }

    /// The request a browser would send for this row, with its cookies and an honest body.
    fn request(&self, method: &str, path: &str) -> Req {
        let req = |uri: &str| request(Method::from_bytes(method.as_bytes()).unwrap(), uri);
        let rename = json!({"first_name": "Renamed"});
        match (method, path) {
            ("POST", "/auth/cookie/login") => {
                req(path).form(&[("username", "alice@example.com"), ("password", PASSWORD)])
            }
            ("POST", "/auth/cookie/refresh" | "/auth/cookie/logout" | "/auth/jwt/logout")
            | ("DELETE", "/users/me/sessions") => req(path).cookies(&self.alice),
            ("PATCH", "/users/me") => req(path).cookies(&self.alice).json(rename),
            ("DELETE", "/users/me/sessions/{id}") => {
                req(&format!("/users/me/sessions/{}", self.alice_other_sid)).cookies(&self.alice)
            }
            ("PATCH", "/users/{id}") => req(&format!("/users/{}", self.bob_id))
                .cookies(&self.root)
                .json(rename),
            ("DELETE", "/users/{id}") => {
                req(&format!("/users/{}", self.bob_id)).cookies(&self.root)
            }
            ("DELETE", "/users/{id}/sessions") => {
                req(&format!("/users/{}/sessions", self.alice_id)).cookies(&self.root)
            }
            ("DELETE", "/users/{id}/sessions/{sid}") => req(&format!(
                "/users/{}/sessions/{}",
                self.alice_id, self.alice_other_sid
            ))
            .cookies(&self.root),
            _ => panic!("no request written for {method} {path}"),
        }
    }

    /// Everything a request could change: every user, and every user's live sessions.
    async fn state(&self) -> (Vec<Value>, Vec<Vec<Session>>) {
        let manager = self.app.manager();
        let users = manager
            .list_users(&UserQuery::default().with_limit(100))
            .await
            .unwrap()
            .items;
        let mut sessions = Vec::new();
        for user in &users {
            sessions.push(manager.list_sessions(user.id).await.unwrap());
        }
        let users = users
            .iter()
            .map(|user| serde_json::to_value(user).unwrap())
            .collect();
        (users, sessions)
    }
}

#[tokio::test]
async fn every_unsafe_cookie_route_refuses_cross_site_requests_and_changes_nothing() {
    // The table covers the router: every unsafe operation documented is either in the table
    // or declared cookie-free, and no path answers an unsafe method it does not document.
    let app = App::new();
    let documented = documented_unsafe_operations(&app);
    let table: BTreeSet<(String, String)> = CSRF_TABLE
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let exempt: BTreeSet<(String, String)> = NOT_COOKIE_AUTHENTICATED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(table.len(), CSRF_TABLE.len(), "a row twice");
    assert!(table.is_disjoint(&exempt));
    let covered: BTreeSet<_> = table.union(&exempt).cloned().collect();
    assert_eq!(
        covered, documented,
        "every unsafe route must be in the CSRF table or declared cookie-free"
    );
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    let doc = serde_json::to_value(app.auth.openapi()).unwrap();
    for path in paths {
        let uri = path.replace("{id}", "0190b6a2-6d0e-7c3a-9c1e-3f1f2a3b4c5d");
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let documented = doc["paths"][path.as_str()]
                .get(method.as_str().to_ascii_lowercase())
                .is_some();
            if !documented {
                let res = app.send(request(method.clone(), &uri)).await;
                assert_eq!(
                    res.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is mounted but not documented"
                );
            }
        }
    }
    // A cookie-free route does not act on cookies alone, cross-site or not.
    let scene = Scene::new().await;
    let before = scene.state().await;
    for (method, path) in NOT_COOKIE_AUTHENTICATED {
        let res = scene
            .app
            .send(
                request(Method::from_bytes(method.as_bytes()).unwrap(), path)
                    .cookies(&scene.alice)
                    .header("sec-fetch-site", "cross-site")
                    .json(json!({})),
            )
            .await;
        assert!(
            res.status.is_client_error() && res.status != StatusCode::FORBIDDEN,
            "{method} {path}: {} {}",
            res.status,
            res.text()
        );
        assert!(res.set_cookies().is_empty(), "{method} {path}");
    }
    assert_eq!(scene.state().await, before);

    for (method, path, ok) in CSRF_TABLE {
        for same_origin in SAME_ORIGIN {
            let scene = Scene::new().await;
            let before = scene.state().await;
            for (name, value) in CROSS_SITE {
                let res = scene
                    .app
                    .send(scene.request(method, path).header(name, value))
                    .await;
                assert_eq!(
                    res.status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} with {name}: {value}: {}",
                    res.text()
                );
                res.assert_detail(StatusCode::FORBIDDEN, "Forbidden");
                assert!(
                    res.set_cookies().is_empty(),
                    "{method} {path} {name}: {value}"
                );
                assert_eq!(
                    scene.state().await,
                    before,
                    "{method} {path} with {name}: {value} changed something"
                );
            }
            // Alice's cookie session is still live.
            let me = scene.app.send(get("/users/me").cookies(&scene.alice)).await;
            assert_eq!(me.status, StatusCode::OK, "{method} {path}: {}", me.text());
            // Positive control: the same request from the server's own page goes through and
            // does change something, so the checks above could have seen a change.
            let mut req = scene.request(method, path);
            for (name, value) in *same_origin {
                req = req.header(name, value);
            }
            let res = scene.app.send(req).await;
            assert_eq!(
                res.status.as_u16(),
                *ok,
                "{method} {path} with {same_origin:?}: {}",
                res.text()
            );
            assert_ne!(
                scene.state().await,
                before,
                "{method} {path} with {same_origin:?} changed nothing"
            );
        }
    }
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
