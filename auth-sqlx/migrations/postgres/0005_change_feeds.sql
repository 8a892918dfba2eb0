-- Announces every ended session (a deleted row: logout, "log out everywhere", eviction, a
-- replayed refresh token, a sweep, or a DELETE by hand) on the channel
-- `auth_sessions_revoked`, at commit, whoever deleted it. Each app instance listens, so its
-- session cache forgets the session at once.
CREATE FUNCTION auth_sessions_announce_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('auth_sessions_revoked', OLD.id::text);
    RETURN OLD;
END
$$;

CREATE TRIGGER auth_sessions_revoked AFTER DELETE ON auth_sessions
    FOR EACH ROW EXECUTE FUNCTION auth_sessions_announce_revoked();

-- Announces every changed or deleted user on `auth_users_changed`, for the user caches.
CREATE FUNCTION auth_users_announce_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('auth_users_changed', OLD.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER auth_users_changed AFTER UPDATE OR DELETE ON auth_users
    FOR EACH ROW EXECUTE FUNCTION auth_users_announce_changed();
