-- Tasks in flight of one key, fleet-wide: a sorted set of leases, each a
-- holder's random id scored by when its lease ends (microseconds of the
-- server's clock, or of the caller's when ARGV[2] gives one). A lease not
-- renewed in time has ended: its holder is taken for dead, and its slot
-- is free again.
--
-- KEYS[1]: the set.
-- ARGV: op ("take", "renew", "release", "count"), now (us, or ""),
--       limit, lease (us), holder.
-- Answers {ok, held, wait}: for "take", ok 1 if a slot was taken, else
-- 0 and the microseconds until the first lease ends; for "renew", ok 1 if
-- the lease was still held, 2 if it was gone (both: it is held again); for
-- "release", ok 1 if the lease was held; "held" is the count of live
-- leases after the call.
local key = KEYS[1]
local op = ARGV[1]
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local limit = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local holder = ARGV[5]

-- Ended leases go first: their holders stopped renewing them.
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)

local function keep()
  -- The set outlives its newest lease by a second.
  redis.call('PEXPIRE', key, math.ceil(lease / 1000) + 1000)
end

if op == 'take' then
  local held = redis.call('ZCARD', key)
  if held < limit then
    redis.call('ZADD', key, now + lease, holder)
    keep()
    return {1, held + 1, 0}
  end
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, held, math.max(1, tonumber(first[2]) - now)}
elseif op == 'renew' then
  -- Only a live task renews. A lease gone meanwhile (lost with the
  -- server's state in a failover or a flush, or ended while its holder
  -- stalled) counts again: the task still runs, even if that puts the
  -- count above the limit for a while.
  local had = redis.call('ZSCORE', key, holder)
  redis.call('ZADD', key, now + lease, holder)
  keep()
  return {had and 1 or 2, redis.call('ZCARD', key), 0}
elseif op == 'release' then
  local removed = redis.call('ZREM', key, holder)
  return {removed, redis.call('ZCARD', key), 0}
elseif op == 'count' then
  return {1, redis.call('ZCARD', key), 0}
end
return redis.error_reply('tasks.lua: unknown op ' .. tostring(op))
