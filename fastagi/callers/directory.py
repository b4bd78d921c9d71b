"""The caller directory: who is calling, what we know of them, their tickets and history.

All data lives in Redis under one prefix (keys in `fastagi.callers.keys`,
documented in docs/redis.md). Numbers are normalised to E.164 first; a
withheld or unparseable caller ID never touches Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from fastagi.callers._util import LogThrottle, as_fields, as_text, iso_utc, redis_mapping
from fastagi.callers.batching import CommandBatcher
from fastagi.callers.fields import clean_fields
from fastagi.callers.keys import DEFAULT_PREFIX, Keys, check_ticket_id
from fastagi.callers.phone import InvalidNumber, check_region, is_anonymous, normalize
from fastagi.callers.profile import CallerProfile
from fastagi.callers.tickets import (
    Ticket,
    TicketConflict,
    changed_ticket,
    new_ticket,
    read_tickets,
    save_ticket,
    ticket_ids,
)

__all__ = [
    "CALLS_RETENTION_DAYS",
    "DEFAULT_BUDGET",
    "HISTORY_MAXLEN",
    "CallerDirectory",
]

log = logging.getLogger(__name__)

#: Calls older than this are trimmed from `caller:<e164>:calls`; the longest window.
CALLS_RETENTION_DAYS = 400
#: About this many entries are kept in a caller's history stream (XADD MAXLEN ~).
HISTORY_MAXLEN = 1000
#: Seconds a `lookup` may take before the caller gets the default menu.
DEFAULT_BUDGET = 0.2

_DAY = 86400.0
_RETRYABLE = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)

#: identify's one round trip, as a server-side script: the client sends one
#: command and parses one reply instead of a pipeline of eight - the client's
#: work was most of what a lookup cost the server (docs/benchmarks.md).
#: KEYS: profile hash, calls zset. ARGV: now as ISO text, now as a score, the
#: zset member, the retention cutoff score, the zset TTL, then one window
#: start score per window. Returns {profile pairs, first_call set?, call
#: count, failed writes, window counts...}. Reading the profile must work
#: (a key of the wrong type is an error: the caller gets the default menu);
#: a write that fails (a damaged counter) is counted, and the profile still served.
_IDENTIFY_LUA = """
local profile = redis.call('HGETALL', KEYS[1])
local failed = 0
local function try(...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then
    failed = failed + 1
    return false
  end
  return reply
end
local first = try('HSETNX', KEYS[1], 'first_call', ARGV[1])
try('HSET', KEYS[1], 'last_call', ARGV[1])
local count = try('HINCRBY', KEYS[1], 'call_count', 1)
try('ZADD', KEYS[2], ARGV[2], ARGV[3])
try('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
try('EXPIRE', KEYS[2], ARGV[5])
local result = {profile, first, count, failed}
for i = 6, #ARGV do
  result[#result + 1] = try('ZCOUNT', KEYS[2], ARGV[i], '+inf')
end
return result
"""
_UNIQUEID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_HISTORY_FIELD = re.compile(r"[a-z0-9_]{1,40}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HISTORY_VALUE_LIMIT = 1000


def _windows(windows: Iterable[int]) -> tuple[int, ...]:
    days = tuple(sorted(set(windows)))
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 < day <= CALLS_RETENTION_DAYS:
            raise ValueError(
                f"a call-count window is a whole number of days from 1 to "
                f"{CALLS_RETENTION_DAYS}, not {day!r}"
            )
    return days


def _history_entry(entry: Mapping[str, str], now: float) -> dict[str, str]:
    """`entry` made safe to store: valid field names, short single-line values, a `when`."""
    clean: dict[str, str] = {}
    for name, value in entry.items():
        if not isinstance(name, str) or not _HISTORY_FIELD.fullmatch(name) or name == "id":
            continue
        text = _CONTROL.sub(" ", str(value))[:_HISTORY_VALUE_LIMIT]
        clean[name] = text
    clean.setdefault("when", iso_utc(now))
    return clean


class CallerDirectory:
    """Caller profiles, tickets and call history in Redis.

    `redis` is a redis.asyncio client (see `fastagi.storage.open_async_client`);
    `prefix` starts every key; `region` reads national numbers; `clock` gives
    Unix time (inject one in tests); `budget` bounds a `lookup` in seconds.
    Numbers given to any method may be in any written form; they are
    normalised (InvalidNumber is a ValueError) before they reach a key.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        region: str = "RU",
        clock: Callable[[], float] = time.time,
        budget: float = DEFAULT_BUDGET,
    ) -> None:
        self.redis = redis
        self.keys = Keys(prefix)
        self.region = check_region(region)
        self.clock = clock
        self.budget = budget
        #: History entries that could not be written (after one retry).
        self.history_write_failures = 0
        #: Lookups that fell back to a stand-in profile (Redis down, slow or odd).
        self.degraded_lookups = 0
        self._lookup_log = LogThrottle()
        self._history_log = LogThrottle()
        self._batch = CommandBatcher(redis)
        self._identify_sha = hashlib.sha1(_IDENTIFY_LUA.encode()).hexdigest()

    # -- numbers -----------------------------------------------------------

    def normalize(self, number: str) -> str:
        """`number` in E.164 (raises InvalidNumber)."""
        return normalize(number, self.region)

    def caller_number(self, raw_callerid: str) -> str | None:
        """The E.164 number of a caller ID, or None when withheld or not a number (logged)."""
        if is_anonymous(raw_callerid):
            return None
        try:
            return normalize(raw_callerid, self.region)
        except InvalidNumber as exc:
            log.info("caller ID served as anonymous: %s", exc)
            return None

    # -- the incoming call -------------------------------------------------

    async def identify(
        self, raw_callerid: str, *, windows: Iterable[int] = (), uniqueid: str = ""
    ) -> CallerProfile:
        """Find or create the caller's profile and record this call, in one round trip.

        Returns the profile with this call counted (`call_count`, `last_call`,
        `first_call` on a first call), `is_new` True when the number was not
        in the directory, and `calls_in_last[d]` the calls in the last d days
        for each of `windows` (1..400), this one included. A withheld or
        unparseable caller ID gives `CallerProfile.anonymous_caller()` without
        any Redis access. Raises redis errors (see `lookup` for the variant
        that never raises) and ValueError for a bad window.
        """
        days = _windows(windows)
        number = self.caller_number(raw_callerid)
        if number is None:
            return CallerProfile.anonymous_caller()
        return await self._identify(number, days, uniqueid)

    async def lookup(
        self, raw_callerid: str, *, windows: Iterable[int] = (), uniqueid: str = ""
    ) -> CallerProfile:
        """`identify` within the latency budget; never raises for Redis trouble.

        If Redis is down, slower than `budget` or answers something odd, the
        result is `CallerProfile.unavailable(number)` (`degraded` True: the
        caller gets the default menu), the failure is logged and counted in
        `degraded_lookups`. The client reconnects by itself on a later call.
        """
        days = _windows(windows)
        number = self.caller_number(raw_callerid)
        if number is None:
            return CallerProfile.anonymous_caller()
        try:
            async with asyncio.timeout(self.budget):
                return await self._identify(number, days, uniqueid)
        except (RedisError, OSError, TimeoutError, ValueError) as exc:
            self.degraded_lookups += 1
            held = self._lookup_log.allow()
            if held is not None:
                reason = (
                    f"no answer within {self.budget:g} s"
                    if isinstance(exc, TimeoutError)
                    else f"{type(exc).__name__}: {str(exc)[:200]}"
                )
                log.warning(
                    "caller lookup for %s degraded (default menu): %s%s",
                    number,
                    reason,
                    f" ({held} more since the last report)" if held else "",
                )
            return CallerProfile.unavailable(number)

    async def _identify(self, number: str, days: tuple[int, ...], uniqueid: str) -> CallerProfile:
        now = self.clock()
        when = iso_utc(now)
        profile_key, calls_key = self.keys.caller(number), self.keys.calls(number)
        tag = _UNIQUEID_UNSAFE.sub("", uniqueid)[:64] or secrets.token_hex(4)
        args: list[str | float | int] = [
            when,
            now,
            f"{now:.6f}:{tag}",
            now - CALLS_RETENTION_DAYS * _DAY,
            int(CALLS_RETENTION_DAYS * _DAY),
            *(now - day * _DAY for day in days),
        ]
        command = ("EVALSHA", self._identify_sha, 2, profile_key, calls_key, *args)
        try:
            reply = await self._batch.submit(*command)
        except NoScriptError:
            # A fresh or restarted server: load the script, then ask again.
            await self.redis.script_load(_IDENTIFY_LUA)
            reply = await self._batch.submit(*command)
        if not isinstance(reply, list) or len(reply) != 4 + len(days):
            raise ValueError(f"unexpected reply to the caller lookup: {str(reply)[:200]}")
        pairs, first_call, count, failed, *windows = reply
        if not isinstance(pairs, list):
            raise ValueError("unexpected profile in the caller lookup reply")
        if failed:
            # The profile was read; serve it even if its counters are damaged.
            log.warning("recording a call of %s failed in part (%s writes)", number, failed)
        before = as_fields(dict(zip(pairs[::2], pairs[1::2], strict=True)))
        fields = dict(before)
        first_call_set = first_call == 1
        if first_call_set:
            fields["first_call"] = when
        fields["last_call"] = when
        if isinstance(count, int):
            fields["call_count"] = str(count)
        counts = {
            day: value if isinstance(value, int) else 0
            for day, value in zip(days, windows, strict=True)
        }
        return CallerProfile(
            number=number,
            fields=fields,
            is_new=not before and first_call_set,
            calls_in_last=counts,
        )

    # -- profiles ----------------------------------------------------------

    async def get(self, number: str, *, windows: Iterable[int] = ()) -> CallerProfile | None:
        """The stored profile (no call recorded), or None if the number is unknown.

        `calls_in_last` is filled for `windows` as `identify` would, without
        this call. Raises InvalidNumber for a bad number.
        """
        days = _windows(windows)
        e164 = self.normalize(number)
        now = self.clock()
        calls_key = self.keys.calls(e164)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.caller(e164))
            for day in days:
                pipe.zcount(calls_key, now - day * _DAY, "+inf")
            replies = await pipe.execute()
        fields = as_fields(replies[0])
        if not fields:
            return None
        counts = {day: int(reply) for day, reply in zip(days, replies[1:], strict=True)}
        return CallerProfile(number=e164, fields=fields, calls_in_last=counts)

    async def upsert(self, number: str, fields: Mapping[str, str]) -> None:
        """Create or update a profile with `fields` (validated; "" deletes a field).

        Raises InvalidNumber or InvalidField (both ValueError) and writes
        nothing when any field is invalid.
        """
        e164 = self.normalize(number)
        to_set, to_delete = clean_fields(fields)
        await self.write_profiles([(e164, to_set, to_delete)])

    async def set_fields(self, number: str, **fields: str) -> None:
        """`upsert(number, fields)` with the fields as keyword arguments."""
        await self.upsert(number, fields)

    async def write_profiles(
        self, rows: Iterable[tuple[str, Mapping[str, str], Iterable[str]]]
    ) -> None:
        """Write already validated rows (E.164, fields to set, fields to delete) in one batch.

        For importers: the batch is applied atomically (one MULTI/EXEC). A
        number not yet in the directory becomes a contact that has not called
        (`call_count` 0), even with no fields. Use `upsert` unless the rows
        went through `clean_fields`.
        """
        async with self.redis.pipeline(transaction=True) as pipe:
            queued = False
            for e164, to_set, to_delete in rows:
                key = self.keys.caller(e164)
                pipe.hsetnx(key, "call_count", "0")
                queued = True
                if to_set:
                    pipe.hset(key, mapping=redis_mapping(to_set))
                deleted = list(to_delete)
                if deleted:
                    pipe.hdel(key, *deleted)
            if queued:
                await pipe.execute()

    async def numbers(self, *, count: int = 1000) -> AsyncIterator[str]:
        """Every number with a profile (SCAN under the prefix; order not defined)."""
        async for key in self.redis.scan_iter(match=self.keys.caller_pattern(), count=count):
            number = self.keys.number_of(as_text(key))
            if number is not None:
                yield number

    async def profiles(self, numbers: Iterable[str]) -> list[CallerProfile]:
        """The stored profiles of these E.164 numbers in one round trip (unknown ones left out)."""
        wanted = list(numbers)
        if not wanted:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for e164 in wanted:
                pipe.hgetall(self.keys.caller(e164))
            replies = await pipe.execute()
        found = ((e164, as_fields(reply)) for e164, reply in zip(wanted, replies, strict=True))
        return [CallerProfile(number=e164, fields=fields) for e164, fields in found if fields]

    # -- tickets -----------------------------------------------------------

    async def open_ticket(self, number: str, subject: str, *, agent: str = "") -> Ticket:
        """Open a ticket for the caller; their profile counts it and names it latest.

        Raises InvalidNumber, ValueError (empty or bad subject, bad agent).
        """
        e164 = self.normalize(number)
        now = self.clock()
        draft = new_ticket(1, e164, subject, agent, now)  # validate before taking an id
        ticket_id = int(await self.redis.incr(self.keys.ticket_seq()))
        ticket = replace(draft, id=ticket_id)

        def create(current: Ticket | None) -> Ticket:
            if current is not None:  # never overwrite a ticket
                raise TicketConflict(
                    f"ticket {ticket_id} already exists: {self.keys.ticket_seq()} is behind "
                    "the stored tickets; set it to the highest ticket id"
                )
            return ticket

        return await save_ticket(self.redis, self.keys, ticket_id, create, now)

    async def update_ticket(
        self,
        ticket_id: int | str,
        *,
        status: str | None = None,
        agent: str | None = None,
        note: str | None = None,
    ) -> Ticket:
        """Change a ticket's status, agent and/or note; the caller's profile follows.

        Raises TicketNotFound, ValueError for a bad status, agent or note.
        """
        tid = check_ticket_id(ticket_id)
        now = self.clock()
        return await save_ticket(
            self.redis,
            self.keys,
            tid,
            lambda current: changed_ticket(
                current, tid, now, status=status, agent=agent, note=note
            ),
            now,
        )

    async def ticket(self, ticket_id: int | str) -> Ticket | None:
        found = await read_tickets(self.redis, self.keys, [check_ticket_id(ticket_id)])
        return found[0] if found else None

    async def latest_open_ticket(self, number: str) -> Ticket | None:
        """The caller's most recently updated open ticket, or None."""
        e164 = self.normalize(number)
        latest = await self.redis.hget(self.keys.caller(e164), "latest_ticket")
        if latest is not None:
            try:
                ticket = await self.ticket(as_text(latest))
            except ValueError:
                ticket = None
            if ticket is not None and ticket.is_open and ticket.caller == e164:
                return ticket
        found = await self.tickets(e164, open_only=True, limit=1)
        return found[0] if found else None

    async def tickets(
        self, number: str, *, open_only: bool = False, limit: int = 10
    ) -> list[Ticket]:
        """The caller's tickets, most recently updated first (at most `limit`)."""
        e164 = self.normalize(number)
        if limit <= 0:
            return []
        stop = -1 if open_only else limit - 1
        reply = await self.redis.zrevrange(self.keys.caller_tickets(e164), 0, stop, withscores=True)
        found = await read_tickets(self.redis, self.keys, [tid for tid, _ in ticket_ids(reply)])
        mine = [t for t in found if t.caller == e164 and (t.is_open or not open_only)]
        return mine[:limit]

    # -- history -----------------------------------------------------------

    async def record_call(self, number: str, entry: Mapping[str, str]) -> bool:
        """Append a call to the caller's history; True if written.

        `entry` holds when, uniqueid, menu, path, digits, outcome, segment,
        degraded (any `[a-z0-9_]` names; values are cut to one line of 1000
        characters; `when` defaults to now). A connection error or timeout is
        retried once. Never raises: a failed write is logged, counted in
        `history_write_failures` and returns False. A withheld or invalid
        number returns False (nothing to record, not a failure).
        """
        if self.caller_number(number) is None:
            return False
        return await self.record_calls([(number, entry)]) == 1

    async def record_calls(self, calls: Sequence[tuple[str, Mapping[str, str]]]) -> int:
        """Append many calls to their callers' histories in one round trip; return how many.

        As `record_call` for each (one retry on a connection error, never
        raises, failures counted); a busy server batches its history writes
        through here, since a round trip costs the client more than its XADDs.
        """
        now = self.clock()
        writes = []
        for number, entry in calls:
            e164 = self.caller_number(number)
            if e164 is not None:
                fields = redis_mapping(_history_entry(entry, now))
                writes.append((self.keys.history(e164), fields))
        if not writes:
            return 0
        written = 0
        error: BaseException | None = None
        for _attempt in range(2):
            replies = await asyncio.gather(
                *(self._xadd(key, fields) for key, fields in writes), return_exceptions=True
            )
            failed = [
                (write, reply)
                for write, reply in zip(writes, replies, strict=True)
                if isinstance(reply, BaseException)
            ]
            written += len(writes) - len(failed)
            if not failed:
                return written
            error = failed[0][1]
            # A connection error is retried once (the connection is re-made);
            # anything else (a key of the wrong type, say) is final.
            writes = [write for write, reply in failed if isinstance(reply, _RETRYABLE)]
            if len(writes) < len(failed):
                self._history_failed(len(failed) - len(writes), error)
            if not writes:
                return written
        assert error is not None
        self._history_failed(len(writes), error)
        return written

    def _xadd(self, key: str, fields: Mapping[str, str]) -> asyncio.Future[Any]:
        flat = [item for pair in fields.items() for item in pair]
        return self._batch.submit("XADD", key, "MAXLEN", "~", HISTORY_MAXLEN, "*", *flat)

    def _history_failed(self, count: int, error: BaseException) -> None:
        self.history_write_failures += count
        held = self._history_log.allow()
        if held is not None:
            log.warning(
                "%d history entr%s not written: %s: %.200s%s",
                count,
                "y" if count == 1 else "ies",
                type(error).__name__,
                error,
                f" ({held} more since the last report)" if held else "",
            )

    async def history(self, number: str, limit: int = 10) -> list[dict[str, str]]:
        """The caller's last `limit` history entries, newest first; each has its stream `id`."""
        e164 = self.normalize(number)
        if limit <= 0:
            return []
        reply = await self.redis.xrevrange(self.keys.history(e164), count=limit)
        return [{**as_fields(values), "id": as_text(entry_id)} for entry_id, values in reply or ()]
