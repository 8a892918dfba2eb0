//! The bench servers: small axum apps, one per case, started as `bench serve <kind>`.
//!
//! Each binds `127.0.0.1:0`, prepares what its requests need (a user, a session, tokens),
//! prints one `READY` line with its address and token on stdout, and serves until SIGTERM or
//! SIGINT, then shuts down gracefully (so callgrind writes its counts on exit).

use std::net::SocketAddr;
use std::sync::Arc;

use auth_axum::{Auth, AuthConfig, Backend, CookieSettings, CurrentUser, RequireReader};
use auth_core::env::Env;
use auth_core::{
    Argon2Hasher, ClientInfo, Email, JwtAlgorithm, JwtCodec, JwtKeys, ManagerConfig,
    MemorySessionStore, MemoryUserStore, NewUser, NoProfile, Password, Roles, SessionStore,
    UserManager,
};
use auth_redis::{RedisConfig, RedisSessionStore};
use auth_sqlx::sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use auth_sqlx::{DbConfig, PgSessionStore, SqliteSessionStore, migrate_postgres, migrate_sqlite};
use axum::Router;
use axum::routing::get;
use std::sync::atomic::Ordering;
use tokio::net::TcpListener;

use crate::BoxError;
use crate::cases::{ISSUER, PASSWORD, ServerKind, USER_EMAIL};
use crate::handrolled;

/// The HMAC secret of the bench servers (32 bytes; never use a literal in production).
pub(crate) const SECRET: &[u8] = b"bench secret, 32 bytes or longer";

const ED25519_PRIVATE: &[u8] =
    include_bytes!("../../../auth-core/tests/keys/ed25519-test-private.pem");
const ED25519_PUBLIC: &[u8] =
    include_bytes!("../../../auth-core/tests/keys/ed25519-test-public.pem");

/// The body of every GET in the bench: the same few bytes as the bare hello route, so the
/// cases differ only in what runs before the handler.
pub(crate) const HELLO: &str = "Hello, World!";

/// Where a bench server's stores are: Redis, Postgres, and the key prefix (also the name of
/// its Postgres schema and scratch directory).
pub(crate) struct Stores {
    pub(crate) redis_url: String,
    pub(crate) database_url: String,
    pub(crate) prefix: String,
}

/// `bench serve <kind> [--redis URL] [--database URL] [--prefix P]`: runs one bench server.
pub(crate) fn main(args: &[String]) -> Result<(), BoxError> {
    let kind: ServerKind = args
        .first()
        .ok_or("usage: bench serve <kind> [--redis URL] [--database URL] [--prefix PREFIX]")?
        .parse()?;
    let mut redis_url = crate::cases::default_redis_url();
    let mut database_url = crate::cases::default_database_url();
    let mut prefix = format!("bench_{}", std::process::id());
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--redis" => redis_url = rest.next().ok_or("--redis needs a URL")?.clone(),
            "--database" => database_url = rest.next().ok_or("--database needs a URL")?.clone(),
            "--prefix" => prefix = rest.next().ok_or("--prefix needs a value")?.clone(),
            other => return Err(format!("unknown server option `{other}`").into()),
        }
    }
    // The default multi-threaded runtime, as `#[tokio::main]` builds it: one worker per CPU
    // the process may run on (one, when the harness pins it to a core).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if !prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err("--prefix: letters, digits and `_` only (it names a Postgres schema)".into());
    }
    let stores = Stores {
        redis_url,
        database_url,
        prefix,
    };
    runtime.block_on(async {
        let scratch = Scratch::new(&stores)?;
        let result = run(kind, &stores, &scratch).await;
        scratch.clean().await;
        result
    })
}

async fn run(kind: ServerKind, stores: &Stores, scratch: &Scratch) -> Result<(), BoxError> {
    let redis_url = stores.redis_url.as_str();
    let prefix = stores.prefix.as_str();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    if matches!(
        kind,
        ServerKind::ServerSqlite
            | ServerKind::ServerPgRedis
            | ServerKind::SoakSqlite
            | ServerKind::SoakPgRedis
    ) {
        return reference_server(kind, listener, stores, scratch).await;
    }
    if kind == ServerKind::FastapiUsers {
        drop(listener);
        return crate::fastapi_users::serve(scratch, shutdown()).await;
    }
    let (router, token) = match kind {
        ServerKind::Bare => (Router::new().route("/", get(hello)), String::new()),
        ServerKind::Hs256 => {
            let setup = setup(hs256_keys()?, Sessions::Memory, false, false).await?;
            (
                Router::new()
                    .route("/", get(current_user))
                    .with_state(setup.state),
                setup.token,
            )
        }
        ServerKind::Eddsa => {
            let keys = JwtKeys::from_pem(JwtAlgorithm::EdDSA, ED25519_PRIVATE, ED25519_PUBLIC)?;
            let setup = setup(keys, Sessions::Memory, false, false).await?;
            (
                Router::new()
                    .route("/", get(current_user))
                    .with_state(setup.state),
                setup.token,
            )
        }
        ServerKind::Redis | ServerKind::RedisNoCache => {
            let store = redis_sessions(redis_url, prefix).await?;
            let cached = kind == ServerKind::Redis;
            let setup = setup(hs256_keys()?, Sessions::Shared(store, cached), true, false).await?;
            (
                Router::new()
                    .route("/", get(current_user))
                    .with_state(setup.state),
                setup.token,
            )
        }
        ServerKind::Sqlite | ServerKind::Postgres => {
            let store: Arc<dyn SessionStore> = if kind == ServerKind::Sqlite {
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    scratch.dir()?.join("sessions.db").display()
                );
                let pool = DbConfig::new(url).connect_sqlite().await?;
                migrate_sqlite(&pool).await?;
                Arc::new(SqliteSessionStore::new(pool))
            } else {
                let pool = DbConfig::new(scratch.schema_url().await?)
                    .connect_postgres()
                    .await?;
                migrate_postgres(&pool).await?;
                Arc::new(PgSessionStore::new(pool))
            };
            let setup = setup(hs256_keys()?, Sessions::Shared(store, true), true, false).await?;
            (
                Router::new()
                    .route("/", get(current_user))
                    .with_state(setup.state),
                setup.token,
            )
        }
        ServerKind::ServerSqlite
        | ServerKind::ServerPgRedis
        | ServerKind::SoakSqlite
        | ServerKind::SoakPgRedis
        | ServerKind::FastapiUsers => {
            return Err("served above".into());
        }
        ServerKind::AxumLogin => crate::axum_login::router().await?,
        ServerKind::Cookie => {
            let setup = setup(hs256_keys()?, Sessions::Memory, false, false).await?;
            (
                Router::new()
                    .route("/", get(reader))
                    .with_state(setup.state),
                setup.token,
            )
        }
        ServerKind::HandRolled | ServerKind::HandRolledRedis => {
            // The token our own manager issues, verified by the hand-rolled extractor.
            let setup = setup(hs256_keys()?, Sessions::Memory, false, false).await?;
            let redis = if kind == ServerKind::HandRolledRedis {
                Some(handrolled::connect(redis_url, prefix, &setup.token).await?)
            } else {
                None
            };
            (handrolled::router(redis), setup.token)
        }
        ServerKind::Login => {
            let setup = setup(hs256_keys()?, Sessions::Memory, true, true).await?;
            let auth = Auth::new(setup.manager, setup.config);
            (
                Router::new()
                    .route("/", get(current_user))
                    .merge(auth.routes())
                    .with_state(auth),
                setup.token,
            )
        }
    };
    println!("READY addr={addr} token={token}");
    if kind == ServerKind::Login {
        // The login server is served as the reference server is, by our `serve` (whose
        // handling of refused logins the storm measures), without the per-client connection
        // cap: the load generator is one client.
        let config = auth_axum::ServeConfig::default().with_max_connections_per_ip(None);
        auth_axum::serve(listener, router, config, shutdown()).await?;
        return Ok(());
    }
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await?;
    Ok(())
}

/// The reference server's own app (`examples/server`), assembled by its `app::build` from
/// settings read as its `serve` reads them, served by `auth_axum::serve` with its serving
/// limits, as `server serve` does; logging with the server's default filter (`info`), as a user
/// who sets nothing runs it. Its one user is
/// registered and logged in through its manager (Argon2id at its defaults).
async fn reference_server(
    kind: ServerKind,
    listener: TcpListener,
    stores: &Stores,
    scratch: &Scratch,
) -> Result<(), BoxError> {
    reference_server::init_tracing(false, None);
    let data_dir = scratch.dir()?;
    let mut vars: Vec<(&str, String)> = vec![
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", "0".to_owned()),
        ("DATA_DIR", data_dir.display().to_string()),
        (
            "MAIL_OUTBOX_DIR",
            data_dir.join("outbox").display().to_string(),
        ),
        // The load generator is one client with 64 connections, plus the warm-up's: the
        // default per-IP limit (64) would close one of them.
        ("HTTP_MAX_CONNECTIONS_PER_IP", "0".to_owned()),
    ];
    let soak = matches!(kind, ServerKind::SoakSqlite | ServerKind::SoakPgRedis);
    if matches!(kind, ServerKind::ServerPgRedis | ServerKind::SoakPgRedis) {
        vars.push(("DATABASE_URL", scratch.schema_url().await?));
        vars.push(("REDIS_URL", stores.redis_url.clone()));
        vars.push(("REDIS_KEY_PREFIX", stores.prefix.clone()));
    }
    if soak {
        // Expired sessions swept within a short run, and throttles whose windows end
        // within it; all the soak's clients share one address.
        vars.extend([
            ("SESSION_SWEEP_INTERVAL", "10s".to_owned()),
            ("RATE_LIMIT_LOGIN_ACCOUNT", "10/1m".to_owned()),
            ("RATE_LIMIT_LOGIN_IP", "1000000/1m".to_owned()),
            ("RATE_LIMIT_REGISTER_IP", "1000000/1m".to_owned()),
        ]);
    }
    let mut settings = reference_server::settings::Settings::from_lookup(&Env::from_map(vars))?
        .with_bound_address(listener.local_addr()?);
    if soak {
        // Shorter than the variables allow (minutes and days): sessions end within the run.
        settings.manager.access_lifetime = time::Duration::seconds(60);
        settings.manager.refresh_lifetime = time::Duration::seconds(30);
        settings.manager.session_lifetime = time::Duration::seconds(90);
    }
    let app = reference_server::app::build(&settings).await?;
    let client = ClientInfo::default();
    app.manager
        .register(NewUser::new(Email::parse(USER_EMAIL)?, PASSWORD), &client)
        .await?;
    let login = app
        .manager
        .login(USER_EMAIL, &Password::new(PASSWORD), &client)
        .await?;
    println!(
        "READY addr={} token={}",
        listener.local_addr()?,
        login.tokens.access_token
    );
    auth_axum::serve(listener, app.router, settings.serve, shutdown()).await?;
    Ok(())
}

/// What a server leaves behind, removed when it stops: a scratch directory (SQLite files,
/// the reference server's data directory) and a Postgres schema, each made on first use.
pub(crate) struct Scratch {
    dir: std::path::PathBuf,
    database_url: String,
    schema: String,
    made_dir: std::sync::atomic::AtomicBool,
    made_schema: std::sync::atomic::AtomicBool,
}

impl Scratch {
    pub(crate) fn new(stores: &Stores) -> Result<Self, BoxError> {
        Ok(Self {
            dir: std::env::temp_dir().join(&stores.prefix),
            database_url: stores.database_url.clone(),
            schema: stores.prefix.clone(),
            made_dir: false.into(),
            made_schema: false.into(),
        })
    }

    pub(crate) fn dir(&self) -> Result<std::path::PathBuf, BoxError> {
        std::fs::create_dir_all(&self.dir)?;
        self.made_dir.store(true, Ordering::Relaxed);
        Ok(self.dir.clone())
    }

    /// A fresh schema, and the URL of a pool working in it (its `search_path`).
    pub(crate) async fn schema_url(&self) -> Result<String, BoxError> {
        let mut admin = PgConnection::connect(&self.database_url)
            .await
            .map_err(|err| format!("cannot reach Postgres at {}: {err}", self.database_url))?;
        for sql in [
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
            format!("CREATE SCHEMA {}", self.schema),
        ] {
            admin.execute(AssertSqlSafe(sql)).await?;
        }
        admin.close().await?;
        self.made_schema.store(true, Ordering::Relaxed);
        Ok(with_params(
            &self.database_url,
            &format!(
                "options=-c%20search_path%3D{0}&application_name={0}",
                self.schema
            ),
        ))
    }

    pub(crate) async fn clean(&self) {
        if self.made_schema.load(Ordering::Relaxed)
            && let Ok(mut admin) = PgConnection::connect(&self.database_url).await
        {
            let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
            if let Err(err) = admin.execute(AssertSqlSafe(sql)).await {
                eprintln!("bench server: schema {} not dropped: {err}", self.schema);
            }
            let _ = admin.close().await;
        }
        if self.made_dir.load(Ordering::Relaxed) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `url` with `params` added to its query.
pub(crate) fn with_params(url: &str, params: &str) -> String {
    match url.split_once('?') {
        Some((base, query)) if !query.is_empty() => format!("{base}?{query}&{params}"),
        Some((base, _)) => format!("{base}?{params}"),
        None => format!("{url}?{params}"),
    }
}

async fn hello() -> &'static str {
    HELLO
}

async fn current_user(user: CurrentUser) -> &'static str {
    std::hint::black_box(user);
    HELLO
}

async fn reader(user: RequireReader) -> &'static str {
    std::hint::black_box(user);
    HELLO
}

async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            eprintln!("bench server: no SIGTERM handler ({err}); stop it with SIGINT");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn hs256_keys() -> Result<JwtKeys, BoxError> {
    Ok(JwtKeys::hmac(JwtAlgorithm::HS256, SECRET)?)
}

enum Sessions {
    Memory,
    /// A shared store, and whether the manager's session cache is on.
    Shared(Arc<dyn SessionStore>, bool),
}

struct Setup {
    manager: UserManager<NoProfile>,
    config: AuthConfig,
    state: Auth<NoProfile>,
    token: String,
}

/// A manager with one registered, logged-in user (role `reader`), and its access token.
///
/// `real_hasher`: Argon2id at the OWASP baseline (the login cases); otherwise the cheapest
/// parameters, since no request of the other cases hashes anything.
async fn setup(
    keys: JwtKeys,
    sessions: Sessions,
    check_revocation: bool,
    real_hasher: bool,
) -> Result<Setup, BoxError> {
    let (sessions, cached): (Arc<dyn SessionStore>, bool) = match sessions {
        Sessions::Memory => (Arc::new(MemorySessionStore::new()), true),
        Sessions::Shared(store, cached) => (store, cached),
    };
    let hasher = if real_hasher {
        Argon2Hasher::default()
    } else {
        Argon2Hasher::fast_insecure()
    };
    // `HASH_NICENESS`, as the reference server reads it: to compare priorities by hand.
    let hasher = match std::env::var("HASH_NICENESS").ok().map(|n| n.parse::<u8>()) {
        Some(niceness) => hasher.with_niceness(niceness?),
        None => hasher,
    };
    let mut config = ManagerConfig {
        // Long enough for every run of a case.
        access_lifetime: time::Duration::hours(12),
        default_roles: Roles::from_iter(["reader"]),
        check_revocation,
        ..ManagerConfig::default()
    };
    // The login cases measure hashing, with 64 parallel logins of one user: the account's
    // budget (reserved before each hash, so parallel guesses cannot outrun it) would answer
    // most of them 429 before any hashing.
    config.rate_limits.login_account = None;
    // And the storm's logins would evict the probe's session (the least recently used one)
    // past the limit of live sessions per user.
    config.max_sessions_per_user = None;
    let manager = UserManager::<NoProfile>::builder(
        Arc::new(MemoryUserStore::new()),
        sessions,
        JwtCodec::new(keys, ISSUER),
    )
    .with_hasher(Arc::new(hasher))
    .with_config(config)
    .session_cache(if cached {
        auth_core::DEFAULT_SESSION_CACHE_CAPACITY
    } else {
        0
    })
    .build();
    let client = ClientInfo::default();
    manager
        .register(NewUser::new(Email::parse(USER_EMAIL)?, PASSWORD), &client)
        .await?;
    let login = manager
        .login(USER_EMAIL, &Password::new(PASSWORD), &client)
        .await?;
    let config = AuthConfig::default().with_backends([
        Backend::bearer("jwt"),
        Backend::cookie("cookie", CookieSettings::default().with_secure(false)),
    ]);
    let state = Auth::new(manager.clone(), config.clone());
    Ok(Setup {
        manager,
        config,
        state,
        token: login.tokens.access_token,
    })
}

async fn redis_sessions(url: &str, prefix: &str) -> Result<Arc<dyn SessionStore>, BoxError> {
    let conn = RedisConfig::from_url(url)?
        .with_key_prefix(prefix)?
        .connect()
        .await
        .map_err(|err| format!("cannot reach Redis at {url}: {err}"))?;
    Ok(Arc::new(RedisSessionStore::new(conn)))
}
