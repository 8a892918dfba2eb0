//! [`spawn_sweeper`]: a background task that deletes expired sessions.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{Clock, SessionStore};
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
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        Error::Config("spawn_sweeper must be called from within a Tokio runtime".to_owned())
    })?;
    Ok(runtime.spawn(async move {
        let mut ticks = tokio::time::interval(period);
        // After a stall (a slow sweep, a suspended machine) one sweep catches up for all.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sessions.sweep_expired(clock.now()).await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(deleted, "swept expired sessions"),
                Err(err) => tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "sweeping expired sessions failed"
                ),
            }
        }
    }))
}
