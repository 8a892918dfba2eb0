//! The statements in Postgres.

use super::{Statements, UserLists};
use crate::row::{
    audit_columns, oauth_account_columns, passkey_columns, session_columns, totp_columns,
    user_columns,
};

/// The `FROM` and `WHERE` of a user listing: `[pattern, roles, is_active, is_verified,
/// is_superuser]`.
macro_rules! user_filter {
    () => {
        " FROM auth_users WHERE email_key LIKE $1 ESCAPE '!' AND roles @> $2 \
            AND is_active = COALESCE($3, is_active) AND is_verified = COALESCE($4, is_verified) \
            AND is_superuser = COALESCE($5, is_superuser)"
    };
}

/// A page of a user listing in the order `$order`: `[filter, limit, offset]`.
macro_rules! user_page {
    ($order:literal) => {
        concat!(
            "SELECT ",
            user_columns!(),
            user_filter!(),
            " ORDER BY ",
            $order,
            " LIMIT $6 OFFSET $7"
        )
    };
}

/// Postgres: `$n` parameters, `LEAST`, and `SELECT ... FOR UPDATE` for the mark's row lock.
/// In read committed, a statement that waited for a row lock re-reads the row as the other
/// transaction committed it, so a compare-and-set loser sees the winner's row and changes
/// nothing.
pub(crate) const STATEMENTS: Statements = Statements {
    user_insert: "INSERT INTO auth_users (id, email, email_key, username, username_key, \
        password_hash, is_active, is_superuser, is_verified, roles, profile, created_at, \
        updated_at, version) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    user_update: "UPDATE auth_users SET email = $1, email_key = $2, username = $3, \
        username_key = $4, password_hash = $5, is_active = $6, is_superuser = $7, \
        is_verified = $8, roles = $9, profile = $10, created_at = $11, updated_at = $12, \
        version = version + 1 WHERE id = $13 AND version = $14",
    user_exists: "SELECT 1 FROM auth_users WHERE id = $1",
    user_by_id: concat!("SELECT ", user_columns!(), " FROM auth_users WHERE id = $1"),
    user_by_email: concat!(
        "SELECT ",
        user_columns!(),
        " FROM auth_users WHERE email_key = $1"
    ),
    user_by_username: concat!(
        "SELECT ",
        user_columns!(),
        " FROM auth_users WHERE username_key = $1"
    ),
    user_delete: "DELETE FROM auth_users WHERE id = $1",
    user_lock: "SELECT id FROM auth_users WHERE id = $1 FOR UPDATE",
    user_count: concat!("SELECT COUNT(*) AS total", user_filter!()),
    user_list: UserLists {
        by_id: user_page!("id"),
        by_created_at: user_page!("created_at, id"),
        by_created_at_desc: user_page!("created_at DESC, id DESC"),
        by_email: user_page!("email_key COLLATE \"C\", id"),
        by_email_desc: user_page!("email_key COLLATE \"C\" DESC, id DESC"),
    },

    session_insert: concat!(
        "INSERT INTO auth_sessions (",
        session_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ),
    session_get: concat!(
        "SELECT ",
        session_columns!(),
        " FROM auth_sessions WHERE id = $1 AND live_until > $2"
    ),
    session_by_id: concat!(
        "SELECT ",
        session_columns!(),
        " FROM auth_sessions WHERE id = $1"
    ),
    session_is_live: "SELECT 1 FROM auth_sessions WHERE id = $1 AND live_until > $2",
    session_rotate: "UPDATE auth_sessions SET refresh_hash = $1, access_hash = $2, \
        last_used_at = $3, idle_expires_at = LEAST($4, expires_at), \
        rotated = substr(rotated, CASE WHEN length(rotated) >= $5 THEN 66 ELSE 1 END) || $6 \
        WHERE id = $7 AND refresh_hash = $8 AND live_until > $9",
    session_reused_owner: "SELECT user_id FROM auth_sessions \
        WHERE id = $1 AND refresh_hash <> $2 AND live_until > $3 AND rotated LIKE $4 \
        FOR UPDATE",
    session_revoke: "DELETE FROM auth_sessions WHERE id = $1",
    session_revoke_all: "DELETE FROM auth_sessions WHERE user_id = $1",
    session_revoke_all_except: "DELETE FROM auth_sessions WHERE user_id = $1 AND id <> $2",
    session_list: concat!(
        "SELECT ",
        session_columns!(),
        " FROM auth_sessions WHERE user_id = $1 AND live_until > $2 ORDER BY created_at, id"
    ),
    session_least_recently_used: "SELECT id FROM auth_sessions \
        WHERE user_id = $1 AND live_until > $2 ORDER BY last_used_at, id",
    session_sweep: "DELETE FROM auth_sessions WHERE live_until <= $1",
    session_count_live: "SELECT COUNT(*) AS total FROM auth_sessions WHERE live_until > $1",

    oauth_insert: concat!(
        "INSERT INTO auth_oauth_accounts (",
        oauth_account_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ),
    oauth_by_key: concat!(
        "SELECT ",
        oauth_account_columns!(),
        " FROM auth_oauth_accounts WHERE provider = $1 AND account_id = $2"
    ),
    // `COLLATE "C"`: byte order, as the other databases and the in-memory store sort,
    // whatever the database's locale.
    oauth_list: concat!(
        "SELECT ",
        oauth_account_columns!(),
        " FROM auth_oauth_accounts WHERE user_id = $1 \
        ORDER BY created_at, provider COLLATE \"C\", account_id COLLATE \"C\""
    ),
    oauth_update: "UPDATE auth_oauth_accounts SET account_email = $1, access_token = $2, \
        refresh_token = $3, expires_at = $4, updated_at = $5 \
        WHERE user_id = $6 AND provider = $7 AND account_id = $8",
    oauth_delete: "DELETE FROM auth_oauth_accounts \
        WHERE user_id = $1 AND provider = $2 AND account_id = $3",
    oauth_count: "SELECT COUNT(*) AS total, \
        COUNT(CASE WHEN provider = $1 AND account_id = $2 THEN 1 END) AS this_one \
        FROM auth_oauth_accounts WHERE user_id = $3",

    totp_get: concat!(
        "SELECT ",
        totp_columns!(),
        " FROM auth_mfa_totp WHERE user_id = $1"
    ),
    totp_repend: "UPDATE auth_mfa_totp SET secret = $1, created_at = $2 \
        WHERE user_id = $3 AND NOT confirmed",
    totp_exists: "SELECT 1 FROM auth_mfa_totp WHERE user_id = $1",
    totp_insert_pending: "INSERT INTO auth_mfa_totp \
        (user_id, secret, confirmed, last_step, created_at) VALUES ($1, $2, FALSE, NULL, $3)",
    totp_confirm: "UPDATE auth_mfa_totp SET confirmed = TRUE, last_step = $1 \
        WHERE user_id = $2 AND secret = $3 AND NOT confirmed",
    totp_use_step: "UPDATE auth_mfa_totp SET last_step = $1 \
        WHERE user_id = $2 AND confirmed AND (last_step IS NULL OR last_step < $3)",
    totp_delete: "DELETE FROM auth_mfa_totp WHERE user_id = $1",
    recovery_delete_all: "DELETE FROM auth_recovery_codes WHERE user_id = $1",
    recovery_insert: "INSERT INTO auth_recovery_codes (user_id, digest) VALUES ($1, $2)",
    recovery_use: "DELETE FROM auth_recovery_codes WHERE user_id = $1 AND digest = $2",
    recovery_count: "SELECT COUNT(*) AS total FROM auth_recovery_codes WHERE user_id = $1",
    passkey_insert: concat!(
        "INSERT INTO auth_passkeys (",
        passkey_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ),
    passkey_list: concat!(
        "SELECT ",
        passkey_columns!(),
        " FROM auth_passkeys WHERE user_id = $1 ORDER BY created_at, id"
    ),
    passkey_by_credential: concat!(
        "SELECT ",
        passkey_columns!(),
        " FROM auth_passkeys WHERE credential_id = $1"
    ),
    passkey_update: "UPDATE auth_passkeys SET credential = $1, last_used_at = $2 \
        WHERE id = $3 AND user_id = $4",
    passkey_delete: "DELETE FROM auth_passkeys WHERE id = $1 AND user_id = $2",
    passkey_delete_all: "DELETE FROM auth_passkeys WHERE user_id = $1",

    audit_insert: concat!(
        "INSERT INTO auth_audit_events (",
        audit_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ),
    audit_count: "SELECT COUNT(*) AS total FROM auth_audit_events WHERE user_id = $1",
    audit_list: concat!(
        "SELECT ",
        audit_columns!(),
        " FROM auth_audit_events WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3"
    ),
    audit_prune: "DELETE FROM auth_audit_events WHERE at < $1",

    mark_get: "SELECT mark FROM auth_session_marks WHERE user_id = $1",
    mark_ensure: "INSERT INTO auth_session_marks (user_id, mark) VALUES ($1, 0) \
        ON CONFLICT (user_id) DO NOTHING",
    mark_lock: "SELECT mark FROM auth_session_marks WHERE user_id = $1 FOR UPDATE",
    mark_move: "INSERT INTO auth_session_marks (user_id, mark) VALUES ($1, 1) \
        ON CONFLICT (user_id) DO UPDATE SET mark = auth_session_marks.mark + 1",
};
