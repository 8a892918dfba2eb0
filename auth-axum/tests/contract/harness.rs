//! The app under test: the contract routers over memory stores, a counting hasher, a manual
//! clock and a memory mailer, configured like the reference server; and small helpers to
//! build requests, send them in-process with `oneshot`, and read the answers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use auth_axum::{Auth, AuthConfig};
use auth_core::conformance::CountingHasher;
use auth_core::{
    CreateOptions, Email, JwtAlgorithm, JwtCodec, JwtKeys, MailKind, ManagerConfig, ManualClock,
    MemoryMailer, MemorySessionStore, MemoryUserStore, NewUser, Roles, SessionStore, User,
    UserManager,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The reference server's profile: two optional names, flattened into the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Names {
    pub(crate) first_name: Option<String>,
    pub(crate) second_name: Option<String>,
}

/// A password every policy accepts.
pub(crate) const PASSWORD: &str = "a quiet river at dawn";
/// Another acceptable password.
pub(crate) const NEW_PASSWORD: &str = "seven amber lanterns sway";
/// The client address every request comes from unless told otherwise.
pub(crate) const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
/// The `Host` of the server, for the same-origin checks.
pub(crate) const HOST: &str = "api.example.com";
/// An origin the configuration allows besides the server's own.
pub(crate) const ALLOWED_ORIGIN: &str = "https://app.example.com";

/// The routers and what the tests reach around them.
pub(crate) struct App {
    pub(crate) router: Router,
    pub(crate) auth: Auth<Names>,
    pub(crate) hasher: Arc<CountingHasher>,
    pub(crate) clock: ManualClock,
    pub(crate) mailer: MemoryMailer,
}

/// Tokens of a bearer login.
#[derive(Debug, Clone)]
pub(crate) struct Bearer {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

/// The two auth cookies of a cookie login, as a browser would send them back.
#[derive(Debug, Clone)]
pub(crate) struct Jar {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

impl Jar {
    /// The `Cookie` header with both cookies.
    pub(crate) fn header(&self) -> String {
        format!(
            "access_token={}; refresh_token={}",
            self.access, self.refresh
        )
    }
}

/// The reference server's manager settings: new users are readers.
pub(crate) fn reference_manager_config() -> ManagerConfig {
    ManagerConfig {
        default_roles: Roles::from_iter(["reader"]),
        ..ManagerConfig::default()
    }
}

/// The reference server's HTTP settings, with one allowed front-end origin.
pub(crate) fn reference_auth_config() -> AuthConfig {
    AuthConfig::default().with_allowed_origins([ALLOWED_ORIGIN])
}

/// The HMAC secret of the reference deployment's access tokens.
pub(crate) const JWT_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
/// The issuer (`iss`) of the reference deployment's tokens.
pub(crate) const JWT_ISSUER: &str = "contract-tests";

pub(crate) fn codec() -> JwtCodec {
    JwtCodec::new(
        JwtKeys::hmac(JwtAlgorithm::HS256, JWT_SECRET).expect("test key"),
        JWT_ISSUER,
    )
}

/// The reference configuration with tokens signed by `codec`.
pub(crate) fn app_signing(codec: JwtCodec) -> App {
    let parts = App::auth_signing(
        reference_manager_config(),
        reference_auth_config(),
        Arc::new(MemorySessionStore::new()),
        codec,
    );
    let router = parts.0.routes();
    App::from_parts(router, parts)
}

impl App {
    /// The reference configuration.
    pub(crate) fn new() -> Self {
        Self::with(|m| m, |a| a)
    }

    /// The reference configuration, adjusted.
    pub(crate) fn with(
        manager: impl FnOnce(ManagerConfig) -> ManagerConfig,
        config: impl FnOnce(AuthConfig) -> AuthConfig,
    ) -> Self {
        let auth = Self::auth(
            manager(reference_manager_config()),
            config(reference_auth_config()),
        );
        let router = auth.0.routes();
        Self::from_parts(router, auth)
    }

    /// An `Auth` over fresh memory stores, with its test doubles.
    pub(crate) fn auth(
        manager: ManagerConfig,
        config: AuthConfig,
    ) -> (Auth<Names>, Arc<CountingHasher>, ManualClock, MemoryMailer) {
        Self::auth_over(manager, config, Arc::new(MemorySessionStore::new()))
    }

    /// An `Auth` over this session store and a fresh memory user store.
    pub(crate) fn auth_over(
        manager: ManagerConfig,
        config: AuthConfig,
        sessions: Arc<dyn SessionStore>,
    ) -> (Auth<Names>, Arc<CountingHasher>, ManualClock, MemoryMailer) {
        Self::auth_signing(manager, config, sessions, codec())
    }

    /// An `Auth` over this session store, signing its tokens with `codec`.
    pub(crate) fn auth_signing(
        manager: ManagerConfig,
        config: AuthConfig,
        sessions: Arc<dyn SessionStore>,
        codec: JwtCodec,
    ) -> (Auth<Names>, Arc<CountingHasher>, ManualClock, MemoryMailer) {
        let hasher = Arc::new(CountingHasher::new());
        let clock = ManualClock::starting_now();
        let mailer = MemoryMailer::new();
        let manager =
            UserManager::<Names>::builder(Arc::new(MemoryUserStore::new()), sessions, codec)
                .with_hasher(hasher.clone())
                .with_clock(Arc::new(clock.clone()))
                .with_mailer(Arc::new(mailer.clone()))
                .with_config(manager)
                .build();
        (Auth::new(manager, config), hasher, clock, mailer)
    }

    /// Wraps a router built over `parts`.
    pub(crate) fn from_parts(
        router: Router,
        (auth, hasher, clock, mailer): (
            Auth<Names>,
            Arc<CountingHasher>,
            ManualClock,
            MemoryMailer,
        ),
    ) -> Self {
        Self {
            router,
            auth,
            hasher,
            clock,
            mailer,
        }
    }

    pub(crate) fn manager(&self) -> &UserManager<Names> {
        self.auth.manager()
    }

    /// Sends one request through a fresh clone of the router.
    pub(crate) async fn send(&self, req: Req) -> Resp {
        let request = req.build();
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a readable body")
            .to_bytes();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Registers `email` with [`PASSWORD`] over HTTP; returns the UserRead.
    pub(crate) async fn register(&self, email: &str) -> Value {
        let res = self
            .send(post("/auth/register").json(json!({"email": email, "password": PASSWORD})))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        res.json()
    }

    /// Creates a user directly through the manager, with privileges.
    pub(crate) async fn create(&self, email: &str, options: CreateOptions) -> User<Names> {
        self.manager()
            .create_user(
                NewUser::new(Email::parse(email).expect("an address"), PASSWORD),
                options,
            )
            .await
            .expect("created")
    }

    /// Creates a superuser and logs them in with the bearer backend.
    pub(crate) async fn admin(&self) -> Bearer {
        self.create(
            "root@example.com",
            CreateOptions {
                superuser: true,
                verified: true,
                ..CreateOptions::default()
            },
        )
        .await;
        self.login("root@example.com").await
    }

    /// A bearer login (JSON) with [`PASSWORD`].
    pub(crate) async fn login(&self, username: &str) -> Bearer {
        self.login_with(username, PASSWORD).await
    }

    pub(crate) async fn login_with(&self, username: &str, password: &str) -> Bearer {
        let res = self
            .send(post("/auth/jwt/login").json(json!({"username": username, "password": password})))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let body = res.json();
        Bearer {
            access: body["access_token"].as_str().expect("a token").to_owned(),
            refresh: body["refresh_token"].as_str().expect("a token").to_owned(),
        }
    }

    /// A cookie login with [`PASSWORD`].
    pub(crate) async fn cookie_login(&self, username: &str) -> Jar {
        let res = self
            .send(
                post("/auth/cookie/login").form(&[("username", username), ("password", PASSWORD)]),
            )
            .await;
        assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
        res.jar()
    }

    /// Registers and logs in with the bearer backend; returns the user's id and tokens.
    pub(crate) async fn user(&self, email: &str) -> (String, Bearer) {
        let user = self.register(email).await;
        let id = user["id"].as_str().expect("an id").to_owned();
        (id, self.login(email).await)
    }

    /// `GET /users/me` with a bearer token.
    pub(crate) async fn me(&self, access: &str) -> Resp {
        self.send(get("/users/me").bearer(access)).await
    }

    /// The token inside the newest link mailed to `to`.
    pub(crate) async fn mailed_token(&self, to: &str) -> String {
        self.manager().flush_mail().await;
        let mail = self.mailer.last_to(to).expect("a mail");
        let link = match mail.kind {
            MailKind::Verify { link } | MailKind::ResetPassword { link } => link,
            _ => unreachable!("no other kind of mail"),
        };
        link.split_once("#token=").expect("a token").1.to_owned()
    }

    /// How many mails went to `to`.
    pub(crate) async fn mails_to(&self, to: &str) -> usize {
        self.manager().flush_mail().await;
        self.mailer
            .sent()
            .iter()
            .filter(|mail| mail.to.key() == to.to_lowercase())
            .count()
    }
}

/// A request under construction.
pub(crate) struct Req {
    method: Method,
    uri: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    ip: Option<IpAddr>,
}

pub(crate) fn request(method: Method, uri: &str) -> Req {
    Req {
        method,
        uri: uri.to_owned(),
        headers: vec![("host".to_owned(), HOST.as_bytes().to_vec())],
        body: Vec::new(),
        ip: Some(CLIENT_IP),
    }
}

pub(crate) fn get(uri: &str) -> Req {
    request(Method::GET, uri)
}

pub(crate) fn post(uri: &str) -> Req {
    request(Method::POST, uri)
}

pub(crate) fn patch(uri: &str) -> Req {
    request(Method::PATCH, uri)
}

pub(crate) fn delete(uri: &str) -> Req {
    request(Method::DELETE, uri)
}

impl Req {
    pub(crate) fn header(self, name: &str, value: &str) -> Self {
        self.header_bytes(name, value.as_bytes())
    }

    /// A header with any bytes a client may send (obs-text included).
    pub(crate) fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        self.headers.push((name.to_owned(), value.to_vec()));
        self
    }

    /// Replaces the body, with this `Content-Type`.
    pub(crate) fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
        if !content_type.is_empty() {
            self.headers
                .push(("content-type".to_owned(), content_type.as_bytes().to_vec()));
        }
        self.body = body.into();
        self
    }

    pub(crate) fn json(self, value: Value) -> Self {
        let bytes = serde_json::to_vec(&value).expect("serialisable");
        self.body("application/json", bytes)
    }

    /// An `application/x-www-form-urlencoded` body.
    pub(crate) fn form(self, pairs: &[(&str, &str)]) -> Self {
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        self.body("application/x-www-form-urlencoded", encoded.join("&"))
    }

    /// A `multipart/form-data` body of text fields.
    pub(crate) fn multipart(self, pairs: &[(&str, &str)]) -> Self {
        let boundary = "contract-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = String::new();
        for (name, value) in pairs {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        self.body(&format!("multipart/form-data; boundary={boundary}"), body)
    }

    pub(crate) fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub(crate) fn cookies(self, jar: &Jar) -> Self {
        self.header("cookie", &jar.header())
    }

    pub(crate) fn cookie(self, cookie: &str) -> Self {
        self.header("cookie", cookie)
    }

    /// The socket peer the request comes from.
    pub(crate) fn peer(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    pub(crate) fn build(self) -> Request<Body> {
        let mut builder = Request::builder().method(self.method).uri(&self.uri);
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_slice());
        }
        let mut request = builder
            .body(Body::from(self.body))
            .expect("a valid request");
        if let Some(ip) = self.ip {
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(ip, 49152)));
        }
        request
    }
}

fn form_encode(raw: &str) -> String {
    let mut out = String::new();
    for byte in raw.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// A response, read to the end.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// One `Set-Cookie` header, split into its value and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetCookie {
    pub(crate) name: String,
    pub(crate) value: String,
    /// Attributes as written, sorted (`HttpOnly`, `Max-Age=900`, `Path=/`, ...).
    pub(crate) attributes: Vec<String>,
}

impl Resp {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics when it is not JSON with the contract's content type.
    pub(crate) fn json(&self) -> Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=utf-8"),
            "JSON content type, body: {}",
            self.text()
        );
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("a JSON body ({err}): {}", self.text()))
    }

    /// The body's `detail`.
    pub(crate) fn detail(&self) -> Value {
        self.json()["detail"].clone()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn set_cookies(&self) -> Vec<SetCookie> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| {
                let raw = value.to_str().expect("ASCII");
                let mut parts = raw.split(';').map(str::trim);
                let (name, value) = parts
                    .next()
                    .and_then(|pair| pair.split_once('='))
                    .expect("name=value");
                let mut attributes: Vec<String> = parts.map(str::to_owned).collect();
                attributes.sort();
                SetCookie {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    attributes,
                }
            })
            .collect()
    }

    /// The last `Set-Cookie` for `name` (what a browser keeps).
    pub(crate) fn set_cookie(&self, name: &str) -> Option<SetCookie> {
        self.set_cookies()
            .into_iter()
            .rev()
            .find(|c| c.name == name)
    }

    /// The auth cookies a browser keeps after this response.
    pub(crate) fn jar(&self) -> Jar {
        let value = |name| {
            self.set_cookie(name)
                .unwrap_or_else(|| panic!("a {name} cookie"))
                .value
        };
        Jar {
            access: value("access_token"),
            refresh: value("refresh_token"),
        }
    }

    /// Asserts the status and a plain `{"detail": code}` body.
    #[track_caller]
    pub(crate) fn assert_detail(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.detail(), json!(code), "{}", self.text());
    }

    /// Asserts `400 {"detail":{"code": code, "reason": <text>}}`.
    #[track_caller]
    pub(crate) fn assert_code_with_reason(&self, code: &str) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.text());
        let detail = self.detail();
        assert_eq!(detail["code"], code, "{}", self.text());
        assert!(
            detail["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "a reason: {}",
            self.text()
        );
    }

    /// Asserts a FastAPI validation error at `loc`.
    #[track_caller]
    pub(crate) fn assert_422_at(&self, loc: &[&str]) {
        assert_eq!(
            self.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            self.text()
        );
        let detail = self.detail();
        let errors = detail.as_array().expect("a list of errors");
        assert!(
            errors.iter().any(|e| e["loc"] == json!(loc)),
            "an error at {loc:?}: {}",
            self.text()
        );
        for error in errors {
            assert!(
                error["type"].is_string() && error["msg"].is_string(),
                "{error}"
            );
            assert!(error.get("input").is_some(), "{error}");
        }
    }

    /// Asserts `401 {"detail":"Unauthorized"}` with `WWW-Authenticate: Bearer`.
    #[track_caller]
    pub(crate) fn assert_unauthorized(&self) {
        self.assert_detail(StatusCode::UNAUTHORIZED, "Unauthorized");
        assert_eq!(self.header("www-authenticate"), Some("Bearer"));
    }

    /// Asserts a `4xx` with a JSON `detail`: bad input is never a `500`.
    #[track_caller]
    pub(crate) fn assert_client_error(&self) {
        assert!(
            self.status.is_client_error(),
            "{} {}",
            self.status,
            self.text()
        );
        assert!(self.json().get("detail").is_some(), "{}", self.text());
    }
}

/// The keys of a UserRead of the reference server.
pub(crate) const USER_READ_KEYS: &[&str] = &[
    "created_at",
    "email",
    "first_name",
    "id",
    "is_active",
    "is_superuser",
    "is_verified",
    "roles",
    "second_name",
    "updated_at",
    "username",
];

/// Asserts the UserRead shape: exactly the contract's keys, and never a hash.
#[track_caller]
pub(crate) fn assert_user_read(user: &Value) {
    let mut keys: Vec<&str> = user
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, USER_READ_KEYS, "{user}");
    assert!(
        user["id"]
            .as_str()
            .is_some_and(|id| id.parse::<uuid::Uuid>().is_ok())
    );
    for field in ["created_at", "updated_at"] {
        let stamp = user[field].as_str().expect("a timestamp");
        time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|err| panic!("{field} is RFC 3339 ({err}): {stamp}"));
    }
    assert_no_secrets(&user.to_string());
}

/// Asserts a body has no password hash in it.
#[track_caller]
pub(crate) fn assert_no_secrets(body: &str) {
    for needle in ["hashed_password", "password_hash", "$argon2", "$2b$"] {
        assert!(!body.contains(needle), "{needle} in {body}");
    }
}
