//! Logout propagation: how long a logout on one session store instance takes to reach the
//! session cache of another instance over the same store, timed by
//! `auth_core::conformance::revocation::propagation_times` over a number of logouts.

use std::sync::Arc;
use std::time::Duration;

use auth_core::SessionStore;
use auth_core::conformance::revocation::propagation_times;
use auth_redis::{RedisConfig, RedisSessionStore};
use auth_sqlx::{DbConfig, PgSessionStore, SqliteSessionStore, migrate_postgres, migrate_sqlite};

use crate::BoxError;
use crate::options::Options;
use crate::server::{Scratch, Stores};

/// Logouts timed per store.
pub(crate) const LOGOUTS: usize = 1_000;

/// The times of one store, sorted.
#[derive(Debug, Clone)]
pub(crate) struct Times {
    pub(crate) logouts: usize,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
}

/// One row of the propagation table.
#[derive(Debug, Clone)]
pub(crate) struct Propagation {
    /// The store and how its revocations travel.
    pub(crate) store: &'static str,
    pub(crate) outcome: Result<Times, String>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Redis,
    Postgres,
    Sqlite,
}

/// Times [`LOGOUTS`] logouts over Redis, Postgres and SQLite, each between two instances.
pub(crate) fn run(options: &Options) -> Vec<Propagation> {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            return vec![Propagation {
                store: "all",
                outcome: Err(format!("no runtime: {err}")),
            }];
        }
    };
    [
        (Kind::Redis, "Redis (pub/sub)"),
        (Kind::Postgres, "Postgres (LISTEN/NOTIFY)"),
        (Kind::Sqlite, "SQLite (log table polled every 20 ms)"),
    ]
    .into_iter()
    .map(|(kind, store)| {
        eprintln!("bench: logout propagation, {store} ...");
        let outcome = runtime
            .block_on(measure(kind, options))
            .map_err(|err| err.to_string());
        if let Err(err) = &outcome {
            eprintln!("bench: logout propagation over {store} failed: {err}");
        }
        Propagation { store, outcome }
    })
    .collect()
}

async fn measure(kind: Kind, options: &Options) -> Result<Times, BoxError> {
    let stores = Stores {
        redis_url: options.redis_url.clone(),
        database_url: options.database_url.clone(),
        prefix: format!("bench_propagation_{}", std::process::id()),
    };
    let scratch = Scratch::new(&stores)?;
    let result = async {
        let (fed, other) = instances(kind, &stores, &scratch).await?;
        // The conformance function panics on a failure: run it as a task, so that a panic
        // is this row's error instead of the harness's end.
        tokio::spawn(propagation_times(fed, other, LOGOUTS))
            .await
            .map_err(|err| BoxError::from(format!("the measurement failed: {err}")))
    }
    .await;
    scratch.clean().await;
    let times = result?;
    if times.is_empty() {
        return Err("no logout timed".into());
    }
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Ok(Times {
        logouts: times.len(),
        p50: at(0.50),
        p99: at(0.99),
        max: times[times.len() - 1],
    })
}

/// Two instances of one store: the first feeds the measured cache, logouts go to the other.
async fn instances(
    kind: Kind,
    stores: &Stores,
    scratch: &Scratch,
) -> Result<(Arc<dyn SessionStore>, Arc<dyn SessionStore>), BoxError> {
    match kind {
        Kind::Redis => {
            let connect = || async {
                RedisConfig::from_url(&stores.redis_url)?
                    .with_key_prefix(&stores.prefix)?
                    .connect()
                    .await
                    .map_err(|err| {
                        BoxError::from(format!("cannot reach Redis at {}: {err}", stores.redis_url))
                    })
            };
            Ok((
                Arc::new(RedisSessionStore::new(connect().await?)),
                Arc::new(RedisSessionStore::new(connect().await?)),
            ))
        }
        Kind::Postgres => {
            let url = scratch.schema_url().await?;
            let pool = || async {
                let pool = DbConfig::new(url.clone())
                    .with_max_connections(5)
                    .connect_postgres()
                    .await?;
                migrate_postgres(&pool).await?;
                Ok::<_, BoxError>(pool)
            };
            Ok((
                Arc::new(PgSessionStore::new(pool().await?)),
                Arc::new(PgSessionStore::new(pool().await?)),
            ))
        }
        Kind::Sqlite => {
            let url = format!(
                "sqlite://{}?mode=rwc",
                scratch.dir()?.join("sessions.db").display()
            );
            let pool = || async {
                let pool = DbConfig::new(url.clone()).connect_sqlite().await?;
                migrate_sqlite(&pool).await?;
                Ok::<_, BoxError>(pool)
            };
            Ok((
                Arc::new(SqliteSessionStore::new(pool().await?)),
                Arc::new(SqliteSessionStore::new(pool().await?)),
            ))
        }
    }
}
