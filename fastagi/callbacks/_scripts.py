"""The Lua scripts behind CallbackStore: each change to a request is one atomic step.

A script runs alone on the server, so a request, the number -> request index
and the schedule never disagree, and two workers cannot both take the same
stream entry, lease or letter. Redis does not undo what a failing script
wrote, so the scripts read before they write, and the intake acknowledges
its entry last: only a damaged key can make one fail, and then the entry
stays pending. Times are Unix seconds. Request hash keys are
built from the prefix inside a script (the id is only known there), so on
Redis Cluster every key of the prefix would need one hash tag - the same
caveat as the caller lookup (docs/redis.md).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CLAIM",
    "CLOSE",
    "INTAKE",
    "MARK_EMAIL",
    "REACHED",
    "RECORD_ATTEMPT",
    "RETRY",
    "SCHEDULE",
]

# close(key, id, reason, now, keep, open_key, due_key): shared by several scripts.
_CLOSE: Final = """
local function close(key, id, reason, now, keep, open_key, due_key)
  local number = redis.call('HGET', key, 'number')
  redis.call('HSET', key, 'status', 'closed', 'closed_reason', reason,
             'closed_at', now, 'updated', now)
  redis.call('HDEL', key, 'lease_until', 'next_at')
  if redis.call('HGET', key, 'email_state') == 'sending' then
    redis.call('HSET', key, 'email_state', 'unknown')
  end
  redis.call('ZREM', due_key, id)
  if number and redis.call('HGET', open_key, number) == id then
    redis.call('HDEL', open_key, number)
  end
  redis.call('EXPIRE', key, keep)
end
"""

_HAS: Final = """
local function has(list, item)
  return string.find(',' .. list .. ',', ',' .. item .. ',', 1, true) ~= nil
end
"""

#: KEYS: stream, open, due, all, seq, reached marker of the number.
#: ARGV: group, entry id, add|skip, number, reason, call time, local day of the
#: call, uniqueid, queue, request key prefix, now, uniqueids kept.
#: Returns {request id or 0, what happened}. An entry is worked only while it
#: is pending, and acknowledged in the same step: worked once, whoever has it.
INTAKE: Final = (
    _HAS
    + """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 then return {0, 'done'} end
-- Acknowledged last: a script that fails half way is not undone by Redis,
-- and the entry must then stay pending to be worked again.
local function ack(result)
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return result
end
if ARGV[3] ~= 'add' then return ack({0, 'skipped'}) end
local number, reason, ts, day = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local uid, queue, now, keep_ids = ARGV[8], ARGV[9], tonumber(ARGV[11]), tonumber(ARGV[12])
local mark = redis.call('GET', KEYS[6])
if mark then
  local sep = string.find(mark, '|', 1, true)
  if sep and string.sub(mark, sep + 1) == day and tonumber(string.sub(mark, 1, sep - 1)) >= ts then
    return ack({0, 'reached'})
  end
end
local id = redis.call('HGET', KEYS[2], number)
if id then
  local key = ARGV[10] .. id
  if redis.call('HGET', key, 'status') == 'open' then
    local reasons = redis.call('HGET', key, 'reasons') or ''
    if not has(reasons, reason) then
      redis.call('HSET', key, 'reasons', reasons == '' and reason or reasons .. ',' .. reason)
    end
    local uids = redis.call('HGET', key, 'uniqueids') or ''
    if uid ~= '' and has(uids, uid) then return ack({tonumber(id), 'repeat'}) end
    redis.call('HINCRBY', key, 'calls', 1)
    if uid ~= '' then
      local kept = {}
      for item in string.gmatch(uids, '[^,]+') do kept[#kept + 1] = item end
      kept[#kept + 1] = uid
      while #kept > keep_ids do table.remove(kept, 1) end
      redis.call('HSET', key, 'uniqueids', table.concat(kept, ','))
    end
    if ts < tonumber(redis.call('HGET', key, 'first_call')) then
      redis.call('HSET', key, 'first_call', ts)
    end
    if ts > tonumber(redis.call('HGET', key, 'last_call')) then
      redis.call('HSET', key, 'last_call', ts, 'last_day', day)
    end
    if (redis.call('HGET', key, 'queue') or '') == '' and queue ~= '' then
      redis.call('HSET', key, 'queue', queue)
    end
    redis.call('HSET', key, 'updated', now)
    local lease = tonumber(redis.call('HGET', key, 'lease_until') or '0')
    if lease <= now then
      -- look again now: a new call may allow an attempt sooner
      redis.call('ZADD', KEYS[3], 'LT', now, id)
      redis.call('HSET', key, 'next_at', redis.call('ZSCORE', KEYS[3], id))
    end
    return ack({tonumber(id), 'merged'})
  end
  redis.call('HDEL', KEYS[2], number)
end
id = redis.call('INCR', KEYS[5])
local key = ARGV[10] .. id
redis.call('HSET', key, 'id', id, 'number', number, 'status', 'open',
           'first_call', ts, 'last_call', ts, 'last_day', day, 'calls', 1,
           'reasons', reason, 'queue', queue, 'uniqueids', uid, 'attempts', 0,
           'email_state', 'none', 'email_tries', 0, 'created', now, 'updated', now,
           'next_at', ts)
redis.call('HSET', KEYS[2], number, id)
redis.call('ZADD', KEYS[3], ts, id)
redis.call('ZADD', KEYS[4], ts, id)
return ack({id, 'created'})
"""
)

#: KEYS: open, due, reached marker of the number.
#: ARGV: number, time agent answered, its local day, request key prefix, now,
#: marker lifetime, seconds to keep a closed request.
#: Returns the id of the request it closed, or 0.
REACHED: Final = (
    _CLOSE
    + """
local number, ts, day = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local mark = redis.call('GET', KEYS[3])
local newer = true
if mark then
  local sep = string.find(mark, '|', 1, true)
  if sep and tonumber(string.sub(mark, 1, sep - 1)) >= ts then newer = false end
end
if newer then redis.call('SET', KEYS[3], ts .. '|' .. day, 'EX', ARGV[6]) end
local id = redis.call('HGET', KEYS[1], number)
if not id then return 0 end
local key = ARGV[4] .. id
if redis.call('HGET', key, 'status') ~= 'open' then return 0 end
if redis.call('HGET', key, 'last_day') == day
    and tonumber(redis.call('HGET', key, 'last_call')) <= ts then
  close(key, id, 'reached', ARGV[5], ARGV[7], KEYS[1], KEYS[2])
  return tonumber(id)
end
return 0
"""
)

#: KEYS: request, open, due, caller's history stream.
#: ARGV: id, attempt time, outcome, uniqueid, next time, now, keep, attempt
#: time as ISO text, history length.
#: Returns {the attempt's number (the existing one for a repeated uniqueid; -1
#: if there is no request), 1 if the history entry was written else 0}.
RECORD_ATTEMPT: Final = (
    _CLOSE
    + """
local key, id = KEYS[1], ARGV[1]
if redis.call('EXISTS', key) == 0 then return {-1, 0} end
local uid = ARGV[4]
local n = tonumber(redis.call('HGET', key, 'attempts') or '0')
if uid ~= '' and n > 0 then
  local last = redis.call('HGET', key, 'attempt:' .. n) or ''
  local tail = '|' .. uid
  if string.sub(last, -#tail) == tail then return {n, 1} end
end
n = redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'attempt:' .. n, ARGV[2] .. '|' .. ARGV[3] .. '|' .. uid,
           'updated', ARGV[6])
redis.call('HDEL', key, 'lease_until')
-- The history is a record for agents: a damaged history key must not stop
-- the request from learning the outcome.
local written = redis.pcall('XADD', KEYS[4], 'MAXLEN', '~', ARGV[9], '*', 'when', ARGV[8],
                            'uniqueid', uid, 'outcome', 'callback_' .. ARGV[3], 'callback', id,
                            'attempt', n, 'direction', 'outbound')
local history = 1
if type(written) == 'table' and written.err then history = 0 end
if redis.call('HGET', key, 'status') == 'open' then
  if ARGV[3] == 'answered' then
    close(key, id, 'answered', ARGV[6], ARGV[7], KEYS[2], KEYS[3])
  else
    redis.call('ZADD', KEYS[3], ARGV[5], id)
    redis.call('HSET', key, 'next_at', ARGV[5])
  end
end
return {n, history}
"""
)

#: KEYS: request, due. ARGV: id, now, lease end.
#: Takes the lease only when the request is open and due: 1 if taken, else 0.
CLAIM: Final = """
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then return 0 end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[1], 'lease_until', ARGV[3], 'next_at', ARGV[3])
return 1
"""

#: KEYS: request, due. ARGV: id, when, now. 1 if the open request is scheduled.
SCHEDULE: Final = """
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], 'next_at', ARGV[2], 'updated', ARGV[3])
redis.call('HDEL', KEYS[1], 'lease_until')
return 1
"""

#: KEYS: request, open, due. ARGV: id, reason, now, keep.
#: 1 if it closed the request, 0 if it was closed already, -1 if there is none.
CLOSE: Final = (
    _CLOSE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then return 0 end
close(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], KEYS[2], KEYS[3])
return 1
"""
)

#: KEYS: request, open, due. ARGV: id, new state, now, retry time, keep.
#: `sending` is taken only from none/pending on an open request (the one
#: moment a letter may start); sent/failed/unknown are final and close an open
#: request. Returns 1 if the state changed (or already was so), 0 if refused, -1 if none.
MARK_EMAIL: Final = (
    _CLOSE
    + """
local key, id, state, now = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', key) == 0 then return -1 end
local current = redis.call('HGET', key, 'email_state') or 'none'
local open = redis.call('HGET', key, 'status') == 'open'
if state == 'sending' then
  if not open or (current ~= 'none' and current ~= 'pending') then return 0 end
  redis.call('HSET', key, 'email_state', 'sending', 'email_at', now, 'updated', now)
  redis.call('HINCRBY', key, 'email_tries', 1)
  return 1
end
if state == 'pending' or state == 'none' then
  if current ~= 'none' and current ~= 'pending' and current ~= 'sending' then return 0 end
  redis.call('HSET', key, 'email_state', state, 'updated', now)
  if open then
    redis.call('ZADD', KEYS[3], ARGV[4], id)
    redis.call('HSET', key, 'next_at', ARGV[4])
    redis.call('HDEL', key, 'lease_until')
  end
  return 1
end
if current == state then return 1 end
if current == 'sent' then return 0 end
redis.call('HSET', key, 'email_state', state, 'updated', now)
if open then
  close(key, id, state == 'sent' and 'emailed' or 'gave_up', now, ARGV[5], KEYS[2], KEYS[3])
end
return 1
"""
)

#: KEYS: request, open, due. ARGV: id, when, now.
#: Reopens a closed request (unless its number has another open one: -2) and
#: schedules it; grants one attempt more than made so far. -1 if there is none.
RETRY: Final = """
local key, id = KEYS[1], ARGV[1]
if redis.call('EXISTS', key) == 0 then return -1 end
local number = redis.call('HGET', key, 'number')
if redis.call('HGET', key, 'status') ~= 'open' then
  local other = redis.call('HGET', KEYS[2], number)
  if other and other ~= id then return -2 end
  redis.call('HSET', key, 'status', 'open')
  redis.call('HDEL', key, 'closed_reason', 'closed_at')
  redis.call('PERSIST', key)
  redis.call('HSET', KEYS[2], number, id)
  if redis.call('HGET', key, 'email_state') == 'failed' then
    redis.call('HSET', key, 'email_state', 'none', 'email_tries', 0)
  end
end
local made = tonumber(redis.call('HGET', key, 'attempts') or '0')
redis.call('HSET', key, 'granted_attempts', made + 1, 'next_at', ARGV[2], 'updated', ARGV[3])
redis.call('HDEL', key, 'lease_until')
redis.call('ZADD', KEYS[3], ARGV[2], id)
return 1
"""
