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
-- Numbers are integers below 2^53, exact in Lua's doubles, and written
-- with %.0f (tostring would write large ones in exponent form).

local H, QS, QM = KEYS[1], KEYS[2], KEYS[3]
local PPM = 1000000
local op = ARGV[1]
local window, second = tonumber(ARGV[3]), tonumber(ARGV[4])
local sw, mw, full = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local rpm, tpm, burst = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local cooldown, decrease = tonumber(ARGV[11]), tonumber(ARGV[12])
local floor_ppm, recovery = tonumber(ARGV[13]), tonumber(ARGV[14])

local function int(x) return string.format('%.0f', x) end
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

local v = redis.call('HMGET', H, 'last', 'prev', 'cool', 'fr', 'frs', 'ft', 'fts',
  'sn', 'st', 'mn', 'mt')
-- The rules never see the clock go back.
now = math.max(now, num(v[1], 0))
local prev, cool = num(v[2], nil), num(v[3], 0)
local fr, frs, ft, fts = num(v[4], PPM), num(v[5], 0), num(v[6], PPM), num(v[7], 0)
local sums = { s = { n = num(v[8], 0), t = num(v[9], 0) }, m = { n = num(v[10], 0), t = num(v[11], 0) } }

-- Drops the buckets wholly before the window (now - span, now].
local function expire(level, q, span, width)
  local first = math.floor(math.max(now + 1 - span, 0) / width)
  while true do
    local head = redis.call('LINDEX', q, 0)
    if not head then
      -- No bucket left: nothing is counted (heals a list lost alone).
      sums[level].n, sums[level].t = 0, 0
      return
    end
    if tonumber(head) >= first then return end
    redis.call('LPOP', q)
    local fields = { level .. 'n:' .. head, level .. 't:' .. head }
    local b = redis.call('HMGET', H, fields[1], fields[2])
    sums[level].n = sums[level].n - num(b[1], 0)
    sums[level].t = sums[level].t - num(b[2], 0)
    redis.call('HDEL', H, fields[1], fields[2])
  end
end

-- How long until fits(requests, tokens) holds for what is still counted.
local function wait_for(level, q, span, width, fits)
  local n, t = sums[level].n, sums[level].t
  if fits(n, t) then return 0 end
  for _, head in ipairs(redis.call('LRANGE', q, 0, -1)) do
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

local updates = {}
local function save()
  local f = { 'last', now, 'cool', cool, 'fr', fr, 'frs', frs, 'ft', ft,
    'fts', fts, 'sn', sums.s.n, 'st', sums.s.t, 'mn', sums.m.n, 'mt', sums.m.t }
  if prev then
    table.insert(f, 'prev')
    table.insert(f, prev)
  end
  for _, u in ipairs(updates) do table.insert(f, u) end
  for i = 2, #f, 2 do
    if type(f[i]) == 'number' then f[i] = int(f[i]) end
  end
  redis.call('HSET', H, unpack(f))
  -- Keep the state while anything in it still matters.
  local ttl = math.max(window, cool - now)
  if fr < PPM then ttl = math.max(ttl, frs + full - now) end
  if ft < PPM then ttl = math.max(ttl, fts + full - now) end
  local ms = math.ceil(ttl / 1000) + 1000
  redis.call('PEXPIRE', H, ms)
  redis.call('PEXPIRE', QS, ms)
  redis.call('PEXPIRE', QM, ms)
end

expire('s', QS, second, sw)
expire('m', QM, window, mw)

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
    wait = math.max(wait, wait_for('m', QM, window, mw, function(n, t)
      return (c.spacing > 0 or n < c.rpm) and t + tokens <= c.tpm
    end))
  end
  wait = math.max(wait, wait_for('s', QS, second, sw, function(n, t)
    return n < c.rps and (t + tokens <= c.tps or n == 0)
  end))
  if wait > 0 then
    save()
    return { 0, wait, 0, 0 }
  end
  local si, mi = int(math.floor(now / sw)), int(math.floor(now / mw))
  local held = redis.call('HMGET', H, 'sn:' .. si, 'st:' .. si, 'mn:' .. mi, 'mt:' .. mi)
  for _, b in ipairs({ { 's', QS, si, held[1], held[2] }, { 'm', QM, mi, held[3], held[4] } }) do
    local level, q, index, n, t = b[1], b[2], b[3], b[4], b[5]
    -- A bucket not yet counted goes to the end of its queue.
    if not n then redis.call('RPUSH', q, index) end
    table.insert(updates, level .. 'n:' .. index)
    table.insert(updates, int(num(n, 0) + 1))
    table.insert(updates, level .. 't:' .. index)
    table.insert(updates, int(num(t, 0) + tokens))
    sums[level].n = sums[level].n + 1
    sums[level].t = sums[level].t + tokens
  end
  prev = now
  save()
  return { 1, 0, tonumber(si), tonumber(mi) }
elseif op == 'reconcile' then
  local estimated, actual = tonumber(ARGV[17]), tonumber(ARGV[18])
  for _, b in ipairs({ { 's', ARGV[15] }, { 'm', ARGV[16] } }) do
    local level, field = b[1], b[1] .. 't:' .. int(tonumber(b[2]))
    local held = redis.call('HGET', H, field)
    if held then
      held = tonumber(held)
      local changed
      if actual >= estimated then
        changed = held + (actual - estimated)
      else
        changed = held - math.min(estimated - actual, held)
      end
      table.insert(updates, field)
      table.insert(updates, int(changed))
      sums[level].t = sums[level].t + changed - held
    end
  end
  save()
  return { 1, 0, 0, 0 }
elseif op == 'report' then
  if now >= cool then
    cool = now + cooldown
    if ARGV[15] == '1' then
      fr, frs = math.max(math.floor(factor_at(fr, frs) * decrease / PPM), floor_ppm), now
    end
    if ARGV[16] == '1' then
      ft, fts = math.max(math.floor(factor_at(ft, fts) * decrease / PPM), floor_ppm), now
    end
  end
  save()
  return { 1, 0, 0, 0 }
elseif op == 'effective' then
  local frn, ftn = factor_at(fr, frs), factor_at(ft, fts)
  local c = caps(frn, ftn)
  save()
  return { c.rpm, c.tpm, frn, ftn, math.max(cool - now, 0) }
end
return redis.error_reply('limits-throttle: unknown operation ' .. tostring(op))
