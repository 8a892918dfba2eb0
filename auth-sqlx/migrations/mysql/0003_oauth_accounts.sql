-- auth-sqlx: provider accounts linked to users (MySQL and MariaDB).

-- One row per link of a provider account (Google, GitHub, any OpenID Connect provider) to a
-- user. A user's links go with the user (ON DELETE CASCADE), and a link to a user that does
-- not exist is refused by the foreign key.
--
-- The texts use `utf8mb4_bin`, as in `auth_users`: compared exactly, never case- or
-- accent-insensitively. (Like every `_bin` collation of MySQL and MariaDB, it pads: two ids
-- that differ only by trailing spaces compare equal. Provider account ids carry none.)
CREATE TABLE auth_oauth_accounts (
    user_id       BINARY(16)   NOT NULL,
    -- The provider's configured name, and its stable id of the account. The unique key over
    -- both must fit InnoDB's 3072 bytes: (64 + 255) characters of at most 4 bytes.
    provider      VARCHAR(64)  NOT NULL,
    account_id    VARCHAR(255) NOT NULL,
    -- The address the provider gave, as it gave it.
    account_email TEXT,
    -- The provider's tokens, sealed by the application: ciphertext, never the tokens.
    access_token  BLOB,
    refresh_token BLOB,
    -- Microseconds since the Unix epoch (UTC), as every time here.
    expires_at    BIGINT,
    created_at    BIGINT       NOT NULL,
    updated_at    BIGINT       NOT NULL,
    -- A provider account belongs to one user at a time, decided here, atomically; the key's
    -- name (with `oauth_account` in it) is how a violation is told from the users' keys.
    CONSTRAINT auth_oauth_accounts_oauth_account_unique UNIQUE (provider, account_id),
    -- A user's links, listed oldest first; also the index the foreign key needs.
    INDEX auth_oauth_accounts_user_id_idx (user_id, created_at),
    CONSTRAINT auth_oauth_accounts_user_fk FOREIGN KEY (user_id)
        REFERENCES auth_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
