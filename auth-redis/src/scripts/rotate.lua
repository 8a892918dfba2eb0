-- Compares the presented refresh-token digest with the stored one and swaps in the new one,
-- in one step: of parallel rotations with one token exactly one wins (RFC 9700 §4.14.2).
-- KEYS[1] the session hash, KEYS[2] the user's index (same hash slot)
-- ARGV[1] session id, ARGV[2] presented digest, ARGV[3] new refresh digest,
-- ARGV[4] new access digest or '' for none, ARGV[5] now (ns), ARGV[6] new idle expiry (ns)
-- Returns {0} not found or not live at now, {1} reused (the session is deleted),
-- {2, fields} rotated, with the session's fields after the swap.
local now = ARGV[5]
local stored = redis.call('HMGET', KEYS[1], 'r', 'i', 'e')
if not stored[1] or not stored[2] or not stored[3] then
  return {0}
end
if not (before(now, stored[2]) and before(now, stored[3])) then
  return {0}
end
if stored[1] ~= ARGV[2] then
  -- A spent token on a live session: a replay, so the whole session goes.
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {1}
end
local idle = ARGV[6]
if before(stored[3], idle) then
  idle = stored[3]
end
redis.call('HSET', KEYS[1], 'r', ARGV[3], 'l', now, 'i', idle)
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[1], 'a')
else
  redis.call('HSET', KEYS[1], 'a', ARGV[4])
end
local ttl = math.max(ms_between(now, idle), 1)
redis.call('PEXPIRE', KEYS[1], ttl)
index_put(KEYS[2], ARGV[1], server_ms(), ttl)
return {2, redis.call('HGETALL', KEYS[1])}
