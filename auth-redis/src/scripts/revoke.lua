-- Deletes one session and its index entry. Returns 1 if the session existed.
-- KEYS[1] the session hash, KEYS[2] the user's index (same hash slot); ARGV[1] the session id,
-- ARGV[2] the revocation channel, on which the id is published
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return existed
