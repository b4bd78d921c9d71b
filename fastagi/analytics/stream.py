"""Call events in a Redis stream: written in the background, read back by time range.

    sink = StreamSink(redis, prefix="ivr:")        # an EventSink for the server
    events = await read_events(redis, "ivr:", start, end)

Each event is one stream entry (docs/events.md, schema version 1):

    v      "1"
    uid    the call's agi_uniqueid
    kind   call_start, caller, node, digits, invalid, timeout, queue, transfer,
           voicemail, callback, hours, outcome, call_end, agent, ...
    menu   the menu (may be empty)
    node   the node (may be empty)
    at     Unix time with milliseconds
    data   the kind's fields, a JSON object of strings

`emit` never waits for Redis: events are buffered and written by one
pipeline per event-loop turn (a call's dozen events cost one round trip
together). When Redis is down or slow the buffer is bounded; what cannot be
kept is counted in `dropped`, and the call never notices.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from fastagi.events import CallEvent

__all__ = [
    "SCHEMA_VERSION",
    "StoredEvent",
    "StreamSink",
    "decode_entry",
    "events_key",
    "read_events",
]

log = logging.getLogger("fastagi.analytics")

SCHEMA_VERSION: Final = "1"
#: Kinds not worth a stream entry: every prompt and variable of every call.
NOISY_KINDS: Final = frozenset({"prompt", "variable"})
MAX_BUFFER: Final = 100_000
#: Stream length kept (approximate trimming): about a month of a busy centre.
DEFAULT_MAXLEN: Final = 5_000_000


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
    ) -> None:
        self.redis = redis
        self.key = events_key(prefix)
        self.maxlen = maxlen
        self.skip = frozenset(skip)
        self.written = 0
        self.dropped = 0
        self.failed_writes = 0
        self._buffer: list[CallEvent] = []
        self._flushing: asyncio.Task[None] | None = None
        self._scheduled = False

    def emit(self, event: CallEvent) -> None:
        if event.kind in self.skip:
            return
        if len(self._buffer) >= MAX_BUFFER:
            self.dropped += 1  # Redis has been away too long: keep the calls going
            return
        self._buffer.append(event)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._start_flush)

    def _start_flush(self) -> None:
        self._scheduled = False
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        while self._buffer:
            batch, self._buffer = self._buffer, []
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for event in batch:
                        pipe.xadd(self.key, _fields(event), maxlen=self.maxlen, approximate=True)
                    await pipe.execute()
                self.written += len(batch)
            except Exception as exc:  # Redis down: these are lost, counted, and logged
                self.failed_writes += 1
                self.dropped += len(batch)
                log.warning("%d call events not written: %s", len(batch), exc)
                return

    async def drain(self) -> None:
        """Write what is buffered (at shutdown, and in tests)."""
        await asyncio.sleep(0)
        while self._buffer or (self._flushing is not None and not self._flushing.done()):
            if self._flushing is None or self._flushing.done():
                self._flushing = asyncio.ensure_future(self._flush())
            await self._flushing


def _fields(event: CallEvent) -> dict[str, str]:
    return {
        "v": SCHEMA_VERSION,
        "uid": event.uniqueid,
        "kind": event.kind,
        "menu": event.menu,
        "node": event.node,
        "at": f"{event.at:.3f}",
        "data": json.dumps(dict(event.data), ensure_ascii=False, separators=(",", ":")),
    }


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def decode_entry(entry_id: Any, raw: Mapping[Any, Any]) -> StoredEvent | None:
    """One stream entry as an event; None for an unknown schema version or a broken entry."""
    fields = {_text(k): _text(v) for k, v in raw.items()}
    if fields.get("v") != SCHEMA_VERSION:
        return None
    try:
        data = json.loads(fields.get("data") or "{}")
        at = float(fields["at"])
    except (ValueError, KeyError):
        return None
    if not isinstance(data, dict):
        return None
    return StoredEvent(
        uid=fields.get("uid", ""),
        kind=fields.get("kind", ""),
        menu=fields.get("menu", ""),
        node=fields.get("node", ""),
        at=at,
        data={str(k): str(v) for k, v in data.items()},
        id=_text(entry_id),
    )


@dataclass
class ReadResult:
    """Events of a time range, and how many entries could not be read."""

    events: list[StoredEvent] = field(default_factory=list)
    skipped: int = 0


async def read_events(
    redis: Any, prefix: str, start: datetime, end: datetime, *, page: int = 10_000
) -> ReadResult:
    """Every event written from `start` to before `end` (the stream ids are their times)."""
    key = events_key(prefix)
    low = f"{int(start.timestamp() * 1000)}-0"
    high = f"({int(end.timestamp() * 1000)}-0"
    result = ReadResult()
    while True:
        entries = await redis.xrange(key, min=low, max=high, count=page)
        for entry_id, raw in entries:
            event = decode_entry(entry_id, raw)
            if event is None:
                result.skipped += 1
            else:
                result.events.append(event)
        if len(entries) < page:
            return result
        low = f"({_text(entries[-1][0])}"
