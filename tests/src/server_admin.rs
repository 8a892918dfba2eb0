//! Administration flows over HTTP against the reference server's binary, for more than one
//! backend: a superuser lists and revokes another user's sessions (the revoked token is
//! refused on the next request), cannot reach one user's session through another user's
//! path, and filters and sorts the user list.

use reqwest::StatusCode;
use serde_json::Value;

use crate::server::{Config, PASSWORD, Server};

async fn send(
    server: &Server,
    method: &str,
    path: &str,
    access: Option<&str>,
) -> reqwest::Response {
    let mut request = server
        .http
        .request(method.parse().unwrap(), server.url(path));
    if let Some(access) = access {
        request = request.bearer_auth(access);
    }
    request.send().await.unwrap()
}

/// The ids of a session list.
pub fn session_ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|session| session["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids of the sessions of the holder of `access`, oldest first.
pub async fn own_sessions(server: &Server, access: &str) -> Vec<String> {
    let response = server.get(access, "/users/me/sessions").await;
    assert_eq!(response.status(), 200);
    session_ids(&response.json().await.unwrap())
}

/// The id of the session of `access`.
pub async fn current_session(server: &Server, access: &str) -> String {
    let list: Value = server
        .get(access, "/users/me/sessions")
        .await
        .json()
        .await
        .unwrap();
    let current = list
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["current"] == true);
    current.unwrap()["id"].as_str().unwrap().to_owned()
}

fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["email"].as_str().unwrap().to_owned())
        .collect()
}

/// A superuser (made with `create-user --superuser`) lists a user's sessions, revokes one of
/// them and then the rest; each revoked access token is refused on the very next request,
/// its refresh token too, and nobody else is signed out. A session of another user through
/// this user's path is `404` and stays alive; a normal user gets `403`, no token `401`.
pub async fn an_admin_revokes_another_users_sessions(config: Config) {
    let tag = crate::unique();
    let admin = format!("root.{tag}@example.com");
    config.create_user(&admin, &["--superuser", "--verified"]);
    let server = config.start().await;
    let alice_email = format!("alice.{tag}@example.com");
    let bob_email = format!("bob.{tag}@example.com");
    let alice = server.register(&alice_email, PASSWORD).await;
    server.register(&bob_email, PASSWORD).await;
    let alice_id = alice["id"].as_str().unwrap().to_owned();
    let (first, first_refresh) = server.tokens(&alice_email, PASSWORD).await;
    let (second, second_refresh) = server.tokens(&alice_email, PASSWORD).await;
    let (bob, _) = server.tokens(&bob_email, PASSWORD).await;
    let (root, _) = server.tokens(&admin, PASSWORD).await;
    let sessions_path = format!("/users/{alice_id}/sessions");

    let listed = server.get(&root, &sessions_path).await;
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    let own = own_sessions(&server, &first).await;
    assert_eq!(
        session_ids(&listed),
        own,
        "the admin sees the user's own list"
    );
    assert_eq!(own.len(), 2);
    assert!(listed[0]["created_at"].is_string() && listed[0]["expires_at"].is_string());
    let bob_session = own_sessions(&server, &bob).await.remove(0);
    let first_session = current_session(&server, &first).await;

    // Who may not.
    let forbidden = send(&server, "GET", &sessions_path, Some(&bob)).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let forbidden = send(&server, "DELETE", &sessions_path, Some(&bob)).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let anonymous = send(&server, "DELETE", &sessions_path, None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.me(&first).await.status(), 200, "nothing was revoked");

    // Bob's session through Alice's path.
    let wrong = send(
        &server,
        "DELETE",
        &format!("{sessions_path}/{bob_session}"),
        Some(&root),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    assert_eq!(server.me(&bob).await.status(), 200, "Bob keeps his session");

    // Alice's first session: gone at once, the second one stays.
    let revoked = send(
        &server,
        "DELETE",
        &format!("{sessions_path}/{first_session}"),
        Some(&root),
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.me(&first).await.status(), 401);
    assert_eq!(server.refresh(&first_refresh).await.status(), 401);
    assert_eq!(server.me(&second).await.status(), 200);
    let again = send(
        &server,
        "DELETE",
        &format!("{sessions_path}/{first_session}"),
        Some(&root),
    )
    .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    // Everything else of Alice's.
    let all = send(&server, "DELETE", &sessions_path, Some(&root)).await;
    assert_eq!(all.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.me(&second).await.status(), 401);
    assert_eq!(server.refresh(&second_refresh).await.status(), 401);
    assert_eq!(server.me(&bob).await.status(), 200);
    assert_eq!(server.me(&root).await.status(), 200);
    let empty: Value = server
        .get(&root, &sessions_path)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty, serde_json::json!([]));
    let unknown = send(
        &server,
        "GET",
        &format!("/users/{}/sessions", auth_core::UserId::new()),
        Some(&root),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // She signs in again.
    let (fresh, _) = server.tokens(&alice_email, PASSWORD).await;
    assert_eq!(server.me(&fresh).await.status(), 200);
}

/// One page of the users whose address holds `tag`, with the other parameters `query`.
async fn list(server: &Server, access: &str, tag: &str, query: &str) -> Value {
    let response = server
        .get(access, &format!("/users?email={tag}&{query}"))
        .await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

/// `GET /users` with every filter and order, over HTTP.
pub async fn an_admin_filters_and_sorts_the_user_list(config: Config) {
    let tag = crate::unique();
    let admin = format!("root.{tag}@example.com");
    config.create_user(&admin, &["--superuser", "--verified"]);
    let carol = format!("carol.{tag}@example.com");
    config.create_user(&carol, &["--verified", "--role", "editor"]);
    let server = config.start().await;
    let alice = format!("alice.{tag}@example.com");
    let bob = format!("bob.{tag}@example.com");
    server.register(&alice, PASSWORD).await;
    server.register(&bob, PASSWORD).await;
    let (root, _) = server.tokens(&admin, PASSWORD).await;
    let page = list(&server, &root, &tag, "").await;
    assert_eq!(page["total"], 4);
    assert_eq!(
        emails(&page),
        [admin.as_str(), carol.as_str(), alice.as_str(), bob.as_str()],
        "creation order"
    );
    let page = list(&server, &root, &tag, "sort=email").await;
    assert_eq!(
        emails(&page),
        [alice.as_str(), bob.as_str(), carol.as_str(), admin.as_str()]
    );
    let page = list(&server, &root, &tag, "sort=-email&limit=2").await;
    assert_eq!(page["total"], 4);
    assert_eq!(emails(&page), [admin.as_str(), carol.as_str()]);
    let page = list(&server, &root, &tag, "sort=-created_at&limit=2&offset=1").await;
    assert_eq!(emails(&page), [alice.as_str(), carol.as_str()]);
    let page = list(&server, &root, &tag, "role=editor").await;
    assert_eq!(emails(&page), [carol.as_str()]);
    let page = list(&server, &root, &tag, "is_superuser=true").await;
    assert_eq!(emails(&page), [admin.as_str()]);
    let page = list(&server, &root, &tag, "is_verified=false&sort=-email").await;
    assert_eq!(emails(&page), [bob.as_str(), alice.as_str()]);
    let page = list(
        &server,
        &root,
        &tag,
        "is_active=true&is_verified=true&is_superuser=false",
    )
    .await;
    assert_eq!(emails(&page), [carol.as_str()]);
    let page = list(&server, &root, &tag, "role=%25").await;
    assert_eq!(page["total"], 0, "a wildcard is a literal role");

    let bad = server.get(&root, "/users?is_active=maybe").await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["query", "is_active"])
    );
    let bad = server.get(&root, "/users?sort=hashed_password").await;
    assert_eq!(bad.status(), 422);
    let (normal, _) = server.tokens(&alice, PASSWORD).await;
    assert_eq!(
        server.get(&normal, "/users?role=editor").await.status(),
        403
    );
}
