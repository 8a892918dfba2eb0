-- Every session of one user, pruning index entries whose session key has gone.
-- KEYS[1] the user's index; ARGV[1] the user's session-key prefix (same hash slot)
-- Returns {id, fields, id, fields, ...}.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', server_ms())
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local fields = redis.call('HGETALL', ARGV[1] .. id)
  if #fields == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    out[#out + 1] = id
    out[#out + 1] = fields
  end
end
return out
