"""Call events in a Redis stream: written in the background, read back by time range.

    sink = StreamSink(redis, prefix="ivr:")        # an EventSink for the server
    events = await read_events(redis, "ivr:", start, end)

Events wait in one buffer, in the order they happened, and are written as
one stream entry (docs/events.md, schema version 1) when a call ends - in
the next event-loop turn, so the calls that end in one turn share it - and
every `OPEN_FLUSH_EVERY` seconds while calls are in progress, so a crash of
the server (SIGKILL, out of memory) loses at most that many seconds of
events. The stream costs the calls one JSON encoding and one `XADD` between
them, not one per event - it must not slow the calls it counts. One `XADD`
is in flight at a time (what is due meanwhile goes in the next), sent
already encoded through a `CommandBatcher` (no task and no client command
of its own per write). A call's events can be spread over entries, always
in order: readers join them by uid. Events that belong to no call in
progress (a queue's AgentComplete arriving after the call ended, a callback
attempt, a campaign result) are written in the next turn.

    v       "1"
    at      the first event's Unix time (with milliseconds)
    events  a JSON array of [uid, kind, menu, node, at, {data}], in the order they happened

Behind a `TeeSink` (what the server has) the events of a call's middle -
`IN_CALL_KINDS` - go straight into the buffer by its own `append` (`route`):
no Python call of the sink's per event. `emit` never waits for Redis. When
Redis is down or slow the buffer is bounded; what cannot be kept is counted
in `dropped`, and the call never notices.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson

from fastagi.callers.batching import CommandBatcher
from fastagi.callers.resp import encode_arg, encode_args, encode_texts
from fastagi.events import CallEvent

__all__ = [
    "SCHEMA_VERSION",
    "ReadResult",
    "StoredEvent",
    "StreamSink",
    "decode_entries",
    "decode_entry",
    "events_key",
    "read_entries",
    "read_events",
]

log = logging.getLogger("fastagi.analytics")

SCHEMA_VERSION: Final = "1"
#: Kinds not worth storing: every prompt and variable of every call.
NOISY_KINDS: Final = frozenset({"prompt", "variable"})
#: Kinds emitted only between a call's `call_start` and its `call_end`: the
#: call's end (or the timer while it lasts) writes them, so they need no
#: bookkeeping of their own. Any other kind is written in the next turn.
IN_CALL_KINDS: Final = frozenset(
    {
        "caller", "node", "digits", "invalid", "timeout", "hours", "queue", "transfer",
        "voicemail", "callback", "ticket", "action", "action_result", "outcome",
    }
)  # fmt: skip
#: Events kept while Redis cannot take them; beyond, the oldest are dropped (counted).
MAX_BUFFER: Final = 1_000_000
#: Seconds between writes while calls are in progress (and nothing else writes).
OPEN_FLUSH_EVERY: Final = 5.0
#: Stream length kept (approximate trimming): about a month of a busy centre.
DEFAULT_MAXLEN: Final = 2_000_000


def events_key(prefix: str) -> str:
    return f"{prefix}events"


@dataclass(frozen=True)
class StoredEvent:
    """An event read back from the stream."""

    uid: str
    kind: str
    menu: str
    node: str
    at: float
    data: Mapping[str, str] = field(default_factory=dict)
    id: str = ""


class StreamSink:
    """An EventSink that appends events to the Redis stream, in the background."""

    def __init__(
        self,
        redis: Any,
        prefix: str = "ivr:",
        *,
        maxlen: int = DEFAULT_MAXLEN,
        skip: Iterable[str] = NOISY_KINDS,
        open_flush_every: float = OPEN_FLUSH_EVERY,
    ) -> None:
        self.key = events_key(prefix)
        self.maxlen = maxlen
        self.skip = frozenset(skip)
        self.open_flush_every = open_flush_every
        self.written = 0
        self.dropped = 0
        self.failed_writes = 0
        # One list for the life of the sink: `route` hands out its bound append.
        self._buffer: list[CallEvent] = []
        self._calls = 0  # calls started and not ended: the timer runs while there are any
        self._timer: asyncio.TimerHandle | None = None
        self._batcher = CommandBatcher(redis)
        # XADD <key> MAXLEN ~ <maxlen> * v 1 at <at> events <json>, encoded but for the last three.
        head = ("XADD", self.key, "MAXLEN", "~", maxlen, "*", "v", SCHEMA_VERSION, "at")
        self._xadd_head = b"*%d\r\n%b" % (len(head) + 3, encode_args(*head))
        self._in_flight = 0  # events sent and not yet answered (one XADD at a time)
        self._due = False  # a write is due once the one in flight is answered
        self._scheduled = False
        self._drained: asyncio.Future[None] | None = None

    def route(self, kind: str) -> Callable[[CallEvent], None] | None:
        """For a TeeSink: what takes this kind's events (None: not stored)."""
        if kind in self.skip:
            return None
        return self._buffer.append if kind in IN_CALL_KINDS else self.emit

    def emit(self, event: CallEvent) -> None:
        kind = event.kind
        if kind in self.skip:
            return
        self._buffer.append(event)
        if kind in IN_CALL_KINDS:
            return  # the call's end writes it
        if kind == "call_start":
            self._calls += 1
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(
                    self.open_flush_every, self.flush_open
                )
            if len(self._buffer) > MAX_BUFFER:  # Redis has been away too long
                self._drop_oldest()
            return
        if kind == "call_end":
            self._calls = max(0, self._calls - 1)
        self._schedule()

    def flush_open(self) -> None:
        """Write what the calls in progress gathered so far (they go on gathering)."""
        self._timer = None
        if self._buffer:
            self._start_flush()
        if self._calls:
            self._timer = asyncio.get_running_loop().call_later(
                self.open_flush_every, self.flush_open
            )

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._start_flush)

    def _drop_oldest(self) -> None:
        excess = len(self._buffer) - MAX_BUFFER
        del self._buffer[:excess]
        self.dropped += excess

    def _start_flush(self) -> None:
        self._scheduled = False
        if self._in_flight:
            self._due = True  # written when the XADD in flight is answered
            return
        if not self._buffer:
            return
        # A CallEvent's fields are a stream row's ([uid, kind, menu, node, at, data]);
        # sliced, it is a plain tuple, which orjson writes without calling back.
        rows = [event[:] for event in self._buffer]
        self._buffer.clear()
        try:
            events = orjson.dumps(rows)
        except (TypeError, orjson.JSONEncodeError):  # a value that is not text: drop only it
            rows = self._encodable(rows)
            if not rows:
                return
            events = orjson.dumps(rows)
        self._in_flight = len(rows)
        command = b"".join(
            (self._xadd_head, encode_texts([f"{rows[0][4]:.3f}", "events"]), encode_arg(events))
        )
        self._batcher.send(command, self._written)

    def _encodable(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The rows orjson can write; the others are dropped, counted and logged."""
        kept = []
        for row in rows:
            try:
                orjson.dumps(row)
            except (TypeError, orjson.JSONEncodeError) as exc:
                self.dropped += 1
                log.warning("a %s event of call %s not written: %s", row[1], row[0], exc)
            else:
                kept.append(row)
        return kept

    def _written(self, reply: Any) -> None:
        count, self._in_flight = self._in_flight, 0
        if isinstance(reply, BaseException):  # Redis down: these are lost, counted, logged
            self.failed_writes += 1
            self.dropped += count
            if not isinstance(reply, asyncio.CancelledError):
                log.warning("%d events not written: %s", count, reply)
        else:
            self.written += count
        if self._due:
            self._due = False
            self._start_flush()
        if not self._in_flight and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def drain(self) -> None:
        """Write what is buffered, calls still open included (at shutdown, and in tests)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._buffer or self._in_flight:
            self._start_flush()
            if self._in_flight:
                self._drained = asyncio.get_running_loop().create_future()
                await self._drained


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def decode_entry(entry_id: Any, raw: Mapping[Any, Any]) -> list[StoredEvent] | None:
    """The events of one stream entry; None for an unknown schema version or a broken entry."""
    fields = {_text(k): _text(v) for k, v in raw.items()}
    if fields.get("v") != SCHEMA_VERSION:
        return None
    try:
        rows = json.loads(fields.get("events") or "")
        if not isinstance(rows, list):
            return None
        events = [
            StoredEvent(str(uid), str(kind), str(menu), str(node), float(at),
                        {str(k): str(v) for k, v in data.items()}, _text(entry_id))
            for uid, kind, menu, node, at, data in rows
        ]  # fmt: skip
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return events


@dataclass
class ReadResult:
    """Events of a time range, and how many entries could not be read."""

    events: list[StoredEvent] = field(default_factory=list)
    skipped: int = 0


async def read_events(
    redis: Any, prefix: str, start: datetime, end: datetime, *, page: int = 10_000
) -> ReadResult:
    """Every event written from `start` to before `end` (the stream ids are their times)."""
    return decode_entries(await read_entries(redis, prefix, start, end, page=page))


async def read_entries(
    redis: Any, prefix: str, start: datetime, end: datetime, *, page: int = 10_000
) -> list[tuple[Any, Any]]:
    """The raw stream entries (id, fields) of `read_events`, not decoded yet: for
    a caller that decodes them elsewhere (the dashboard, in a worker thread)."""
    key = events_key(prefix)
    low = f"{int(start.timestamp() * 1000)}-0"
    high = f"({int(end.timestamp() * 1000)}-0"
    found: list[tuple[Any, Any]] = []
    while True:
        entries = await redis.xrange(key, min=low, max=high, count=page)
        found.extend(entries)
        if len(entries) < page:
            return found
        low = f"({_text(entries[-1][0])}"


def decode_entries(entries: Iterable[tuple[Any, Mapping[Any, Any]]]) -> ReadResult:
    """The events of raw stream entries, in order; unreadable entries are counted."""
    result = ReadResult()
    for entry_id, raw in entries:
        events = decode_entry(entry_id, raw)
        if events is None:
            result.skipped += 1
        else:
            result.events.extend(events)
    return result
