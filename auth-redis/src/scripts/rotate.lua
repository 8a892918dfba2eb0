-- Compares the presented refresh-token digest with the stored one and swaps in the new one,
-- in one step: of parallel rotations with one token exactly one wins (RFC 9700 §4.14.2).
-- The session remembers the digests it rotated away (newest last, at most ARGV[7] of them),
-- concatenated and cut into fields `p0`, `p1`, ... of at most 64 bytes each, so that the hash
-- keeps its compact encoding (one longer value would turn it into a hash table twice the size).
-- KEYS[1] the session hash, KEYS[2] the user's index (same hash slot)
-- ARGV[1] session id, ARGV[2] presented digest, ARGV[3] new refresh digest,
-- ARGV[4] new access digest or '' for none, ARGV[5] now (ns), ARGV[6] new idle expiry (ns),
-- ARGV[7] how many rotated-away digests to remember, ARGV[8] the revocation channel (a
-- session revoked for reuse is published on it)
-- Returns {0} not found, not live at now, or a digest the session never issued (nothing
-- changes); {1} reused, a remembered digest (the session is deleted); {2, fields} rotated,
-- with the session's fields after the swap.
local PIECE = 64
local now = ARGV[5]
local stored = redis.call('HMGET', KEYS[1], 'r', 'i', 'e')
if not stored[1] or not stored[2] or not stored[3] then
  return {0}
end
if not (before(now, stored[2]) and before(now, stored[3])) then
  return {0}
end
local size = #stored[1]
local keep = tonumber(ARGV[7]) * size
local names = {}
for n = 0, math.ceil(keep / PIECE) - 1 do
  names[#names + 1] = 'p' .. n
end
local spent = ''
if #names > 0 then
  for _, piece in ipairs(redis.call('HMGET', KEYS[1], unpack(names))) do
    if piece then
      spent = spent .. piece
    end
  end
end
if stored[1] ~= ARGV[2] then
  for at = 1, #spent - size + 1, size do
    if string.sub(spent, at, at + size - 1) == ARGV[2] then
      -- A token the session issued and has rotated away: a replay, so the whole session goes.
      redis.call('DEL', KEYS[1])
      redis.call('ZREM', KEYS[2], ARGV[1])
      redis.call('PUBLISH', ARGV[8], ARGV[1])
      return {1}
    end
  end
  -- Never issued by this session (a forgery, say from a session id read in an access token):
  -- it must not end the session.
  return {0}
end
spent = spent .. stored[1]
if #spent > keep then
  spent = string.sub(spent, #spent - keep + 1)
end
local idle = ARGV[6]
if before(stored[3], idle) then
  idle = stored[3]
end
local fields = {'r', ARGV[3], 'l', now, 'i', idle}
for n, name in ipairs(names) do
  local piece = string.sub(spent, (n - 1) * PIECE + 1, n * PIECE)
  if piece ~= '' then
    fields[#fields + 1] = name
    fields[#fields + 1] = piece
  end
end
redis.call('HSET', KEYS[1], unpack(fields))
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[1], 'a')
else
  redis.call('HSET', KEYS[1], 'a', ARGV[4])
end
local ttl = key_ttl(ms_between(now, idle), idle)
redis.call('PEXPIRE', KEYS[1], ttl)
index_put(KEYS[2], ARGV[1], server_ms(), ttl)
return {2, redis.call('HGETALL', KEYS[1])}
