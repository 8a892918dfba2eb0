use futures::future::join_all;
use serde_json::{Value, json};

use crate::TestApp;
use crate::app::PASSWORD;

pub async fn register_then_login_with_a_form_then_read_me(app: &TestApp) {
    let email = app.email("alice");
    let user = app.register(&email).await;
    assert_eq!(user["email"], email);
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["roles"], json!(["reader"]));
    assert!(user.get("hashed_password").is_none() && user.get("password_hash").is_none());
    let (access, _) = app.tokens(&email.to_uppercase()).await;
    let me = app.me(&access).await;
    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["cache-control"], "no-store");
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["id"], user["id"]);
    let wrong = app.login(&email, "not the password").await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        wrong.json::<Value>().await.unwrap(),
        json!({"detail": "LOGIN_BAD_CREDENTIALS"})
    );
}

pub async fn duplicate_registration_is_refused_and_stores_nothing(app: &TestApp) {
    let email = app.email("dup");
    app.register(&email).await;
    let again = app
        .http
        .post(app.url("/auth/register"))
        .json(&json!({"email": email.to_uppercase(), "password": PASSWORD, "is_superuser": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<Value>().await.unwrap()["detail"],
        "REGISTER_USER_ALREADY_EXISTS"
    );
    let page = app
        .manager
        .list_users(
            &auth_core::UserQuery::default()
                .with_limit(10)
                .with_email_contains(email.clone()),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert!(!page.items[0].is_superuser);
}

fn cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

fn cookie_value(set_cookies: &[String], name: &str) -> String {
    set_cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned()
}

pub async fn cookie_login_sets_both_cookies_and_authenticates(app: &TestApp) {
    let email = app.email("cookie");
    app.register(&email).await;
    let response = app
        .http
        .post(app.url("/auth/cookie/login"))
        .form(&[("username", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let set = cookies(&response);
    assert!(set.iter().any(|c| c.starts_with("access_token=")
        && c.contains("HttpOnly")
        && c.contains("SameSite=Lax")
        && c.contains("Path=/")
        && c.contains("Max-Age=900")));
    assert!(set.iter().any(|c| c.starts_with("refresh_token=")
        && c.contains("HttpOnly")
        && c.contains("SameSite=Strict")
        && c.contains("Max-Age=1209600")));
    let access = cookie_value(&set, "access_token");
    let me = app
        .http
        .get(app.url("/users/me"))
        .header("cookie", format!("access_token={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let logout = app
        .http
        .post(app.url("/auth/cookie/logout"))
        .header("cookie", format!("access_token={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert!(cookies(&logout).iter().all(|c| c.contains("Max-Age=0")));
}

pub async fn refresh_rotates_and_a_reused_token_kills_the_session(app: &TestApp) {
    let email = app.email("rotate");
    app.register(&email).await;
    let (_, refresh) = app.tokens(&email).await;
    let first = app
        .http
        .post(app.url("/auth/jwt/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let pair: Value = first.json().await.unwrap();
    assert_eq!(pair["token_type"], "bearer");
    let reused = app
        .http
        .post(app.url("/auth/jwt/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), 401);
    assert_eq!(reused.headers()["www-authenticate"], "Bearer");
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(app.me(access).await.status(), 401, "the whole session died");
}

pub async fn logout_is_refused_at_once(app: &TestApp) {
    let email = app.email("logout");
    app.register(&email).await;
    let (access, refresh) = app.tokens(&email).await;
    let logout = app
        .http
        .post(app.url("/auth/jwt/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(app.me(&access).await.status(), 401);
    let refreshed = app
        .http
        .post(app.url("/auth/jwt/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 401);
}

pub async fn forgot_then_reset_then_verify(app: &TestApp) {
    let email = app.email("recover");
    app.register(&email).await;
    let (access, _) = app.tokens(&email).await;
    for address in [email.as_str(), "nobody@example.com"] {
        let forgot = app
            .http
            .post(app.url("/auth/forgot-password"))
            .json(&json!({"email": address}))
            .send()
            .await
            .unwrap();
        assert_eq!(forgot.status(), 202);
        assert_eq!(forgot.json::<Value>().await.unwrap(), Value::Null);
    }
    let token = app.mailed_token(&email).await;
    let reset = app
        .http
        .post(app.url("/auth/reset-password"))
        .json(&json!({"token": token, "password": "a new and long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(
        app.me(&access).await.status(),
        401,
        "reset revokes sessions"
    );
    let again = app
        .http
        .post(app.url("/auth/reset-password"))
        .json(&json!({"token": token, "password": "yet another passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.json::<Value>().await.unwrap()["detail"],
        "RESET_PASSWORD_BAD_TOKEN"
    );
    assert_eq!(
        app.login(&email, "a new and long passphrase")
            .await
            .status(),
        200
    );

    let request = app
        .http
        .post(app.url("/auth/request-verify-token"))
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(request.status(), 202);
    let token = app.mailed_token(&email).await;
    let verified = app
        .http
        .post(app.url("/auth/verify"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    assert_eq!(verified.json::<Value>().await.unwrap()["is_verified"], true);
}

pub async fn a_throttled_account_answers_429_with_retry_after(app: &TestApp) {
    let email = app.email("throttle");
    app.register(&email).await;
    for _ in 0..10 {
        assert_eq!(app.login(&email, "wrong password!").await.status(), 400);
    }
    let throttled = app.login(&email, PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    let retry: i64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_eq!(
        throttled.json::<Value>().await.unwrap(),
        json!({"detail": "TOO_MANY_REQUESTS"})
    );
}

pub async fn admin_routes_are_for_superusers_only(app: &TestApp) {
    let email = app.email("plain");
    let user = app.register(&email).await;
    let (plain, _) = app.tokens(&email).await;
    let admin_email = app.email("admin");
    app.superuser(&admin_email).await;
    let (admin, _) = app.tokens(&admin_email).await;
    let path = format!("/users/{}", user["id"].as_str().unwrap());
    let denied = app
        .http
        .get(app.url(&path))
        .bearer_auth(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let anonymous = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let patched = app
        .http
        .patch(app.url(&path))
        .bearer_auth(&admin)
        .json(&json!({"roles": ["reader", "author"], "is_verified": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(
        app.me(&plain).await.status(),
        401,
        "a role change revokes sessions"
    );
    let list = app
        .http
        .get(app.url(&format!("/users?email={}", &email[..10])))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    assert_eq!(list.json::<Value>().await.unwrap()["total"], 1);
    let deleted = app
        .http
        .delete(app.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = app
        .http
        .get(app.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

pub async fn cross_site_cookie_writes_are_forbidden(app: &TestApp) {
    let email = app.email("csrf");
    app.register(&email).await;
    let (access, _) = app.tokens(&email).await;
    let cross = app
        .http
        .patch(app.url("/users/me"))
        .header("cookie", format!("access_token={access}"))
        .header("origin", "https://evil.example")
        .json(&json!({"first_name": "Mallory"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let bearer = app
        .http
        .patch(app.url("/users/me"))
        .bearer_auth(&access)
        .header("origin", "https://evil.example")
        .json(&json!({"first_name": "Grace"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    assert_eq!(bearer.json::<Value>().await.unwrap()["first_name"], "Grace");
}

pub async fn sessions_are_listed_and_revoked(app: &TestApp) {
    let email = app.email("sessions");
    app.register(&email).await;
    let (first, _) = app.tokens(&email).await;
    let (second, _) = app.tokens(&email).await;
    let list: Value = app
        .http
        .get(app.url("/users/me/sessions"))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sessions = list.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app
        .http
        .delete(app.url(&format!("/users/me/sessions/{other}")))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(app.me(&second).await.status(), 401);
    assert_eq!(app.me(&first).await.status(), 200);
    let everywhere = app
        .http
        .delete(app.url("/users/me/sessions"))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(everywhere.status(), 204);
    assert_eq!(app.me(&first).await.status(), 401);
}

pub async fn concurrent_refreshes_with_one_token_have_one_winner(app: &TestApp) {
    let email = app.email("race");
    app.register(&email).await;
    let (_, refresh) = app.tokens(&email).await;
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            app.http
                .post(app.url("/auth/jwt/refresh"))
                .json(&json!({"refresh_token": refresh}))
                .send()
        })
        .collect();
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
}
