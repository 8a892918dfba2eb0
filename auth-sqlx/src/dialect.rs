//! [`Dialect`]: what differs between Postgres, SQLite and MySQL.
//!
//! The stores are written once, generic over the database. What differs lives here, behind a
//! sealed trait: how each database spells the statements (one file each under
//! [`crate::sql`]), how a timestamp is kept, which errors mean "unreachable", and the plumbing
//! that lets generic code bind parameters and read columns without repeating sqlx's trait
//! bounds at every use.

use auth_core::BoxError;
use serde_json::Value as JsonValue;
use sqlx::error::{BoxDynError, DatabaseError};
use sqlx::types::Json;
use sqlx::{
    Arguments, ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::sql::Statements;

/// A database the stores of this crate run on: [`sqlx::Postgres`] (feature `postgres`),
/// [`sqlx::Sqlite`] (feature `sqlite`) or [`sqlx::MySql`] (feature `mysql`, also MariaDB).
///
/// Sealed: the stores' SQL is only known to be right for these. A store for another database
/// implements the `auth_core` traits directly and proves itself with `auth_core`'s
/// conformance suite.
pub trait Dialect:
    Database<Arguments: IntoArguments<Self> + Binds, Row: Columns> + sealed::Sealed
{
    /// Every statement the stores run, as this database spells them.
    #[doc(hidden)]
    const SQL: &'static Statements;

    /// How a timestamp is kept: `timestamptz` in Postgres; in SQLite and MySQL, integer
    /// microseconds since the Unix epoch (`micros`): SQLite has no time type and compares
    /// text timestamps as strings, which breaks on fractions of varying length, and MySQL's
    /// `TIMESTAMP` ends in 2038 while its `DATETIME` depends on the session's time zone.
    type Time: for<'q> Encode<'q, Self>
        + for<'r> Decode<'r, Self>
        + Type<Self>
        + Send
        + Sync
        + 'static;

    /// A timestamp as the database keeps it, with microsecond precision.
    ///
    /// # Errors
    /// When the time is outside the database's range.
    #[doc(hidden)]
    fn encode_time(time: OffsetDateTime) -> Result<Self::Time, BoxError>;

    /// Adds an optional timestamp to `arguments`: NULL for `None`, else as
    /// [`Dialect::encode_time`] keeps it. (Here rather than generic code, because sqlx
    /// implements `Encode` for `Option<T>` once per database, not for every database.)
    ///
    /// # Errors
    /// When the time is outside the database's range, or the driver cannot encode it.
    #[doc(hidden)]
    fn add_opt_time(
        arguments: &mut <Self as Database>::Arguments,
        time: Option<OffsetDateTime>,
    ) -> Result<(), BoxDynError>;

    /// A stored timestamp back in UTC.
    ///
    /// # Errors
    /// When the stored value is out of range (a corrupt row).
    #[doc(hidden)]
    fn decode_time(stored: Self::Time) -> Result<OffsetDateTime, BoxError>;

    /// Whether a database error means that the database is unreachable, overloaded or going
    /// away, rather than that the statement was wrong.
    #[doc(hidden)]
    fn is_unavailable(err: &dyn DatabaseError) -> bool;

    /// How many rows a statement changed.
    #[doc(hidden)]
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// The pool as an executor (`&Pool<DB>` is one for every database, but saying so
    /// generically takes a higher-ranked bound that every caller would have to repeat).
    #[doc(hidden)]
    fn executor(pool: &Pool<Self>) -> impl Executor<'_, Database = Self>;

    /// A connection (one inside a transaction) as an executor, for the same reason.
    #[doc(hidden)]
    fn connection(conn: &mut Self::Connection) -> impl Executor<'_, Database = Self>;

    /// The statement that opens a transaction that reads, then writes. Postgres and MySQL: a
    /// plain `BEGIN`, the transactions ordering themselves by row locks. SQLite:
    /// `BEGIN IMMEDIATE`, which takes the write lock at once: a deferred transaction that reads
    /// first could not upgrade to writing under WAL once another writer had committed
    /// (`SQLITE_BUSY_SNAPSHOT`, which no busy timeout waits out).
    #[doc(hidden)]
    const BEGIN_WRITE: &'static str;

    /// Whether the database is across a network (Postgres, MySQL), so that a call may wait
    /// for an answer that never comes and needs a time limit of its own; SQLite is a file.
    #[doc(hidden)]
    const REMOTE: bool;

    /// How the sessions table over `pool` announces ended sessions (see the
    /// `revocation_feed` module).
    #[doc(hidden)]
    fn session_announcements(pool: &Pool<Self>) -> auth_core::Revocations;

    /// How the users table over `pool` announces changed users.
    #[doc(hidden)]
    fn user_announcements(pool: &Pool<Self>) -> auth_core::Revocations;
}

/// Timestamps as integer microseconds since the Unix epoch, for the databases that keep them
/// so.
#[cfg_attr(not(any(feature = "sqlite", feature = "mysql")), allow(dead_code))]
pub(crate) mod micros {
    use auth_core::BoxError;
    use time::OffsetDateTime;

    /// `time` in whole microseconds (earlier ones rounded down).
    ///
    /// # Errors
    /// When the time is beyond the range of 64-bit microseconds.
    pub(crate) fn encode(time: OffsetDateTime) -> Result<i64, BoxError> {
        let micros = time.unix_timestamp_nanos().div_euclid(1000);
        Ok(i64::try_from(micros)?)
    }

    /// The time `stored` microseconds after the epoch, in UTC.
    ///
    /// # Errors
    /// When it is out of `time`'s range (a corrupt row).
    pub(crate) fn decode(stored: i64) -> Result<OffsetDateTime, BoxError> {
        Ok(OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(stored) * 1000,
        )?)
    }
}

/// A parameter of one of the few types the stores bind.
#[derive(Debug)]
#[doc(hidden)]
pub enum Param {
    /// An id.
    Uuid(Uuid),
    /// An optional id.
    OptUuid(Option<Uuid>),
    /// Text.
    Text(String),
    /// Optional text.
    OptText(Option<String>),
    /// A flag.
    Bool(bool),
    /// An optional flag (a filter that may be off).
    OptBool(Option<bool>),
    /// A number.
    Int(i64),
    /// Bytes (token digests).
    Bytes(Vec<u8>),
    /// Optional bytes.
    OptBytes(Option<Vec<u8>>),
    /// A JSON document (roles, profile).
    Json(JsonValue),
}

/// Adding a [`Param`] to a database's argument list: implemented once, for every database
/// whose driver encodes those types.
#[allow(unreachable_pub)] // named in `Dialect`'s bounds, so `pub`; sealed, so unreachable
pub trait Binds {
    /// Adds one parameter.
    ///
    /// # Errors
    /// When the driver cannot encode the value.
    fn push(&mut self, param: Param) -> Result<(), BoxDynError>;
}

impl<A> Binds for A
where
    A: Arguments,
    Uuid: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Option<Uuid>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    String: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Option<String>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    bool: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Option<bool>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    i64: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Vec<u8>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Option<Vec<u8>>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
    Json<JsonValue>: for<'q> Encode<'q, A::Database> + Type<A::Database>,
{
    fn push(&mut self, param: Param) -> Result<(), BoxDynError> {
        match param {
            Param::Uuid(value) => self.add(value),
            Param::OptUuid(value) => self.add(value),
            Param::Text(value) => self.add(value),
            Param::OptText(value) => self.add(value),
            Param::Bool(value) => self.add(value),
            Param::OptBool(value) => self.add(value),
            Param::Int(value) => self.add(value),
            Param::Bytes(value) => self.add(value),
            Param::OptBytes(value) => self.add(value),
            Param::Json(value) => self.add(Json(value)),
        }
    }
}

/// Reading columns of the few types the stores keep: implemented once, for every database
/// whose driver decodes those types.
#[allow(unreachable_pub)] // named in `Dialect`'s bounds, so `pub`; sealed, so unreachable
pub trait Columns: Row {
    /// An id column.
    ///
    /// # Errors
    /// When the column is missing or of another type.
    fn uuid(&self, column: &str) -> Result<Uuid, sqlx::Error>;
    /// A nullable id column.
    ///
    /// # Errors
    /// As [`Columns::uuid`].
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, sqlx::Error>;
    /// A text column.
    ///
    /// # Errors
    /// As [`Columns::uuid`].
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    /// A nullable text column.
    ///
    /// # Errors
    /// As [`Columns::uuid`].
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    /// A flag column.
    ///
    /// # Errors
    /// As [`Columns::uuid`].
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
    /// An integer column.
    ///
    /// # Errors
    /// As [`Columns::uuid`].
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    /// A nullable integer column.
    ///
    /// # Errors
    /// As [`Columns::uuid`].
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    /// A bytes column.
    ///
    /// # Errors
    /// As [`Columns::uuid`].
    fn bytes(&self, column: &str) -> Result<Vec<u8>, sqlx::Error>;
    /// A nullable bytes column.
    ///
    /// # Errors
    /// As [`Columns::uuid`].
    fn opt_bytes(&self, column: &str) -> Result<Option<Vec<u8>>, sqlx::Error>;
    /// A JSON column.
    ///
    /// # Errors
    /// As [`Columns::uuid`].
    fn json(&self, column: &str) -> Result<JsonValue, sqlx::Error>;
    /// A column of any other decodable type (the dialect's timestamps).
    ///
    /// # Errors
    /// As [`Columns::uuid`].
    fn other<T>(&self, column: &str) -> Result<T, sqlx::Error>
    where
        T: for<'r> Decode<'r, Self::Database> + Type<Self::Database>;
}

impl<R> Columns for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    Uuid: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    bool: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Json<JsonValue>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn uuid(&self, column: &str) -> Result<Uuid, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, sqlx::Error> {
        self.try_get(column)
    }
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.try_get(column)
    }
    fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(column)
    }
    fn bytes(&self, column: &str) -> Result<Vec<u8>, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_bytes(&self, column: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        self.try_get(column)
    }
    fn json(&self, column: &str) -> Result<JsonValue, sqlx::Error> {
        self.try_get::<Json<JsonValue>, _>(column)
            .map(|json| json.0)
    }
    fn other<T>(&self, column: &str) -> Result<T, sqlx::Error>
    where
        T: for<'r> Decode<'r, Self::Database> + Type<Self::Database>,
    {
        self.try_get(column)
    }
}

pub(crate) mod sealed {
    /// Keeps [`Dialect`](super::Dialect) to the databases of this crate.
    #[allow(unreachable_pub)] // the sealed-trait pattern: public, unreachable on purpose
    pub trait Sealed {}
}
