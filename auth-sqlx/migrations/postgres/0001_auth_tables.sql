-- auth-sqlx: users and sessions (Postgres).
--
-- Tables are prefixed `auth_` so that they sit next to the app's own tables (an app often has
-- its own `users`); applied migrations are recorded in `_auth_sqlx_migrations`, not in the
-- app's `_sqlx_migrations`.

CREATE TABLE auth_users (
    id            uuid        PRIMARY KEY,
    -- The address as the user typed it (domain lower-cased) ...
    email         text        NOT NULL,
    -- ... and its case-insensitive key, computed by `Email::key` (Unicode lower case). The
    -- key is computed in Rust, not with `lower()`, whose result depends on the database's
    -- locale: one function decides equality for every backend, the in-memory one included.
    email_key     text        NOT NULL,
    username      text,
    username_key  text,
    password_hash text        NOT NULL,
    is_active     boolean     NOT NULL,
    is_superuser  boolean     NOT NULL,
    is_verified   boolean     NOT NULL,
    -- A JSON array of role names.
    roles         jsonb       NOT NULL DEFAULT '[]',
    -- The app's own profile fields, as a JSON object: a new optional field needs no migration.
    profile       jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    -- Uniqueness is decided here, atomically; the constraint names are how a violation is
    -- told apart (e-mail or username).
    CONSTRAINT auth_users_email_key_unique UNIQUE (email_key),
    CONSTRAINT auth_users_username_key_unique UNIQUE (username_key)
);

-- Sessions carry no foreign key to `auth_users`: the session store works on its own (for
-- example beside another user store), and the manager revokes a user's sessions itself.
CREATE TABLE auth_sessions (
    id              uuid        PRIMARY KEY,
    user_id         uuid        NOT NULL,
    -- SHA-256 digests only, never the tokens (ASVS5 7.2.3).
    refresh_hash    bytea       NOT NULL,
    access_hash     bytea,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    -- The session is live while now < live_until: one column to index and compare.
    live_until      timestamptz NOT NULL GENERATED ALWAYS AS (LEAST(idle_expires_at, expires_at)) STORED,
    user_agent      text,
    ip              text
);

-- A user's sessions, listed oldest first ("log out everywhere", the session list).
CREATE INDEX auth_sessions_user_id_idx ON auth_sessions (user_id, created_at);
-- The sweep of expired sessions.
CREATE INDEX auth_sessions_live_until_idx ON auth_sessions (live_until);
