-- Each user's trail of authentication events (auth_core::AuditLog). No foreign key to
-- auth_users: a deleted user's trail stays until it is pruned, and the log may live alone.
-- The texts are cut by auth_core (64 characters for kind and method, 256 for the others).
CREATE TABLE auth_audit_events (
    id         BINARY(16)   NOT NULL PRIMARY KEY,
    user_id    BINARY(16)   NOT NULL,
    at         BIGINT       NOT NULL,
    kind       VARCHAR(64)  NOT NULL,
    method     VARCHAR(64),
    detail     VARCHAR(256),
    session_id BINARY(16),
    ip         VARCHAR(64),
    user_agent VARCHAR(256)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

-- One user's trail, newest first.
CREATE INDEX auth_audit_events_user_idx ON auth_audit_events (user_id, at, id);
-- The pruning of old events.
CREATE INDEX auth_audit_events_at_idx ON auth_audit_events (at);
