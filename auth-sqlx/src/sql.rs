//! [`Statements`]: every statement the stores run, as one database spells it.
//!
//! The rules (what each statement must do, which parameters it takes in which order, and
//! which of them run inside one transaction) are written once, here and in
//! [`crate::users`], [`crate::sessions`], [`crate::oauth_accounts`] and [`crate::mfa`]; each
//! database spells them in one file of its own: [`postgres`], [`sqlite`], [`mysql`]. Every parameter appears exactly once, in the
//! order listed, so `$1, $2, ...` and `?, ?, ...` bind the same way.
//!
//! No statement uses `RETURNING` or `UPDATE ... FROM`, which MySQL lacks; a statement that
//! must see what it changed runs inside a transaction with a read after it.

#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// The statements of one database. Parameters in brackets, in binding order; "user fields"
/// are the twelve columns of [`crate::row::bind_user_fields`], "session" the ten of
/// [`crate::row::session_columns!`], "account" the nine of
/// [`crate::row::oauth_account_columns!`], "passkey" the seven of
/// [`crate::row::passkey_columns!`], "audit event" the nine of
/// [`crate::row::audit_columns!`].
#[doc(hidden)]
#[derive(Debug)]
#[allow(unreachable_pub)] // named in `Dialect`, so `pub`; the module is private
pub struct Statements {
    /// Inserts a user: `[id, user fields, version]`.
    pub user_insert: &'static str,
    /// The compare-and-set of a user: `[user fields, id, version read]`; moves the version on
    /// by one and changes nothing when the stored version is another.
    pub user_update: &'static str,
    /// One row when the user exists: `[id]`.
    pub user_exists: &'static str,
    /// [`crate::row::user_columns!`] of one user: `[id]`.
    pub user_by_id: &'static str,
    /// The same, by e-mail key: `[email_key]`.
    pub user_by_email: &'static str,
    /// The same, by username key: `[username_key]`.
    pub user_by_username: &'static str,
    /// Deletes a user: `[id]`.
    pub user_delete: &'static str,
    /// Locks a user's row for the rest of the transaction (SQLite: a plain read, the
    /// transaction's write lock already excluding every other writer), one row when the user
    /// exists: `[id]`.
    pub user_lock: &'static str,
    /// `total`, the users passing the list filter: `[filter]`, the five parameters of
    /// [`crate::users`]' `ListFilter` (an e-mail key `LIKE` pattern escaped with `!`; a JSON
    /// array of roles the user holds every one of; `is_active`, `is_verified`,
    /// `is_superuser`, each equal to the parameter unless it is NULL).
    pub user_count: &'static str,
    /// A page of those users, one statement per order: `[filter, limit, offset]`.
    pub user_list: UserLists,

    /// Inserts a session: `[session]`.
    pub session_insert: &'static str,
    /// A live session: `[id, now]`.
    pub session_get: &'static str,
    /// A session whether live or not (after a rotation, inside its transaction): `[id]`.
    pub session_by_id: &'static str,
    /// One row when the session is live, no columns read: `[id, now]`.
    pub session_is_live: &'static str,
    /// The compare-and-swap of a refresh, in one statement: `[new refresh digest, new access
    /// digest, now, new idle expiry, remembered length, entry, id, presented digest, now]`.
    /// Changes the row only while it is live and holds the presented digest: sets the new
    /// digests and `last_used_at`, caps the idle expiry at the absolute one, and appends the
    /// entry (`;` and the presented digest in hex) to `rotated`, first dropping its oldest
    /// entry (65 characters) once it is the remembered length long.
    pub session_rotate: &'static str,
    /// `user_id` of a live session that remembers rotating a digest away, locked for the rest
    /// of the transaction where the database has row locks: `[id, presented digest, now,
    /// pattern "%;<hex>%"]`.
    pub session_reused_owner: &'static str,
    /// Deletes a session: `[id]`.
    pub session_revoke: &'static str,
    /// Deletes every session of a user: `[user_id]`.
    pub session_revoke_all: &'static str,
    /// Deletes every session of a user but one: `[user_id, kept id]`.
    pub session_revoke_all_except: &'static str,
    /// A user's live sessions, oldest first: `[user_id, now]`.
    pub session_list: &'static str,
    /// `id` of a user's live sessions, least recently used first: `[user_id, now]`.
    pub session_least_recently_used: &'static str,
    /// Deletes the sessions no longer live: `[now]`.
    pub session_sweep: &'static str,
    /// `total`, the sessions of all users live at `now` (a range of the `live_until` index):
    /// `[now]`.
    pub session_count_live: &'static str,

    /// Inserts a provider account's link: `[account]`. A `user_id` with no user is a foreign
    /// key violation; a taken (provider, account id) violates the unique key whose name
    /// contains `oauth_account`.
    pub oauth_insert: &'static str,
    /// [`crate::row::oauth_account_columns!`] of one link: `[provider, account_id]`, compared
    /// exactly.
    pub oauth_by_key: &'static str,
    /// The same, of every link of a user, by `created_at`, then `provider`, then
    /// `account_id`, the texts in byte order: `[user_id]`.
    pub oauth_list: &'static str,
    /// Replaces the e-mail address, tokens, expiry and `updated_at` of a link, only if the
    /// user holds it: `[account_email, access_token, refresh_token, expires_at, updated_at,
    /// user_id, provider, account_id]`.
    pub oauth_update: &'static str,
    /// Deletes a link, only if the user holds it: `[user_id, provider, account_id]`.
    pub oauth_delete: &'static str,
    /// `total`, how many links a user holds, and `this_one`, how many of them (0 or 1) are
    /// the given one: `[provider, account_id, user_id]`.
    pub oauth_count: &'static str,

    /// [`crate::row::totp_columns!`] of a user's TOTP factor: `[user_id]`.
    pub totp_get: &'static str,
    /// Replaces the secret and `created_at` of a user's factor, only while it is pending:
    /// `[secret, created_at, user_id]`.
    pub totp_repend: &'static str,
    /// One row when the user has a TOTP factor, pending or confirmed: `[user_id]`.
    pub totp_exists: &'static str,
    /// Inserts a pending factor (not confirmed, no step accepted): `[user_id, secret,
    /// created_at]`. A `user_id` with no user is a foreign key violation.
    pub totp_insert_pending: &'static str,
    /// Confirms a user's pending factor, only if its secret is the given one, and accepts the
    /// step: `[step, user_id, secret]`.
    pub totp_confirm: &'static str,
    /// Accepts a step of a user's confirmed factor, only if no step or an earlier one was
    /// accepted, in one conditional write: `[step, user_id, step]`.
    pub totp_use_step: &'static str,
    /// Deletes a user's TOTP factor: `[user_id]`.
    pub totp_delete: &'static str,
    /// Deletes every recovery code of a user: `[user_id]`.
    pub recovery_delete_all: &'static str,
    /// Inserts a recovery code: `[user_id, digest]`. A `user_id` with no user is a foreign key
    /// violation.
    pub recovery_insert: &'static str,
    /// Deletes one recovery code of a user (spends it): `[user_id, digest]`.
    pub recovery_use: &'static str,
    /// `total`, how many recovery codes a user has: `[user_id]`.
    pub recovery_count: &'static str,
    /// Inserts a passkey: `[passkey]`. A `user_id` with no user is a foreign key violation; a
    /// taken credential id violates the unique key whose name contains `passkey` and
    /// `credential_id`.
    pub passkey_insert: &'static str,
    /// [`crate::row::passkey_columns!`] of every passkey of a user, by `created_at`, then
    /// `id`: `[user_id]`.
    pub passkey_list: &'static str,
    /// The same, of the passkey with a credential id, compared byte for byte:
    /// `[credential_id]`.
    pub passkey_by_credential: &'static str,
    /// Replaces the credential and `last_used_at` of a passkey, only if the user holds it:
    /// `[credential, last_used_at, id, user_id]`.
    pub passkey_update: &'static str,
    /// Deletes a passkey, only if the user holds it: `[id, user_id]`.
    pub passkey_delete: &'static str,
    /// Deletes every passkey of a user: `[user_id]`.
    pub passkey_delete_all: &'static str,

    /// Inserts an audit event: `[audit event]`.
    pub audit_insert: &'static str,
    /// `total`, how many events a user has: `[user_id]`.
    pub audit_count: &'static str,
    /// A page of a user's events, newest first (by `at`, then `id`, descending):
    /// `[user_id, limit, offset]`.
    pub audit_list: &'static str,
    /// Deletes every event before a time: `[older_than]`.
    pub audit_prune: &'static str,

    /// A user's `mark`, no row meaning 0: `[user_id]`.
    pub mark_get: &'static str,
    /// Creates the user's mark row at 0 if missing, and changes nothing otherwise: `[user_id]`.
    pub mark_ensure: &'static str,
    /// The user's `mark`, read under a lock held to the end of the transaction (in SQLite
    /// the transaction's write lock already excludes every other writer), waiting for a
    /// transaction holding it and then reading what that one committed: `[user_id]`.
    pub mark_lock: &'static str,
    /// Moves the user's mark on by one, creating the row at 1 if missing, under the same
    /// lock: `[user_id]`.
    pub mark_move: &'static str,
}

/// The page of a user listing in each order of [`auth_core::UserSort`], ties broken by id in
/// the same direction, texts compared in code point (UTF-8 byte) order.
#[doc(hidden)]
#[derive(Debug)]
#[allow(unreachable_pub)] // named in `Statements`, so `pub`; the module is private
pub struct UserLists {
    /// By id.
    pub by_id: &'static str,
    /// By `created_at`, oldest first.
    pub by_created_at: &'static str,
    /// By `created_at`, newest first.
    pub by_created_at_desc: &'static str,
    /// By e-mail key.
    pub by_email: &'static str,
    /// By e-mail key, in reverse.
    pub by_email_desc: &'static str,
}
