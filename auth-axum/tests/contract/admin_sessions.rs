//! The superusers' `/users/{id}/sessions` and the filters and orders of `GET /users`.

use auth_core::{CreateOptions, Roles};
use axum::http::StatusCode;
use futures::future::join_all;
use serde_json::Value;

use crate::harness::*;

fn session_ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The id of the session of `access`.
async fn current_sid(app: &App, access: &str) -> String {
    let list = app
        .send(get("/users/me/sessions").bearer(access))
        .await
        .json();
    let current = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true);
    current.unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_admin_lists_and_revokes_another_users_sessions() {
    let app = App::new();
    let root = app.admin().await;
    let (alice, first) = app.user("alice@example.com").await;
    let second = app.login("alice@example.com").await;
    let (bob, bob_tokens) = app.user("bob@example.com").await;

    let res = app
        .send(get(&format!("/users/{alice}/sessions")).bearer(&root.access))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let list = res.json();
    let own = app
        .send(get("/users/me/sessions").bearer(&first.access))
        .await
        .json();
    // The same shape as the user's own list; `current` is the admin's, so false here.
    assert_eq!(session_ids(&list), session_ids(&own));
    assert_eq!(list.as_array().unwrap().len(), 2);
    for (listed, mine) in list.as_array().unwrap().iter().zip(own.as_array().unwrap()) {
        let mut keys: Vec<_> = listed.as_object().unwrap().keys().collect();
        let mut own_keys: Vec<_> = mine.as_object().unwrap().keys().collect();
        keys.sort();
        own_keys.sort();
        assert_eq!(keys, own_keys);
        assert_eq!(listed["current"], false);
    }
    let first_sid = current_sid(&app, &first.access).await;
    let bob_sid = session_ids(
        &app.send(get("/users/me/sessions").bearer(&bob_tokens.access))
            .await
            .json(),
    )[0]
    .clone();

    // Bob's session through Alice's path: 404, and Bob is still signed in.
    let res = app
        .send(delete(&format!("/users/{alice}/sessions/{bob_sid}")).bearer(&root.access))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.detail(), "Not Found");
    assert_eq!(app.me(&bob_tokens.access).await.status, StatusCode::OK);

    let res = app
        .send(delete(&format!("/users/{alice}/sessions/{first_sid}")).bearer(&root.access))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert_eq!(app.me(&first.access).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&second.access).await.status, StatusCode::OK);
    let again = app
        .send(delete(&format!("/users/{alice}/sessions/{first_sid}")).bearer(&root.access))
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    let res = app
        .send(delete(&format!("/users/{alice}/sessions")).bearer(&root.access))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.me(&second.access).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refresh = app
        .send(post("/auth/jwt/refresh").json(serde_json::json!({"refresh_token": second.refresh})))
        .await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&bob_tokens.access).await.status, StatusCode::OK);
    assert_eq!(app.me(&root.access).await.status, StatusCode::OK);
    let empty = app
        .send(get(&format!("/users/{alice}/sessions")).bearer(&root.access))
        .await
        .json();
    assert_eq!(empty, serde_json::json!([]));
    let _ = bob;
}

#[tokio::test]
async fn the_session_routes_are_for_superusers_and_known_users() {
    let app = App::new();
    let root = app.admin().await;
    let (alice, alice_tokens) = app.user("alice@example.com").await;
    let (_, bob_tokens) = app.user("bob@example.com").await;
    let alice_sid = session_ids(
        &app.send(get("/users/me/sessions").bearer(&alice_tokens.access))
            .await
            .json(),
    )[0]
    .clone();
    let paths = [
        (get(&format!("/users/{alice}/sessions")), "GET"),
        (delete(&format!("/users/{alice}/sessions")), "DELETE all"),
        (
            delete(&format!("/users/{alice}/sessions/{alice_sid}")),
            "DELETE one",
        ),
    ];
    for (req, what) in paths {
        let res = app.send(req.bearer(&bob_tokens.access)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{what} by a normal user");
    }
    for req in [
        get(&format!("/users/{alice}/sessions")),
        delete(&format!("/users/{alice}/sessions")),
        delete(&format!("/users/{alice}/sessions/{alice_sid}")),
    ] {
        assert_eq!(app.send(req).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.me(&alice_tokens.access).await.status,
        StatusCode::OK,
        "nothing revoked"
    );
    let unknown = uuid::Uuid::now_v7();
    for req in [
        get(&format!("/users/{unknown}/sessions")),
        delete(&format!("/users/{unknown}/sessions")),
        delete(&format!("/users/{unknown}/sessions/{alice_sid}")),
        get("/users/not-an-id/sessions"),
        delete(&format!("/users/{alice}/sessions/not-an-id")),
    ] {
        let res = app.send(req.bearer(&root.access)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    }
    assert_eq!(
        app.me(&alice_tokens.access).await.status,
        StatusCode::OK,
        "nothing revoked"
    );
}

#[tokio::test]
async fn parallel_revocations_of_one_session_answer_one_204() {
    let app = App::new();
    let root = app.admin().await;
    let (alice, tokens) = app.user("alice@example.com").await;
    let sid = session_ids(
        &app.send(get("/users/me/sessions").bearer(&tokens.access))
            .await
            .json(),
    )[0]
    .clone();
    let path = format!("/users/{alice}/sessions/{sid}");
    let answers = join_all((0..12).map(|_| app.send(delete(&path).bearer(&root.access)))).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|res| res.status).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::NO_CONTENT)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::NO_CONTENT || *s == StatusCode::NOT_FOUND)
    );
    assert_eq!(
        app.me(&tokens.access).await.status,
        StatusCode::UNAUTHORIZED
    );
}

fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(app: &App, root: &Bearer, query: &str) -> Value {
    let res = app
        .send(get(&format!("/users?{query}")).bearer(&root.access))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.text());
    res.json()
}

#[tokio::test]
async fn the_user_list_filters_by_role_and_flags_and_sorts() {
    let app = App::new();
    let root = app.admin().await;
    for (email, roles, verified) in [
        ("carol@example.com", &["editor"][..], true),
        ("alice@example.com", &[][..], false),
        ("bob@example.com", &["editor", "reader"][..], false),
    ] {
        app.create(
            email,
            CreateOptions {
                verified,
                roles: Roles::from_iter(roles.iter().copied()),
                ..CreateOptions::default()
            },
        )
        .await;
    }
    let page = list(&app, &root, "role=editor&sort=email").await;
    assert_eq!(page["total"], 2);
    assert_eq!(emails(&page), ["bob@example.com", "carol@example.com"]);
    let page = list(&app, &root, "role=editor&sort=-email&limit=1").await;
    assert_eq!(page["total"], 2);
    assert_eq!(emails(&page), ["carol@example.com"]);
    let page = list(&app, &root, "is_verified=false&sort=email").await;
    assert_eq!(emails(&page), ["alice@example.com", "bob@example.com"]);
    let page = list(&app, &root, "is_superuser=true").await;
    assert_eq!(emails(&page), ["root@example.com"]);
    let page = list(&app, &root, "is_superuser=false&is_verified=true").await;
    assert_eq!(emails(&page), ["carol@example.com"]);
    let page = list(&app, &root, "is_active=false").await;
    assert_eq!(page["total"], 0);
    let page = list(&app, &root, "sort=-created_at").await;
    assert_eq!(page["total"], 4);
    let page = list(&app, &root, "").await;
    assert_eq!(
        emails(&page),
        [
            "root@example.com",
            "carol@example.com",
            "alice@example.com",
            "bob@example.com"
        ],
        "creation order by default"
    );
    for hostile in ["%25", "_", "%27%20OR%20%271%27%3D%271", "editor%22%5D"] {
        let page = list(&app, &root, &format!("role={hostile}")).await;
        assert_eq!(page["total"], 0, "role={hostile}");
    }
    let long = "a".repeat(4000);
    assert_eq!(list(&app, &root, &format!("role={long}")).await["total"], 0);
}

#[tokio::test]
async fn bad_filter_values_are_validation_errors() {
    let app = App::new();
    let root = app.admin().await;
    for (query, loc) in [
        ("is_active=maybe", "is_active"),
        ("is_verified=", "is_verified"),
        ("is_superuser=2", "is_superuser"),
        ("sort=password", "sort"),
        ("sort=id", "sort"),
        ("sort=EMAIL", "sort"),
    ] {
        app.send(get(&format!("/users?{query}")).bearer(&root.access))
            .await
            .assert_422_at(&["query", loc]);
    }
    let (_, normal) = app.user("alice@example.com").await;
    let res = app
        .send(get("/users?role=x&sort=email").bearer(&normal.access))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}
