"""The event stream writer on a real Redis: one entry per batch of ended calls, and the
events of calls still in progress written every few seconds so a crash loses little."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from fastagi.analytics.kpis import compute_report
from fastagi.analytics.stream import StreamSink, events_key, read_events
from fastagi.events import CallEvent, TeeSink
from fastagi.storage import forget_prefix, open_async_client

pytestmark = pytest.mark.system


def _today() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


def test_calls_in_progress_are_written_as_they_go_and_read_back_whole(
    redis_server_url: str,
) -> None:
    prefix = f"t{uuid4().hex[:8]}:"

    async def scenario() -> tuple[int, int, int, list[str], list[str], int]:
        redis = open_async_client(redis_server_url, timeout=5.0)
        try:
            sink = StreamSink(redis, prefix, open_flush_every=0.1)
            long, short = "1700000000.1", "1700000000.2"
            sink.emit(CallEvent(long, "call_start", data={"script": "main"}))
            sink.emit(CallEvent(long, "node", "main", "welcome"))
            await asyncio.sleep(0.3)  # the long call is still in the menus
            while_in_progress = int(await redis.xlen(events_key(prefix)))
            sink.emit(CallEvent(short, "call_start", data={"script": "main"}))
            sink.emit(CallEvent(short, "call_end", data={"status": "SUCCESS", "seconds": "1"}))
            sink.emit(CallEvent(long, "digits", "main", "welcome", {"digits": "2"}))
            sink.emit(CallEvent(long, "call_end", data={"status": "SUCCESS", "seconds": "9"}))
            await sink.drain()
            entries = int(await redis.xlen(events_key(prefix)))
            read = await read_events(redis, prefix, *_today())
            kinds = [e.kind for e in read.events if e.uid == long]
            short_kinds = [e.kind for e in read.events if e.uid == short]
            contacts = compute_report(read.events).contacts
            return while_in_progress, entries, sink.written, kinds, short_kinds, contacts
        finally:
            await forget_prefix(redis, prefix)
            await redis.aclose()

    in_progress, entries, written, kinds, short_kinds, contacts = asyncio.run(scenario())
    assert in_progress == 1  # the long call's first events, before it ended
    assert entries == 2  # then the rest of it together with the short call
    assert written == 6  # every event once
    assert kinds == ["call_start", "node", "digits", "call_end"]
    assert short_kinds == ["call_start", "call_end"]
    assert contacts == 2


def test_a_call_shorter_than_the_interval_is_one_entry(redis_server_url: str) -> None:
    prefix = f"t{uuid4().hex[:8]}:"

    async def scenario() -> int:
        redis = open_async_client(redis_server_url, timeout=5.0)
        try:
            sink = StreamSink(redis, prefix, open_flush_every=5.0)
            uid = "1700000000.3"
            for kind in ("call_start", "node", "call_end"):
                sink.emit(CallEvent(uid, kind, "main", "welcome"))
            await sink.drain()
            return int(await redis.xlen(events_key(prefix)))
        finally:
            await forget_prefix(redis, prefix)
            await redis.aclose()

    assert asyncio.run(scenario()) == 1


def _call(sink: StreamSink, uid: str) -> None:
    for kind in ("call_start", "node", "call_end"):
        sink.emit(CallEvent(uid, kind, "main", "welcome"))


def test_calls_that_end_while_a_write_is_in_flight_share_the_next_entry(
    redis_server_url: str,
) -> None:
    prefix = f"t{uuid4().hex[:8]}:"

    async def scenario() -> tuple[list[int], int]:
        redis = open_async_client(redis_server_url, timeout=5.0)
        try:
            sink = StreamSink(redis, prefix)
            await sink.drain()  # connected, nothing written
            await redis.execute_command("CLIENT", "PAUSE", "300", "WRITE")  # type: ignore[no-untyped-call]
            _call(sink, "1700000000.1")  # its entry is held up by the pause...
            await asyncio.sleep(0.05)
            _call(sink, "1700000000.2")  # ...while these two end, in two loop turns
            await asyncio.sleep(0.01)
            _call(sink, "1700000000.3")
            await sink.drain()
            entries = await redis.xrange(events_key(prefix))
            sizes = [len(json.loads(fields["events"])) for _, fields in entries]
            return sizes, sink.written
        finally:
            await forget_prefix(redis, prefix)
            await redis.aclose()

    assert asyncio.run(scenario()) == ([3, 6], 9)


def test_redis_down_drops_and_counts_the_events_and_never_holds_a_call() -> None:
    async def scenario() -> tuple[int, int, int, float]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # closed: nothing listens
        redis = open_async_client(f"redis://127.0.0.1:{port}/0", timeout=0.5)
        try:
            sink = StreamSink(redis, "down:")
            started = time.monotonic()
            for n in range(4):
                _call(sink, f"1700000000.{n}")  # emit returns at once: never waits for Redis
                await asyncio.sleep(0)
            await sink.drain()
            return sink.written, sink.dropped, sink.failed_writes, time.monotonic() - started
        finally:
            await redis.aclose()

    written, dropped, failed, seconds = asyncio.run(scenario())
    assert (written, dropped) == (0, 12)
    assert failed >= 1 and seconds < 2.0


def test_an_event_that_cannot_be_encoded_is_dropped_and_counted_the_rest_written(
    redis_server_url: str,
) -> None:
    prefix = f"t{uuid4().hex[:8]}:"

    async def scenario() -> tuple[int, int, list[str]]:
        redis = open_async_client(redis_server_url, timeout=5.0)
        try:
            sink = StreamSink(redis, prefix)
            # A lone surrogate: what undecodable bytes from a socket become; not UTF-8.
            bad = {"name": "caller \udcff"}
            sink.emit(CallEvent("1700000000.1", "call_start", "main", "", bad))
            _call(sink, "1700000000.2")  # in the same entry as the bad event
            sink.emit(CallEvent("1700000000.1", "call_end", "main", ""))
            await sink.drain()
            found = await read_events(redis, prefix, *_today())
            return sink.written, sink.dropped, [(e.uid, e.kind) for e in found.events]
        finally:
            await forget_prefix(redis, prefix)
            await redis.aclose()

    written, dropped, events = asyncio.run(scenario())
    assert (written, dropped) == (4, 1)
    assert events == [
        ("1700000000.2", "call_start"),
        ("1700000000.2", "node"),
        ("1700000000.2", "call_end"),
        ("1700000000.1", "call_end"),
    ]


def test_behind_a_tee_calls_in_progress_are_written_when_another_ends(
    redis_server_url: str,
) -> None:
    prefix = f"t{uuid4().hex[:8]}:"

    async def scenario() -> tuple[list[list[str]], dict[str, list[str]], int]:
        redis = open_async_client(redis_server_url, timeout=5.0)
        try:
            sink = StreamSink(redis, prefix)
            tee = TeeSink(sink)  # as the server has it: the calls' middles go by `route`
            first, second = "1700000000.1", "1700000000.2"
            for uid, kind in [
                (first, "call_start"), (second, "call_start"), (first, "node"),
                (second, "node"), (first, "prompt"), (first, "call_end"),
            ]:  # fmt: skip
                tee.emit(CallEvent(uid, kind, "main", "welcome"))
            await asyncio.sleep(0.05)  # the first call's end is written in the next turn
            tee.emit(CallEvent(second, "digits", "main", "welcome", {"digits": "2"}))
            tee.emit(CallEvent(second, "call_end"))
            await sink.drain()
            entries = await redis.xrange(events_key(prefix))
            kinds = [[row[1] for row in json.loads(fields["events"])] for _, fields in entries]
            read = await read_events(redis, prefix, *_today())
            by_call = {
                uid: [e.kind for e in read.events if e.uid == uid] for uid in (first, second)
            }
            return kinds, by_call, sink.written
        finally:
            await forget_prefix(redis, prefix)
            await redis.aclose()

    kinds, by_call, written = asyncio.run(scenario())
    assert kinds == [
        ["call_start", "call_start", "node", "node", "call_end"],
        ["digits", "call_end"],
    ]
    assert by_call == {
        "1700000000.1": ["call_start", "node", "call_end"],  # no prompt: not stored
        "1700000000.2": ["call_start", "node", "digits", "call_end"],
    }
    assert written == 7


def test_an_event_of_no_call_in_progress_is_written_at_once(redis_server_url: str) -> None:
    prefix = f"t{uuid4().hex[:8]}:"

    async def scenario() -> int:
        redis = open_async_client(redis_server_url, timeout=5.0)
        try:
            sink = StreamSink(redis, prefix)
            TeeSink(sink).emit(CallEvent("cb-7", "callback_attempt", data={"outcome": "busy"}))
            for _ in range(100):  # no call ends, no drain: written in the next turn anyway
                if await redis.xlen(events_key(prefix)):
                    break
                await asyncio.sleep(0.01)
            return int(await redis.xlen(events_key(prefix)))
        finally:
            await forget_prefix(redis, prefix)
            await redis.aclose()

    assert asyncio.run(scenario()) == 1
