-- Times are integer nanoseconds since the Unix epoch, passed and stored as decimal strings.
-- Lua numbers are doubles, exact only up to 2^53 (about 104 days in nanoseconds), so a time is
-- split into whole seconds and nanoseconds (floored) before it is compared or subtracted.
local function split(t)
  local negative = string.sub(t, 1, 1) == '-'
  local digits = negative and string.sub(t, 2) or t
  local n = #digits
  local s, ns = 0, tonumber(digits)
  if n > 9 then
    s, ns = tonumber(string.sub(digits, 1, n - 9)), tonumber(string.sub(digits, n - 8))
  end
  if negative then
    if ns == 0 then return -s, 0 end
    return -s - 1, 1000000000 - ns
  end
  return s, ns
end

-- Whether time a is strictly before time b.
local function before(a, b)
  local as, an = split(a)
  local bs, bn = split(b)
  return as < bs or (as == bs and an < bn)
end

-- Whole milliseconds from a to b, rounded up.
local function ms_between(a, b)
  local as, an = split(a)
  local bs, bn = split(b)
  return (bs - as) * 1000 + math.ceil((bn - an) / 1000000)
end

-- The server's clock, as a time in the form above.
local function server_ns()
  local t = redis.call('TIME')
  return t[1] .. string.format('%06d', tonumber(t[2])) .. '000'
end

-- A session key's time to live in ms: `relative` (what is left of the session measured on its
-- own clock, so a test clock ahead of real time does not keep keys for years), but no longer
-- than until `ends` by the server's clock, so a session already dead in real time is gone at
-- once; at least 1 (PEXPIRE refuses less).
local function key_ttl(relative, ends)
  return math.max(math.min(relative, ms_between(server_ns(), ends)), 1)
end
