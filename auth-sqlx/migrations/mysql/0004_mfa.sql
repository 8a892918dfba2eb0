-- auth-sqlx: users' second factors (MySQL and MariaDB).

-- Each user's TOTP factor (RFC 6238), at most one: pending until a first code is accepted.
-- It goes with the user (ON DELETE CASCADE); one for a user that does not exist is refused by
-- the foreign key.
CREATE TABLE auth_mfa_totp (
    user_id    BINARY(16) NOT NULL PRIMARY KEY,
    -- The shared secret, sealed by the application: ciphertext, never the secret.
    secret     BLOB       NOT NULL,
    confirmed  BOOLEAN    NOT NULL,
    -- The last time step whose code was accepted; only a later one is accepted next.
    last_step  BIGINT,
    -- Microseconds since the Unix epoch (UTC), as every time here.
    created_at BIGINT     NOT NULL,
    CONSTRAINT auth_mfa_totp_user_fk FOREIGN KEY (user_id)
        REFERENCES auth_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- Each user's unused recovery codes: digests (SHA-256, 32 bytes) only, never the codes.
-- Spending one deletes its row, so it is accepted once. Binary strings compare byte for
-- byte, without padding.
CREATE TABLE auth_recovery_codes (
    user_id BINARY(16)    NOT NULL,
    digest  VARBINARY(32) NOT NULL,
    PRIMARY KEY (user_id, digest),
    CONSTRAINT auth_recovery_codes_user_fk FOREIGN KEY (user_id)
        REFERENCES auth_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- Each user's passkeys (WebAuthn credentials).
CREATE TABLE auth_passkeys (
    id            BINARY(16)      NOT NULL PRIMARY KEY,
    user_id       BINARY(16)      NOT NULL,
    -- The name the user gave it.
    name          TEXT            NOT NULL,
    -- The authenticator's credential id (WebAuthn allows at most 1023 bytes), compared byte
    -- for byte; its unique key fits InnoDB's 3072 bytes.
    credential_id VARBINARY(1023) NOT NULL,
    -- The credential as the WebAuthn library serialises it (JSON), opaque to the store.
    credential    MEDIUMTEXT      NOT NULL,
    created_at    BIGINT          NOT NULL,
    last_used_at  BIGINT,
    -- A credential id is registered once across all users, decided here, atomically; the
    -- key's name (with `passkeys` and `credential_id` in it) is how a violation is told from
    -- the other keys.
    CONSTRAINT auth_passkeys_credential_id_unique UNIQUE (credential_id),
    -- A user's passkeys, listed oldest first; also the index the foreign key needs.
    INDEX auth_passkeys_user_id_idx (user_id, created_at),
    CONSTRAINT auth_passkeys_user_fk FOREIGN KEY (user_id)
        REFERENCES auth_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
