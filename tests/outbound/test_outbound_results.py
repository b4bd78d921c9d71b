"""The `outbound/result` script: the call's own record of its result, in Redis.

The argument checks are pure; the script itself is reached the way Asterisk
reaches it, through the emulator's FastAGI peer, against the real server and
a real Redis.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest

from fastagi.config import ServerSettings
from fastagi.events import EventRecorder
from fastagi.menus import load_menus
from fastagi.outbound.results import (
    RESULT_SCRIPT,
    RESULT_TTL,
    OutboundResults,
    RecordedResult,
    parse_result_args,
    result_key,
)
from fastagi.server.app import RunningServer, caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import forget_prefix, open_async_client
from fastagi.testing import AsteriskEmulator, CallResult

REPO = Path(__file__).resolve().parents[2]
ATTEMPT = "0123456789abcdef0123456789abcdef"


# -- the checks -----------------------------------------------------------------------------


def test_good_arguments_are_read_as_they_are() -> None:
    result = parse_result_args(["callback", "cb-17", ATTEMPT, "ANSWER"])
    assert result == RecordedResult("callback", "cb-17", ATTEMPT, "ANSWER")
    assert result.outcome == "answered"
    assert parse_result_args(["campaign", "cp-5", ATTEMPT, "BUSY"]).outcome == "busy"
    assert parse_result_args(["callback", "cb-1", ATTEMPT, "NOANSWER"]).outcome == "no_answer"
    assert parse_result_args(["callback", "cb-1", ATTEMPT, "CHANUNAVAIL"]).outcome == "failed"


def test_the_key_is_made_of_the_prefix_the_kind_and_the_id_only() -> None:
    assert result_key("ivr:", "callback", "cb-17") == "ivr:outbound:result:callback:cb-17"
    assert result_key("t1:", "campaign", "cp-5") == "t1:outbound:result:campaign:cp-5"
    with pytest.raises(ValueError, match="prefix"):
        result_key("bad*", "callback", "cb-17")


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["broadcast", "cb-17", ATTEMPT, "ANSWER"], "IVR_KIND must be callback or campaign"),
        (["CALLBACK", "cb-17", ATTEMPT, "ANSWER"], "IVR_KIND must be callback or campaign"),
        (["", "cb-17", ATTEMPT, "ANSWER"], "IVR_KIND must be callback or campaign"),
        (["callback", "", ATTEMPT, "ANSWER"], "not an outbound report id"),
        (["callback", "cb-0", ATTEMPT, "ANSWER"], "not an outbound report id"),
        (["callback", "cb-17*", ATTEMPT, "ANSWER"], "not an outbound report id"),
        (["callback", "cb-1:caller:x", ATTEMPT, "ANSWER"], "not an outbound report id"),
        (["callback", "../cb-1", ATTEMPT, "ANSWER"], "not an outbound report id"),
        (["callback", "cb-" + "9" * 19, ATTEMPT, "ANSWER"], "not an outbound report id"),
        (["callback", "cp-5", ATTEMPT, "ANSWER"], "IVR_ID cp-5 is not a callback id"),
        (["campaign", "cb-5", ATTEMPT, "ANSWER"], "IVR_ID cb-5 is not a campaign id"),
        (["callback", "cb-17", "", "ANSWER"], "IVR_ATTEMPT is not a channel id"),
        (["callback", "cb-17", "a b", "ANSWER"], "IVR_ATTEMPT is not a channel id"),
        (["callback", "cb-17", "x" * 65, "ANSWER"], "IVR_ATTEMPT is not a channel id"),
        (["callback", "cb-17", ATTEMPT, ""], "status must be ANSWER or a DIALSTATUS"),
        (["callback", "cb-17", ATTEMPT, "answer"], "status must be ANSWER or a DIALSTATUS"),
        (["callback", "cb-17", ATTEMPT, "ANSWERED"], "status must be ANSWER or a DIALSTATUS"),
        (["callback", "cb-17", ATTEMPT], "expected 4 arguments"),
        (["callback", "cb-17", ATTEMPT, "ANSWER", "more"], "expected 4 arguments"),
    ],
)
def test_anything_else_is_refused_with_the_reason(args: list[str], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint.replace("*", r"\*")):
        parse_result_args(args)


def test_a_refused_value_is_shown_escaped_and_short() -> None:
    with pytest.raises(ValueError) as caught:
        parse_result_args(["callback\r\nFLUSHALL " + "x" * 100, "cb-1", ATTEMPT, "ANSWER"])
    message = str(caught.value)
    assert "\r" not in message and "\n" not in message
    assert "\\r\\n" in message and len(message) < 120


# -- the script over FastAGI, against Redis -------------------------------------------------


@dataclass
class Rig:
    server: RunningServer
    emulator: AsteriskEmulator
    events: EventRecorder
    prefix: str
    redis: object

    async def report(self, *args: str) -> CallResult:
        host, port = self.server.address
        return await self.emulator.place_call(host, port, script=RESULT_SCRIPT, args=args)

    async def keys(self) -> dict[str, str]:
        redis = self.redis
        found = [key async for key in redis.scan_iter(match=f"{self.prefix}*")]  # type: ignore[attr-defined]
        return {key: await redis.get(key) for key in found}  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def rig(redis_url: str) -> AsyncIterator[Rig]:
    prefix = f"t{uuid4().hex[:8]}:"
    settings = ServerSettings(
        port=0,
        redis_prefix=prefix,
        segments_file=REPO / "config" / "segments.yaml",
        hours_file=REPO / "config" / "hours.yaml",
        callbacks_file=REPO / "config" / "callbacks.yaml",
    )
    service = caller_service(settings, redis_url)
    events = EventRecorder()
    server = start_server(
        settings, menus=load_menus(REPO / "ivr_menus"), callers=service, events=events
    )
    redis = open_async_client(redis_url, timeout=5.0)
    try:
        yield Rig(server, AsteriskEmulator(), events, prefix, redis)
    finally:
        await server.stop(grace=1.0)
        await service.drain()
        await service.directory.redis.aclose()
        await forget_prefix(redis, prefix)
        await redis.aclose()


@pytest.mark.system
def test_the_script_writes_one_key_with_a_ttl_and_no_call_events(redis_server_url: str) -> None:
    async def scenario() -> tuple[CallResult, dict[str, str], int, Rig]:
        async with rig(redis_server_url) as r:
            call = await r.report("callback", "cb-17", ATTEMPT, "ANSWER")
            keys = await r.keys()
            ttl = await r.redis.ttl(f"{r.prefix}outbound:result:callback:cb-17")  # type: ignore[attr-defined]
            return call, keys, ttl, r

    call, keys, ttl, r = run_on_reactor_loop(scenario())
    assert call.agi_status == "SUCCESS" and call.variables["IVRSTATUS"] == "SUCCESS"
    assert keys == {f"{r.prefix}outbound:result:callback:cb-17": f"ANSWER {ATTEMPT}"}
    assert RESULT_TTL - 60 < ttl <= RESULT_TTL
    # the dialplan's own report is no caller's call: no call_start/call_end, not counted
    assert r.events.by_call == {}
    assert r.server.factory.calls_total == 0


@pytest.mark.system
@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("broadcast", "cb-17", ATTEMPT, "ANSWER"), "IVR_KIND must be callback or campaign"),
        (("callback", "cb-17:x", ATTEMPT, "ANSWER"), "not an outbound report id"),
        (("callback", "*", ATTEMPT, "ANSWER"), "not an outbound report id"),
        (("campaign", "cb-17", ATTEMPT, "ANSWER"), "IVR_ID cb-17 is not a campaign id"),
        (("callback", "cb-17", "", "ANSWER"), "IVR_ATTEMPT is not a channel id"),
        (("callback", "cb-17", ATTEMPT, ""), "status must be ANSWER or a DIALSTATUS"),
        ((), "expected 4 arguments"),
    ],
)
def test_bad_arguments_write_nothing_and_say_why(
    redis_server_url: str,
    caplog: pytest.LogCaptureFixture,
    args: tuple[str, ...],
    complaint: str,
) -> None:
    async def scenario() -> tuple[CallResult, dict[str, str]]:
        async with rig(redis_server_url) as r:
            call = await r.report(*args)
            return call, await r.keys()

    with caplog.at_level(logging.WARNING):
        call, keys = run_on_reactor_loop(scenario())
    assert keys == {}
    # the AGI itself ran: the dialplan goes on, IVRSTATUS says it was not recorded
    assert call.agi_status == "SUCCESS" and call.variables["IVRSTATUS"] == "FAILED"
    [line] = [r.getMessage() for r in caplog.records if "outbound/result" in r.getMessage()]
    assert "refused, nothing recorded" in line and complaint in line


@pytest.mark.system
def test_with_redis_down_the_script_fails_fast_and_the_dialplan_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> tuple[CallResult, float]:
        settings = ServerSettings(
            port=0,
            segments_file=REPO / "config" / "segments.yaml",
            hours_file=REPO / "config" / "hours.yaml",
        )
        service = caller_service(settings, "redis://127.0.0.1:9/0")  # nothing listens there
        server = start_server(settings, menus=load_menus(REPO / "ivr_menus"), callers=service)
        host, port = server.address
        try:
            started = time.monotonic()
            call = await AsteriskEmulator().place_call(
                host, port, script=RESULT_SCRIPT, args=("callback", "cb-3", ATTEMPT, "ANSWER")
            )
            return call, time.monotonic() - started
        finally:
            await server.stop(grace=1.0)
            await service.directory.redis.aclose()

    with caplog.at_level(logging.WARNING):
        call, seconds = run_on_reactor_loop(scenario())
    assert call.variables["IVRSTATUS"] == "FAILED"
    assert seconds < 2.5
    assert any("cb-3 ANSWER not recorded" in r.getMessage() for r in caplog.records)


@pytest.mark.system
def test_the_dialer_takes_only_its_own_attempts_record(redis_server_url: str) -> None:
    async def scenario() -> list[RecordedResult | None]:
        redis = open_async_client(redis_server_url, timeout=5.0)
        prefix = f"t{uuid4().hex[:8]}:"
        results = OutboundResults(redis, prefix)
        try:
            await results.record(RecordedResult("callback", "cb-9", "attempt-1", "BUSY"))
            found = [
                await results.read("cb-9", "attempt-1"),
                await results.read("cb-9", "attempt-2"),  # a later attempt: not its record
                await results.read("cb-10", "attempt-1"),  # nothing recorded
                await results.read("bad id", "attempt-1"),  # not ours at all
            ]
            await redis.set(f"{prefix}outbound:result:campaign:cp-4", "garbage")
            found.append(await results.read("cp-4", "garbage"))
            return found
        finally:
            await forget_prefix(redis, prefix)
            await redis.aclose()

    own, later, missing, bad, garbage = run_on_reactor_loop(scenario())
    assert own == RecordedResult("callback", "cb-9", "attempt-1", "BUSY")
    assert (later, missing, bad, garbage) == (None, None, None, None)
