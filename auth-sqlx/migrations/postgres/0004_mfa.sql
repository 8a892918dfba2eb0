-- auth-sqlx: users' second factors (Postgres).

-- Each user's TOTP factor (RFC 6238), at most one: pending until a first code is accepted.
-- It goes with the user (ON DELETE CASCADE); one for a user that does not exist is refused by
-- the foreign key.
CREATE TABLE auth_mfa_totp (
    user_id    uuid        PRIMARY KEY REFERENCES auth_users (id) ON DELETE CASCADE,
    -- The shared secret, sealed by the application: ciphertext, never the secret.
    secret     bytea       NOT NULL,
    confirmed  boolean     NOT NULL,
    -- The last time step whose code was accepted; only a later one is accepted next.
    last_step  bigint,
    created_at timestamptz NOT NULL
);

-- Each user's unused recovery codes: digests only, never the codes. Spending one deletes its
-- row, so it is accepted once.
CREATE TABLE auth_recovery_codes (
    user_id uuid  NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    digest  bytea NOT NULL,
    PRIMARY KEY (user_id, digest)
);

-- Each user's passkeys (WebAuthn credentials).
CREATE TABLE auth_passkeys (
    id            uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    -- The name the user gave it.
    name          text        NOT NULL,
    -- The authenticator's credential id, compared byte for byte.
    credential_id bytea       NOT NULL,
    -- The credential as the WebAuthn library serialises it (JSON), opaque to the store.
    credential    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    -- A credential id is registered once across all users, decided here, atomically; the
    -- name (with `passkeys` and `credential_id` in it) is how a violation is told from the
    -- other keys.
    CONSTRAINT auth_passkeys_credential_id_unique UNIQUE (credential_id)
);

-- A user's passkeys, listed oldest first; also what the cascade from `auth_users` looks up.
CREATE INDEX auth_passkeys_user_id_idx ON auth_passkeys (user_id, created_at);
