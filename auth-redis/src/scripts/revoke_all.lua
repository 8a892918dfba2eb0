-- Deletes every session of one user but one, reading only that user's index: no KEYS, no SCAN.
-- KEYS[1] the user's index; ARGV[1] the user's session-key prefix (the keys share KEYS[1]'s
-- hash slot), ARGV[2] the session id to keep, or ''
-- Returns {number of sessions deleted, {ids removed from the index}}.
local deleted = 0
local removed = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[2] then
    deleted = deleted + redis.call('DEL', ARGV[1] .. id)
    redis.call('ZREM', KEYS[1], id)
    removed[#removed + 1] = id
  end
end
return {deleted, removed}
