-- auth-sqlx: users and sessions (SQLite).
--
-- Tables are prefixed `auth_` so that they sit next to the app's own tables (an app often has
-- its own `users`); applied migrations are recorded in `_auth_sqlx_migrations`, not in the
-- app's `_sqlx_migrations`.
--
-- STRICT tables, so a value of the wrong type is refused rather than stored. Ids are 16-byte
-- UUID blobs (so ORDER BY id is creation order for UUIDv7); times are integer microseconds
-- since the Unix epoch (UTC), which compare and index correctly as numbers.

CREATE TABLE auth_users (
    id            BLOB    PRIMARY KEY NOT NULL,
    -- The address as the user typed it (domain lower-cased) ...
    email         TEXT    NOT NULL,
    -- ... and its case-insensitive key, computed by `Email::key` (Unicode lower case; SQLite's
    -- own lower() knows only ASCII).
    email_key     TEXT    NOT NULL CONSTRAINT auth_users_email_key_unique UNIQUE,
    username      TEXT,
    username_key  TEXT    CONSTRAINT auth_users_username_key_unique UNIQUE,
    password_hash TEXT    NOT NULL,
    is_active     INTEGER NOT NULL,
    is_superuser  INTEGER NOT NULL,
    is_verified   INTEGER NOT NULL,
    -- A JSON array of role names.
    roles         TEXT    NOT NULL DEFAULT '[]',
    -- The app's own profile fields, as a JSON object: a new optional field needs no migration.
    profile       TEXT    NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Sessions carry no foreign key to `auth_users`: the session store works on its own, and the
-- manager revokes a user's sessions itself.
CREATE TABLE auth_sessions (
    id              BLOB    PRIMARY KEY NOT NULL,
    user_id         BLOB    NOT NULL,
    -- SHA-256 digests only, never the tokens (ASVS5 7.2.3).
    refresh_hash    BLOB    NOT NULL,
    access_hash     BLOB,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    -- The session is live while now < live_until: one column to index and compare.
    live_until      INTEGER NOT NULL GENERATED ALWAYS AS (min(idle_expires_at, expires_at)) STORED,
    user_agent      TEXT,
    ip              TEXT
) STRICT;

-- A user's sessions, listed oldest first ("log out everywhere", the session list).
CREATE INDEX auth_sessions_user_id_idx ON auth_sessions (user_id, created_at);
-- The sweep of expired sessions.
CREATE INDEX auth_sessions_live_until_idx ON auth_sessions (live_until);
