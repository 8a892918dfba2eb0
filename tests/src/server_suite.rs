//! Flows driven over HTTP against the reference server's binary, one `pub async fn` per flow,
//! each given a fresh deployment ([`Config`]). [`server_suite!`](crate::server_suite!)
//! instantiates them per backend.

use serde_json::{Value, json};

use crate::server::{Backend, Config, PASSWORD, wait_for_mail};

const NEW_PASSWORD: &str = "a brand new passphrase";

fn address(who: &str) -> String {
    format!("{who}.{}@example.com", crate::unique())
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// Sign up, read the verify mail from the outbox, log in with the form, forget and reset the
/// password from the mailed link, verify, then administer the user with an account made by
/// `server create-user --superuser`; `server migrate` exits 0.
pub async fn sign_up_reset_verify_then_administer(config: Config) {
    let server = config.start().await;
    let outbox = config.outbox();
    let email = address("ada");

    let user = server.register(&email, PASSWORD).await;
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["second_name"], "Lovelace");
    assert_eq!(user["is_verified"], false);
    assert_eq!(user["roles"], json!(["reader"]));
    let id = user["id"].as_str().unwrap().to_owned();
    let verify_mail = wait_for_mail(&outbox, &email, "Confirm", 1).await;
    assert!(
        verify_mail
            .link()
            .starts_with(&format!("{}/verify#token=", server.base)),
        "the link points at this server's page, token in the fragment: {}",
        verify_mail.link()
    );

    let (access, refresh) = server.tokens(&email, PASSWORD).await;
    let me = server.me(&access).await;
    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["cache-control"], "no-store");
    let me = json(me).await;
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["email"], email.as_str());
    assert_eq!(me["second_name"], "Lovelace");
    assert!(me.get("hashed_password").is_none());

    let forgot = server
        .post_json("/auth/forgot-password", &json!({ "email": email }))
        .await;
    assert_eq!(forgot.status(), 202);
    let reset_mail = wait_for_mail(&outbox, &email, "Reset", 1).await;
    assert!(
        reset_mail
            .link()
            .starts_with(&format!("{}/reset-password#token=", server.base))
    );
    let reset_body = json!({ "token": reset_mail.token(), "password": NEW_PASSWORD });
    let reset = server.post_json("/auth/reset-password", &reset_body).await;
    assert_eq!(reset.status(), 200);
    assert_eq!(
        server.me(&access).await.status(),
        401,
        "reset revokes sessions"
    );
    assert_eq!(server.refresh(&refresh).await.status(), 401);
    let again = server.post_json("/auth/reset-password", &reset_body).await;
    assert_eq!(json(again).await["detail"], "RESET_PASSWORD_BAD_TOKEN");
    let old = server.login(&email, PASSWORD).await;
    assert_eq!(old.status(), 400);
    assert_eq!(json(old).await["detail"], "LOGIN_BAD_CREDENTIALS");
    let (access, _) = server.tokens(&email, NEW_PASSWORD).await;

    let verified = server
        .post_json("/auth/verify", &json!({ "token": verify_mail.token() }))
        .await;
    assert_eq!(verified.status(), 200);
    assert_eq!(json(verified).await["is_verified"], true);
    assert_eq!(json(server.me(&access).await).await["is_verified"], true);
    assert_eq!(server.get(&access, "/users").await.status(), 403);

    // An administrator from the command line, with the server running.
    let admin_email = address("root");
    config.create_user(&admin_email, &["--superuser", "--verified"]);
    let (admin, _) = server.tokens(&admin_email, PASSWORD).await;
    let me = json(server.me(&admin).await).await;
    assert_eq!(
        (me["is_superuser"].clone(), me["is_verified"].clone()),
        (json!(true), json!(true))
    );
    let writer_email = address("writer");
    config.create_user(&writer_email, &["--role", "author"]);

    let list = server
        .get(&admin, &format!("/users?email={email}&limit=10"))
        .await;
    assert_eq!(list.status(), 200);
    let list = json(list).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id.as_str());
    let writer = json(
        server
            .get(&admin, &format!("/users?email={writer_email}"))
            .await,
    )
    .await;
    let writer_roles = writer["items"][0]["roles"].as_array().unwrap().clone();
    assert!(writer_roles.contains(&json!("author")), "{writer}");
    let everyone = json(server.get(&admin, "/users").await).await;
    assert!(everyone["total"].as_u64().unwrap() >= 3, "{everyone}");

    let path = format!("/users/{id}");
    let patched = server
        .http
        .patch(server.url(&path))
        .bearer_auth(&admin)
        .json(&json!({ "roles": ["reader", "author"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(json(patched).await["roles"], json!(["author", "reader"]));
    assert_eq!(
        server.me(&access).await.status(),
        401,
        "a role change revokes the user's sessions"
    );
    let (author, _) = server.tokens(&email, NEW_PASSWORD).await;
    let article = server
        .http
        .post(server.url("/articles"))
        .bearer_auth(&author)
        .json(&json!({ "title": "Notes <1>", "body": "On the analytical engine" }))
        .send()
        .await
        .unwrap();
    assert_eq!(article.status(), 201);
    // The JSON API stays JSON; the page `/blog` shows the article (escaped) to anyone, and
    // the writing form only to authors.
    let listed = server
        .http
        .get(server.url("/articles"))
        .send()
        .await
        .unwrap();
    assert_eq!(json(listed).await[0]["title"], "Notes <1>");
    let blog = server.http.get(server.url("/blog")).send().await.unwrap();
    assert_eq!(blog.status(), 200);
    assert!(
        blog.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = blog.text().await.unwrap();
    assert!(html.contains("<h2>Notes &lt;1&gt;</h2>"), "{html}");
    assert!(html.contains("On the analytical engine"), "{html}");
    assert!(!html.contains("id=\"write\""), "{html}");
    let html = server.get(&author, "/blog").await.text().await.unwrap();
    assert!(html.contains("id=\"write\""), "{html}");

    let deactivated = server
        .http
        .patch(server.url(&path))
        .bearer_auth(&admin)
        .json(&json!({ "is_active": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), 200);
    assert_eq!(server.me(&author).await.status(), 401);
    assert_eq!(server.login(&email, NEW_PASSWORD).await.status(), 400);
    let deleted = server
        .http
        .delete(server.url(&path))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(server.get(&admin, &path).await.status(), 404);

    let migrate = config.run(&["migrate"], "");
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(String::from_utf8_lossy(&migrate.stdout).contains("up to date"));
    let duplicate = config.run(&["create-user", "--email", &admin_email], PASSWORD);
    assert!(!duplicate.status.success(), "a duplicate e-mail is refused");
    let no_password = config.run(&["create-user", "--email", &address("nopass")], "");
    assert!(!no_password.status.success());
    assert!(String::from_utf8_lossy(&no_password.stderr).contains("password"));
}

/// Register and log in, stop the server gracefully (exit status 0), start a new process on
/// the same storage: the user, the access token and the refresh token all still work, and
/// the refresh token used before the restart is still known as used.
pub async fn a_restart_loses_nothing(config: Config) {
    // On SQLite, also rely on the development secret the server generates and keeps in
    // DATA_DIR: tokens must survive the restart without JWT_SECRET_KEY.
    let config = match config.backend {
        Backend::Sqlite => config.without("JWT_SECRET_KEY"),
        _ => config,
    };
    let first = config.start().await;
    let email = address("restart");
    let user = first.register(&email, PASSWORD).await;
    let (_, used_refresh) = first.tokens(&email, PASSWORD).await;
    let pair = json(first.refresh(&used_refresh).await).await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    let status = first.stop().await;
    assert!(status.success(), "SIGTERM is a graceful shutdown: {status}");
    if config.backend == Backend::Sqlite {
        assert!(config.data_dir().join("jwt-secret").exists());
        assert!(config.data_dir().join("accounts.db").exists());
    }

    let second = config.start().await;
    let me = second.me(&access).await;
    assert_eq!(me.status(), 200, "the access token survives the restart");
    assert_eq!(json(me).await["id"], user["id"]);
    let refreshed = second.refresh(&refresh).await;
    assert_eq!(
        refreshed.status(),
        200,
        "the refresh token survives the restart"
    );
    let access = json(refreshed).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(second.me(&access).await.status(), 200);
    second.tokens(&email, PASSWORD).await;
    // Reuse of the token rotated before the restart is still detected, and kills the session.
    assert_eq!(second.refresh(&used_refresh).await.status(), 401);
    assert_eq!(second.me(&access).await.status(), 401);
}

/// `/health` names its services, `/openapi.json` lists the contract, `/docs` needs no
/// network, and the pages redirect as the contract says.
pub async fn health_openapi_docs_and_pages_answer(config: Config) {
    let server = config.start().await;
    let health = server.http.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    if config.backend.is_shared() {
        let cluster = config.backend == Backend::PostgresRedisCluster;
        assert!(
            server.log().contains(&format!("cluster={cluster}")),
            "{}",
            server.log()
        );
    }
    let services = if config.backend.is_shared() {
        json!({ "database": "ok", "redis": "ok" })
    } else {
        json!({ "database": "ok" })
    };
    assert_eq!(
        json(health).await,
        json!({ "status": "ok", "services": services })
    );

    let openapi = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(openapi.status(), 200);
    assert!(
        openapi.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let document = json(openapi).await;
    for path in [
        "/auth/jwt/login",
        "/auth/cookie/login",
        "/auth/register",
        "/users/me",
        "/users/{id}",
        "/health",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is documented"
        );
    }
    assert!(document["paths"]["/auth/jwt/login"]["post"]["responses"]["400"].is_object());

    let docs = server.http.get(server.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(
        docs.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = docs.text().await.unwrap();
    assert_no_external_resources(&html);
    assert!(html.contains("swagger-ui"), "{html}");
    // The explorer's files come from the server itself.
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-initializer.js",
    ] {
        assert!(html.contains(asset), "{asset}: {html}");
        let file = server
            .http
            .get(server.url(&format!("/docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(file.status(), 200, "{asset}");
        let text = file.text().await.unwrap();
        if asset == "swagger-initializer.js" {
            assert!(text.contains("/openapi.json"), "{text}");
        }
    }

    // A browser's request for a page, without following redirects.
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("accept", "text/html".parse().unwrap());
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    let account = no_redirects
        .get(server.url("/account"))
        .send()
        .await
        .unwrap();
    assert!(account.status().is_redirection(), "{}", account.status());
    assert_eq!(account.headers()["location"], "/login?next=/account");
    let api = server
        .http
        .get(server.url("/account"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.status(),
        401,
        "a client asking for JSON gets 401, not a redirect"
    );
    for page in ["/login", "/register", "/forgot-password"] {
        let response = no_redirects.get(server.url(page)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{page}");
        assert_no_external_resources(&response.text().await.unwrap());
    }

    // A path no route serves is a JSON 404 for a browser too, never a login redirect.
    for accept in ["text/html", "*/*"] {
        let unknown = no_redirects
            .get(server.url("/no-such-page"))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 404, "{accept}");
        assert_eq!(json(unknown).await, json!({ "detail": "Not Found" }));
    }

    // The login page returns only to a path of this site: the server checks `next` and
    // hands the page the checked value.
    for (next, target) in [
        ("/articles", "/articles"),
        ("/%5Cevil.com", "/account"),
        ("/%09/evil.com", "/account"),
        ("//evil.com", "/account"),
    ] {
        let page = no_redirects
            .get(server.url(&format!("/login?next={next}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(&format!(r#"data-next="&quot;{target}&quot;""#)),
            "{next}: {page}"
        );
    }
}

/// No `src=` or `href=` of a script, style sheet or anything else points off the server.
fn assert_no_external_resources(html: &str) {
    let lower = html.to_ascii_lowercase();
    for attribute in ["src=", "href="] {
        for (at, _) in lower.match_indices(attribute) {
            let value = lower[at + attribute.len()..].trim_start_matches(['"', '\'']);
            assert!(
                !(value.starts_with("http:")
                    || value.starts_with("https:")
                    || value.starts_with("//")),
                "an external reference: {}",
                &html[at..(at + 80).min(html.len())]
            );
        }
    }
    assert!(!lower.contains("@import"), "no imported style sheets");
}

/// Two processes of one Postgres + Redis (or Redis Cluster) deployment: a token from one works on the other, a
/// refresh on one rotates for both, and a logout on one is refused on the other: its refresh
/// token at once, its access token once the announcement arrives (within a second at most).
pub async fn two_instances_share_sessions_and_logout(config: Config) {
    // Both start (and migrate the fresh schema) at the same time.
    let (a, b) = tokio::join!(config.start(), config.start());
    assert_ne!(a.base, b.base);
    let email = address("twice");
    a.register(&email, PASSWORD).await;
    let (access, refresh) = a.tokens(&email, PASSWORD).await;
    assert_eq!(b.me(&access).await.status(), 200, "a token of A works on B");

    let pair = json(b.refresh(&refresh).await).await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(a.me(&access).await.status(), 200);
    let (other_access, _) = b.tokens(&email, PASSWORD).await;

    let logout = a
        .http
        .post(a.url("/auth/jwt/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    // The refresh token is checked against the store: refused at once.
    assert_eq!(
        b.refresh(&refresh).await.status(),
        401,
        "B refuses the refresh token at once"
    );
    // B's session cache may still hold the session it rotated, until the logout's
    // announcement arrives (milliseconds; at most the feed's one-second heartbeat limit,
    // after which the cache drops everything): the documented bound, not "at once".
    let logged_out = std::time::Instant::now();
    loop {
        let status = b.me(&access).await.status();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            logged_out.elapsed() < std::time::Duration::from_secs(1),
            "B still accepts the access token a second after the logout"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert_eq!(a.me(&access).await.status(), 401);
    assert_eq!(
        b.me(&other_access).await.status(),
        200,
        "another session of the user lives on"
    );

    // "Log out everywhere" on B ends the session made on B, as seen from A.
    let everywhere = b
        .http
        .delete(b.url("/users/me/sessions"))
        .bearer_auth(&other_access)
        .send()
        .await
        .unwrap();
    assert_eq!(everywhere.status(), 204);
    assert_eq!(a.me(&other_access).await.status(), 401);
}

/// Two instances on one deployment: 1,000 logouts on A, each timed from A's answer until B
/// refuses the access token (B has just accepted it, so its session cache holds it).
pub async fn a_thousand_logouts_reach_the_other_instance(config: Config) {
    use futures::StreamExt;
    use std::time::{Duration, Instant};

    const LOGOUTS: usize = 1_000;
    // Below the default limit of live sessions per user, so no login evicts another.
    const PER_USER: usize = 25;
    let config = config.with("RATE_LIMIT_REGISTER_IP", "1000/1h");
    let (a, b) = tokio::join!(config.start(), config.start());
    let users: Vec<String> = (0..LOGOUTS / PER_USER)
        .map(|_| address("logouts"))
        .collect();
    for email in &users {
        a.register(email, PASSWORD).await;
    }
    // The logins first, a few at a time (each is one Argon2 hash).
    let tokens: Vec<String> = futures::stream::iter(0..LOGOUTS)
        .map(|n| {
            let (a, email) = (&a, &users[n / PER_USER]);
            async move { a.tokens(email, PASSWORD).await.0 }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut times = Vec::with_capacity(LOGOUTS);
    for access in &tokens {
        assert_eq!(b.me(access).await.status(), 200);
        let logout = a
            .http
            .post(a.url("/auth/jwt/logout"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), 204);
        let since = Instant::now();
        loop {
            let status = b.me(access).await.status();
            if status == 401 {
                break;
            }
            assert_eq!(status, 200);
            assert!(
                since.elapsed() < Duration::from_secs(2),
                "B still accepts a token logged out on A"
            );
        }
        times.push(since.elapsed());
    }
    times.sort();
    let (p50, p99, max) = (
        times[LOGOUTS / 2],
        times[LOGOUTS * 99 / 100],
        times[LOGOUTS - 1],
    );
    println!(
        "{:?}: logout on A to refusal on B over {LOGOUTS} logouts: p50 {p50:?}, p99 {p99:?}, max {max:?}",
        config.backend
    );
    // The promise is a p99 of 50 ms (Redis, Postgres) or one 20 ms poll (SQLite); a loaded
    // test machine, with both servers in debug builds, gets a margin.
    assert!(p99 < Duration::from_millis(250), "p99 {p99:?}");
}

/// Instantiates every flow of [`server_suite`](mod@crate::server_suite) as a `#[tokio::test]` on
/// one [`Backend`], plus `[extra flows]` given after it.
#[macro_export]
macro_rules! server_suite {
    ($backend:expr) => {
        $crate::server_suite!($backend, []);
    };
    ($backend:expr, [$($extra:ident),* $(,)?]) => {
        $crate::server_suite!(@tests $backend, [
            sign_up_reset_verify_then_administer,
            a_restart_loses_nothing,
            health_openapi_docs_and_pages_answer,
            $($extra,)*
        ]);
    };
    (@tests $backend:expr, [$($test:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let config = $crate::server::Config::new($backend).await;
                $crate::server_suite::$test(config).await;
            }
        )*
    };
}
