-- auth-sqlx: provider accounts linked to users (Postgres).

-- One row per link of a provider account (Google, GitHub, any OpenID Connect provider) to a
-- user. A user's links go with the user (ON DELETE CASCADE), and a link to a user that does
-- not exist is refused by the foreign key.
CREATE TABLE auth_oauth_accounts (
    user_id       uuid        NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    -- The provider's configured name, and its stable id of the account, compared exactly.
    provider      text        NOT NULL,
    account_id    text        NOT NULL,
    -- The address the provider gave, as it gave it.
    account_email text,
    -- The provider's tokens, sealed by the application: ciphertext, never the tokens.
    access_token  bytea,
    refresh_token bytea,
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    -- A provider account belongs to one user at a time, decided here, atomically; the name
    -- (with `oauth_account` in it) is how a violation is told from the users' keys.
    CONSTRAINT auth_oauth_accounts_oauth_account_unique UNIQUE (provider, account_id)
);

-- A user's links, listed oldest first; also what the cascade from `auth_users` looks up.
CREATE INDEX auth_oauth_accounts_user_id_idx ON auth_oauth_accounts (user_id, created_at);
