//! What is measured: the cases of the table, and the server each one runs against.

use std::fmt;
use std::str::FromStr;

use crate::BoxError;

/// The issuer of the bench servers' tokens.
pub(crate) const ISSUER: &str = "https://bench.invalid";
/// The bench user's e-mail address.
pub(crate) const USER_EMAIL: &str = "bench@example.com";
/// The bench user's password.
pub(crate) const PASSWORD: &str = "correct horse battery staple 42";

/// `REDIS_URL`, or the Redis on loopback.
pub(crate) fn default_redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// `DATABASE_URL`, or the Postgres on loopback (user `postgres`, trust authentication).
pub(crate) fn default_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// One bench server (`bench serve <kind>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerKind {
    /// axum's hello route, nothing else: the ceiling.
    Bare,
    /// `CurrentUser` on a bearer HS256 token, no revocation check.
    Hs256,
    /// `CurrentUser` on a bearer EdDSA token, no revocation check.
    Eddsa,
    /// `CurrentUser` on a bearer HS256 token, revocation checked on Redis behind the exact session cache.
    Redis,
    /// The same, every request asking Redis.
    RedisNoCache,
    /// `CurrentUser` on a bearer HS256 token, revocation checked on SQLite behind the cache.
    Sqlite,
    /// `CurrentUser` on a bearer HS256 token, revocation checked on Postgres behind the cache.
    Postgres,
    /// The reference server (`examples/server`), its own `GET /users/me`, on SQLite.
    ServerSqlite,
    /// The reference server, its own `GET /users/me`, on Postgres (users) and Redis (sessions).
    ServerPgRedis,
    /// fastapi-users (JWT bearer, SQLite) under uvicorn, its `GET /users/me` (reference point).
    FastapiUsers,
    /// axum-login on a session cookie, tower-sessions' `MemoryStore` (reference point).
    AxumLogin,
    /// `RequireRole<Reader>` on an HS256 access cookie, no revocation check.
    Cookie,
    /// A hand-rolled jsonwebtoken HS256 extractor (reference point).
    HandRolled,
    /// The same plus one Redis `GET` per request (reference point).
    HandRolledRedis,
    /// The auth routes with Argon2id at the OWASP baseline, and `CurrentUser` on `/`.
    Login,
    /// The reference server on SQLite with short session lifetimes, a sweep every ten
    /// seconds and throttles loose enough for one client's mixed load (the soak).
    SoakSqlite,
    /// The same on Postgres and Redis.
    SoakPgRedis,
}

impl ServerKind {
    const ALL: [Self; 17] = [
        Self::Bare,
        Self::Hs256,
        Self::Eddsa,
        Self::Redis,
        Self::RedisNoCache,
        Self::Sqlite,
        Self::Postgres,
        Self::ServerSqlite,
        Self::ServerPgRedis,
        Self::FastapiUsers,
        Self::AxumLogin,
        Self::Cookie,
        Self::HandRolled,
        Self::HandRolledRedis,
        Self::Login,
        Self::SoakSqlite,
        Self::SoakPgRedis,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Bare => "bare",
            Self::Hs256 => "hs256",
            Self::Eddsa => "eddsa",
            Self::Redis => "redis",
            Self::RedisNoCache => "redis-nocache",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::ServerSqlite => "server-sqlite",
            Self::ServerPgRedis => "server-pg-redis",
            Self::FastapiUsers => "fastapi-users",
            Self::AxumLogin => "axum-login",
            Self::Cookie => "cookie",
            Self::HandRolled => "handrolled",
            Self::HandRolledRedis => "handrolled-redis",
            Self::Login => "login",
            Self::SoakSqlite => "soak-sqlite",
            Self::SoakPgRedis => "soak-pg-redis",
        }
    }

    /// The path its GETs ask for: the reference server's own `/users/me`, `/` elsewhere.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::ServerSqlite
            | Self::ServerPgRedis
            | Self::SoakSqlite
            | Self::SoakPgRedis
            | Self::FastapiUsers => "/users/me",
            _ => "/",
        }
    }
}

impl FromStr for ServerKind {
    type Err = BoxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| format!("unknown server `{s}`").into())
    }
}

/// How a case loads its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// GET `/` as fast as the connections allow.
    Get(Credential),
    /// POST the login form as fast as the connections allow.
    Login,
    /// A login storm of `--storm-connections` connections (far more than Argon2 can serve, so
    /// the server refuses most with `503`), and a paced probe of authenticated GETs measuring
    /// their latency.
    Storm,
}

/// How a GET carries its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    None,
    Bearer,
    Cookie,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    pub(crate) server: ServerKind,
    pub(crate) load: Load,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// Every case, in table order. `bare` is first: every ratio is to it.
pub(crate) const CASES: [Case; 16] = [
    Case {
        name: "bare",
        title: "bare axum hello route (the ceiling)",
        server: ServerKind::Bare,
        load: Load::Get(Credential::None),
    },
    Case {
        name: "hs256",
        title: "`CurrentUser`, bearer HS256, no revocation check",
        server: ServerKind::Hs256,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "eddsa",
        title: "`CurrentUser`, bearer EdDSA, no revocation check",
        server: ServerKind::Eddsa,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "redis",
        title: "`CurrentUser`, HS256 + revocation on Redis (exact session cache)",
        server: ServerKind::Redis,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "redis-nocache",
        title: "`CurrentUser`, HS256 + revocation on Redis (`HMGET` every request)",
        server: ServerKind::RedisNoCache,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "sqlite",
        title: "`CurrentUser`, HS256 + revocation on SQLite (exact session cache)",
        server: ServerKind::Sqlite,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "postgres",
        title: "`CurrentUser`, HS256 + revocation on Postgres (exact session cache)",
        server: ServerKind::Postgres,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "server-sqlite",
        title: "reference server, `GET /users/me` (all its layers), SQLite",
        server: ServerKind::ServerSqlite,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "server-pg-redis",
        title: "reference server, `GET /users/me` (all its layers), Postgres + Redis",
        server: ServerKind::ServerPgRedis,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "fastapi-users",
        title: "reference: fastapi-users `GET /users/me` (JWT bearer, SQLite; uvicorn, 1 worker)",
        server: ServerKind::FastapiUsers,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "axum-login",
        title: "reference: axum-login `AuthSession`, session cookie, tower-sessions `MemoryStore`",
        server: ServerKind::AxumLogin,
        load: Load::Get(Credential::Cookie),
    },
    Case {
        name: "cookie",
        title: "`RequireRole<Reader>`, HS256 access cookie, no revocation check",
        server: ServerKind::Cookie,
        load: Load::Get(Credential::Cookie),
    },
    Case {
        name: "handrolled",
        title: "reference: hand-rolled jsonwebtoken HS256 extractor",
        server: ServerKind::HandRolled,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "handrolled-redis",
        title: "reference: the same + one Redis `GET`",
        server: ServerKind::HandRolledRedis,
        load: Load::Get(Credential::Bearer),
    },
    Case {
        name: "login",
        title: "login, Argon2id m=19456 KiB t=2 p=1",
        server: ServerKind::Login,
        load: Load::Login,
    },
    Case {
        name: "storm",
        title: "authenticated GET during a login storm beyond the hashing queue",
        server: ServerKind::Login,
        load: Load::Storm,
    },
];

/// The cases named in a comma-separated list (`all` for every case); `bare` is always added.
pub(crate) fn select(list: &str) -> Result<Vec<Case>, BoxError> {
    let wanted: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    if wanted.contains(&"all") {
        return Ok(CASES.to_vec());
    }
    for name in &wanted {
        if !CASES.iter().any(|case| case.name == *name) {
            let names: Vec<&str> = CASES.iter().map(|case| case.name).collect();
            return Err(
                format!("unknown case `{name}`; the cases are {}", names.join(", ")).into(),
            );
        }
    }
    Ok(CASES
        .iter()
        .filter(|case| case.name == "bare" || wanted.contains(&case.name))
        .copied()
        .collect())
}
