"""Call events in a Redis stream: written in the background, read back by time range.

    sink = StreamSink(redis, prefix="ivr:")        # an EventSink for the server
    events = await read_events(redis, "ivr:", start, end)

A call's events are gathered in memory from `call_start` to `call_end`;
the calls that ended during one event-loop turn are written as one stream
entry (docs/events.md, schema version 1), so the stream costs the calls one
JSON encoding and one `XADD` between them, not one per event - the stream
must not slow the calls it counts. One `XADD` is in flight at a time (what
ends meanwhile goes in the next), sent already encoded through a
`CommandBatcher` (no task and no client command of its own per write).
Every `OPEN_FLUSH_EVERY` seconds what the calls still in progress gathered
so far is written too (one entry for all of them), so a crash of the server
(SIGKILL, out of memory) loses at most that many seconds of their events;
readers join a call's entries by its uid.
Events that belong to no call in progress (a queue's AgentComplete arriving
after the call ended, a callback attempt, a campaign result) go with the
next entry.

    v       "1"
    at      the first event's Unix time (with milliseconds)
    events  a JSON array of [uid, kind, menu, node, at, {data}], each call's in order

`emit` never waits for Redis. When Redis is down or slow the buffer is bounded; what
cannot be kept is counted in `dropped`, and the call never notices.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
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
MAX_BUFFER: Final = 100_000
#: Calls whose events are being gathered; beyond, the oldest is written as it is.
MAX_OPEN_CALLS: Final = 20_000
#: Seconds between writes of the events gathered so far by calls in progress.
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
    """An EventSink that appends calls' events to the Redis stream, in the background."""

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
        self._open_flush: asyncio.TimerHandle | None = None
        self.written = 0
        self.dropped = 0
        self.failed_writes = 0
        self._open: dict[str, list[CallEvent]] = {}
        self._buffer: list[list[CallEvent]] = []
        self._batcher = CommandBatcher(redis)
        # XADD <key> MAXLEN ~ <maxlen> * v 1 at <at> events <json>, encoded but for the last three.
        head = ("XADD", self.key, "MAXLEN", "~", maxlen, "*", "v", SCHEMA_VERSION, "at")
        self._xadd_head = b"*%d\r\n%b" % (len(head) + 3, encode_args(*head))
        self._in_flight = 0  # events sent and not yet answered (one XADD at a time)
        self._drained: asyncio.Future[None] | None = None
        self._scheduled = False

    def wants(self, kind: str) -> bool:
        """Every kind but the noisy ones (a TeeSink does not hand those over)."""
        return kind not in self.skip

    def emit(self, event: CallEvent) -> None:
        kind = event.kind
        if kind in self.skip:
            return
        uid = event.uniqueid
        gathered = self._open.get(uid)
        if kind == "call_start":
            if len(self._open) >= MAX_OPEN_CALLS:  # calls that never ended: write as they are
                oldest = next(iter(self._open))
                self._queue(self._open.pop(oldest))
            self._open[uid] = [event]
            if self._open_flush is None:
                self._open_flush = asyncio.get_running_loop().call_later(
                    self.open_flush_every, self.flush_open
                )
        elif gathered is None:
            self._queue([event])
        elif kind == "call_end":
            gathered.append(event)
            self._queue(self._open.pop(uid))
        else:
            gathered.append(event)

    def flush_open(self) -> None:
        """Write what the calls in progress gathered so far (they go on gathering)."""
        self._open_flush = None
        for uid, gathered in self._open.items():
            if gathered:
                self._queue(gathered)
                self._open[uid] = []  # the call goes on gathering from here
        if self._open:
            self._open_flush = asyncio.get_running_loop().call_later(
                self.open_flush_every, self.flush_open
            )

    def _queue(self, events: list[CallEvent]) -> None:
        if not events:  # a call whose events so far were written by flush_open
            return
        if len(self._buffer) >= MAX_BUFFER:
            self.dropped += len(events)  # Redis has been away too long: keep the calls going
            return
        self._buffer.append(events)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._start_flush)

    def _start_flush(self) -> None:
        self._scheduled = False
        if self._in_flight or not self._buffer:
            return  # the reply to the XADD in flight sends what gathered meanwhile
        batch, self._buffer = self._buffer, []
        # A CallEvent's fields are a stream row's ([uid, kind, menu, node, at, data]);
        # sliced, it is a plain tuple, which orjson writes without calling back.
        rows = [event[:] for call in batch for event in call]
        try:
            events = orjson.dumps(rows)
        except (TypeError, orjson.JSONEncodeError) as exc:  # a value that is not text
            self.dropped += len(rows)
            log.warning("events of %d call(s) not written: %s", len(batch), exc)
            return
        self._in_flight = len(rows)
        command = b"".join(
            (self._xadd_head, encode_texts([f"{batch[0][0].at:.3f}", "events"]), encode_arg(events))
        )
        self._batcher.send(command, self._written)

    def _written(self, reply: Any) -> None:
        count, self._in_flight = self._in_flight, 0
        if isinstance(reply, BaseException):  # Redis down: these are lost, counted, logged
            self.failed_writes += 1
            self.dropped += count
            if not isinstance(reply, asyncio.CancelledError):
                log.warning("%d events not written: %s", count, reply)
        else:
            self.written += count
        if self._buffer:
            self._start_flush()
        elif self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def drain(self) -> None:
        """Write what is buffered, calls still open included (at shutdown, and in tests)."""
        if self._open_flush is not None:
            self._open_flush.cancel()
            self._open_flush = None
        for uid in list(self._open):
            self._queue(self._open.pop(uid))
        self._start_flush()
        while self._in_flight:
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
