//! [`spawn_sweeper`] and [`spawn_audit_pruner`]: background tasks that delete expired
//! sessions and old audit events.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use auth_core::{AuditLog, Clock, SessionStore};
use tokio::task::JoinHandle;

use crate::error::Error;

/// Spawns a task on the current Tokio runtime that calls
/// [`SessionStore::sweep_expired`] every `period` (the first time at once), so that expired
/// sessions do not pile up in the table. Expired sessions are invisible to every store method
/// from the moment they expire; the sweep only frees their rows.
///
/// A failed sweep (the database is down) is logged with `tracing` and tried again at the
/// next period. The task runs until the runtime shuts down or the returned handle is
/// aborted. With several instances, each may run a sweeper: the sweeps are idempotent.
///
/// ```no_run
/// # #[cfg(feature = "sqlite")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_sqlx::Error> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use auth_core::SystemClock;
/// use auth_sqlx::{DbConfig, SqliteSessionStore, migrate_sqlite, spawn_sweeper};
///
/// let pool = DbConfig::new("sqlite://auth.db").connect_sqlite().await?;
/// migrate_sqlite(&pool).await?;
/// let sessions = Arc::new(SqliteSessionStore::new(pool));
/// let sweeper = spawn_sweeper(sessions.clone(), Arc::new(SystemClock), Duration::from_secs(3600))?;
/// # sweeper.abort();
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "sqlite"))]
/// # fn main() {}
/// ```
///
/// # Errors
/// [`Error::Config`] when called outside a Tokio runtime.
pub fn spawn_sweeper<S>(
    sessions: Arc<S>,
    clock: Arc<dyn Clock>,
    period: Duration,
) -> Result<JoinHandle<()>, Error>
where
    S: SessionStore + ?Sized,
{
    every(period, "spawn_sweeper", move || {
        let sessions = Arc::clone(&sessions);
        let now = clock.now();
        async move {
            match sessions.sweep_expired(now).await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(deleted, "swept expired sessions"),
                Err(err) => tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "sweeping expired sessions failed"
                ),
            }
        }
    })
}

/// Spawns a task on the current Tokio runtime that calls [`AuditLog::prune`] every
/// `period` (the first time at once), deleting the events older than `retention` by
/// `clock` (usually [`ManagerConfig::audit_retention`](auth_core::ManagerConfig::audit_retention)).
///
/// A failed prune is logged with `tracing` and tried again at the next period. The task runs
/// until the runtime shuts down or the returned handle is aborted. With several instances,
/// each may run one: pruning is idempotent.
///
/// ```no_run
/// # #[cfg(feature = "sqlite")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_sqlx::Error> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use auth_core::SystemClock;
/// use auth_sqlx::{DbConfig, SqliteAuditLog, migrate_sqlite, spawn_audit_pruner};
///
/// let pool = DbConfig::new("sqlite://auth.db").connect_sqlite().await?;
/// migrate_sqlite(&pool).await?;
/// let log = Arc::new(SqliteAuditLog::new(pool));
/// let pruner = spawn_audit_pruner(
///     log,
///     Arc::new(SystemClock),
///     time::Duration::days(90),
///     Duration::from_secs(3600),
/// )?;
/// # pruner.abort();
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "sqlite"))]
/// # fn main() {}
/// ```
///
/// # Errors
/// [`Error::Config`] when called outside a Tokio runtime.
pub fn spawn_audit_pruner<A>(
    log: Arc<A>,
    clock: Arc<dyn Clock>,
    retention: time::Duration,
    period: Duration,
) -> Result<JoinHandle<()>, Error>
where
    A: AuditLog + ?Sized,
{
    every(period, "spawn_audit_pruner", move || {
        let log = Arc::clone(&log);
        let older_than = clock.now() - retention;
        async move {
            match log.prune(older_than).await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(deleted, "pruned old audit events"),
                Err(err) => tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "pruning old audit events failed"
                ),
            }
        }
    })
}

/// Spawns `job` every `period` on the current runtime, the first time at once; after a
/// stall (a slow job, a suspended machine) one run catches up for all.
fn every<F, Fut>(period: Duration, caller: &str, mut job: F) -> Result<JoinHandle<()>, Error>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        Error::Config(format!(
            "{caller} must be called from within a Tokio runtime"
        ))
    })?;
    Ok(runtime.spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            job().await;
        }
    }))
}
