-- Each user's trail of authentication events (auth_core::AuditLog). No foreign key to
-- auth_users: a deleted user's trail stays until it is pruned, and the log may live alone.
CREATE TABLE auth_audit_events (
    id         BLOB    PRIMARY KEY NOT NULL,
    user_id    BLOB    NOT NULL,
    at         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    method     TEXT,
    detail     TEXT,
    session_id BLOB,
    ip         TEXT,
    user_agent TEXT
) STRICT;

-- One user's trail, newest first.
CREATE INDEX auth_audit_events_user_idx ON auth_audit_events (user_id, at DESC, id DESC);
-- The pruning of old events.
CREATE INDEX auth_audit_events_at_idx ON auth_audit_events (at);
