//! [`Sql`]: one statement with its parameters, run against a pool of any [`Dialect`], every
//! failure mapped to a [`StoreError`] on the way out.

use auth_core::StoreError;
use sqlx::error::BoxDynError;
use sqlx::{Arguments as _, Database, Pool, Transaction};
use time::OffsetDateTime;

use crate::dialect::{Binds, Dialect, Param};
use crate::error::store_error;

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
        self.query()?
            .fetch_optional(DB::executor(pool))
            .await
            .map_err(store_error::<DB>)
    }

    /// Runs the statement; every row it returned.
    pub(crate) async fn fetch_all(self, pool: &Pool<DB>) -> Result<Vec<DB::Row>, StoreError> {
        self.query()?
            .fetch_all(DB::executor(pool))
            .await
            .map_err(store_error::<DB>)
    }

    /// Runs the statement; how many rows it changed.
    pub(crate) async fn execute(self, pool: &Pool<DB>) -> Result<u64, StoreError> {
        let result = self
            .query()?
            .execute(DB::executor(pool))
            .await
            .map_err(store_error::<DB>)?;
        Ok(DB::rows_affected(&result))
    }

    /// Runs the statement inside `tx`; the row it returned, if any.
    pub(crate) async fn fetch_optional_in(
        self,
        tx: &mut Tx<DB>,
    ) -> Result<Option<DB::Row>, StoreError> {
        self.query()?
            .fetch_optional(DB::connection(&mut tx.0))
            .await
            .map_err(store_error::<DB>)
    }

    /// Runs the statement inside `tx`; every row it returned.
    pub(crate) async fn fetch_all_in(self, tx: &mut Tx<DB>) -> Result<Vec<DB::Row>, StoreError> {
        self.query()?
            .fetch_all(DB::connection(&mut tx.0))
            .await
            .map_err(store_error::<DB>)
    }

    /// Runs the statement inside `tx`; how many rows it changed.
    pub(crate) async fn execute_in(self, tx: &mut Tx<DB>) -> Result<u64, StoreError> {
        let result = self
            .query()?
            .execute(DB::connection(&mut tx.0))
            .await
            .map_err(store_error::<DB>)?;
        Ok(DB::rows_affected(&result))
    }
}

/// A transaction that reads, then writes, opened with [`Dialect::BEGIN_WRITE`]. Dropped
/// without [`Tx::commit`] (an early return, an error, a cancelled future), it rolls back.
pub(crate) struct Tx<DB: Dialect>(Transaction<'static, DB>);

impl<DB: Dialect> Tx<DB> {
    /// Takes a connection from `pool` and begins.
    pub(crate) async fn begin(pool: &Pool<DB>) -> Result<Self, StoreError> {
        pool.begin_with(DB::BEGIN_WRITE)
            .await
            .map(Self)
            .map_err(store_error::<DB>)
    }

    /// Commits everything the transaction did.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await.map_err(store_error::<DB>)
    }

    /// Undoes everything the transaction did, and releases its locks now rather than when the
    /// connection is next used.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        self.0.rollback().await.map_err(store_error::<DB>)
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
