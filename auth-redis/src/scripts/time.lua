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
