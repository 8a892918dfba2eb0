//! [`Sql`]: one statement with its parameters, run against a pool of any [`Dialect`], every
//! failure mapped to a [`StoreError`] on the way out.

use std::future::Future;
use std::time::Duration;

use auth_core::StoreError;
use sqlx::error::BoxDynError;
use sqlx::{Arguments as _, Database, Pool, Transaction};
use time::OffsetDateTime;

use crate::dialect::{Binds, Dialect, Param};
use crate::error::{NoAnswer, store_error};

/// How long one call to a database across a network may take, taking a connection
/// included: the pool's acquire timeout. `None` for SQLite, whose waits are bounded by its
/// busy timeout.
pub(crate) fn call_limit<DB: Dialect>(pool: &Pool<DB>) -> Option<Duration> {
    DB::REMOTE.then(|| pool.options().get_acquire_timeout())
}

/// Runs `call` within `limit`. A statement that runs out of time is abandoned, and its
/// connection closed when handed back (see `DbConfig::remote_pool_options`), so a
/// connection that went silent costs one call its time limit, not a request that never ends.
pub(crate) async fn bounded<T>(
    limit: Option<Duration>,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let Some(limit) = limit else {
        return call.await;
    };
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_elapsed| Err(StoreError::unavailable(NoAnswer(limit))))
}

/// A statement and its parameters. Binding never fails on the spot: the first encoding error
/// is kept and returned when the statement runs, as sqlx's own `bind` does.
pub(crate) struct Sql<DB: Dialect> {
    text: &'static str,
    arguments: Result<<DB as Database>::Arguments, BoxDynError>,
}

impl<DB: Dialect> Sql<DB> {
    /// A statement with no parameters bound yet.
    pub(crate) fn new(text: &'static str) -> Self {
        Self {
            text,
            arguments: Ok(Default::default()),
        }
    }

    /// Binds the next parameter (`$1`, `$2`, ... in order).
    pub(crate) fn bind(mut self, param: impl Into<Param>) -> Self {
        if let Ok(arguments) = &mut self.arguments
            && let Err(err) = arguments.push(param.into())
        {
            self.arguments = Err(err);
        }
        self
    }

    /// Binds a timestamp, in the dialect's representation.
    pub(crate) fn bind_time(mut self, time: OffsetDateTime) -> Self {
        if let Ok(arguments) = &mut self.arguments
            && let Err(err) = DB::encode_time(time).and_then(|stored| arguments.add(stored))
        {
            self.arguments = Err(err);
        }
        self
    }

    /// Binds an optional timestamp: NULL for `None`, else as [`Sql::bind_time`].
    pub(crate) fn bind_opt_time(mut self, time: Option<OffsetDateTime>) -> Self {
        if let Ok(arguments) = &mut self.arguments
            && let Err(err) = DB::add_opt_time(arguments, time)
        {
            self.arguments = Err(err);
        }
        self
    }

    fn query(self) -> Result<sqlx::query::Query<'static, DB, DB::Arguments>, StoreError> {
        let arguments = self
            .arguments
            .map_err(|err| store_error::<DB>(sqlx::Error::Encode(err)))?;
        Ok(sqlx::query_with(self.text, arguments))
    }

    /// Runs the statement; the row it returned, if any.
    pub(crate) async fn fetch_optional(
        self,
        pool: &Pool<DB>,
    ) -> Result<Option<DB::Row>, StoreError> {
        let query = self.query()?;
        bounded(call_limit(pool), async {
            query
                .fetch_optional(DB::executor(pool))
                .await
                .map_err(store_error::<DB>)
        })
        .await
    }

    /// Runs the statement; every row it returned.
    pub(crate) async fn fetch_all(self, pool: &Pool<DB>) -> Result<Vec<DB::Row>, StoreError> {
        let query = self.query()?;
        bounded(call_limit(pool), async {
            query
                .fetch_all(DB::executor(pool))
                .await
                .map_err(store_error::<DB>)
        })
        .await
    }

    /// Runs the statement; how many rows it changed.
    pub(crate) async fn execute(self, pool: &Pool<DB>) -> Result<u64, StoreError> {
        let query = self.query()?;
        bounded(call_limit(pool), async {
            let result = query
                .execute(DB::executor(pool))
                .await
                .map_err(store_error::<DB>)?;
            Ok(DB::rows_affected(&result))
        })
        .await
    }

    /// Runs the statement inside `tx`; the row it returned, if any.
    pub(crate) async fn fetch_optional_in(
        self,
        tx: &mut Tx<DB>,
    ) -> Result<Option<DB::Row>, StoreError> {
        let query = self.query()?;
        bounded(tx.limit, async {
            query
                .fetch_optional(DB::connection(&mut tx.tx))
                .await
                .map_err(store_error::<DB>)
        })
        .await
    }

    /// Runs the statement inside `tx`; every row it returned.
    pub(crate) async fn fetch_all_in(self, tx: &mut Tx<DB>) -> Result<Vec<DB::Row>, StoreError> {
        let query = self.query()?;
        bounded(tx.limit, async {
            query
                .fetch_all(DB::connection(&mut tx.tx))
                .await
                .map_err(store_error::<DB>)
        })
        .await
    }

    /// Runs the statement inside `tx`; how many rows it changed.
    pub(crate) async fn execute_in(self, tx: &mut Tx<DB>) -> Result<u64, StoreError> {
        let query = self.query()?;
        bounded(tx.limit, async {
            let result = query
                .execute(DB::connection(&mut tx.tx))
                .await
                .map_err(store_error::<DB>)?;
            Ok(DB::rows_affected(&result))
        })
        .await
    }
}

/// A transaction that reads, then writes, opened with [`Dialect::BEGIN_WRITE`]. Dropped
/// without [`Tx::commit`] (an early return, an error, a cancelled future), it rolls back.
/// Each of its statements, and its beginning and end, has the time limit of a call.
pub(crate) struct Tx<DB: Dialect> {
    tx: Transaction<'static, DB>,
    limit: Option<Duration>,
}

impl<DB: Dialect> Tx<DB> {
    /// Takes a connection from `pool` and begins.
    pub(crate) async fn begin(pool: &Pool<DB>) -> Result<Self, StoreError> {
        let limit = call_limit(pool);
        let tx = bounded(limit, async {
            pool.begin_with(DB::BEGIN_WRITE)
                .await
                .map_err(store_error::<DB>)
        })
        .await?;
        Ok(Self { tx, limit })
    }

    /// Commits everything the transaction did.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        let Self { tx, limit } = self;
        bounded(limit, async {
            tx.commit().await.map_err(store_error::<DB>)
        })
        .await
    }

    /// Undoes everything the transaction did, and releases its locks now rather than when the
    /// connection is next used.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        let Self { tx, limit } = self;
        bounded(limit, async {
            tx.rollback().await.map_err(store_error::<DB>)
        })
        .await
    }
}

macro_rules! param_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for Param {
            fn from(value: $ty) -> Self {
                Self::$variant(value)
            }
        })*
    };
}

param_from!(
    uuid::Uuid => Uuid,
    Option<uuid::Uuid> => OptUuid,
    String => Text,
    Option<String> => OptText,
    bool => Bool,
    Option<bool> => OptBool,
    i64 => Int,
    Vec<u8> => Bytes,
    Option<Vec<u8>> => OptBytes,
    serde_json::Value => Json,
);
