-- Stores a new session and adds it to its user's index, in one step.
-- KEYS[1] the session hash, KEYS[2] the user's index (same hash slot)
-- ARGV[1] the hash's time to live in ms, ARGV[2] the session id, ARGV[3..] field, value, ...
local ttl = tonumber(ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ttl)
index_put(KEYS[2], ARGV[2], server_ms(), ttl)
return 1
