"""The Lua scripts that change campaign state, each one atomic on the server.

Every state change of an entry (taken, finished, expired, released) moves it
between the sorted sets of its campaign and updates the campaign's counts in
the same script, so two dialers never take the same entry and the counts
never drift from the entries. Keys are built inside the scripts from the
prefix (ARGV[1]) exactly as `fastagi.campaigns.keys.CampaignKeys` builds
them; on Redis Cluster they would need a common hash tag (not supported).
"""

from __future__ import annotations

__all__ = ["FINISH", "LOAD", "NEXT", "RELEASE", "SET_STATE"]

# Shared helpers. `move` shifts one entry's count from one status to another,
# overall and for its priority; `requeue` puts a dialling entry back to
# pending: at once (in the pending set) or at a retry time (in the retry set),
# and back under its event's deadline.
_PRELUDE = """
local P = ARGV[1]
local function ckey(name) return P .. 'campaign:' .. name end
local function ekey(id) return P .. 'campaign-entry:' .. id end
local function move(name, prio, from, to)
  local c = ckey(name)
  redis.call('HINCRBY', c, from, -1)
  redis.call('HINCRBY', c, to, 1)
  redis.call('HINCRBY', c .. ':priorities', prio .. ':' .. from, -1)
  redis.call('HINCRBY', c .. ':priorities', prio .. ':' .. to, 1)
end
local function requeue(name, prio, id, at)
  local c = ckey(name)
  local e = ekey(id)
  if at then
    redis.call('ZADD', c .. ':retry', at, id)
  else
    redis.call('ZADD', c .. ':pending', redis.call('HGET', e, 'order'), id)
  end
  local last = redis.call('HGET', e, 'window_to')
  if last and last ~= '' then
    local day = string.gsub(last, '-', '')
    redis.call('ZADD', c .. ':deadlines', day, id)
  end
  redis.call('HSET', e, 'status', 'pending')
  move(name, prio, 'dialling', 'pending')
end
"""

#: ARGV: prefix, name, file, now ISO, now Unix, entries JSON, order span.
#: Each entry: key, line, number, priority, rank (MAX_PRIORITY - priority),
#: event_date, window_from, window_to, first_day, last_day, voice, menu, fields.
#: Returns {campaign created (0/1), added, already loaded}.
LOAD = (
    _PRELUDE
    + """
local name = ARGV[2]
local c = ckey(name)
local created = 0
if redis.call('EXISTS', c) == 0 then
  redis.call('HSET', c, 'name', name, 'file', ARGV[3], 'created', ARGV[4], 'state', 'running',
    'total', 0, 'pending', 0, 'dialling', 0, 'done', 0, 'failed', 0, 'expired', 0, 'dnc', 0)
  redis.call('ZADD', P .. 'campaigns', ARGV[5], name)
  created = 1
else
  redis.call('HSET', c, 'file', ARGV[3])
end
local span = tonumber(ARGV[7])
local added, known = 0, 0
for _, x in ipairs(cjson.decode(ARGV[6])) do
  if redis.call('HEXISTS', c .. ':numbers', x.key) == 1 then
    known = known + 1
  else
    local id = redis.call('INCR', P .. 'campaign-entry:seq')
    local order = string.format('%.0f', tonumber(x.rank) * span + id)
    redis.call('HSET', ekey(id), 'id', id, 'campaign', name, 'line', x.line,
      'number', x.number, 'priority', x.priority, 'order', order,
      'event_date', x.event_date, 'window_from', x.window_from, 'window_to', x.window_to,
      'voice', x.voice, 'menu', x.menu, 'fields', x.fields,
      'status', 'pending', 'attempts', 0, 'loaded', ARGV[4])
    redis.call('HSET', c .. ':numbers', x.key, id)
    redis.call('ZADD', c .. ':entries', id, id)
    if x.event_date ~= '' then
      redis.call('ZADD', c .. ':waiting', x.first_day, id)
      redis.call('ZADD', c .. ':deadlines', x.last_day, id)
    else
      redis.call('ZADD', c .. ':pending', order, id)
    end
    redis.call('HINCRBY', c, 'total', 1)
    redis.call('HINCRBY', c, 'pending', 1)
    redis.call('HINCRBY', c .. ':priorities', x.priority .. ':pending', 1)
    added = added + 1
  end
end
return {created, added, known}
"""
)

#: ARGV: prefix, now Unix, today (YYYYMMDD in the centre's zone), limit,
#: lease end (Unix), lease token, now ISO, most entries per sweep step.
#: First, in every campaign (paused ones too): pending event entries past
#: their window expire; waiting ones whose window opened and retries that
#: are due join the pending set. Then the first `limit` pending entries of
#: the running campaigns, by score across campaigns, become `dialling`.
#: Returns the taken entries as HGETALL replies.
NEXT = (
    _PRELUDE
    + """
local limit = tonumber(ARGV[4])
local cap = tonumber(ARGV[8])
local names = redis.call('ZRANGE', P .. 'campaigns', 0, -1)
for _, name in ipairs(names) do
  local c = ckey(name)
  local late = redis.call('ZRANGEBYSCORE', c .. ':deadlines', '-inf', '(' .. ARGV[3],
    'LIMIT', 0, cap)
  for _, id in ipairs(late) do
    local e = ekey(id)
    redis.call('ZREM', c .. ':deadlines', id)
    if redis.call('HGET', e, 'status') == 'pending' then
      redis.call('ZREM', c .. ':pending', id)
      redis.call('ZREM', c .. ':waiting', id)
      redis.call('ZREM', c .. ':retry', id)
      redis.call('HSET', e, 'status', 'expired', 'finished', ARGV[7])
      move(name, redis.call('HGET', e, 'priority'), 'pending', 'expired')
    end
  end
  local opened = redis.call('ZRANGEBYSCORE', c .. ':waiting', '-inf', ARGV[3], 'LIMIT', 0, cap)
  for _, id in ipairs(opened) do
    redis.call('ZREM', c .. ':waiting', id)
    redis.call('ZADD', c .. ':pending', redis.call('HGET', ekey(id), 'order'), id)
  end
  local again = redis.call('ZRANGEBYSCORE', c .. ':retry', '-inf', ARGV[2], 'LIMIT', 0, cap)
  for _, id in ipairs(again) do
    redis.call('ZREM', c .. ':retry', id)
    redis.call('ZADD', c .. ':pending', redis.call('HGET', ekey(id), 'order'), id)
  end
end
local candidates = {}
for _, name in ipairs(names) do
  local c = ckey(name)
  if redis.call('HGET', c, 'state') == 'running' then
    local heads = redis.call('ZRANGE', c .. ':pending', 0, limit - 1, 'WITHSCORES')
    for i = 1, #heads, 2 do
      candidates[#candidates + 1] = {tonumber(heads[i + 1]), heads[i], name}
    end
  end
end
-- Scores hold the entry id, so no two are equal.
table.sort(candidates, function(a, b) return a[1] < b[1] end)
local taken = {}
for i = 1, math.min(limit, #candidates) do
  local id, name = candidates[i][2], candidates[i][3]
  local c = ckey(name)
  local e = ekey(id)
  redis.call('ZREM', c .. ':pending', id)
  redis.call('ZREM', c .. ':deadlines', id)
  redis.call('HSET', e, 'status', 'dialling', 'lease', ARGV[6], 'lease_until', ARGV[5],
    'last_attempt', ARGV[7])
  redis.call('HINCRBY', e, 'attempts', 1)
  redis.call('ZADD', P .. 'campaign-leases', ARGV[5], id)
  move(name, redis.call('HGET', e, 'priority'), 'pending', 'dialling')
  taken[#taken + 1] = redis.call('HGETALL', e)
end
return taken
"""
)

#: ARGV: prefix, entry id, what happened (an outcome, `dnc`, or `untake`),
#: now ISO, max attempts, retry time (Unix; empty = pending at once), lease
#: token (empty = any). `untake` gives the entry back as if never taken
#: (the attempt is not counted). Returns {'ok', new status} or
#: {'unknown', ''} or {'not-dialling', why}.
FINISH = (
    _PRELUDE
    + """
local id = ARGV[2]
local kind = ARGV[3]
local e = ekey(id)
local status = redis.call('HGET', e, 'status')
if not status then return {'unknown', ''} end
if status ~= 'dialling' then return {'not-dialling', 'it is ' .. status} end
if ARGV[7] ~= '' and redis.call('HGET', e, 'lease') ~= ARGV[7] then
  return {'not-dialling', 'another dialer holds it now'}
end
local name = redis.call('HGET', e, 'campaign')
local prio = redis.call('HGET', e, 'priority')
redis.call('ZREM', P .. 'campaign-leases', id)
redis.call('HDEL', e, 'lease', 'lease_until')
if kind == 'untake' then
  redis.call('HINCRBY', e, 'attempts', -1)
  requeue(name, prio, id, nil)
  return {'ok', 'pending'}
end
redis.call('HSET', e, 'last_outcome', kind, 'last_outcome_at', ARGV[4])
local to = nil
if kind == 'dnc' then
  to = 'dnc'
elseif kind == 'answered' then
  to = 'done'
elseif tonumber(redis.call('HGET', e, 'attempts')) >= tonumber(ARGV[5]) then
  to = 'failed'
end
if to == nil then
  if ARGV[6] == '' then requeue(name, prio, id, nil) else requeue(name, prio, id, ARGV[6]) end
  return {'ok', 'pending'}
end
redis.call('HSET', e, 'status', to, 'finished', ARGV[4])
move(name, prio, 'dialling', to)
return {'ok', to}
"""
)

#: ARGV: prefix, now Unix, now ISO, max attempts, most leases per call.
#: Leases that ended by now: the entry goes back to pending (the attempt
#: counts), or to `failed` when that was its last attempt. Returns
#: {released to pending, failed}.
RELEASE = (
    _PRELUDE
    + """
local ended = redis.call('ZRANGEBYSCORE', P .. 'campaign-leases', '-inf', ARGV[2],
  'LIMIT', 0, tonumber(ARGV[5]))
local back, failed = 0, 0
for _, id in ipairs(ended) do
  redis.call('ZREM', P .. 'campaign-leases', id)
  local e = ekey(id)
  if redis.call('HGET', e, 'status') == 'dialling' then
    local name = redis.call('HGET', e, 'campaign')
    local prio = redis.call('HGET', e, 'priority')
    redis.call('HDEL', e, 'lease', 'lease_until')
    redis.call('HSET', e, 'last_outcome', 'lease_expired', 'last_outcome_at', ARGV[3])
    if tonumber(redis.call('HGET', e, 'attempts')) >= tonumber(ARGV[4]) then
      redis.call('HSET', e, 'status', 'failed', 'finished', ARGV[3])
      move(name, prio, 'dialling', 'failed')
      failed = failed + 1
    else
      requeue(name, prio, id, nil)
      back = back + 1
    end
  end
end
return {back, failed}
"""
)

#: ARGV: prefix, name, state. Returns 0 when there is no such campaign.
SET_STATE = (
    _PRELUDE
    + """
local c = ckey(ARGV[2])
if redis.call('EXISTS', c) == 0 then return 0 end
redis.call('HSET', c, 'state', ARGV[3])
return 1
"""
)
