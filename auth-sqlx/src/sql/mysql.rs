//! The statements in MySQL and MariaDB.

use super::{Statements, UserLists};
use crate::row::{
    audit_columns, oauth_account_columns, passkey_columns, session_columns, totp_columns,
    user_columns,
};

/// The `FROM` and `WHERE` of a user listing: `[pattern, roles, is_active, is_verified,
/// is_superuser]`.
macro_rules! user_filter {
    () => {
        " FROM auth_users WHERE email_key LIKE ? ESCAPE '!' AND JSON_CONTAINS(roles, ?) \
            AND is_active = COALESCE(?, is_active) AND is_verified = COALESCE(?, is_verified) \
            AND is_superuser = COALESCE(?, is_superuser)"
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
            " LIMIT ? OFFSET ?"
        )
    };
}

/// MySQL and MariaDB: `?` parameters, `CONCAT` (`||` is "or" unless the connection sets
/// `PIPES_AS_CONCAT`), `ON DUPLICATE KEY UPDATE` for upserts, and `SELECT ... FOR UPDATE`, a
/// locking read that waits for the lock and then reads the latest committed row whatever
/// the transaction's snapshot. InnoDB's `UPDATE` and `DELETE` also read the latest committed
/// row, so a compare-and-set loser finds the winner's row and changes nothing.
///
/// The text columns of the keys use the `utf8mb4_bin` collation (see the migrations), so
/// `=` and `LIKE` compare exactly, as in the other databases: never case- or
/// accent-insensitively, never ignoring trailing spaces.
pub(crate) const STATEMENTS: Statements = Statements {
    user_insert: "INSERT INTO auth_users (id, email, email_key, username, username_key, \
        password_hash, is_active, is_superuser, is_verified, roles, profile, created_at, \
        updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    // Assignments run left to right in MySQL, each seeing the ones before; none of these
    // reads a column assigned earlier in the list.
    user_update: "UPDATE auth_users SET email = ?, email_key = ?, username = ?, \
        username_key = ?, password_hash = ?, is_active = ?, is_superuser = ?, \
        is_verified = ?, roles = ?, profile = ?, created_at = ?, updated_at = ?, \
        version = version + 1 WHERE id = ? AND version = ?",
    user_exists: "SELECT 1 FROM auth_users WHERE id = ?",
    user_by_id: concat!("SELECT ", user_columns!(), " FROM auth_users WHERE id = ?"),
    user_by_email: concat!(
        "SELECT ",
        user_columns!(),
        " FROM auth_users WHERE email_key = ?"
    ),
    user_by_username: concat!(
        "SELECT ",
        user_columns!(),
        " FROM auth_users WHERE username_key = ?"
    ),
    user_delete: "DELETE FROM auth_users WHERE id = ?",
    user_lock: "SELECT id FROM auth_users WHERE id = ? FOR UPDATE",
    user_count: concat!("SELECT COUNT(*) AS total", user_filter!()),
    user_list: UserLists {
        by_id: user_page!("id"),
        by_created_at: user_page!("created_at, id"),
        by_created_at_desc: user_page!("created_at DESC, id DESC"),
        by_email: user_page!("email_key, id"),
        by_email_desc: user_page!("email_key DESC, id DESC"),
    },

    session_insert: concat!(
        "INSERT INTO auth_sessions (",
        session_columns!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    session_get: concat!(
        "SELECT ",
        session_columns!(),
        " FROM auth_sessions WHERE id = ? AND live_until > ?"
    ),
    session_by_id: concat!(
        "SELECT ",
        session_columns!(),
        " FROM auth_sessions WHERE id = ?"
    ),
    session_is_live: "SELECT 1 FROM auth_sessions WHERE id = ? AND live_until > ?",
    // `idle_expires_at` is assigned before `rotated`, which does not read it; `live_until`
    // follows from the new expiry. The WHERE clause sees the row as it was.
    session_rotate: "UPDATE auth_sessions SET refresh_hash = ?, access_hash = ?, \
        last_used_at = ?, idle_expires_at = LEAST(?, expires_at), \
        rotated = CONCAT(SUBSTRING(rotated, IF(CHAR_LENGTH(rotated) >= ?, 66, 1)), ?) \
        WHERE id = ? AND refresh_hash = ? AND live_until > ?",
    session_reused_owner: "SELECT user_id FROM auth_sessions \
        WHERE id = ? AND refresh_hash <> ? AND live_until > ? AND rotated LIKE ? \
        FOR UPDATE",
    session_revoke: "DELETE FROM auth_sessions WHERE id = ?",
    session_revoke_all: "DELETE FROM auth_sessions WHERE user_id = ?",
    session_revoke_all_except: "DELETE FROM auth_sessions WHERE user_id = ? AND id <> ?",
    session_list: concat!(
        "SELECT ",
        session_columns!(),
        " FROM auth_sessions WHERE user_id = ? AND live_until > ? ORDER BY created_at, id"
    ),
    session_least_recently_used: "SELECT id FROM auth_sessions \
        WHERE user_id = ? AND live_until > ? ORDER BY last_used_at, id",
    session_sweep: "DELETE FROM auth_sessions WHERE live_until <= ?",
    session_count_live: "SELECT COUNT(*) AS total FROM auth_sessions WHERE live_until > ?",

    oauth_insert: concat!(
        "INSERT INTO auth_oauth_accounts (",
        oauth_account_columns!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    oauth_by_key: concat!(
        "SELECT ",
        oauth_account_columns!(),
        " FROM auth_oauth_accounts WHERE provider = ? AND account_id = ?"
    ),
    oauth_list: concat!(
        "SELECT ",
        oauth_account_columns!(),
        " FROM auth_oauth_accounts WHERE user_id = ? \
        ORDER BY created_at, provider, account_id"
    ),
    oauth_update: "UPDATE auth_oauth_accounts SET account_email = ?, access_token = ?, \
        refresh_token = ?, expires_at = ?, updated_at = ? \
        WHERE user_id = ? AND provider = ? AND account_id = ?",
    oauth_delete: "DELETE FROM auth_oauth_accounts \
        WHERE user_id = ? AND provider = ? AND account_id = ?",
    oauth_count: "SELECT COUNT(*) AS total, \
        COUNT(CASE WHEN provider = ? AND account_id = ? THEN 1 END) AS this_one \
        FROM auth_oauth_accounts WHERE user_id = ?",

    totp_get: concat!(
        "SELECT ",
        totp_columns!(),
        " FROM auth_mfa_totp WHERE user_id = ?"
    ),
    totp_repend: "UPDATE auth_mfa_totp SET secret = ?, created_at = ? \
        WHERE user_id = ? AND NOT confirmed",
    totp_exists: "SELECT 1 FROM auth_mfa_totp WHERE user_id = ?",
    totp_insert_pending: "INSERT INTO auth_mfa_totp \
        (user_id, secret, confirmed, last_step, created_at) VALUES (?, ?, FALSE, NULL, ?)",
    totp_confirm: "UPDATE auth_mfa_totp SET confirmed = TRUE, last_step = ? \
        WHERE user_id = ? AND secret = ? AND NOT confirmed",
    totp_use_step: "UPDATE auth_mfa_totp SET last_step = ? \
        WHERE user_id = ? AND confirmed AND (last_step IS NULL OR last_step < ?)",
    totp_delete: "DELETE FROM auth_mfa_totp WHERE user_id = ?",
    recovery_delete_all: "DELETE FROM auth_recovery_codes WHERE user_id = ?",
    recovery_insert: "INSERT INTO auth_recovery_codes (user_id, digest) VALUES (?, ?)",
    recovery_use: "DELETE FROM auth_recovery_codes WHERE user_id = ? AND digest = ?",
    recovery_count: "SELECT COUNT(*) AS total FROM auth_recovery_codes WHERE user_id = ?",
    passkey_insert: concat!(
        "INSERT INTO auth_passkeys (",
        passkey_columns!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    passkey_list: concat!(
        "SELECT ",
        passkey_columns!(),
        " FROM auth_passkeys WHERE user_id = ? ORDER BY created_at, id"
    ),
    passkey_by_credential: concat!(
        "SELECT ",
        passkey_columns!(),
        " FROM auth_passkeys WHERE credential_id = ?"
    ),
    passkey_update: "UPDATE auth_passkeys SET credential = ?, last_used_at = ? \
        WHERE id = ? AND user_id = ?",
    passkey_delete: "DELETE FROM auth_passkeys WHERE id = ? AND user_id = ?",
    passkey_delete_all: "DELETE FROM auth_passkeys WHERE user_id = ?",

    audit_insert: concat!(
        "INSERT INTO auth_audit_events (",
        audit_columns!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    audit_count: "SELECT COUNT(*) AS total FROM auth_audit_events WHERE user_id = ?",
    audit_list: concat!(
        "SELECT ",
        audit_columns!(),
        " FROM auth_audit_events WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?"
    ),
    audit_prune: "DELETE FROM auth_audit_events WHERE at < ?",

    mark_get: "SELECT mark FROM auth_session_marks WHERE user_id = ?",
    // An upsert whose update changes nothing: unlike `INSERT IGNORE`, it hides no other error.
    mark_ensure: "INSERT INTO auth_session_marks (user_id, mark) VALUES (?, 0) \
        ON DUPLICATE KEY UPDATE mark = mark",
    mark_lock: "SELECT mark FROM auth_session_marks WHERE user_id = ? FOR UPDATE",
    mark_move: "INSERT INTO auth_session_marks (user_id, mark) VALUES (?, 1) \
        ON DUPLICATE KEY UPDATE mark = mark + 1",
};
