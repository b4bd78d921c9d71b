"""The dialer against the emulator's AMI peer over TCP: outcomes, the call's end, limits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from fastagi.ami import AmiClient
from fastagi.outbound.dialer import Dialer, DialResult
from fastagi.outbound.originate import OriginateRequest
from fastagi.outbound.pacing import CallPacer
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import AmiPeer

pytestmark = pytest.mark.system


@contextlib.asynccontextmanager
async def rig(
    max_concurrent: int = 5, rate: float = 100.0
) -> AsyncIterator[tuple[AmiPeer, Dialer]]:
    peer = AmiPeer(username="ivr", secret="s3cret", time_scale=0.01)
    host, port = await peer.start()
    client = AmiClient(host, port, "ivr", "s3cret", ping_interval=0, action_timeout=5)
    await client.start(timeout=5)
    try:
        yield peer, Dialer(client, CallPacer(max_concurrent, rate), answer_grace=5)
    finally:
        await client.close()
        await peer.stop()


def _call(number: str) -> OriginateRequest:
    return OriginateRequest(
        channel=f"Local/{number}@ivr-out-client",
        context="ivr-out-queue",
        exten="s",
        caller_id="+74950000000",
        timeout=30,
        variables={"IVR_KIND": "callback", "IVR_NUMBER": number},
    )


@pytest.mark.parametrize(
    ("outcome", "expected", "reason"),
    [
        ("answer", "answered", "4"),
        ("busy", "busy", "5"),
        ("no_answer", "no_answer", "3"),
        ("congestion", "failed", "8"),
        ("failed", "failed", "0"),
    ],
)
def test_each_far_end_gives_its_outcome(outcome: str, expected: str, reason: str) -> None:
    async def main() -> DialResult:
        async with rig() as (peer, dialer):
            peer.script("+79161234567", outcome, ring=1.0, talk=5.0)  # type: ignore[arg-type]
            return await dialer.dial(_call("+79161234567"))

    result = run_on_reactor_loop(main())
    assert result.outcome == expected
    assert result.reason == reason
    if expected == "answered":
        # the line was held until the talk ended (the peer's Hangup), not just the answer
        assert result.answered_at is not None and result.ended_at is not None
        assert result.ended_at >= result.answered_at


def test_the_originate_names_its_channel_and_variables() -> None:
    async def main() -> AmiPeer:
        async with rig() as (peer, dialer):
            peer.script("+79161234567", "answer", talk=1.0)
            await dialer.dial(_call("+79161234567"))
            return peer

    peer = run_on_reactor_loop(main())
    [originate] = peer.actions_named("Originate")
    assert originate.get("Channel") == "Local/+79161234567@ivr-out-client"
    assert originate.get("Async") == "true"
    assert "IVR_NUMBER=+79161234567" in originate.get_all("Variable")


def test_no_more_calls_at_once_than_the_limit() -> None:
    numbers = [f"+7916123450{i}" for i in range(8)]

    async def main() -> tuple[AmiPeer, list[DialResult]]:
        async with rig(max_concurrent=3) as (peer, dialer):
            for number in numbers:
                peer.script(number, "answer", ring=2.0, talk=20.0)
            results = await asyncio.gather(*(dialer.dial(_call(n)) for n in numbers))
            return peer, list(results)

    peer, results = run_on_reactor_loop(main())
    assert [r.outcome for r in results] == ["answered"] * 8
    assert peer.max_active_calls == 3
    assert len(peer.originated) == 8


def test_a_refused_originate_is_a_failed_call_not_an_exception() -> None:
    async def main() -> DialResult:
        async with rig() as (peer, dialer):
            peer.extensions = {("ivr-out-queue", "other")}
            return await dialer.dial(_call("+79161234567"))

    result = run_on_reactor_loop(main())
    assert result.outcome == "failed"
    assert "does not exist" in result.reason


def test_an_agent_first_call_takes_the_clients_dialstatus_from_the_dialplan_report() -> None:
    async def main() -> DialResult:
        async with rig() as (peer, dialer):
            peer.script("support", "answer", talk=3.0)  # an agent of the queue answers

            async def report() -> None:
                await peer.wait_for_action("Originate", timeout=5)
                await asyncio.sleep(0.005)
                peer.emit_event(
                    "UserEvent",
                    {"UserEvent": "IvrOutbound", "Kind": "callback", "Id": "cb-7",
                     "DialStatus": "BUSY"},
                )  # fmt: skip

            reporting = asyncio.ensure_future(report())
            request = OriginateRequest(
                "Local/support@ivr-out-agents", "ivr-out-dial-client", "s",
                variables={"IVR_NUMBER": "+79161234567"},
            )  # fmt: skip
            result = await dialer.dial(request, report_id="cb-7")
            await reporting
            return result

    result = run_on_reactor_loop(main())
    assert result.outcome == "busy"  # the agent answered, the client was busy
    assert result.report == {"Kind": "callback", "DialStatus": "BUSY"}


def test_the_ami_connection_dropping_while_the_client_rings_loses_nothing() -> None:
    """Asterisk's AMI drops mid-originate: the client reconnects, the call's result still
    arrives (the call was Asterisk's all along), and nothing is dialled twice."""

    async def main() -> tuple[DialResult, AmiPeer, int]:
        peer = AmiPeer(username="ivr", secret="s3cret", time_scale=0.5)
        host, port = await peer.start()
        client = AmiClient(
            host, port, "ivr", "s3cret", ping_interval=0, action_timeout=5, backoff_initial=0.05
        )
        await client.start(timeout=5)
        try:
            peer.script("+79161234567", "answer", ring=2.0, talk=1.0)  # rings ~1 s here
            dialer = Dialer(client, CallPacer(2, 10.0), answer_grace=5)
            dialling = asyncio.ensure_future(dialer.dial(_call("+79161234567")))
            await peer.wait_for_action("Originate", timeout=5)
            await asyncio.sleep(0.1)
            peer.drop_connections()  # while the client's phone is still ringing
            result = await dialling
            return result, peer, client.logins
        finally:
            await client.close()
            await peer.stop()

    result, peer, logins = run_on_reactor_loop(main())
    assert logins == 2  # it did reconnect
    assert result.outcome == "answered"
    assert len(peer.actions_named("Originate")) == 1  # not doubled


def test_an_answer_missed_while_the_ami_was_down_is_found_on_the_channel_list() -> None:
    """The OriginateResponse fires while the AMI connection is down, so it is never seen;
    after reconnecting the dialer finds the call's channel up and counts it answered."""

    async def main() -> tuple[DialResult, AmiPeer]:
        peer = AmiPeer(username="ivr", secret="s3cret", time_scale=0.5)
        host, port = await peer.start()
        client = AmiClient(
            host, port, "ivr", "s3cret", ping_interval=0, action_timeout=5, backoff_initial=1.5
        )
        await client.start(timeout=5)
        try:
            # answered after ~0.5 s, talking for ~3 s
            peer.script("+79161234567", "answer", ring=1.0, talk=6.0)
            dialer = Dialer(client, CallPacer(2, 10.0), answer_grace=1)
            request = OriginateRequest(
                "Local/+79161234567@ivr-out-client", "ivr-out-queue", "s", timeout=2
            )
            dialling = asyncio.ensure_future(dialer.dial(request))
            await peer.wait_for_action("Originate", timeout=5)
            peer.drop_connections()  # back only after ~1.5 s: the answer is missed
            return await dialling, peer
        finally:
            await client.close()
            await peer.stop()

    result, peer = run_on_reactor_loop(main())
    assert result.outcome == "answered"
    assert result.ended_at is not None  # and the line was held until the call ended
    assert len(peer.actions_named("Originate")) == 1
