-- auth-sqlx: users' second factors (SQLite).

-- Each user's TOTP factor (RFC 6238), at most one: pending until a first code is accepted.
-- It goes with the user (ON DELETE CASCADE); one for a user that does not exist is refused by
-- the foreign key (sqlx turns `foreign_keys` on for every connection).
CREATE TABLE auth_mfa_totp (
    user_id    BLOB    PRIMARY KEY NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    -- The shared secret, sealed by the application: ciphertext, never the secret.
    secret     BLOB    NOT NULL,
    confirmed  INTEGER NOT NULL,
    -- The last time step whose code was accepted; only a later one is accepted next.
    last_step  INTEGER,
    -- Microseconds since the Unix epoch (UTC), as every time here.
    created_at INTEGER NOT NULL
) STRICT;

-- Each user's unused recovery codes: digests only, never the codes. Spending one deletes its
-- row, so it is accepted once.
CREATE TABLE auth_recovery_codes (
    user_id BLOB NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    digest  BLOB NOT NULL,
    PRIMARY KEY (user_id, digest)
) STRICT;

-- Each user's passkeys (WebAuthn credentials).
CREATE TABLE auth_passkeys (
    id            BLOB    PRIMARY KEY NOT NULL,
    user_id       BLOB    NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    -- The name the user gave it.
    name          TEXT    NOT NULL,
    -- The authenticator's credential id, compared byte for byte.
    credential_id BLOB    NOT NULL,
    -- The credential as the WebAuthn library serialises it (JSON), opaque to the store.
    credential    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    -- A credential id is registered once across all users, decided here, atomically. SQLite's
    -- message names the column (`auth_passkeys.credential_id`), which is how a violation is
    -- told from the other keys.
    CONSTRAINT auth_passkeys_credential_id_unique UNIQUE (credential_id)
) STRICT;

-- A user's passkeys, listed oldest first; also what the cascade from `auth_users` looks up.
CREATE INDEX auth_passkeys_user_id_idx ON auth_passkeys (user_id, created_at);
