//! A reference-like app on a free loopback port, and a small client for it.

use std::sync::Arc;

use auth_axum::{Auth, AuthConfig, Backend, CookieSettings};
use auth_core::{
    Argon2Hasher, CreateOptions, Email, JwtAlgorithm, JwtCodec, JwtKeys, MailKind, ManagerConfig,
    MemoryMailer, NewUser, RateLimiter, Roles, SessionStore, User, UserManager, UserStore,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The reference server's profile fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    pub first_name: Option<String>,
    pub second_name: Option<String>,
}

/// One backend combination: where users, sessions and throttle counters live.
pub struct Stack {
    pub name: &'static str,
    pub users: Arc<dyn UserStore<Names>>,
    pub sessions: Arc<dyn SessionStore>,
    pub limiter: Arc<dyn RateLimiter>,
}

/// A running app and a client for it.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub mailer: MemoryMailer,
    pub manager: UserManager<Names>,
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Serves the whole contract over `stack` on `127.0.0.1:<free port>`.
    pub async fn spawn(stack: Stack) -> Self {
        let mailer = MemoryMailer::new();
        let keys =
            JwtKeys::hmac(JwtAlgorithm::HS256, b"an end-to-end test secret, 32+ bytes").unwrap();
        let manager = UserManager::builder(stack.users, stack.sessions, JwtCodec::new(keys, "e2e"))
            .with_hasher(Arc::new(Argon2Hasher::fast_insecure()))
            .with_rate_limiter(stack.limiter)
            .with_mailer(Arc::new(mailer.clone()))
            .with_config(ManagerConfig {
                default_roles: Roles::from_iter(["reader"]),
                ..ManagerConfig::default()
            })
            .build();
        let config = AuthConfig::default().with_backends([
            Backend::bearer("jwt"),
            Backend::cookie("cookie", CookieSettings::default().with_secure(false)),
        ]);
        let auth = Auth::new(manager.clone(), config);
        let app: axum::Router = auth.routes().with_state(auth);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            auth_axum::serve(
                listener,
                app,
                auth_axum::ServeConfig::default(),
                std::future::pending(),
            )
            .await
            .unwrap();
        });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            mailer,
            manager,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A unique address for one test.
    pub fn email(&self, who: &str) -> String {
        format!("{who}.{}@example.com", auth_core::conformance::unique_tag())
    }

    pub async fn register(&self, email: &str) -> Value {
        let response = self
            .http
            .post(self.url("/auth/register"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD, "first_name": "Ada"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "register {email}");
        response.json().await.unwrap()
    }

    /// Logs in over the bearer backend with the OAuth2 password form; returns the JSON body.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/auth/jwt/login"))
            .form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    pub async fn tokens(&self, email: &str) -> (String, String) {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn me(&self, access: &str) -> reqwest::Response {
        self.http
            .get(self.url("/users/me"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    /// The token of the newest mail to `to`.
    pub async fn mailed_token(&self, to: &str) -> String {
        self.manager.flush_mail().await;
        let mail = self.mailer.last_to(to).expect("a mail");
        let link = match mail.kind {
            MailKind::Verify { link } | MailKind::ResetPassword { link } => link,
            _ => unreachable!(),
        };
        link.split_once("#token=").unwrap().1.to_owned()
    }

    pub async fn superuser(&self, email: &str) -> User<Names> {
        self.manager
            .create_user(
                NewUser::new(Email::parse(email).unwrap(), PASSWORD),
                CreateOptions {
                    superuser: true,
                    verified: true,
                    roles: Roles::new(),
                },
            )
            .await
            .unwrap()
    }
}
