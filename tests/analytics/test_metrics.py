"""The Prometheus endpoint over real TCP: calls through the server, /metrics scraped over HTTP.

The demo server runs with a `Metrics` (callers in a real Redis, the shipped
dialplan in the emulator for a queue call, plain AGI calls for the rest);
the test scrapes ``GET /metrics`` as Prometheus would and checks the counts
against what the emulator saw: every call's IVRSTATUS, every AGI command,
the queue's wait, the open callback requests in Redis.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from serve_helpers import start_serve
from twisted.internet.address import IPv4Address

from fastagi.analytics.metrics import Metrics
from fastagi.callbacks.keys import CallbackKeys
from fastagi.config import ServerSettings
from fastagi.events import CallEvent, EventRecorder
from fastagi.hours.business import load_business_hours
from fastagi.menus import load_menus
from fastagi.server.app import caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import open_async_client
from fastagi.testing import (
    AsteriskEmulator,
    CallerScript,
    CallResult,
    Dialplan,
    DialScript,
    QueueScript,
    TelephonyScript,
)

REPO = Path(__file__).resolve().parents[2]
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))

pytestmark = pytest.mark.system

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _get(url: str, method: str = "GET") -> tuple[int, str, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


async def scrape(base: str) -> Samples:
    """GET /metrics (in a thread: the server runs on this loop), parsed as Prometheus would."""
    status, content_type, text = await asyncio.to_thread(_get, base + "/metrics")
    assert (status, content_type) == (200, CONTENT_TYPE_LATEST)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def pending(base: str) -> float | None:
    """The scraped ivr_callbacks_pending; None when it is not exported."""
    return (await scrape(base)).get(("ivr_callbacks_pending", frozenset()))


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(key)[label]: v for (n, key), v in samples.items() if n == name and v}


def _listen(metrics: Metrics) -> str:
    address = metrics.listen("127.0.0.1", 0).getHost()
    assert isinstance(address, IPv4Address)
    return f"http://127.0.0.1:{address.port}"


async def _wait_for(check: Callable[[], bool], what: str, limit: float = 5.0) -> None:
    async with asyncio.timeout(limit):
        while not check():
            await asyncio.sleep(0.01)
    assert check(), what


def test_calls_commands_queue_waits_and_callbacks_over_http(
    redis_server_url: str, tmp_path: Path
) -> None:
    callbacks_off = tmp_path / "callbacks.yaml"
    callbacks_off.write_text("enabled: false\n")  # only the test writes callback requests
    settings = ServerSettings(
        port=0,
        max_calls=1,
        redis_prefix=f"t{uuid4().hex[:8]}:",
        segments_file=REPO / "config" / "segments.yaml",
        callbacks_file=callbacks_off,
    )
    open_key = CallbackKeys(settings.redis_prefix).open()

    async def scenario() -> tuple[list[CallResult], list[str], Samples, Samples, EventRecorder]:
        redis = open_async_client(redis_server_url)
        await redis.hset(open_key, mapping={"+79165550001": "1", "+79165550002": "2"})
        service = caller_service(settings, redis_server_url)
        metrics = Metrics()
        events = EventRecorder()
        server = start_server(
            settings,
            menus=load_menus(REPO / "ivr_menus"),
            events=events,
            callers=service,
            hours=load_business_hours(REPO / "config" / "hours.yaml"),
            clock=lambda: WEDNESDAY_NOON,
            metrics=metrics,
        )
        base = _listen(metrics)
        host, port = server.address
        plain = AsteriskEmulator()
        pbx = AsteriskEmulator(
            dialplan=Dialplan.load(REPO / "asterisk-conf" / "extensions.conf"),
            globals={"IVR_AGI": f"agi://{host}:{port}"},
        )
        operator = CallerScript.parse("0")
        calls: list[CallResult] = []
        try:
            # Support, technical: an agent answers after 10 s in the queue, later the caller
            # hangs up.
            queued = await pbx.run_dialplan(
                "ivr-entry", "4951234567", callerid="+79165550101",
                caller=CallerScript.parse("2,1"), now=WEDNESDAY_NOON,
                telephony=TelephonyScript(
                    queues={"support": QueueScript(answer_after=10)},
                    dials={"PJSIP/100": DialScript(status="BUSY")},
                ),
            )  # fmt: skip
            calls += queued.agi_calls
            calls.append(
                await plain.place_call(host, port, callerid="+79165550102", caller=operator)
            )
            calls.append(await plain.place_call(host, port, script="no-such-menu"))
            # A slow call holds the only place (max_calls=1): the next one is BUSY.
            slow = asyncio.ensure_future(
                plain.place_call(
                    host, port, callerid="+79165550103", caller=operator, reply_delay=0.05
                )
            )
            await _wait_for(lambda: server.factory.active_calls == 1, "the slow call started")
            during = await scrape(base)
            calls.append(await plain.place_call(host, port, callerid="+79165550104"))
            calls.append(await slow)
            after = await scrape(base)
            # What the dialplan saw: IVRSTATUS, or the channel hung up before it was set.
            statuses = [call.variables.get("IVRSTATUS") or call.agi_status for call in calls]
        finally:
            await server.stop(grace=1.0)
            await service.drain()
            await service.directory.redis.aclose()
            await redis.delete(open_key)
            await redis.aclose()
        return calls, statuses, during, after, events

    calls, statuses, during, after, events = run_on_reactor_loop(scenario())

    assert sorted(statuses) == ["BUSY", "HANGUP", "NOTFOUND", "SUCCESS", "SUCCESS"]
    assert value(during, "ivr_active_calls") == 1
    assert value(after, "ivr_active_calls") == 0
    # Every call ended counted once, by the IVRSTATUS the dialplan got.
    assert by_label(after, "ivr_calls_total", "outcome") == Counter(statuses)
    assert value(after, "ivr_calls_rejected_total") == 1
    # One round trip per command Asterisk answered; the slow call's replies took 50 ms each.
    commands = sum(len(call.commands) for call in calls)
    slow_commands = len(calls[-1].commands)
    assert commands > len(calls)
    assert value(after, "ivr_agi_command_seconds_count") == commands
    assert value(after, "ivr_agi_command_seconds_bucket", le="+Inf") == commands
    assert value(after, "ivr_agi_command_seconds_bucket", le="0.05") <= commands - slow_commands
    assert value(after, "ivr_agi_command_seconds_sum") >= 0.05 * slow_commands
    # The three calls that reached the menus were looked up; none degraded.
    assert value(after, "ivr_redis_seconds_count") == 3
    assert value(after, "ivr_redis_seconds_bucket", le="0.2") == 3
    assert value(after, "ivr_caller_lookups_degraded_total") == 0
    # The queue call's wait, by queue and outcome, as the queue event said.
    (queued,) = [
        e.data
        for call_events in events.by_call.values()
        for e in call_events
        if e.kind == "queue" and e.data["event"] == "leave"
    ]
    assert (queued["queue"], queued["outcome"], queued["wait"]) == ("support", "answered", "10")
    waits = {"queue": "support", "outcome": "answered"}
    assert value(after, "ivr_queue_wait_seconds_count", **waits) == 1
    assert value(after, "ivr_queue_wait_seconds_sum", **waits) == 10
    assert value(after, "ivr_queue_wait_seconds_bucket", le="5.0", **waits) == 0
    assert value(after, "ivr_queue_wait_seconds_bucket", le="10.0", **waits) == 1
    # The open requests as they were in Redis (read in the background, not at scrape time).
    assert value(after, "ivr_callbacks_pending") == 2


def test_callbacks_pending_follows_the_hash_in_the_background(redis_server_url: str) -> None:
    key = CallbackKeys(f"t{uuid4().hex[:8]}:").open()

    async def scenario() -> list[float | None]:
        redis = open_async_client(redis_server_url)
        metrics = Metrics()
        base = _listen(metrics)
        seen: list[float | None] = []
        try:
            seen.append(await pending(base))  # not read yet
            await redis.hset(key, mapping={"+79165550001": "1", "+79165550002": "2"})
            metrics.watch_callbacks(redis, key, interval=0.02)
            for count in (2, 5, 0):
                if count == 5:
                    await redis.hset(key, mapping={f"+7916555001{i}": str(i) for i in range(3)})
                elif count == 0:
                    await redis.delete(key)
                async with asyncio.timeout(5):
                    while await pending(base) != count:
                        await asyncio.sleep(0.02)
                seen.append(count)
        finally:
            await metrics.close()
            await redis.delete(key)
            await redis.aclose()
        return seen

    assert run_on_reactor_loop(scenario()) == [None, 2, 5, 0]


def test_endpoint_serves_metrics_only_with_get() -> None:
    async def scenario() -> list[tuple[int, str]]:
        metrics = Metrics()
        base = _listen(metrics)
        try:
            return [
                (status, content_type)
                for status, content_type, _ in [
                    await asyncio.to_thread(_get, base + "/metrics"),
                    await asyncio.to_thread(_get, base + "/"),
                    await asyncio.to_thread(_get, base + "/metrics/x"),
                    await asyncio.to_thread(_get, base + "/metrics", "POST"),
                ]
            ]
        finally:
            await metrics.close()

    assert run_on_reactor_loop(scenario()) == [
        (200, CONTENT_TYPE_LATEST),
        (404, "text/plain; charset=utf-8"),
        (404, "text/plain; charset=utf-8"),
        (405, "text/plain; charset=utf-8"),
    ]


def test_events_feed_call_and_queue_metrics_and_each_has_help() -> None:
    metrics = Metrics()
    metrics.emit(CallEvent("1.1", "call_end", data={"status": "HANGUP", "seconds": "3.1"}))
    metrics.emit(CallEvent("1.1", "call_start", data={"script": "main"}))  # not counted
    for queue, outcome, wait in [
        ("sales", "timeout", "120"),
        ("sales", "abandoned", "35"),
        ("sales", "abandoned", "not a number"),  # ignored
    ]:
        data = {"event": "leave", "queue": queue, "outcome": outcome, "wait": wait}
        metrics.emit(CallEvent("1.2", "queue", data=data))
    metrics.emit(CallEvent("1.2", "queue", data={"event": "join", "queue": "sales"}))
    metrics.observe_lookup(0.003, False)
    metrics.observe_lookup(0.2, True)
    metrics.observe_command(0.0004)

    exposition = metrics.exposition().decode()
    families = {
        f.name: f
        for f in text_string_to_metric_families(exposition)
        if not f.name.endswith("_created")  # the client's creation times
    }
    samples: Samples = {
        (s.name, frozenset(s.labels.items())): s.value for f in families.values() for s in f.samples
    }
    assert by_label(samples, "ivr_calls_total", "outcome") == {"HANGUP": 1}
    assert value(samples, "ivr_calls_total", outcome="SUCCESS") == 0  # there from the start
    assert value(samples, "ivr_queue_wait_seconds_count", queue="sales", outcome="timeout") == 1
    assert value(samples, "ivr_queue_wait_seconds_sum", queue="sales", outcome="abandoned") == 35
    assert value(samples, "ivr_queue_wait_seconds_count", queue="sales", outcome="abandoned") == 1
    assert value(samples, "ivr_redis_seconds_count") == 2
    assert value(samples, "ivr_caller_lookups_degraded_total") == 1
    assert value(samples, "ivr_agi_command_seconds_bucket", le="0.001") == 1
    assert value(samples, "ivr_active_calls") == 0  # no server watched
    assert sorted(families) == [
        "ivr_active_calls",
        "ivr_agi_command_seconds",
        "ivr_caller_lookups_degraded",
        "ivr_calls",
        "ivr_calls_rejected",
        "ivr_queue_wait_seconds",
        "ivr_redis_seconds",
    ]
    assert all(f.documentation for f in families.values())
    # Two servers in one process keep their own counts.
    assert b'ivr_calls_total{outcome="HANGUP"} 0.0' in Metrics().exposition()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ivr_serve_opens_the_endpoint_named_in_its_banner(
    redis_server_url: str, tmp_path: Path
) -> None:
    port, metrics_port = _free_port(), _free_port()
    config = tmp_path / "server.yaml"
    config.write_text(
        f"port: {port}\n"
        f"state_dir: {tmp_path / 'state'}\n"
        f"redis_url: {redis_server_url}\n"
        f'redis_prefix: "t{uuid4().hex[:8]}:"\n'
        "sounds_dir: null\n"
        f"metrics_listen: 127.0.0.1:{metrics_port}\n"
    )
    process, banner = start_serve(config)
    try:
        base = f"http://127.0.0.1:{metrics_port}"
        assert f"Metrics: {base}/metrics\n" in banner, banner
        call = asyncio.run(
            AsteriskEmulator().place_call(
                "127.0.0.1", port, callerid="+79165550105", caller=CallerScript.parse("0")
            )
        )
        assert call.variables["IVRSTATUS"] == "SUCCESS"
        samples = asyncio.run(scrape(base))
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert by_label(samples, "ivr_calls_total", "outcome") == {"SUCCESS": 1}
    assert value(samples, "ivr_agi_command_seconds_count") == len(call.commands)
    assert value(samples, "ivr_redis_seconds_count") == 1
    assert value(samples, "ivr_callbacks_pending") == 0  # nothing open under this prefix
