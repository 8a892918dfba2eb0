//! [`SqlAuditLog`]: users' audit trails in Postgres, SQLite or MySQL.

use std::fmt;

use async_trait::async_trait;
use auth_core::{AuditEvent, AuditLog, AuditQuery, Page, StoreError, UserId};
use sqlx::Pool;
use time::OffsetDateTime;

use crate::dialect::{Columns, Dialect};
use crate::query::Sql;
use crate::row::{bind_audit_event, read_audit_event};

/// An [`AuditLog`] in a SQL database: [`PgAuditLog`](crate::PgAuditLog),
/// [`SqliteAuditLog`](crate::SqliteAuditLog) or [`MySqlAuditLog`](crate::MySqlAuditLog), in
/// the table `auth_audit_events`, usually over the user store's pool.
///
/// - One `INSERT` per event; a user's trail is read newest first through an index on
///   `(user_id, at, id)`, with the user's count as the page's total.
/// - [`AuditLog::prune`] is one `DELETE` over an index on `at`; run it from a timer
///   ([`spawn_audit_pruner`](crate::spawn_audit_pruner)).
/// - No foreign key to `auth_users`: a deleted user's trail stays until it is pruned.
///
/// The table must exist: run the crate's migrations first (see the crate docs).
pub struct SqlAuditLog<DB: Dialect> {
    pool: Pool<DB>,
}

impl<DB: Dialect> SqlAuditLog<DB> {
    /// A log over `pool`. Cheap: the pool is shared, not copied.
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

impl<DB: Dialect> Clone for SqlAuditLog<DB> {
    fn clone(&self) -> Self {
        Self::new(self.pool.clone())
    }
}

impl<DB: Dialect> fmt::Debug for SqlAuditLog<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlAuditLog")
            .field("database", &<DB as sqlx::Database>::NAME)
            .finish()
    }
}

#[async_trait]
impl<DB: Dialect> AuditLog for SqlAuditLog<DB> {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        bind_audit_event(Sql::<DB>::new(DB::SQL.audit_insert), event)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    async fn list(
        &self,
        user_id: UserId,
        query: &AuditQuery,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let total = Sql::<DB>::new(DB::SQL.audit_count)
            .bind(*user_id.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.int("total"))
            .transpose()
            .map_err(StoreError::backend)?
            .unwrap_or(0);
        let rows = Sql::<DB>::new(DB::SQL.audit_list)
            .bind(*user_id.as_uuid())
            .bind(i64::from(query.limit))
            .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        let items = rows
            .iter()
            .map(read_audit_event::<DB>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn prune(&self, older_than: OffsetDateTime) -> Result<u64, StoreError> {
        Sql::<DB>::new(DB::SQL.audit_prune)
            .bind_time(older_than)
            .execute(&self.pool)
            .await
    }
}
