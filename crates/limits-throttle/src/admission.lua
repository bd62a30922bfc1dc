-- The admission rules of limits-throttle (src/admission.rs), step for step,
-- as one script: every operation on a key reads, decides and writes in one
-- call, on the server's clock (TIME, in microseconds) unless the client
-- passes its own.
--
-- KEYS[1] hash: the key's state and its buckets' counts
-- KEYS[2] list: the per-second buckets' indices, oldest first
-- KEYS[3] list: the per-window buckets' indices, oldest first
-- (all three under one hash tag, so they share a cluster slot)
--
-- ARGV[1] "decide" | "reconcile" | "report" | "effective"
-- ARGV[2] now in microseconds, or "" for the server's TIME
-- ARGV[3..14] window, second, second bucket width, window bucket width,
--   full recovery time (all us), rpm, tpm (after headroom), burst, cooldown
--   (us), decrease, floor, recovery (ppm)
-- decide:    ARGV[15] tokens
--   -> {1, 0, second bucket, window bucket} | {0, wait us, 0, 0} | {2, 0, 0, 0}
-- reconcile: ARGV[15] second bucket, ARGV[16] window bucket,
--   ARGV[17] estimated, ARGV[18] actual tokens -> {1, 0, 0, 0}
-- report:    ARGV[15] lower requests (0/1), ARGV[16] lower tokens -> {1, 0, 0, 0}
-- effective: -> {rpm, tpm, requests factor, tokens factor, cool-down left us}
--
-- Hash fields: last (latest time seen), prev (last admission), cool (end of
-- the cool-down), fr/frs and ft/fts (factors and when they were lowered),
-- sn/st and mn/mt (requests and tokens counted per queue), sh/mh (each
-- queue's oldest bucket), and per bucket sn:I, st:I, mn:I, mt:I.
--
-- Numbers are integers below 2^53, exact in Lua's doubles. Redis writes
-- numbers given to redis.call exactly; the bucket indices that go into
-- field names are formatted with %.0f (Lua's tostring would use exponents).
-- The script writes only what changed, and sets the TTL only when the key
-- is made, when a window bucket is added, and on reports: this keeps a call
-- to about four Redis commands.

local H, QS, QM = KEYS[1], KEYS[2], KEYS[3]
local PPM = 1000000
local op = ARGV[1]
local window, second = tonumber(ARGV[3]), tonumber(ARGV[4])
local sw, mw, full = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local rpm, tpm, burst = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local cooldown, decrease = tonumber(ARGV[11]), tonumber(ARGV[12])
local floor_ppm, recovery = tonumber(ARGV[13]), tonumber(ARGV[14])

local function num(x, default)
  if x then return tonumber(x) end
  return default
end

local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- One read of the state, with the buckets of this time (read again in
-- the rare case that the clock went back and `now` is raised).
local si = string.format('%.0f', math.floor(now / sw))
local mi = string.format('%.0f', math.floor(now / mw))
local v = redis.call('HMGET', H, 'sn:' .. si, 'st:' .. si, 'mn:' .. mi, 'mt:' .. mi,
  'last', 'prev', 'cool', 'fr', 'frs', 'ft', 'fts', 'sn', 'st', 'mn', 'mt', 'sh', 'mh')
local held = { s = { v[1], v[2] }, m = { v[3], v[4] } }
local last = num(v[5], nil)
-- The rules never see the clock go back.
if last and now < last then
  now = last
  si = string.format('%.0f', math.floor(now / sw))
  mi = string.format('%.0f', math.floor(now / mw))
  local b = redis.call('HMGET', H, 'sn:' .. si, 'st:' .. si, 'mn:' .. mi, 'mt:' .. mi)
  held = { s = { b[1], b[2] }, m = { b[3], b[4] } }
end
local prev, cool = num(v[6], nil), num(v[7], 0)
local fr, frs, ft, fts = num(v[8], PPM), num(v[9], 0), num(v[10], PPM), num(v[11], 0)
-- Per queue: its sums and its oldest bucket (kept in the hash, so that a
-- call that expires nothing reads no list).
local q = {
  s = { key = QS, n = num(v[12], 0), t = num(v[13], 0), head = num(v[16], nil) },
  m = { key = QM, n = num(v[14], 0), t = num(v[15], 0), head = num(v[17], nil) },
}

-- What the call changes: hash fields to set, and whether the TTL must be set.
local out = {}
local function set(field, value)
  out[#out + 1] = field
  out[#out + 1] = value
end
local refresh_ttl = not last

-- Drops the buckets wholly before the window (now - span, now].
local function expire(level, span, width)
  local first = math.floor(math.max(now + 1 - span, 0) / width)
  local l = q[level]
  if (l.head and l.head >= first) or (not l.head and l.n == 0 and l.t == 0) then return end
  while true do
    local head = redis.call('LINDEX', l.key, 0)
    if not head then
      -- No bucket left: nothing is counted (heals a list lost alone).
      l.n, l.t, l.head = 0, 0, nil
      break
    end
    if tonumber(head) >= first then
      l.head = tonumber(head)
      break
    end
    redis.call('LPOP', l.key)
    local b = redis.call('HMGET', H, level .. 'n:' .. head, level .. 't:' .. head)
    l.n, l.t = l.n - num(b[1], 0), l.t - num(b[2], 0)
    redis.call('HDEL', H, level .. 'n:' .. head, level .. 't:' .. head)
  end
  set(level .. 'n', l.n)
  set(level .. 't', l.t)
  if l.head then
    set(level .. 'h', l.head)
  else
    redis.call('HDEL', H, level .. 'h')
  end
end

-- How long until fits(requests, tokens) holds for what is still counted.
local function wait_for(level, span, width, fits)
  local l = q[level]
  local n, t = l.n, l.t
  if fits(n, t) then return 0 end
  for _, head in ipairs(redis.call('LRANGE', l.key, 0, -1)) do
    local b = redis.call('HMGET', H, level .. 'n:' .. head, level .. 't:' .. head)
    n, t = n - num(b[1], 0), t - num(b[2], 0)
    if fits(n, t) then
      return math.max((tonumber(head) + 1) * width + span - 1 - now, 0)
    end
  end
  return 0
end

local function factor_at(f, since)
  if f >= PPM then return PPM end
  local elapsed = math.min(math.max(now - since, 0), full)
  return math.min(f + math.floor(elapsed * recovery / window), PPM)
end

local function caps(frn, ftn)
  local c = {}
  c.rpm = math.max(math.floor(rpm * frn / PPM), 1)
  c.tpm = math.max(math.floor(tpm * ftn / PPM), 1)
  local function share(n) return math.max(math.ceil(n / 60), math.floor(n * burst / PPM)) end
  c.rps, c.tps = share(c.rpm), share(c.tpm)
  c.spacing = 0
  if burst == 0 then c.spacing = math.ceil(window / c.rpm) end
  return c
end

local function save()
  if #out == 0 then return end
  if not last or now > last then set('last', now) end
  redis.call('HSET', H, unpack(out))
  if not refresh_ttl then return end
  -- Keep the state while anything in it still matters: the newest window
  -- bucket ends at most a bucket after now.
  local ttl = math.max(window, cool - now) + mw
  if fr < PPM then ttl = math.max(ttl, frs + full - now) end
  if ft < PPM then ttl = math.max(ttl, fts + full - now) end
  local ms = math.ceil(ttl / 1000) + 1000
  redis.call('PEXPIRE', H, ms)
  redis.call('PEXPIRE', QS, ms)
  redis.call('PEXPIRE', QM, ms)
end

expire('s', second, sw)
expire('m', window, mw)

if op == 'decide' then
  local tokens = tonumber(ARGV[15])
  if tokens > tpm then
    save()
    return { 2, 0, 0, 0 }
  end
  local c = caps(factor_at(fr, frs), factor_at(ft, fts))
  local wait = math.max(cool - now, 0)
  if prev and c.spacing > 0 then wait = math.max(wait, prev + c.spacing - now) end
  if tokens > c.tpm then
    -- Only a lowered limit refuses it: wait for the recovery.
    local need = math.ceil(tokens * PPM / tpm)
    wait = math.max(wait, fts + math.ceil(math.max(need - ft, 0) * window / recovery) - now)
  else
    -- Spaced requests keep the window's request cap by themselves.
    wait = math.max(wait, wait_for('m', window, mw, function(n, t)
      return (c.spacing > 0 or n < c.rpm) and t + tokens <= c.tpm
    end))
  end
  wait = math.max(wait, wait_for('s', second, sw, function(n, t)
    return n < c.rps and (t + tokens <= c.tps or n == 0)
  end))
  if wait > 0 then
    save()
    return { 0, wait, 0, 0 }
  end
  for _, level in ipairs({ 's', 'm' }) do
    local l, index = q[level], (level == 's' and si) or mi
    local n, t = held[level][1], held[level][2]
    -- A bucket not yet counted goes to the end of its queue.
    if not n then
      redis.call('RPUSH', l.key, index)
      if not l.head then
        l.head = tonumber(index)
        set(level .. 'h', l.head)
      end
      if level == 'm' then refresh_ttl = true end
    end
    set(level .. 'n:' .. index, num(n, 0) + 1)
    set(level .. 't:' .. index, num(t, 0) + tokens)
    l.n, l.t = l.n + 1, l.t + tokens
    set(level .. 'n', l.n)
    set(level .. 't', l.t)
  end
  prev = now
  set('prev', prev)
  save()
  return { 1, 0, tonumber(si), tonumber(mi) }
elseif op == 'reconcile' then
  local estimated, actual = tonumber(ARGV[17]), tonumber(ARGV[18])
  for _, b in ipairs({ { 's', ARGV[15] }, { 'm', ARGV[16] } }) do
    local l = q[b[1]]
    local field = b[1] .. 't:' .. b[2]
    local counted = redis.call('HGET', H, field)
    if counted then
      counted = tonumber(counted)
      local changed
      if actual >= estimated then
        changed = counted + (actual - estimated)
      else
        changed = counted - math.min(estimated - actual, counted)
      end
      set(field, changed)
      l.t = l.t + changed - counted
      set(b[1] .. 't', l.t)
    end
  end
  save()
  return { 1, 0, 0, 0 }
elseif op == 'report' then
  refresh_ttl = true
  if now >= cool then
    cool = now + cooldown
    if ARGV[15] == '1' then
      fr, frs = math.max(math.floor(factor_at(fr, frs) * decrease / PPM), floor_ppm), now
    end
    if ARGV[16] == '1' then
      ft, fts = math.max(math.floor(factor_at(ft, fts) * decrease / PPM), floor_ppm), now
    end
  end
  set('cool', cool)
  set('fr', fr)
  set('frs', frs)
  set('ft', ft)
  set('fts', fts)
  save()
  return { 1, 0, 0, 0 }
elseif op == 'effective' then
  local frn, ftn = factor_at(fr, frs), factor_at(ft, fts)
  local c = caps(frn, ftn)
  save()
  return { c.rpm, c.tpm, frn, ftn, math.max(cool - now, 0) }
end
return redis.error_reply('limits-throttle: unknown operation ' .. tostring(op))
