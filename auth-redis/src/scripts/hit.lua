-- Counts one event in a fixed window, in one step; a refused event is not counted.
-- KEYS[1] the window (hash: c = count, e = end); ARGV[1] now (ns),
-- ARGV[2] the end of a window starting now (ns), ARGV[3] the limit, ARGV[4] a new window's
-- time to live in ms
-- Returns {allowed (1 or 0), window end (ns), count}.
local window = redis.call('HMGET', KEYS[1], 'c', 'e')
local count, ends = tonumber(window[1]), window[2]
if not count or not ends or not before(ARGV[1], ends) then
  count, ends = 0, ARGV[2]
  redis.call('HSET', KEYS[1], 'c', 0, 'e', ends)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
if count >= tonumber(ARGV[3]) then
  return {0, ends, count}
end
return {1, ends, redis.call('HINCRBY', KEYS[1], 'c', 1)}
