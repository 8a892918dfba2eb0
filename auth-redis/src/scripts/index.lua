-- The server's clock in milliseconds. Only key expiry (cleanup) uses it; whether a session is
-- live is judged by the caller's `now` against the stored expiry times.
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Records in a user's index that session `id` keeps its key for `ttl` ms more. The score is
-- when that key expires, so ids whose keys have expired are dropped here in O(log n), and the
-- index itself expires with its longest-lived session.
local function index_put(index, id, now, ttl)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  redis.call('ZADD', index, now + ttl, id)
  if redis.call('PTTL', index) < ttl then
    redis.call('PEXPIRE', index, ttl)
  end
end
