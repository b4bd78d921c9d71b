"""The caller directory: who is calling, what we know of them, their tickets and history.

All data lives in Redis under one prefix (keys in `fastagi.callers.keys`,
documented in docs/redis.md). Numbers are normalised to E.164 first; a
withheld or unparseable caller ID never touches Redis.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache, partial
from types import MappingProxyType
from typing import Any

import orjson
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from fastagi.callers._util import LogThrottle, as_fields, as_text, iso_second, redis_mapping
from fastagi.callers.batching import CommandBatcher
from fastagi.callers.fields import clean_fields
from fastagi.callers.keys import DEFAULT_PREFIX, Keys, check_ticket_id
from fastagi.callers.phone import InvalidNumber, check_region, is_anonymous, normalize
from fastagi.callers.profile import CallerProfile
from fastagi.callers.resp import Script, encode_arg, encode_args, encode_texts
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
#: KEYS: profile hash, calls zset. ARGV: now as ISO text, now in whole microseconds
#: (an integer is far cheaper to format than a float's shortest repr), the
#: call's tag (the zset member is "<now to the microsecond>:<tag>"), then one
#: window per count wanted, in days. The script works out the member, the
#: retention cutoff and the window starts itself (less for the client to
#: format and encode per call). Returns {profile pairs, first_call set?, call count,
#: failed writes, window counts...}. Reading the profile must work (a key of
#: the wrong type is an error: the caller gets the default menu); a write
#: that fails (a damaged counter) is counted, and the profile still served.
_IDENTIFY_LUA = """
local profile = redis.call('HGETALL', KEYS[1])
local now = tonumber(ARGV[2]) / 1000000
local failed = 0
local function try(...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then
    failed = failed + 1
    return false
  end
  return reply
end
local function score(days)
  return string.format('%.17g', now - days * 86400)
end
local first = try('HSETNX', KEYS[1], 'first_call', ARGV[1])
try('HSET', KEYS[1], 'last_call', ARGV[1])
local count = try('HINCRBY', KEYS[1], 'call_count', 1)
try('ZADD', KEYS[2], string.format('%.17g', now), string.format('%.6f:%s', now, ARGV[3]))
try('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. score(RETENTION_DAYS))
try('EXPIRE', KEYS[2], RETENTION_DAYS * 86400)
local result = {profile, first, count, failed}
for i = 4, #ARGV do
  result[#result + 1] = try('ZCOUNT', KEYS[2], score(tonumber(ARGV[i])), '+inf')
end
return result
""".replace("RETENTION_DAYS", str(CALLS_RETENTION_DAYS))
_IDENTIFY = Script(_IDENTIFY_LUA)
#: The history entries of one event-loop turn, one XADD each, in one script
#: call: each entry's field names and values travel as JSON ([names, values],
#: encoded by orjson), all of them as one argument, instead of two RESP
#: arguments per field and a command per entry - framing those was a quarter
#: of what the caller path cost the server. KEYS: the history streams, one
#: per entry. ARGV: [[names, values], ...]. Returns, per entry, 1 when
#: written or the error of its XADD (a key of the wrong type, say).
_HISTORY_LUA = """
local entries = cjson.decode(ARGV[1])
local results = {}
for i = 1, #KEYS do
  local names, values, fields = entries[i][1], entries[i][2], {}
  for j = 1, #names do
    fields[2 * j - 1] = names[j]
    fields[2 * j] = values[j]
  end
  local reply = redis.pcall('XADD', KEYS[i], 'MAXLEN', '~', 'HISTORY_MAXLEN', '*', unpack(fields))
  if type(reply) == 'table' and reply.err then
    results[i] = reply.err
  else
    results[i] = 1
  end
end
return results
""".replace("HISTORY_MAXLEN", str(HISTORY_MAXLEN))
_HISTORY = Script(_HISTORY_LUA)
_UNIQUEID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_HISTORY_FIELD = re.compile(r"[a-z0-9_]{1,40}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HISTORY_VALUE_LIMIT = 1000
#: Fields kept of one history entry (Lua's unpack has a limit; no call needs more).
_HISTORY_FIELDS_LIMIT = 200
#: How many caller IDs (and their encoded keys) a directory remembers.
_REMEMBERED_NUMBERS = 65536


def _windows(windows: Iterable[int]) -> tuple[int, ...]:
    return _window_spec(windows)[0]


def _window_spec(windows: Iterable[int]) -> tuple[tuple[int, ...], bytes]:
    """The windows sorted and checked, and encoded as the lookup script's last arguments."""
    last = _last_spec[0]
    if last is not None and windows is last[0]:  # the caller service hands in the same set
        return last[1]
    wanted = frozenset(windows)
    if any(type(day) is not int for day in wanted):  # bool is refused too (True == 1)
        bad = next(day for day in wanted if type(day) is not int)
        raise ValueError(
            f"a call-count window is a whole number of days from 1 to "
            f"{CALLS_RETENTION_DAYS}, not {bad!r}"
        )
    spec = _checked_windows(wanted)
    if isinstance(windows, frozenset | tuple):  # immutable: the same object gives the same spec
        _last_spec[0] = (windows, spec)
    return spec


#: The last (windows, spec) of `_window_spec`, for an immutable windows argument.
_last_spec: list[tuple[object, tuple[tuple[int, ...], bytes]] | None] = [None]


@lru_cache(maxsize=256)
def _checked_windows(wanted: frozenset[int]) -> tuple[tuple[int, ...], bytes]:
    days = tuple(sorted(wanted))
    for day in days:
        if not 0 < day <= CALLS_RETENTION_DAYS:
            raise ValueError(
                f"a call-count window is a whole number of days from 1 to "
                f"{CALLS_RETENTION_DAYS}, not {day!r}"
            )
    return days, encode_args(*days)


@lru_cache(maxsize=1024)
def _history_field_ok(name: object) -> bool:
    return isinstance(name, str) and name != "id" and _HISTORY_FIELD.fullmatch(name) is not None


@lru_cache(maxsize=256)
def _history_names_ok(names: tuple[object, ...]) -> bool:
    """Every name a valid field, "when" among them, not too many (an entry's usual shape)."""
    return (
        "when" in names
        and len(names) <= _HISTORY_FIELDS_LIMIT
        and all(_history_field_ok(name) for name in names)
    )


def _history_fields(entry: Mapping[str, str], now: float) -> tuple[Sequence[str], Sequence[str]]:
    """`entry` made safe to store: its field names, and their values in the same order.

    Valid field names only (at most `_HISTORY_FIELDS_LIMIT`), values cut to
    one line of `_HISTORY_VALUE_LIMIT` characters, and a `when` (now) when
    the entry has none.
    """
    names, values = tuple(entry), tuple(entry.values())
    try:
        joined = "".join(values)
    except TypeError:  # a value that is not text: the careful way below
        pass
    else:  # the usual entry, checked as a whole: nothing to change
        if (
            _history_names_ok(names)
            and len(joined) <= _HISTORY_VALUE_LIMIT  # so is every value
            and joined.isprintable()  # every control character is unprintable
        ):
            return names, values
    kept_names: list[str] = []
    kept_values: list[str] = []
    for name, value in entry.items():
        if not _history_field_ok(name):
            continue
        if len(kept_names) >= _HISTORY_FIELDS_LIMIT - 1:  # room for "when"
            break
        text = value if type(value) is str else str(value)
        if not text.isprintable():
            text = _CONTROL.sub(" ", text)
        kept_names.append(name)
        kept_values.append(text[:_HISTORY_VALUE_LIMIT])
    if "when" not in kept_names:
        kept_names.append("when")
        kept_values.append(iso_second(now))
    return kept_names, kept_values


_NO_COUNTS: Mapping[int, int] = MappingProxyType({})
#: A history write of this turn: the stream's key (encoded), the entry as JSON, who to tell.
_HistoryWrite = tuple[bytes, bytes, Callable[[bool], None] | None]


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
        #: caller ID as received -> E.164 number (None: withheld); valid ones only.
        self._numbers: dict[str, str | None] = {}
        #: E.164 -> the lookup script's keys and the history key, encoded.
        self._encoded_keys: dict[str, tuple[bytes, bytes]] = {}
        self._writes_pending = 0  # history writes not yet settled
        self._writes_settled: asyncio.Future[None] | None = None  # for drain_writes
        self._history_turn: list[_HistoryWrite] = []  # this loop turn's entries, not yet sent
        self._history_linger: float | None = None  # the shortest linger among them

    # -- numbers -----------------------------------------------------------

    def normalize(self, number: str) -> str:
        """`number` in E.164 (raises InvalidNumber)."""
        return normalize(number, self.region)

    def caller_number(self, raw_callerid: str) -> str | None:
        """The E.164 number of a caller ID, or None when withheld or not a number (logged)."""
        try:
            return self._numbers[raw_callerid]  # the same callers call again
        except KeyError:
            pass
        if is_anonymous(raw_callerid):
            number = None
        else:
            try:
                number = normalize(raw_callerid, self.region)
            except InvalidNumber as exc:
                log.info("caller ID served as anonymous: %s", exc)
                return None  # not remembered: logged each time
        if len(self._numbers) >= _REMEMBERED_NUMBERS:
            self._numbers.clear()
        self._numbers[raw_callerid] = number
        return number

    def _keys_of(self, e164: str) -> tuple[bytes, bytes]:
        """The lookup script's two keys and the history stream's key, as RESP arguments."""
        found = self._encoded_keys.get(e164)
        if found is None:
            if len(self._encoded_keys) >= _REMEMBERED_NUMBERS:
                self._encoded_keys.clear()
            keys = self.keys
            found = (
                encode_args(keys.caller(e164), keys.calls(e164)),
                encode_arg(keys.history(e164)),
            )
            self._encoded_keys[e164] = found
        return found

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
        days, window_args = _window_spec(windows)
        number = self.caller_number(raw_callerid)
        if number is None:
            return CallerProfile.anonymous_caller()
        sent, when = self._send_lookup(number, window_args, len(days), uniqueid, None)
        return self._profile_of(await sent, number, days, when)

    async def lookup(
        self, raw_callerid: str, *, windows: Iterable[int] = (), uniqueid: str = ""
    ) -> CallerProfile:
        """`identify` within the latency budget; never raises for Redis trouble.

        If Redis is down, slower than `budget` or answers something odd, the
        result is `CallerProfile.unavailable(number)` (`degraded` True: the
        caller gets the default menu), the failure is logged and counted in
        `degraded_lookups`. The client reconnects by itself on a later call.
        """
        days, window_args = _window_spec(windows)
        number = self.caller_number(raw_callerid)
        if number is None:
            return CallerProfile.anonymous_caller()
        try:
            sent, when = self._send_lookup(number, window_args, len(days), uniqueid, self.budget)
            return self._profile_of(await sent, number, days, when)
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

    def _send_lookup(
        self, number: str, window_args: bytes, days: int, uniqueid: str, budget: float | None
    ) -> tuple[asyncio.Future[Any], str]:
        """Submit the lookup script's EVALSHA for this call: its reply, and the call's time.

        `budget` (seconds) is kept by the batcher: one timer for all lookups, not one each.
        """
        now = self.clock()
        when = iso_second(now)
        if not (uniqueid.isascii() and uniqueid.replace(".", "").isdigit()):  # Asterisk's form
            uniqueid = _UNIQUEID_UNSAFE.sub("", uniqueid)
        tag = uniqueid[:64] or secrets.token_hex(4)
        command = b"".join(
            (
                _IDENTIFY.head(2, 3 + days),
                self._keys_of(number)[0],
                encode_texts([when, str(int(now * 1_000_000)), tag]),
                window_args,
            )
        )
        return self._batch.submit(command, script=_IDENTIFY, budget=budget), when

    def _profile_of(
        self, reply: Any, number: str, days: tuple[int, ...], when: str
    ) -> CallerProfile:
        """The lookup script's reply as the caller's profile (ValueError when it is not one)."""
        if type(reply) is not list or len(reply) != 4 + len(days):
            raise ValueError(f"unexpected reply to the caller lookup: {str(reply)[:200]}")
        pairs, first_call, count, failed = reply[0], reply[1], reply[2], reply[3]
        if type(pairs) is not list or len(pairs) % 2:
            raise ValueError("unexpected profile in the caller lookup reply")
        if failed:
            # The profile was read; serve it even if its counters are damaged.
            log.warning("recording a call of %s failed in part (%s writes)", number, failed)
        items = iter(pairs)
        fields = dict(zip(items, items))  # noqa: B905 - an even count, checked above
        if pairs and type(pairs[0]) is not str:  # a client that does not decode replies
            fields = as_fields(fields)
        is_new = not fields and first_call == 1
        if first_call == 1:
            fields["first_call"] = when
        fields["last_call"] = when
        if type(count) is int:
            fields["call_count"] = str(count)
        if not days:  # no rule counts calls: nothing to read
            return CallerProfile(number, MappingProxyType(fields), is_new, calls_in_last=_NO_COUNTS)
        counts = dict(zip(days, reply[4:]))  # noqa: B905 - the length is checked above
        for value in counts.values():  # not any(<generator>): this runs on every call
            if type(value) is not int:
                counts = {day: value if type(value) is int else 0 for day, value in counts.items()}
                break
        return CallerProfile(
            number, MappingProxyType(fields), is_new, calls_in_last=MappingProxyType(counts)
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

    # -- callbacks ----------------------------------------------------------

    async def request_callback(self, number: str, queue: str, *, uniqueid: str, reason: str) -> str:
        """File a request to call `number` back from `queue`; return its stream id.

        The callback scheduler works the stream (docs/redis.md). Raises InvalidNumber.
        """
        fields = {
            "number": self.normalize(number),
            "queue": queue,
            "reason": reason,
            "uniqueid": uniqueid,
            "requested": str(int(self.clock())),
        }
        entry_id = await self.redis.xadd(self.keys.callbacks(), redis_mapping(fields))
        return as_text(entry_id)

    async def callback_requests(self, count: int = 100) -> list[dict[str, str]]:
        """The oldest `count` callback requests, each with its stream `id`."""
        found = await self.redis.xrange(self.keys.callbacks(), count=count)
        return [{**as_fields(fields), "id": as_text(entry_id)} for entry_id, fields in found or ()]

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
        return await self.record_call_soon(number, entry)

    async def record_calls(self, calls: Sequence[tuple[str, Mapping[str, str]]]) -> int:
        """Append many calls to their callers' histories in one round trip; return how many.

        As `record_call` for each (one retry on a connection error, never
        raises, failures counted).
        """
        written = await asyncio.gather(
            *(self.record_call_soon(number, entry) for number, entry in calls)
        )
        return sum(written)

    def record_call_soon(
        self, number: str, entry: Mapping[str, str], *, linger: float | None = None
    ) -> asyncio.Future[bool]:
        """`record_call` without a coroutine of its own: `write_history` with a future.

        The future says whether the entry was written (True) or not (False),
        and never fails. Must run in the event loop.
        """
        result: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def settle(written: bool) -> None:
            if not result.done():
                result.set_result(written)

        self.write_history(number, entry, linger=linger, done=settle)
        return result

    def write_history(
        self,
        number: str,
        entry: Mapping[str, str],
        *,
        linger: float | None = None,
        done: Callable[[bool], None] | None = None,
    ) -> None:
        """Append a call to the caller's history in the background: for a server ending calls.

        The write joins the Redis batch of this loop turn, or with `linger`
        the next batch within that many seconds; `done(written)` is called
        once it is settled (False: not written, counted and logged, after the
        same one retry as `record_call`). Never raises; `drain_writes` waits
        for every write in progress. Must run in the event loop.
        """
        e164 = self.caller_number(number)
        if e164 is None:
            if done is not None:
                done(False)
            return
        try:
            fields = orjson.dumps(_history_fields(entry, self.clock()))
        except (TypeError, ValueError) as exc:  # text that cannot be encoded (a lone surrogate)
            self._history_failed(1, exc)
            if done is not None:
                done(False)
            return
        self._writes_pending += 1
        turn = self._history_turn
        if not turn:  # the first of this turn: the turn's entries go as one command
            self._history_linger = linger
            asyncio.get_running_loop().call_soon(self._send_history_turn)
        elif linger is None or (self._history_linger is not None and linger < self._history_linger):
            self._history_linger = linger
        turn.append((self._keys_of(e164)[1], fields, done))

    async def drain_writes(self) -> None:
        """Send the history writes that linger now, and wait until every write is settled."""
        self._send_history_turn(linger=False)
        self._batch.flush()
        while self._writes_pending:
            self._writes_settled = asyncio.get_running_loop().create_future()
            await self._writes_settled

    def _send_history_turn(self, *, linger: bool = True) -> None:
        writes, self._history_turn = self._history_turn, []
        if not writes:
            return
        entries = b"[" + b",".join([fields for _, fields, _ in writes]) + b"]"
        keys = b"".join([key for key, _, _ in writes])
        command = b"".join((_HISTORY.head(len(writes), 1), keys, encode_arg(entries)))
        self._send_history(
            command, writes, retry=True, linger=self._history_linger if linger else None
        )

    def _send_history(
        self, command: bytes, writes: list[_HistoryWrite], *, retry: bool, linger: float | None
    ) -> None:
        self._batch.send(
            command,
            partial(self._history_sent, command, writes, retry),
            script=_HISTORY,
            linger=linger,
        )

    def _history_sent(
        self, command: bytes, writes: list[_HistoryWrite], retry: bool, reply: Any
    ) -> None:
        if isinstance(reply, BaseException):
            if retry and isinstance(reply, _RETRYABLE):
                # A connection error is retried once (the connection is re-made);
                # anything else is final.
                self._send_history(command, writes, retry=False, linger=None)
                return
            if not isinstance(reply, asyncio.CancelledError):  # not the loop shutting down
                self._history_failed(len(writes), reply)
            written = [False] * len(writes)
        elif type(reply) is list and len(reply) == len(writes):
            written = [result == 1 for result in reply]
            refused = [result for result in reply if result != 1]
            if refused:  # an entry's own XADD failed (a key of the wrong type, say)
                self._history_failed(len(refused), ResponseError(str(refused[0])))
        else:
            self._history_failed(len(writes), ResponseError(f"unexpected reply {reply!r:.100}"))
            written = [False] * len(writes)
        self._writes_pending -= len(writes)
        settled = self._writes_settled
        if not self._writes_pending and settled is not None and not settled.done():
            settled.set_result(None)
        for (_, _, done), ok in zip(writes, written, strict=True):
            if done is not None:
                done(ok)

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
