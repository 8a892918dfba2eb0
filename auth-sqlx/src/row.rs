//! Users, sessions, provider accounts and second factors to and from rows: one place for every database, so that a field is
//! stored and read back the same way everywhere.

use std::net::IpAddr;

use auth_core::{
    AuditEvent, Email, OAuthAccount, PasskeyRecord, PasswordHash, Profile, Roles, SealedToken,
    Session, SessionId, StoreError, TokenHash, TotpFactor, User, UserId, Username,
};
use serde_json::Value as JsonValue;
use time::OffsetDateTime;

use crate::dialect::{Columns, Dialect};
use crate::error::corrupt;
use crate::query::Sql;

/// The user columns that [`read_user`] reads, for `concat!` into a statement.
macro_rules! user_columns {
    () => {
        "id, email, username, password_hash, is_active, is_superuser, is_verified, roles, \
         profile, created_at, updated_at, version"
    };
}
pub(crate) use user_columns;

/// The session columns, in the order [`bind_session`] binds them and [`read_session`] reads
/// them, for `concat!` into a statement.
macro_rules! session_columns {
    () => {
        "id, user_id, refresh_hash, access_hash, created_at, last_used_at, idle_expires_at, \
         expires_at, user_agent, ip"
    };
}
pub(crate) use session_columns;

/// The provider-account columns, in the order [`bind_oauth_account`] binds them and
/// [`read_oauth_account`] reads them, for `concat!` into a statement.
macro_rules! oauth_account_columns {
    () => {
        "user_id, provider, account_id, account_email, access_token, refresh_token, \
         expires_at, created_at, updated_at"
    };
}
pub(crate) use oauth_account_columns;

/// The audit event columns, in the order [`bind_audit_event`] binds them and
/// [`read_audit_event`] reads them, for `concat!` into a statement.
macro_rules! audit_columns {
    () => {
        "id, user_id, at, kind, method, detail, session_id, ip, user_agent"
    };
}
pub(crate) use audit_columns;

/// The TOTP factor columns that [`read_totp`] reads, for `concat!` into a statement.
macro_rules! totp_columns {
    () => {
        "secret, confirmed, last_step, created_at"
    };
}
pub(crate) use totp_columns;

/// The passkey columns, in the order [`bind_passkey`] binds them and [`read_passkey`] reads
/// them, for `concat!` into a statement.
macro_rules! passkey_columns {
    () => {
        "id, user_id, name, credential_id, credential, created_at, last_used_at"
    };
}
pub(crate) use passkey_columns;

/// Binds the twelve fields of a user row that follow its id, in the order of the statements
/// "user fields" ([`crate::sql::Statements`]): email, email_key, username, username_key,
/// password_hash, is_active, is_superuser, is_verified, roles, profile, created_at,
/// updated_at.
pub(crate) fn bind_user_fields<DB: Dialect, P: Profile>(
    sql: Sql<DB>,
    user: &User<P>,
) -> Result<Sql<DB>, StoreError> {
    let roles = serde_json::to_value(&user.roles).map_err(StoreError::backend)?;
    let profile = serde_json::to_value(&user.profile).map_err(StoreError::backend)?;
    Ok(sql
        .bind(user.email.as_str().to_owned())
        .bind(user.email.key())
        .bind(user.username.as_ref().map(|name| name.as_str().to_owned()))
        .bind(user.username.as_ref().map(Username::key))
        .bind(user.password_hash.as_str().to_owned())
        .bind(user.is_active)
        .bind(user.is_superuser)
        .bind(user.is_verified)
        .bind(roles)
        .bind(profile)
        .bind_time(user.created_at)
        .bind_time(user.updated_at))
}

/// A user from a row of [`user_columns!`]. A row that does not decode (a malformed address,
/// a profile of the wrong shape) is [`StoreError::Backend`]: corrupt data, not a missing user.
pub(crate) fn read_user<DB: Dialect, P: Profile>(row: &DB::Row) -> Result<User<P>, StoreError> {
    let column = |err: sqlx::Error| StoreError::backend(err);
    let email = row.text("email").map_err(column)?;
    let username = row.opt_text("username").map_err(column)?;
    let roles: JsonValue = row.json("roles").map_err(column)?;
    let profile: JsonValue = row.json("profile").map_err(column)?;
    Ok(User {
        id: UserId::from_uuid(row.uuid("id").map_err(column)?),
        email: Email::parse(&email).map_err(|err| corrupt("email", err))?,
        username: username
            .map(|name| Username::parse(&name))
            .transpose()
            .map_err(|err| corrupt("username", err))?,
        password_hash: PasswordHash::new(row.text("password_hash").map_err(column)?),
        is_active: row.flag("is_active").map_err(column)?,
        is_superuser: row.flag("is_superuser").map_err(column)?,
        is_verified: row.flag("is_verified").map_err(column)?,
        roles: serde_json::from_value::<Roles>(roles).map_err(|err| corrupt("roles", err))?,
        created_at: read_time::<DB>(row, "created_at")?,
        updated_at: read_time::<DB>(row, "updated_at")?,
        profile: serde_json::from_value::<P>(profile).map_err(|err| corrupt("profile", err))?,
        version: u64::try_from(row.int("version").map_err(column)?)
            .map_err(|err| corrupt("version", err))?,
    })
}

/// A user's version as the databases keep it (a signed 64-bit integer). No stored version is
/// negative, so a version beyond the signed range, which no row can hold, becomes -1, which
/// no row holds either: an `UPDATE` over it changes nothing, and inserting it is refused.
pub(crate) fn stored_version(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(-1)
}

/// Binds the ten values of a session row, in the order of [`session_columns!`].
pub(crate) fn bind_session<DB: Dialect>(sql: Sql<DB>, session: &Session) -> Sql<DB> {
    sql.bind(*session.id.as_uuid())
        .bind(*session.user_id.as_uuid())
        .bind(session.refresh_hash.as_bytes().to_vec())
        .bind(session.access_hash.map(|hash| hash.as_bytes().to_vec()))
        .bind_time(session.created_at)
        .bind_time(session.last_used_at)
        .bind_time(session.idle_expires_at)
        .bind_time(session.expires_at)
        .bind(session.user_agent.clone())
        .bind(session.ip.map(|ip| ip.to_string()))
}

/// A session from a row of [`session_columns!`].
pub(crate) fn read_session<DB: Dialect>(row: &DB::Row) -> Result<Session, StoreError> {
    let column = |err: sqlx::Error| StoreError::backend(err);
    let access_hash = row.opt_bytes("access_hash").map_err(column)?;
    let ip = row.opt_text("ip").map_err(column)?;
    Ok(Session {
        id: SessionId::from_uuid(row.uuid("id").map_err(column)?),
        user_id: UserId::from_uuid(row.uuid("user_id").map_err(column)?),
        refresh_hash: token_hash("refresh_hash", row.bytes("refresh_hash").map_err(column)?)?,
        access_hash: access_hash
            .map(|bytes| token_hash("access_hash", bytes))
            .transpose()?,
        created_at: read_time::<DB>(row, "created_at")?,
        last_used_at: read_time::<DB>(row, "last_used_at")?,
        idle_expires_at: read_time::<DB>(row, "idle_expires_at")?,
        expires_at: read_time::<DB>(row, "expires_at")?,
        user_agent: row.opt_text("user_agent").map_err(column)?,
        ip: ip
            .map(|ip| ip.parse::<IpAddr>())
            .transpose()
            .map_err(|err| corrupt("ip", err))?,
    })
}

/// Binds the nine values of an audit event, in the order of [`audit_columns!`].
pub(crate) fn bind_audit_event<DB: Dialect>(sql: Sql<DB>, event: &AuditEvent) -> Sql<DB> {
    sql.bind(event.id())
        .bind(*event.user_id().as_uuid())
        .bind_time(event.at())
        .bind(event.kind().to_owned())
        .bind(event.method().map(str::to_owned))
        .bind(event.detail().map(str::to_owned))
        .bind(event.session_id().map(|id| *id.as_uuid()))
        .bind(event.ip().map(|ip| ip.to_string()))
        .bind(event.user_agent().map(str::to_owned))
}

/// An audit event from a row of [`audit_columns!`].
pub(crate) fn read_audit_event<DB: Dialect>(row: &DB::Row) -> Result<AuditEvent, StoreError> {
    let column = |err: sqlx::Error| StoreError::backend(err);
    let ip = row
        .opt_text("ip")
        .map_err(column)?
        .map(|ip| ip.parse::<IpAddr>())
        .transpose()
        .map_err(|err| corrupt("ip", err))?;
    let session_id = row.opt_uuid("session_id").map_err(column)?;
    Ok(AuditEvent::new(
        UserId::from_uuid(row.uuid("user_id").map_err(column)?),
        &row.text("kind").map_err(column)?,
        read_time::<DB>(row, "at")?,
    )
    .with_id(row.uuid("id").map_err(column)?)
    .with_method(row.opt_text("method").map_err(column)?.as_deref())
    .with_detail(row.opt_text("detail").map_err(column)?.as_deref())
    .with_session(session_id.map(SessionId::from_uuid))
    .with_client(ip, row.opt_text("user_agent").map_err(column)?.as_deref()))
}

/// Binds the nine values of a link of `user_id` to `account`'s provider account, in the
/// order of [`oauth_account_columns!`] (`account.user_id` is not read: the caller says whose
/// link it is).
pub(crate) fn bind_oauth_account<DB: Dialect>(
    sql: Sql<DB>,
    user_id: UserId,
    account: &OAuthAccount,
) -> Sql<DB> {
    sql.bind(*user_id.as_uuid())
        .bind(account.provider.clone())
        .bind(account.account_id.clone())
        .bind(account.account_email.clone())
        .bind(sealed_bytes(account.access_token.as_ref()))
        .bind(sealed_bytes(account.refresh_token.as_ref()))
        .bind_opt_time(account.expires_at)
        .bind_time(account.created_at)
        .bind_time(account.updated_at)
}

/// A sealed token as the bytes a column keeps.
pub(crate) fn sealed_bytes(token: Option<&SealedToken>) -> Option<Vec<u8>> {
    token.map(|token| token.as_bytes().to_vec())
}

/// A link from a row of [`oauth_account_columns!`].
pub(crate) fn read_oauth_account<DB: Dialect>(row: &DB::Row) -> Result<OAuthAccount, StoreError> {
    let column = |err: sqlx::Error| StoreError::backend(err);
    Ok(OAuthAccount {
        user_id: UserId::from_uuid(row.uuid("user_id").map_err(column)?),
        provider: row.text("provider").map_err(column)?,
        account_id: row.text("account_id").map_err(column)?,
        account_email: row.opt_text("account_email").map_err(column)?,
        access_token: row
            .opt_bytes("access_token")
            .map_err(column)?
            .map(SealedToken::from_bytes),
        refresh_token: row
            .opt_bytes("refresh_token")
            .map_err(column)?
            .map(SealedToken::from_bytes),
        expires_at: read_opt_time::<DB>(row, "expires_at")?,
        created_at: read_time::<DB>(row, "created_at")?,
        updated_at: read_time::<DB>(row, "updated_at")?,
    })
}

/// A TOTP factor from a row of [`totp_columns!`].
pub(crate) fn read_totp<DB: Dialect>(row: &DB::Row) -> Result<TotpFactor, StoreError> {
    let column = |err: sqlx::Error| StoreError::backend(err);
    Ok(TotpFactor {
        secret: SealedToken::from_bytes(row.bytes("secret").map_err(column)?),
        confirmed: row.flag("confirmed").map_err(column)?,
        last_step: row.opt_int("last_step").map_err(column)?,
        created_at: read_time::<DB>(row, "created_at")?,
    })
}

/// Binds the seven values of a passkey row, in the order of [`passkey_columns!`].
pub(crate) fn bind_passkey<DB: Dialect>(sql: Sql<DB>, passkey: &PasskeyRecord) -> Sql<DB> {
    sql.bind(passkey.id)
        .bind(*passkey.user_id.as_uuid())
        .bind(passkey.name.clone())
        .bind(passkey.credential_id.clone())
        .bind(passkey.credential.clone())
        .bind_time(passkey.created_at)
        .bind_opt_time(passkey.last_used_at)
}

/// A passkey from a row of [`passkey_columns!`].
pub(crate) fn read_passkey<DB: Dialect>(row: &DB::Row) -> Result<PasskeyRecord, StoreError> {
    let column = |err: sqlx::Error| StoreError::backend(err);
    Ok(PasskeyRecord {
        id: row.uuid("id").map_err(column)?,
        user_id: UserId::from_uuid(row.uuid("user_id").map_err(column)?),
        name: row.text("name").map_err(column)?,
        credential_id: row.bytes("credential_id").map_err(column)?,
        credential: row.text("credential").map_err(column)?,
        created_at: read_time::<DB>(row, "created_at")?,
        last_used_at: read_opt_time::<DB>(row, "last_used_at")?,
    })
}

fn read_opt_time<DB: Dialect>(
    row: &DB::Row,
    column: &'static str,
) -> Result<Option<OffsetDateTime>, StoreError> {
    row.other::<Option<DB::Time>>(column)
        .map_err(StoreError::backend)?
        .map(|stored| DB::decode_time(stored).map_err(|err| corrupt(column, err)))
        .transpose()
}

fn read_time<DB: Dialect>(
    row: &DB::Row,
    column: &'static str,
) -> Result<OffsetDateTime, StoreError> {
    let stored = row.other::<DB::Time>(column).map_err(StoreError::backend)?;
    DB::decode_time(stored).map_err(|err| corrupt(column, err))
}

fn token_hash(column: &'static str, bytes: Vec<u8>) -> Result<TokenHash, StoreError> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|bytes: Vec<u8>| corrupt(column, format!("{} bytes, not 32", bytes.len())))?;
    Ok(TokenHash::from_bytes(bytes))
}
