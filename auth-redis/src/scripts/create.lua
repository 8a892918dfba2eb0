-- Admits a new session in one step: checks the user's mark, evicts the user's least recently
-- used live sessions beyond the limit, then stores the session and indexes it.
-- KEYS[1] the session hash, KEYS[2] the user's index, KEYS[3] the user's mark (one hash slot)
-- ARGV[1] the hash's time to live in ms, ARGV[2] the session id, ARGV[3] the mark the login
-- read, ARGV[4] the most live sessions the user may hold with this one, or '' for no limit,
-- ARGV[5] now (ns; liveness of the other sessions is judged at it), ARGV[6] the user's
-- session-key prefix (the keys share KEYS[2]'s hash slot), ARGV[7] the session's effective
-- expiry (ns), ARGV[8] the revocation channel (each evicted id is published on it),
-- ARGV[9..] field, value, ...
-- Returns {0} when the mark has moved (nothing is written), else {1, {evicted ids, least
-- recently used first}}.
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[3] then
  return {0}
end
local evicted = {}
if ARGV[4] ~= '' then
  local keep = math.max(tonumber(ARGV[4]) - 1, 0)
  local now = ARGV[5]
  -- The index is scored by when each session key expires, not by use: the last use is the
  -- hash's `l` field, so each live session's hash is read.
  local live = {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if id ~= ARGV[2] then
      local s = redis.call('HMGET', ARGV[6] .. id, 'l', 'i', 'e')
      if not s[1] or not s[2] or not s[3] then
        redis.call('ZREM', KEYS[2], id)
      elseif before(now, s[2]) and before(now, s[3]) then
        live[#live + 1] = {s[1], id}
      end
    end
  end
  if #live > keep then
    table.sort(live, function(a, b)
      if a[1] == b[1] then
        return a[2] < b[2]
      end
      return before(a[1], b[1])
    end)
    for n = 1, #live - keep do
      local id = live[n][2]
      redis.call('DEL', ARGV[6] .. id)
      redis.call('ZREM', KEYS[2], id)
      redis.call('PUBLISH', ARGV[8], id)
      evicted[#evicted + 1] = id
    end
  end
end
local ttl = key_ttl(tonumber(ARGV[1]), ARGV[7])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
redis.call('PEXPIRE', KEYS[1], ttl)
index_put(KEYS[2], ARGV[2], server_ms(), ttl)
return {1, evicted}
