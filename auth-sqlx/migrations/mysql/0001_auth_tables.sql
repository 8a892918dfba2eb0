-- auth-sqlx: users and sessions (MySQL 8 and MariaDB 10.5 or later).
--
-- Tables are prefixed `auth_` so that they sit next to the app's own tables (an app often has
-- its own `users`); applied migrations are recorded in `_auth_sqlx_migrations`, not in the
-- app's `_sqlx_migrations`.
--
-- Every text column uses the `utf8mb4_bin` collation: comparisons are exact, as in the other
-- databases. The server's default collations are case- and accent-insensitive and (before
-- MySQL 8) ignore trailing spaces; with them, `cafe@x.test` and `café@x.test` would be one key
-- and the second could neither register nor be looked up. Ids are the 16 bytes of the UUID;
-- times are microseconds since the Unix epoch (UTC), as in SQLite.

CREATE TABLE auth_users (
    id            BINARY(16)   NOT NULL PRIMARY KEY,
    -- The address as the user typed it (domain lower-cased) ...
    email         TEXT         NOT NULL,
    -- ... and its case-insensitive key, computed by `Email::key` (Unicode lower case). At
    -- most 254 bytes are accepted; lower-casing can lengthen a few letters, hence 512.
    email_key     VARCHAR(512) NOT NULL,
    username      TEXT,
    -- `Username::key` of at most 64 characters, with room for lower-casing.
    username_key  VARCHAR(256),
    password_hash TEXT         NOT NULL,
    is_active     BOOLEAN      NOT NULL,
    is_superuser  BOOLEAN      NOT NULL,
    is_verified   BOOLEAN      NOT NULL,
    -- A JSON array of role names.
    roles         JSON         NOT NULL,
    -- The app's own profile fields, as a JSON object: a new optional field needs no migration.
    profile       JSON         NOT NULL,
    created_at    BIGINT       NOT NULL,
    updated_at    BIGINT       NOT NULL,
    -- Uniqueness is decided here, atomically; the key names are how a violation is told
    -- apart (e-mail or username). A NULL username_key never clashes.
    CONSTRAINT auth_users_email_key_unique UNIQUE (email_key),
    CONSTRAINT auth_users_username_key_unique UNIQUE (username_key)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- Sessions carry no foreign key to `auth_users`: the session store works on its own (for
-- example beside another user store), and the manager revokes a user's sessions itself.
CREATE TABLE auth_sessions (
    id              BINARY(16)    NOT NULL PRIMARY KEY,
    user_id         BINARY(16)    NOT NULL,
    -- SHA-256 digests only, never the tokens (ASVS5 7.2.3).
    refresh_hash    VARBINARY(32) NOT NULL,
    access_hash     VARBINARY(32),
    created_at      BIGINT        NOT NULL,
    last_used_at    BIGINT        NOT NULL,
    idle_expires_at BIGINT        NOT NULL,
    expires_at      BIGINT        NOT NULL,
    -- The session is live while now < live_until: one column to index and compare. (MariaDB
    -- allows no NOT NULL on a generated column; both operands are NOT NULL.)
    live_until      BIGINT GENERATED ALWAYS AS (LEAST(idle_expires_at, expires_at)) STORED,
    user_agent      TEXT,
    ip              TEXT
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- A user's sessions, listed oldest first ("log out everywhere", the session list).
CREATE INDEX auth_sessions_user_id_idx ON auth_sessions (user_id, created_at);
-- The sweep of expired sessions.
CREATE INDEX auth_sessions_live_until_idx ON auth_sessions (live_until);
