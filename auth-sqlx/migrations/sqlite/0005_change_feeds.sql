-- A log of ended sessions (a deleted row: logout, "log out everywhere", eviction, a replayed
-- refresh token, a sweep, or a DELETE by hand, from any process), written by a trigger in the
-- deleting transaction. Each app process polls it, so its session cache forgets the session;
-- the pollers delete entries older than ten minutes.
CREATE TABLE auth_session_revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id BLOB    NOT NULL,
    -- Seconds since the Unix epoch.
    revoked_at INTEGER NOT NULL
) STRICT;

CREATE INDEX auth_session_revocations_revoked_at_idx ON auth_session_revocations (revoked_at);

CREATE TRIGGER auth_sessions_revoked AFTER DELETE ON auth_sessions
BEGIN
    INSERT INTO auth_session_revocations (session_id, revoked_at) VALUES (OLD.id, unixepoch());
END;

-- The same for users: every changed or deleted user, for the user caches.
CREATE TABLE auth_user_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BLOB    NOT NULL,
    -- Seconds since the Unix epoch.
    changed_at INTEGER NOT NULL
) STRICT;

CREATE INDEX auth_user_changes_changed_at_idx ON auth_user_changes (changed_at);

CREATE TRIGGER auth_users_updated AFTER UPDATE ON auth_users
BEGIN
    INSERT INTO auth_user_changes (user_id, changed_at) VALUES (OLD.id, unixepoch());
END;

CREATE TRIGGER auth_users_deleted AFTER DELETE ON auth_users
BEGIN
    INSERT INTO auth_user_changes (user_id, changed_at) VALUES (OLD.id, unixepoch());
END;
