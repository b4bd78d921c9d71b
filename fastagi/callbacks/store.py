"""Callback requests in Redis: intake from a stream, the schedule, leases, attempts, the letter.

    store = CallbackStore.for_rules(redis, rules, hours, prefix="ivr:")
    await store.add_lost_call(facts, reason)          # the server, when a call ends lost
    await store.reached_agent(number, answered_at)    # the server, when an agent answers
    await store.intake("worker-1")                    # every worker, in a loop
    for request in await store.due(now):              # the scheduler
        step = plan(request, rules, hours, now)
        ...

Lost calls (and the menu's own callback requests, reason `requested`) go
into one stream, `<prefix>callbacks`, worked through a consumer group: an
entry is turned into a request - or merged into the number's open one - and
acknowledged in one Lua script that first checks the entry is still pending.
So a worker that crashes loses nothing (its entries are claimed by another
after `claim_idle_ms`), and an entry two workers hold is worked once.
Every key is listed in docs/callbacks.md.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Final, cast

from redis import asyncio as aioredis
from redis.exceptions import ResponseError

from fastagi.callbacks import _scripts
from fastagi.callbacks._rows import entry_order, entry_pairs, request_from_row, stream_entries
from fastagi.callbacks.keys import CallbackKeys
from fastagi.callbacks.lost import CallFacts, lost_reason
from fastagi.callbacks.request import (
    ATTEMPT_OUTCOMES,
    CLOSE_REASONS,
    EMAIL_STATES,
    AttemptOutcome,
    CallbackRequest,
    CloseReason,
    EmailState,
    RequestStatus,
)
from fastagi.callbacks.rules import LOST_REASONS, CallbackRules
from fastagi.callers._util import as_text, iso_utc
from fastagi.callers.directory import HISTORY_MAXLEN
from fastagi.callers.keys import DEFAULT_PREFIX
from fastagi.callers.phone import InvalidNumber, check_region, is_anonymous, normalize

if TYPE_CHECKING:
    from fastagi.hours import HoursConfig

__all__ = [
    "DEFAULT_GROUP",
    "INTAKE_MAXLEN",
    "CallbackKeys",
    "CallbackStore",
    "RequestConflict",
    "RequestNotFound",
]

log = logging.getLogger(__name__)

#: The consumer group of the intake stream.
DEFAULT_GROUP: Final = "scheduler"
#: About this many entries are kept in the intake stream (XADD MAXLEN ~).
INTAKE_MAXLEN: Final = 100_000
#: How many uniqueids of merged calls a request keeps (to ignore a call filed twice).
UNIQUEIDS_KEPT: Final = 20
#: "The caller reached an agent at ..." is kept this long (seconds): past any local day.
REACHED_TTL: Final = 2 * 86400
_UNIQUEID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_QUEUE_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_REQUEST_ID = re.compile(r"[1-9][0-9]{0,17}")
_PROFILE_FIELDS: Final = ("email", "language", "first_name", "last_name")


class RequestNotFound(LookupError):
    """No callback request has that id (or it expired)."""


class RequestConflict(ValueError):
    """The request cannot be reopened: its number has another open request."""


def _request_id(value: int | str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not _REQUEST_ID.fullmatch(text):
        raise ValueError(f"not a callback request id: {str(value)[:40]!r}")
    return int(text)


def _ts(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("times must be aware datetimes")
    return int(moment.timestamp())


class CallbackStore:
    """Callback requests in Redis (keys in docs/callbacks.md).

    `redis`: a redis.asyncio client (`fastagi.storage.open_async_client`).
    `zone`: the time zone of the centre's calendar (a "day" is a local day
    there). `region`: how national numbers are read. `reasons`: the lost-call
    reasons the intake accepts (others are acknowledged and dropped).
    `group`: the consumer group. `keep_closed_days`: how long a closed
    request is kept. `clock`: Unix time (inject one in tests).
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str = DEFAULT_PREFIX,
        *,
        zone: tzinfo = UTC,
        region: str = "RU",
        reasons: Iterable[str] = LOST_REASONS,
        group: str = DEFAULT_GROUP,
        keep_closed_days: int = 90,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.keys = CallbackKeys(prefix)
        self.zone = zone
        self.region = check_region(region)
        self.reasons = frozenset(reasons)
        self.group = group
        self.keep_closed = keep_closed_days * 86400
        self.clock = clock
        self._group_ready = False
        #: What the intake did with each entry: created, merged, repeat (a call
        #: filed twice), reached (the caller got through meanwhile), skipped
        #: (withheld, not a lost-call reason wanted), done (worked by another),
        #: error (the script failed; the entry stays pending).
        self.intake_counts: Counter[str] = Counter()
        self._intake = redis.register_script(_scripts.INTAKE)
        self._reached = redis.register_script(_scripts.REACHED)
        self._record = redis.register_script(_scripts.RECORD_ATTEMPT)
        self._claim = redis.register_script(_scripts.CLAIM)
        self._schedule = redis.register_script(_scripts.SCHEDULE)
        self._close = redis.register_script(_scripts.CLOSE)
        self._mark_email = redis.register_script(_scripts.MARK_EMAIL)
        self._retry = redis.register_script(_scripts.RETRY)

    @classmethod
    def for_rules(
        cls,
        redis: aioredis.Redis,
        rules: CallbackRules,
        hours: HoursConfig,
        *,
        prefix: str = DEFAULT_PREFIX,
        region: str = "RU",
        clock: Callable[[], float] = time.time,
    ) -> CallbackStore:
        """A store that keeps to `rules`: their calendar's zone, lost-call reasons, retention."""
        return cls(
            redis,
            prefix,
            zone=hours.calendar(rules.calendar).zone,
            region=region,
            reasons=rules.lost_calls,
            keep_closed_days=rules.keep_closed_days,
            clock=clock,
        )

    def _now(self) -> int:
        return int(self.clock())

    def _day(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).date().isoformat()

    def _number(self, raw: str | None) -> str | None:
        if raw is None or is_anonymous(raw):
            return None
        try:
            return normalize(raw, self.region)
        except InvalidNumber:
            return None

    # -- intake ------------------------------------------------------------

    async def add_lost_call(self, facts: CallFacts, reason: str | None = None) -> str | None:
        """File a lost call for the intake; return its stream entry id.

        `reason` is usually `callback_reason(facts, rules)`; None means
        `lost_reason(facts)`. Returns None (nothing written) when the call is
        not lost or the number is withheld or not a number.
        """
        why = reason if reason is not None else lost_reason(facts)
        number = self._number(facts.number)
        if why is None or number is None:
            return None
        if why not in LOST_REASONS:
            raise ValueError(f"unknown lost-call reason {why!r}")
        fields = {
            "number": number,
            "reason": why,
            "queue": _QUEUE_UNSAFE.sub("", facts.queue)[:80],
            "uniqueid": _UNIQUEID_UNSAFE.sub("", facts.uniqueid)[:64],
            "requested": str(_ts(facts.at)),
        }
        entry_id = await self.redis.xadd(
            self.keys.intake(),
            cast(Any, fields),
            maxlen=INTAKE_MAXLEN,
            approximate=True,
        )
        return as_text(entry_id)

    async def ensure_group(self) -> None:
        """Create the consumer group (from the stream's first entry) unless it exists."""
        if self._group_ready:
            return
        try:
            await self.redis.xgroup_create(self.keys.intake(), self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def intake(
        self,
        consumer: str,
        *,
        count: int = 100,
        claim_idle_ms: int = 60_000,
        block_ms: int | None = None,
    ) -> list[CallbackRequest]:
        """Work up to about `count` intake entries; return the requests created or merged into.

        First this consumer's own unacknowledged entries (after a restart
        under the same name), then entries another consumer has held for
        `claim_idle_ms` without acknowledging (it died: XAUTOCLAIM), then new
        ones (waiting up to `block_ms` for some when given). Each entry is
        worked in one script that acknowledges it: an entry already worked
        by someone else is skipped, so none is lost and none counted twice.
        `block_ms` None does not wait; a client's socket timeout must be
        longer than `block_ms` (`open_async_client(url, timeout=...)`).
        """
        await self.ensure_group()
        stream = self.keys.intake()
        entries: dict[str, Mapping[str, str] | None] = {}
        own = await self.redis.xreadgroup(self.group, consumer, {stream: "0"}, count=count)
        entries.update(stream_entries(own))
        claimed = await self.redis.xautoclaim(
            stream, self.group, consumer, claim_idle_ms, start_id="0-0", count=count
        )
        if isinstance(claimed, list | tuple) and len(claimed) >= 2:
            entries.update(entry_pairs(claimed[1]))
            for gone in claimed[2] if len(claimed) > 2 else ():
                entries[as_text(gone)] = None  # deleted while pending: acknowledge it
        fresh = await self.redis.xreadgroup(
            self.group, consumer, {stream: ">"}, count=count, block=block_ms
        )
        entries.update(stream_entries(fresh))
        if not entries:
            return []
        now = self._now()
        ordered = sorted(entries, key=entry_order)
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in ordered:
                await self._intake_one(pipe, entry_id, entries[entry_id], now)
            # One entry that fails (a damaged key) must not hold up the others:
            # it stays pending, and is tried again by the next intake.
            replies = await pipe.execute(raise_on_error=False)
        touched: list[int] = []
        for entry_id, reply in zip(ordered, replies, strict=True):
            if isinstance(reply, Exception):
                self.intake_counts["error"] += 1
                log.warning("callback intake %s failed, left pending: %s", entry_id, reply)
                continue
            request_id = int(reply[0]) if isinstance(reply, list | tuple) and reply else 0
            if isinstance(reply, list | tuple) and len(reply) > 1:
                self.intake_counts[as_text(reply[1])] += 1
            if request_id and request_id not in touched:
                touched.append(request_id)
        return await self._load(touched)

    async def _intake_one(
        self, pipe: Any, entry_id: str, fields: Mapping[str, str] | None, now: int
    ) -> None:
        parsed = self._parse_entry(entry_id, fields)
        stream = self.keys.intake()
        if parsed is None:
            number, reason, at, uniqueid, queue, action = "", "", 0, "", "", "skip"
            reached = stream  # a key must be named; a dropped entry touches none
        else:
            number, reason, at, uniqueid, queue = parsed
            action = "add"
            reached = self.keys.reached(number)
        day = self._day(datetime.fromtimestamp(at, UTC)) if parsed else ""
        await self._intake(
            keys=[
                stream,
                self.keys.open(),
                self.keys.due(),
                self.keys.all(),
                self.keys.seq(),
                reached,
            ],
            args=[
                self.group,
                entry_id,
                action,
                number,
                reason,
                at,
                day,
                uniqueid,
                queue,
                self.keys.request_prefix(),
                now,
                UNIQUEIDS_KEPT,
            ],
            client=pipe,
        )

    def _parse_entry(
        self, entry_id: str, fields: Mapping[str, str] | None
    ) -> tuple[str, str, int, str, str] | None:
        """(number, reason, call time, uniqueid, queue), or None to drop the entry (logged)."""
        if fields is None:
            return None
        number = self._number(fields.get("number"))
        reason = fields.get("reason") or "requested"
        if number is None:
            log.info("callback intake %s: no number to call back; dropped", entry_id)
            return None
        if reason not in LOST_REASONS:
            log.warning("callback intake %s: unknown reason %.40r; dropped", entry_id, reason)
            return None
        if reason not in self.reasons:
            return None  # config/callbacks.yaml does not want these
        try:
            at = int(float(fields.get("requested") or ""))
        except ValueError:
            at = int(entry_id.split("-", 1)[0]) // 1000  # the entry's own time
        uniqueid = _UNIQUEID_UNSAFE.sub("", fields.get("uniqueid", ""))[:64]
        queue = _QUEUE_UNSAFE.sub("", fields.get("queue", ""))[:80]
        return number, reason, at, uniqueid, queue

    # -- the caller reached an agent ------------------------------------------

    async def reached_agent(self, number: str, at: datetime) -> int | None:
        """The caller got through to an agent at `at`: close their same-day open request.

        The open request closes (`reached`) when its latest lost call was on
        the same local day, before `at`. A lost call of that day that is
        still in the intake is dropped when it is worked. Returns the id of
        the request closed, or None. A withheld number does nothing.
        """
        e164 = self._number(number)
        if e164 is None:
            return None
        closed = await self._reached(
            keys=[self.keys.open(), self.keys.due(), self.keys.reached(e164)],
            args=[
                e164,
                _ts(at),
                self._day(at),
                self.keys.request_prefix(),
                self._now(),
                REACHED_TTL,
                self.keep_closed,
            ],
        )
        return int(closed) or None

    # -- the schedule --------------------------------------------------------

    async def due(self, now: datetime | None = None, limit: int = 100) -> list[CallbackRequest]:
        """Open requests whose next action time has come (leased ones are not), oldest first."""
        until = self._now() if now is None else _ts(now)
        ids = await self.redis.zrangebyscore(self.keys.due(), "-inf", until, start=0, num=limit)
        return await self._load(int(as_text(i)) for i in ids)

    async def claim(
        self, request_id: int | str, until: datetime, *, now: datetime | None = None
    ) -> bool:
        """Lease a due request until `until`: True for the one worker that gets it.

        While leased it is not due; the lease ends with `record_attempt`,
        `schedule`, `close` or `mark_email` - or at `until`, when it is due
        again (the worker died). Make `until` longer than a whole attempt.
        """
        rid = _request_id(request_id)
        taken = await self._claim(
            keys=[self.keys.request(rid), self.keys.due()],
            args=[rid, self._now() if now is None else _ts(now), _ts(until)],
        )
        return bool(taken)

    async def schedule(self, request_id: int | str, at: datetime) -> bool:
        """Look at the open request again at `at` (and end its lease); False if it is closed."""
        rid = _request_id(request_id)
        done = await self._schedule(
            keys=[self.keys.request(rid), self.keys.due()], args=[rid, _ts(at), self._now()]
        )
        return bool(done)

    async def record_attempt(
        self,
        request_id: int | str,
        outcome: AttemptOutcome,
        at: datetime,
        next_at: datetime | None = None,
        *,
        uniqueid: str = "",
    ) -> int:
        """Record an attempt's outcome; return its number (1 for the first).

        `answered` closes the request; otherwise it is looked at again at
        `next_at` (None: now, to be planned). The attempt is appended to the
        caller's history stream in the same step. Recording again with the
        same `uniqueid` (a retried write) changes nothing. Raises
        RequestNotFound, ValueError for an unknown outcome.
        """
        if outcome not in ATTEMPT_OUTCOMES:
            raise ValueError(f"unknown attempt outcome {outcome!r}: {', '.join(ATTEMPT_OUTCOMES)}")
        rid = _request_id(request_id)
        number = await self.redis.hget(self.keys.request(rid), "number")
        if number is None:
            raise RequestNotFound(f"no callback request {rid}")
        now = self._now()
        uid = _UNIQUEID_UNSAFE.sub("", uniqueid)[:64]
        result = await self._record(
            keys=[
                self.keys.request(rid),
                self.keys.open(),
                self.keys.due(),
                self.keys.callers.history(as_text(number)),
            ],
            args=[
                rid,
                _ts(at),
                outcome,
                uid,
                now if next_at is None else _ts(next_at),
                now,
                self.keep_closed,
                iso_utc(_ts(at)),
                HISTORY_MAXLEN,
            ],
        )
        attempt, history = int(result[0]), int(result[1])
        if attempt < 0:
            raise RequestNotFound(f"no callback request {rid}")
        if not history:
            log.warning("callback request %s: attempt %d not added to the history", rid, attempt)
        return attempt

    async def close(self, request_id: int | str, reason: CloseReason) -> bool:
        """Close an open request for `reason`; False if it was closed already. RequestNotFound."""
        if reason not in CLOSE_REASONS:
            raise ValueError(f"unknown close reason {reason!r}: {', '.join(CLOSE_REASONS)}")
        rid = _request_id(request_id)
        result = int(
            await self._close(
                keys=[self.keys.request(rid), self.keys.open(), self.keys.due()],
                args=[rid, reason, self._now(), self.keep_closed],
            )
        )
        if result < 0:
            raise RequestNotFound(f"no callback request {rid}")
        return result == 1

    async def mark_email(
        self, request_id: int | str, state: EmailState, *, retry_at: datetime | None = None
    ) -> bool:
        """Move the letter's state; True if it moved (or already was there).

        `sending` is granted only from `none`/`pending` on an open request,
        and to one caller at a time: it is the lock that lets a letter go at
        most once. `pending` schedules the request for `retry_at` (None:
        now). `sent` closes an open request as `emailed`; `failed` and
        `unknown` close it as `gave_up`; none of the three is ever undone.
        Raises RequestNotFound.
        """
        if state not in EMAIL_STATES:
            raise ValueError(f"unknown email state {state!r}: {', '.join(EMAIL_STATES)}")
        rid = _request_id(request_id)
        now = self._now()
        result = int(
            await self._mark_email(
                keys=[self.keys.request(rid), self.keys.open(), self.keys.due()],
                args=[
                    rid,
                    state,
                    now,
                    now if retry_at is None else _ts(retry_at),
                    self.keep_closed,
                ],
            )
        )
        if result < 0:
            raise RequestNotFound(f"no callback request {rid}")
        return result == 1

    # -- admin ---------------------------------------------------------------

    async def retry(self, request_id: int | str, at: datetime | None = None) -> CallbackRequest:
        """Put a request back in the schedule from `at` (None: now), granting one more attempt.

        A closed request is reopened; the planner still keeps to the hours
        and the one-attempt-a-day rule. Raises RequestNotFound, or
        RequestConflict when its number has another open request.
        """
        rid = _request_id(request_id)
        when = self._now() if at is None else _ts(at)
        result = int(
            await self._retry(
                keys=[self.keys.request(rid), self.keys.open(), self.keys.due()],
                args=[rid, when, self._now()],
            )
        )
        if result == -1:
            raise RequestNotFound(f"no callback request {rid}")
        if result == -2:
            raise RequestConflict(f"request {rid}: its number has another open request")
        found = await self.get(rid)
        if found is None:
            raise RequestNotFound(f"no callback request {rid}")
        return found

    async def cancel(self, request_id: int | str) -> bool:
        """Close a request as `cancelled`; False if it was closed already. RequestNotFound."""
        return await self.close(request_id, "cancelled")

    async def get(self, request_id: int | str) -> CallbackRequest | None:
        found = await self._load([_request_id(request_id)])
        return found[0] if found else None

    async def open_request(self, number: str) -> CallbackRequest | None:
        """The number's open request, if it has one."""
        e164 = self._number(number)
        if e164 is None:
            return None
        request_id = await self.redis.hget(self.keys.open(), e164)
        return None if request_id is None else await self.get(as_text(request_id))

    async def list_requests(
        self, status: RequestStatus | None = None, *, limit: int = 1000
    ) -> list[CallbackRequest]:
        """Requests newest first (by first lost call), of one status or all, at most `limit`."""
        if status == "open":
            open_ids = await self.redis.hvals(self.keys.open())
            found = await self._load(sorted((int(as_text(i)) for i in open_ids), reverse=True))
            return [r for r in found if r.is_open][:limit]
        out: list[CallbackRequest] = []
        page, start = 500, 0
        while len(out) < limit:
            ids = [
                int(as_text(i))
                for i in await self.redis.zrevrange(self.keys.all(), start, start + page - 1)
            ]
            if not ids:
                break
            start += page
            loaded = await self._load(ids)
            kept = {r.id for r in loaded}
            gone = [i for i in ids if i not in kept]
            if gone:  # closed requests expire; forget them here
                await self.redis.zrem(self.keys.all(), *gone)
                start -= len(gone)
            out.extend(r for r in loaded if status is None or r.status == status)
        return out[:limit]

    # -- reading -------------------------------------------------------------

    async def _load(self, ids: Iterable[int]) -> list[CallbackRequest]:
        wanted = list(ids)
        if not wanted:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for rid in wanted:
                pipe.hgetall(self.keys.request(rid))
            hashes = await pipe.execute()
        rows = [
            {as_text(k): as_text(v) for k, v in found.items()}
            for found in hashes
            if isinstance(found, dict) and found
        ]
        rows = [row for row in rows if row.get("number")]
        async with self.redis.pipeline(transaction=False) as pipe:
            for row in rows:
                pipe.hmget(self.keys.callers.caller(row["number"]), list(_PROFILE_FIELDS))
            profiles = await pipe.execute()
        out: list[CallbackRequest] = []
        for row, profile in zip(rows, profiles, strict=True):
            contact = dict(zip(_PROFILE_FIELDS, profile or (), strict=False))
            try:
                out.append(request_from_row(row, contact))
            except (KeyError, ValueError) as exc:
                log.warning("callback request %s is damaged: %s", row.get("id"), exc)
        return out
