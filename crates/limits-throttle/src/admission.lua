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
-- ARGV[1] "decide" | "reconcile" | "report" | "adapted"
-- ARGV[2] now in microseconds, or "" for the server's TIME
-- ARGV[3..15] window, second (the per-second rule's span, arrival margin
--   included), second bucket width, window bucket width, full recovery
--   time (all us), rpm, tpm (after headroom), burst, cooldown (us),
--   decrease, floor, recovery (ppm), schedule tolerance (us)
-- decide:    ARGV[16] tokens
--   -> {1, 0, second bucket, window bucket} | {0, wait us, 0, 0} | {2, 0, 0, 0}
-- reconcile: ARGV[16] second bucket, ARGV[17] window bucket,
--   ARGV[18] estimated, ARGV[19] actual tokens -> {1, 0, 0, 0}
-- report:    ARGV[16] lower requests (0/1), ARGV[17] lower tokens -> {1, 0, 0, 0}
-- adapted:   -> {requests factor, tokens factor (ppm), cool-down left (us)}
--
-- Hash fields: `state` = "last:place:sn:st:mn:mt:sh:mh" (the latest time
-- seen, the schedule's place of the last admission, requests and tokens counted per queue, each
-- queue's oldest bucket; -1 for none); `cool`, `fr`, `frs`, `ft`, `fts`
-- (the cool-down's end, the factors and when they were lowered; written
-- only by reports); per bucket `s:I` and `m:I` = "requests:tokens" (under
-- per-second pacing the per-second list holds "I:tokens" instead: see `q`).
--
-- Numbers are integers below 2^53, exact in Lua's doubles, written with
-- %d. Few fields, written as strings, and the TTL set only when the key is
-- made, when a window bucket is added and on reports: writing is what costs
-- in a script (a number Redis formats costs more than the rules).

local H, QS, QM = KEYS[1], KEYS[2], KEYS[3]
local PPM = 1000000
local op = ARGV[1]
local window, second = tonumber(ARGV[3]), tonumber(ARGV[4])
local sw, mw, full = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local rpm, tpm, burst = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local cooldown, decrease = tonumber(ARGV[11]), tonumber(ARGV[12])
local floor_ppm, recovery = tonumber(ARGV[13]), tonumber(ARGV[14])
local tolerance = tonumber(ARGV[15])

local function num(x, default)
  if x then return tonumber(x) end
  return default
end

-- A bucket's "requests:tokens".
local function pair(text)
  if not text then return 0, 0 end
  local n, t = string.match(text, '^(%d+):(%d+)$')
  return tonumber(n), tonumber(t)
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
local si = string.format('%d', math.floor(now / sw))
local mi = string.format('%d', math.floor(now / mw))
local v = redis.call('HMGET', H, 's:' .. si, 'm:' .. mi, 'state', 'cool', 'fr', 'frs', 'ft', 'fts')
local held = { s = v[1], m = v[2] }
local st = { -1, -1, 0, 0, 0, 0, -1, -1 }
if v[3] then
  local i = 0
  for x in string.gmatch(v[3], '-?%d+') do
    i = i + 1
    st[i] = tonumber(x)
  end
end
local new_key = not v[3]
local last = st[1]
-- The rules never see the clock go back.
if last >= 0 and now < last then
  now = last
  si = string.format('%d', math.floor(now / sw))
  mi = string.format('%d', math.floor(now / mw))
  local b = redis.call('HMGET', H, 's:' .. si, 'm:' .. mi)
  held = { s = b[1], m = b[2] }
end
local place = st[2] >= 0 and st[2] or nil
local cool = num(v[4], 0)
local fr, frs, ft, fts = num(v[5], PPM), num(v[6], 0), num(v[7], PPM), num(v[8], 0)
-- Per queue: its sums and its oldest bucket (kept in the state, so that a
-- call that expires nothing reads no list).
-- Under per-second pacing a per-second bucket is a microsecond wide and
-- holds one request: its list entry is "index:tokens" (requests admitted
-- in one microsecond have an entry each), and it has no hash field.
local q = {
  s = { key = QS, n = st[3], t = st[4], head = st[7] >= 0 and st[7] or nil, packed = burst == 0 },
  m = { key = QM, n = st[5], t = st[6], head = st[8] >= 0 and st[8] or nil },
}

-- A listed bucket's index.
local function index_of(level, entry)
  if q[level].packed then return tonumber(string.match(entry, '^(%d+)')) end
  return tonumber(entry)
end

-- What the call changes: hash fields to set, whether the state changed,
-- and whether the TTL must be set.
local out = {}
local function set(field, value)
  out[#out + 1] = field
  out[#out + 1] = value
end
local dirty = false
local refresh_ttl = new_key

-- Drops the buckets wholly before the window (now - span, now].
local function expire(level, span, width)
  local first = math.floor(math.max(now + 1 - span, 0) / width)
  local l = q[level]
  if (l.head and l.head >= first) or (not l.head and l.n == 0 and l.t == 0) then return end
  dirty = true
  while true do
    local entry = redis.call('LINDEX', l.key, 0)
    if not entry then
      -- No bucket left: nothing is counted (heals a list lost alone).
      l.n, l.t, l.head = 0, 0, nil
      return
    end
    local index = index_of(level, entry)
    if index >= first then
      l.head = index
      return
    end
    redis.call('LPOP', l.key)
    local n, t
    if l.packed then
      n, t = 1, tonumber(string.match(entry, ':(%d+)$'))
    else
      local field = level .. ':' .. entry
      n, t = pair(redis.call('HGET', H, field))
      redis.call('HDEL', H, field)
    end
    l.n, l.t = math.max(l.n - n, 0), math.max(l.t - t, 0)
  end
end

-- How long until fits(requests, tokens) holds for what is still counted.
local function wait_for(level, span, width, fits)
  local l = q[level]
  local n, t = l.n, l.t
  if fits(n, t) then return 0 end
  local entries = redis.call('LRANGE', l.key, 0, -1)
  if #entries == 0 then return 0 end
  local counts = {}
  if l.packed then
    for i, entry in ipairs(entries) do counts[i] = '1' .. string.match(entry, ':%d+$') end
  else
    local fields = {}
    for i, entry in ipairs(entries) do fields[i] = level .. ':' .. entry end
    counts = redis.call('HMGET', H, unpack(fields))
  end
  for i, entry in ipairs(entries) do
    local bn, bt = pair(counts[i])
    n, t = n - bn, t - bt
    if fits(n, t) then
      return math.max((index_of(level, entry) + 1) * width + span - 1 - now, 0)
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
  if dirty then
    if last < 0 or now > last then last = now end
    set('state', string.format('%d:%d:%d:%d:%d:%d:%d:%d', last, place or -1,
      q.s.n, q.s.t, q.m.n, q.m.t, q.s.head or -1, q.m.head or -1))
  end
  if #out == 0 then return end
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
  local tokens = tonumber(ARGV[16])
  if tokens > tpm then
    save()
    return { 2, 0, 0, 0 }
  end
  local c = caps(factor_at(fr, frs), factor_at(ft, fts))
  local wait = math.max(cool - now, 0)
  -- The schedule: a place every `spacing`, taken up to `tolerance` early.
  local next_place = place and place + c.spacing
  if next_place and c.spacing > 0 then wait = math.max(wait, next_place - tolerance - now) end
  if tokens > c.tpm then
    -- Only a lowered limit refuses it: wait for the recovery.
    local need = math.ceil(tokens * PPM / tpm)
    wait = math.max(wait, fts + math.ceil(math.max(need - ft, 0) * window / recovery) - now)
  else
    wait = math.max(wait, wait_for('m', window, mw, function(n, t)
      return n < c.rpm and t + tokens <= c.tpm
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
    if l.packed then
      -- A bucket of its own, tokens as the client wrote them.
      redis.call('RPUSH', l.key, index .. ':' .. ARGV[16])
      if not l.head then l.head = tonumber(index) end
    else
      -- A bucket not yet counted goes to the end of its queue.
      if not held[level] then
        redis.call('RPUSH', l.key, index)
        if not l.head then l.head = tonumber(index) end
        if level == 'm' then refresh_ttl = true end
      end
      local n, t = pair(held[level])
      set(level .. ':' .. index, string.format('%d:%d', n + 1, t + tokens))
    end
    l.n, l.t = l.n + 1, l.t + tokens
  end
  -- Taken early, the place stays where it was; taken late, the schedule
  -- goes on from now.
  place = math.max(next_place or now, now)
  dirty = true
  save()
  return { 1, 0, tonumber(si), tonumber(mi) }
elseif op == 'reconcile' then
  local estimated, actual = tonumber(ARGV[18]), tonumber(ARGV[19])
  for _, b in ipairs({ { 's', ARGV[16] }, { 'm', ARGV[17] } }) do
    local l = q[b[1]]
    local field = b[1] .. ':' .. b[2]
    local counted
    if l.packed then
      -- Still listed as admitted: "index:estimate", as the client wrote both.
      local at = redis.call('LPOS', l.key, b[2] .. ':' .. ARGV[18])
      if at then
        redis.call('LSET', l.key, at, b[2] .. ':' .. string.format('%d', actual))
        l.t = l.t + actual - estimated
        dirty = true
      end
    else
      counted = redis.call('HGET', H, field)
    end
    if counted then
      local n, t = pair(counted)
      local changed
      if actual >= estimated then
        changed = t + (actual - estimated)
      else
        changed = t - math.min(estimated - actual, t)
      end
      set(field, string.format('%d:%d', n, changed))
      l.t = l.t + changed - t
      dirty = true
    end
  end
  save()
  return { 1, 0, 0, 0 }
elseif op == 'report' then
  refresh_ttl = true
  if now >= cool then
    cool = now + cooldown
    if ARGV[16] == '1' then
      fr, frs = math.max(math.floor(factor_at(fr, frs) * decrease / PPM), floor_ppm), now
    end
    if ARGV[17] == '1' then
      ft, fts = math.max(math.floor(factor_at(ft, fts) * decrease / PPM), floor_ppm), now
    end
  end
  set('cool', string.format('%d', cool))
  set('fr', string.format('%d', fr))
  set('frs', string.format('%d', frs))
  set('ft', string.format('%d', ft))
  set('fts', string.format('%d', fts))
  dirty = true
  save()
  return { 1, 0, 0, 0 }
elseif op == 'adapted' then
  save()
  return { factor_at(fr, frs), factor_at(ft, fts), math.max(cool - now, 0) }
end
return redis.error_reply('limits-throttle: unknown operation ' .. tostring(op))
