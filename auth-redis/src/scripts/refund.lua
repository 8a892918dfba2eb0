-- Gives back one event of the current window, in one step. Never below zero, never a new key,
-- and a window that has ended by the caller's clock is left alone.
-- KEYS[1] the window (hash: c = count, e = end); ARGV[1] now (ns)
-- Returns 1 if a slot was given back, else 0.
local window = redis.call('HMGET', KEYS[1], 'c', 'e')
local count, ends = tonumber(window[1]), window[2]
if count and ends and count > 0 and before(ARGV[1], ends) then
  redis.call('HINCRBY', KEYS[1], 'c', -1)
  return 1
end
return 0
