-- auth-sqlx: user versions, session marks, remembered rotations (MySQL and MariaDB).

-- The version `update` compares and moves: a compare-and-set, so two writers racing from one
-- read cannot both win.
ALTER TABLE auth_users ADD COLUMN version BIGINT NOT NULL DEFAULT 0 CHECK (version >= 0);

-- The refresh digests a session has rotated away, newest last: each entry is `;` and the
-- digest in lower-case hex (65 characters), and at most the last 16 entries are kept. A
-- presented digest found here is a replay; one found nowhere is a forgery and changes nothing.
ALTER TABLE auth_sessions
    ADD COLUMN rotated VARCHAR(1040) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '';

-- Each user's session mark: "log out everywhere" moves it, and a session is admitted only
-- with the mark its login read before checking the credentials. A missing row is mark 0.
-- Creations and revocations of one user take this row's lock, which orders them. Rows are
-- never deleted: going back to 0 would admit logins that read 0 before a revocation.
CREATE TABLE auth_session_marks (
    user_id BINARY(16) NOT NULL PRIMARY KEY,
    mark    BIGINT     NOT NULL
) ENGINE = InnoDB;
