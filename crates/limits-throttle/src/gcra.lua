-- The two-dimension GCRA of limits-throttle, as one script: both TATs are
-- read, checked and written in one call, on the server's clock.
--
-- KEYS[1]  TAT of the requests dimension   KEYS[2]  TAT of the tokens dimension
-- (both under one hash tag, so they share a cluster slot)
-- ARGV[1]  "acquire" or "reconcile"
-- acquire:   ARGV[2] us per request, ARGV[3] request tolerance (us),
--            ARGV[4] us per token,   ARGV[5] token tolerance (us), ARGV[6] tokens
-- reconcile: ARGV[2] us per token, ARGV[3] estimated tokens, ARGV[4] actual tokens
-- ARGV[7] (tests only): "now" in us instead of the server's TIME.
-- Times are microseconds; TATs are stored with three decimals.
-- Returns {1, "0"} when admitted, {0, "<wait in us>"} when not.

local now
if ARGV[7] and ARGV[7] ~= '' then
  now = tonumber(ARGV[7])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function tat(key)
  local v = redis.call('GET', key)
  if v then return tonumber(v) end
  return now
end

local function store(key, value)
  if value <= now then
    -- An empty state needs no key.
    redis.call('DEL', key)
    return
  end
  -- Keep the key while its TAT is ahead of now, plus a second.
  local ttl_ms = math.ceil((value - now) / 1000) + 1000
  redis.call('SET', key, string.format('%.3f', value), 'PX', ttl_ms)
end

if ARGV[1] == 'reconcile' then
  local per_token = tonumber(ARGV[2])
  local estimated, actual = tonumber(ARGV[3]), tonumber(ARGV[4])
  local t = tat(KEYS[2])
  if actual >= estimated then
    t = math.max(t, now) + (actual - estimated) * per_token
  else
    t = math.max(t - (estimated - actual) * per_token, math.min(now, t))
  end
  store(KEYS[2], t)
  return {1, '0'}
end

local per_request, request_tolerance = tonumber(ARGV[2]), tonumber(ARGV[3])
local per_token, token_tolerance = tonumber(ARGV[4]), tonumber(ARGV[5])
local tokens = tonumber(ARGV[6])

local new_r = math.max(tat(KEYS[1]), now) + per_request
local new_t = math.max(tat(KEYS[2]), now) + tokens * per_token
local wait = math.max(new_r - request_tolerance - now, new_t - token_tolerance - now, 0)
if wait > 0 then
  return {0, string.format('%.3f', wait)}
end
store(KEYS[1], new_r)
store(KEYS[2], new_t)
return {1, '0'}
