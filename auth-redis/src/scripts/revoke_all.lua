-- Moves the user's mark and deletes every session of the user but one, reading only that
-- user's index: no KEYS, no SCAN. The mark moves even when there is nothing to delete, so
-- that a login which read the old mark is refused by create.lua.
-- KEYS[1] the user's index, KEYS[2] the user's mark (same hash slot); ARGV[1] the user's
-- session-key prefix (the keys share KEYS[1]'s hash slot), ARGV[2] the session id to keep,
-- or '', ARGV[3] the revocation channel, on which each deleted id is published
-- Returns {number of sessions deleted, {ids removed from the index}}.
redis.call('INCR', KEYS[2])
local deleted = 0
local removed = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[2] then
    deleted = deleted + redis.call('DEL', ARGV[1] .. id)
    redis.call('ZREM', KEYS[1], id)
    redis.call('PUBLISH', ARGV[3], id)
    removed[#removed + 1] = id
  end
end
return {deleted, removed}
