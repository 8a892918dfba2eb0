//! The audit trail over real sockets: a user's actions against the reference server, read
//! back from `GET /users/me/events` and a superuser's `GET /users/{id}/events`, exactly; and
//! no user reads another's. On SQLite and on Postgres (with Redis).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use auth_e2e::server::{Backend, Config, PASSWORD, Server};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "a brand new passphrase";

fn address(who: &str) -> String {
    format!("{who}.{}@example.com", auth_e2e::unique())
}

async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// `kind[/method][:detail]` of each event of a page, newest first.
fn lines(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            let mut line = event["kind"].as_str().unwrap().to_owned();
            if let Some(method) = event["method"].as_str() {
                line = format!("{line}/{method}");
            }
            if let Some(detail) = event["detail"].as_str() {
                line = format!("{line}:{detail}");
            }
            line
        })
        .collect()
}

/// `GET path` until the page holds `count` events: events reach the log off the request
/// path, a moment after the answer.
async fn events(server: &Server, access: &str, path: &str, count: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = server.get(access, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        let page = body(response).await;
        if page["total"].as_u64() == Some(count) || Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn logout(server: &Server, access: &str) {
    let response = server
        .http
        .post(server.url("/auth/jwt/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

/// Register, a failed login, login, refresh, the old refresh token replayed, login, a
/// password change, logout, login: the user's trail and the superuser's view of it are
/// exactly those steps, newest first, with no secret in them.
async fn the_trail_is_exactly_the_users_actions(config: Config) {
    let server = config.start().await;
    let email = address("ada");
    let user = server.register(&email, PASSWORD).await;
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(server.login(&email, "not the password").await.status(), 400);
    let (_, first_refresh) = server.tokens(&email, PASSWORD).await;
    let refreshed = server.refresh(&first_refresh).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed = body(refreshed).await;
    assert_eq!(
        server.refresh(&first_refresh).await.status(),
        401,
        "a replayed refresh token"
    );
    let (access, _) = server.tokens(&email, PASSWORD).await;
    let change = server
        .http
        .patch(server.url("/users/me"))
        .bearer_auth(&access)
        .json(&json!({ "password": NEW_PASSWORD, "current_password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 200);
    logout(&server, &access).await;
    let (access, _) = server.tokens(&email, NEW_PASSWORD).await;

    let expected = [
        "login_succeeded/password",
        "logged_out",
        "user_updated:password",
        "password_changed",
        "login_succeeded/password",
        "refresh_token_reused",
        "refreshed",
        "login_succeeded/password",
        "login_failed/password:wrong_password",
        "verification_requested",
        "registered/password",
    ];
    let mine = events(&server, &access, "/users/me/events?limit=100", 11).await;
    assert_eq!(lines(&mine), expected, "{mine:#}");
    assert_eq!(mine["total"], 11);
    for event in mine["items"].as_array().unwrap() {
        // The steps that hear from the client (registration, logins, refreshes) keep its
        // address; logout and the account's changes are not told it.
        let kind = event["kind"].as_str().unwrap();
        if [
            "registered",
            "login_succeeded",
            "login_failed",
            "refreshed",
            "refresh_token_reused",
        ]
        .contains(&kind)
        {
            assert_eq!(event["ip"], "127.0.0.1", "{event}");
        } else {
            assert!(event["ip"].is_null(), "{event}");
        }
        assert!(event["at"].as_str().unwrap().ends_with('Z'));
    }
    let text = mine.to_string();
    for secret in [
        PASSWORD,
        NEW_PASSWORD,
        "not the password",
        first_refresh.as_str(),
        refreshed["refresh_token"].as_str().unwrap(),
        refreshed["access_token"].as_str().unwrap(),
        access.as_str(),
    ] {
        assert!(!text.contains(secret), "a secret in the trail");
    }
    // The replayed token names the session it ended.
    assert_eq!(
        mine["items"][5]["session_id"],
        mine["items"][7]["session_id"]
    );

    let page = body(
        server
            .get(&access, "/users/me/events?limit=3&offset=2")
            .await,
    )
    .await;
    assert_eq!(lines(&page), expected[2..5]);
    assert_eq!(page["total"], 11);
    for bad in ["limit=0", "limit=101", "limit=ten", "offset=-1", "offset=x"] {
        let response = server
            .get(&access, &format!("/users/me/events?{bad}"))
            .await;
        assert_eq!(response.status(), 422, "{bad}");
        assert_eq!(body(response).await["detail"][0]["loc"][0], "query");
    }
    let anonymous = server
        .http
        .get(server.url("/users/me/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // A superuser from the command line sees the same trail.
    let root = address("root");
    config.create_user(&root, &["--superuser", "--verified"]);
    let (admin, _) = server.tokens(&root, PASSWORD).await;
    let theirs = events(
        &server,
        &admin,
        &format!("/users/{id}/events?limit=100"),
        11,
    )
    .await;
    assert_eq!(theirs["items"], mine["items"]);
    let unknown = server
        .get(&admin, "/users/0190d5a1-0000-7000-8000-000000000000/events")
        .await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        server
            .get(&admin, "/users/not-a-uuid/events")
            .await
            .status(),
        404,
        "an id that is not one is as unknown as an unknown one"
    );
    // The superuser's own trail holds their creation and login, and nothing of Ada's.
    let admins = events(&server, &admin, "/users/me/events", 2).await;
    assert_eq!(
        lines(&admins),
        ["login_succeeded/password", "registered/admin"],
        "{admins:#}"
    );
}

/// A user reads their own trail only: another's is `403`, and their own holds nothing of
/// the other's, even as both act at once.
async fn a_user_cannot_read_another_users_events(config: Config) {
    let server = config.start().await;
    let (alice, bob) = (address("alice"), address("bob"));
    let alice_id = server.register(&alice, PASSWORD).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_id = server.register(&bob, PASSWORD).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ((alice_access, _), (bob_access, _)) = tokio::join!(
        server.tokens(&alice, PASSWORD),
        server.tokens(&bob, PASSWORD)
    );
    assert_eq!(server.login(&alice, "wrong guess").await.status(), 400);
    for (access, other) in [(&bob_access, &alice_id), (&alice_access, &bob_id)] {
        let response = server.get(access, &format!("/users/{other}/events")).await;
        assert_eq!(response.status(), 403);
        assert_eq!(body(response).await["detail"], "Forbidden");
    }
    let alices = events(&server, &alice_access, "/users/me/events", 4).await;
    let bobs = events(&server, &bob_access, "/users/me/events", 3).await;
    assert_eq!(
        lines(&alices),
        [
            "login_failed/password:wrong_password",
            "login_succeeded/password",
            "verification_requested",
            "registered/password",
        ]
    );
    assert_eq!(
        lines(&bobs),
        [
            "login_succeeded/password",
            "verification_requested",
            "registered/password"
        ]
    );
    let alice_ids: Vec<&Value> = alices["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| &event["id"])
        .collect();
    assert!(
        bobs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|event| !alice_ids.contains(&&event["id"]))
    );
}

/// `/account` shows the last events, every text escaped: a hostile user agent is shown, not
/// run.
async fn the_account_page_shows_recent_activity_escaped(config: Config) {
    let server = config.start().await;
    let email = address("eve");
    server.register(&email, PASSWORD).await;
    let hostile = "<script>alert(1)</script>\"'&";
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .user_agent(hostile)
        .build()
        .unwrap();
    let login = browser
        .post(server.url("/auth/cookie/login"))
        .form(&[("username", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 204);
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        let response = browser.get(server.url("/account")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        if page.contains("login_succeeded") || Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(page.contains("Recent activity"), "{page}");
    assert!(page.contains("login_succeeded · password"), "{page}");
    assert!(page.contains("registered · password"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"),
        "{page}"
    );
    assert!(
        !page.contains(hostile),
        "the user agent reaches the page unescaped"
    );
}

macro_rules! on {
    ($backend:ident, $backend_value:expr) => {
        mod $backend {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_trail_is_exactly_the_users_actions() {
                super::the_trail_is_exactly_the_users_actions(
                    auth_e2e::server::Config::new($backend_value).await,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_user_cannot_read_another_users_events() {
                super::a_user_cannot_read_another_users_events(
                    auth_e2e::server::Config::new($backend_value).await,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_account_page_shows_recent_activity_escaped() {
                super::the_account_page_shows_recent_activity_escaped(
                    auth_e2e::server::Config::new($backend_value).await,
                )
                .await;
            }
        }
    };
}

on!(sqlite, super::Backend::Sqlite);
on!(postgres, super::Backend::PostgresRedis);
