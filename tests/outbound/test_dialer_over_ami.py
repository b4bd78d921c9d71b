"""The dialer against the emulator's AMI peer over TCP: outcomes, the call's end, limits,
and calls whose AMI events were lost (the call's own record in Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from fastagi.ami import AmiClient
from fastagi.callbacks import CallbackRules, CallbackStore, CallFacts
from fastagi.callbacks.request import CallbackRequest
from fastagi.callbacks.rules import load_callback_rules
from fastagi.campaigns.model import Entry
from fastagi.config import ServerSettings
from fastagi.hours.loader import load_hours
from fastagi.menus import load_menus
from fastagi.outbound.callback_scheduler import CallbackScheduler, callback_call
from fastagi.outbound.campaign_runner import campaign_call
from fastagi.outbound.dialer import Dialer, DialResult
from fastagi.outbound.originate import OriginateRequest
from fastagi.outbound.pacing import CallPacer
from fastagi.outbound.results import OutboundResults
from fastagi.server.app import caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import forget_prefix, open_async_client
from fastagi.testing import (
    AmiPeer,
    AsteriskEmulator,
    Dialplan,
    DialplanResult,
    DialScript,
    OriginateOutcome,
    QueueScript,
    ScriptedOutcome,
    TelephonyScript,
)

pytestmark = pytest.mark.system


@contextlib.asynccontextmanager
async def ami_pair(
    time_scale: float, backoff_initial: float | None = None
) -> AsyncIterator[tuple[AmiPeer, AmiClient]]:
    """Asterisk's AMI (the emulator's peer) and our client logged in to it; both closed."""
    peer = AmiPeer(username="ivr", secret="s3cret", time_scale=time_scale)
    host, port = await peer.start()
    reconnect = {} if backoff_initial is None else {"backoff_initial": backoff_initial}
    client = AmiClient(host, port, "ivr", "s3cret", ping_interval=0, action_timeout=5, **reconnect)
    await client.start(timeout=5)
    try:
        yield peer, client
    finally:
        await client.close()
        await peer.stop()


@contextlib.asynccontextmanager
async def rig(
    max_concurrent: int = 5, rate: float = 100.0
) -> AsyncIterator[tuple[AmiPeer, Dialer]]:
    async with ami_pair(0.01) as (peer, client):
        yield peer, Dialer(client, CallPacer(max_concurrent, rate), answer_grace=5)


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
        async with ami_pair(0.5, 0.05) as (peer, client):
            peer.script("+79161234567", "answer", ring=2.0, talk=1.0)  # rings ~1 s here
            dialer = Dialer(client, CallPacer(2, 10.0), answer_grace=5)
            dialling = asyncio.ensure_future(dialer.dial(_call("+79161234567")))
            await peer.wait_for_action("Originate", timeout=5)
            await asyncio.sleep(0.1)
            peer.drop_connections()  # while the client's phone is still ringing
            result = await dialling
            return result, peer, client.logins

    result, peer, logins = run_on_reactor_loop(main())
    assert logins == 2  # it did reconnect
    assert result.outcome == "answered"
    assert len(peer.actions_named("Originate")) == 1  # not doubled


def test_an_answer_missed_while_the_ami_was_down_is_found_on_the_channel_list() -> None:
    """The OriginateResponse fires while the AMI connection is down, so it is never seen;
    after reconnecting the dialer finds the call's channel up and counts it answered."""

    async def main() -> tuple[DialResult, AmiPeer]:
        async with ami_pair(0.5, 1.5) as (peer, client):
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

    result, peer = run_on_reactor_loop(main())
    assert result.outcome == "answered"
    assert result.ended_at is not None  # and the line was held until the call ended
    assert len(peer.actions_named("Originate")) == 1


# -- an answered call that begins and ends while AMI is down ---------------------------------
#
# AMI events are not durable: what happens while the connection is down is lost.
# The answered call records itself through the FastAGI server into Redis
# (dialplan/ivr-outbound.conf, outbound/result), and the dialer reads that record
# when neither the OriginateResponse nor CoreShowChannels can tell. Here the AMI
# peer's answered calls run the shipped dialplan in the emulator, whose AGI()
# reaches the real server; nothing of the record is faked.

REPO = Path(__file__).resolve().parents[2]
HOURS = load_hours(REPO / "config" / "hours.yaml")
MOSCOW = ZoneInfo("Europe/Moscow")
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=MOSCOW)
NUMBER = "+79165550231"
#: what the far ends do inside the emulated dialplan (virtual time: no real seconds)
FAR_ENDS = TelephonyScript(
    queues={"support": QueueScript.answered(5, talk=120)},
    dials={f"PJSIP/{NUMBER}@trunk-main": DialScript.answer(4, talk=90)},
)


@dataclass
class Outage:
    """The server, Redis, the emulator running the dialplan, the AMI peer and client."""

    peer: AmiPeer
    ami: AmiClient
    redis: Any
    prefix: str
    results: OutboundResults
    far_ends: list[TelephonyScript]
    reconnected_at: list[float]

    def dialer(self, *, with_records: bool = True) -> Dialer:
        results = self.results if with_records else None
        return Dialer(self.ami, CallPacer(2, 10.0), answer_grace=1, results=results)

    async def drop_ami_at_the_originate(self, count: int = 1) -> None:
        """Reset the AMI connection as soon as the count-th Originate arrives."""
        await self.peer.wait_for_action("Originate", count=count, timeout=5)
        logins = self.ami.logins
        self.peer.drop_connections()
        while self.ami.logins == logins:
            await asyncio.sleep(0.005)
        self.reconnected_at.append(time.monotonic())


@contextlib.asynccontextmanager
async def outage(redis_url: str, *, first_server_down: bool = False) -> AsyncIterator[Outage]:
    prefix = f"t{uuid4().hex[:8]}:"
    settings = ServerSettings(
        port=0,
        redis_prefix=prefix,
        segments_file=REPO / "config" / "segments.yaml",
        hours_file=REPO / "config" / "hours.yaml",
        callbacks_file=REPO / "config" / "callbacks.yaml",
    )
    service = caller_service(settings, redis_url)
    server = start_server(settings, menus=load_menus(REPO / "ivr_menus"), callers=service)
    host, port = server.address
    ours = f"agi://{host}:{port}"
    if first_server_down:  # IVR_AGI refuses connections: the record goes to IVR_AGI2
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead = f"agi://127.0.0.1:{sock.getsockname()[1]}"
        addresses = {"IVR_AGI": dead, "IVR_AGI2": ours}
    else:
        addresses = {"IVR_AGI": ours}
    emulator = AsteriskEmulator(
        dialplan=Dialplan.load(REPO / "asterisk-conf" / "extensions.conf"), globals=addresses
    )
    far_ends = [FAR_ENDS]
    # Answered calls take ~0.25 s of ringing and ~0.25 s of talk here; the AMI client
    # is back only 1.2-1.8 s after a drop: the whole call falls inside the outage.
    peer = AmiPeer(time_scale=0.25)

    async def run_dialplan(record: OriginateOutcome) -> DialplanResult:
        return await emulator.run_dialplan(
            record.context, record.exten, channel_variables=record.variables,
            telephony=far_ends[0],
        )  # fmt: skip

    peer.on_answer = run_dialplan
    ami_host, ami_port = await peer.start()
    ami = AmiClient(
        ami_host, ami_port, "ivr", "s3cret", ping_interval=0, action_timeout=5,
        backoff_initial=1.5,
    )  # fmt: skip
    await ami.start(timeout=5)
    redis = open_async_client(redis_url, timeout=5.0)
    try:
        yield Outage(
            peer, ami, redis, prefix, OutboundResults(redis, prefix), far_ends, reconnected_at=[]
        )
    finally:
        await ami.close()
        await peer.stop()
        await server.stop(grace=1.0)
        await service.drain()
        await service.directory.redis.aclose()
        await forget_prefix(redis, prefix)
        await redis.aclose()


def _client_first_rules() -> CallbackRules:
    shipped = load_callback_rules(REPO / "config" / "callbacks.yaml", hours=HOURS)
    dial = shipped.dial.model_copy(update={"connect": "client_first", "ring_timeout": 2})
    return shipped.model_copy(update={"dial": dial})


@pytest.mark.parametrize(
    ("far_end", "with_records", "attempts", "closed", "first_server_down"),
    [
        # answered and hung up while AMI was down: closed as answered, not called again
        ("answer", True, ["answered"], "answered", False),
        # ... and so when the first FastAGI server is down too: the second takes the record
        ("answer", True, ["answered"], "answered", True),
        # the control: not answered while AMI was down - failed, and called again next day
        ("no_answer", True, ["failed", "no_answer"], None, False),
        # without the call's own record the answered call would count as failed
        ("answer", False, ["failed", "answered"], "answered", False),
    ],
)
def test_a_callback_answered_and_ended_while_the_ami_is_down_is_not_called_again(
    redis_server_url: str,
    far_end: ScriptedOutcome,
    with_records: bool,
    attempts: list[str],
    closed: str | None,
    first_server_down: bool,
) -> None:
    async def scenario() -> tuple[CallbackRequest, Outage, list[datetime]]:
        async with outage(redis_server_url, first_server_down=first_server_down) as rig:
            rig.peer.script(NUMBER, far_end, ring=1.0, talk=1.0)
            rules = _client_first_rules()
            store = CallbackStore.for_rules(rig.redis, rules, HOURS, prefix=rig.prefix)
            lost = CallFacts(
                number=NUMBER, outcome="caller_hangup", at=WEDNESDAY_NOON, uniqueid="1.1",
                queue_outcome="abandoned", queue="support",
            )  # fmt: skip
            await store.add_lost_call(lost)
            moment = [WEDNESDAY_NOON]
            scheduler = CallbackScheduler(
                store, rules, HOURS, dialer=rig.dialer(with_records=with_records),
                mailer=None, clock=lambda: moment[0],
            )  # fmt: skip
            dialled: list[datetime] = []
            while moment[0] < WEDNESDAY_NOON + timedelta(days=1, hours=2):
                report = await scheduler.tick(moment[0])
                if report.dialled:
                    dialled.append(moment[0])
                    if len(dialled) == 1:  # the first attempt: AMI drops as it goes out
                        await rig.drop_ami_at_the_originate()
                    await scheduler.drain()
                moment[0] += timedelta(minutes=5)
            [request] = await store.list_requests()
            return request, rig, dialled

    request, rig, dialled = run_on_reactor_loop(scenario())
    [first, *_] = rig.peer.originated
    # the premise: the first call rang, was answered (or not) and ended inside the outage
    assert first.ended is not None and first.ended < rig.reconnected_at[0]
    assert first.outcome == far_end
    assert [a.outcome for a in request.attempts] == attempts
    assert len(dialled) == len(rig.peer.actions_named("Originate")) == len(attempts)
    assert request.closed_reason == closed
    if far_end == "answer":
        # the answered call's dialplan did run, and reported through the server
        *refused, agi = first.dialplan.agi_calls  # type: ignore[attr-defined]
        assert len(refused) == int(first_server_down)  # the first server's, refused
        assert agi.env["agi_network_script"] == "outbound/result"
        assert agi.variables["IVRSTATUS"] == "SUCCESS"


@pytest.mark.parametrize(
    ("kind", "client", "expected"),
    [
        ("agent_first", DialScript.answer(4, talk=90), "answered"),
        ("agent_first", DialScript.busy(2), "busy"),
        ("campaign", None, "answered"),
    ],
)
def test_the_calls_own_record_gives_the_result_when_ami_lost_every_event(
    redis_server_url: str, kind: str, client: DialScript | None, expected: str
) -> None:
    """Agent first: the agent answers and the client's phone rings, all in the outage;
    the client's DIALSTATUS comes from the record written in `h`. Campaign: the record
    written as the client answers."""

    async def scenario() -> tuple[DialResult, Outage]:
        async with outage(redis_server_url) as rig:
            when = WEDNESDAY_NOON
            if kind == "agent_first":
                rig.far_ends[0] = TelephonyScript(
                    dials={f"PJSIP/{NUMBER}@trunk-main": client}  # type: ignore[dict-item]
                )
                rig.peer.script("support", "answer", ring=1.0, talk=1.0)  # an agent answers
                rules = load_callback_rules(REPO / "config" / "callbacks.yaml", hours=HOURS)
                request = CallbackRequest(7, NUMBER, "open", when, when, queue="support")
                call = replace(callback_call(request, rules), timeout=2)  # not 122 s here
                report_id = "cb-7"
            else:
                rig.peer.script(NUMBER, "answer", ring=1.0, talk=1.0)
                entry = Entry(5, "reminders", 2, NUMBER, 0, None, None, None, {}, "pending", 1)
                call = campaign_call(entry, channel="PJSIP/{number}@trunk-main", ring_timeout=2)
                report_id = "cp-5"
            dialling = asyncio.ensure_future(rig.dialer().dial(call, report_id=report_id))
            await rig.drop_ami_at_the_originate()
            return await dialling, rig

    result, rig = run_on_reactor_loop(scenario())
    [originated] = rig.peer.originated
    assert originated.ended is not None and originated.ended < rig.reconnected_at[0]
    assert result.outcome == expected
    assert result.reason.startswith("recorded ")
    assert result.uniqueid == originated.channel_id
    [agi] = originated.dialplan.agi_calls  # type: ignore[attr-defined]
    assert agi.env["agi_network_script"] == "outbound/result"


def test_a_hangup_missed_while_the_ami_was_down_frees_the_line_without_waiting() -> None:
    """The OriginateResponse arrives, then the connection drops and the call's Hangup is
    sent while it is down: the dialer finds the channel gone on the channel list and
    frees the line, instead of holding it until max_call."""

    async def main() -> tuple[DialResult, float, float]:
        async with ami_pair(0.5, 1.5) as (peer, client):
            peer.script("+79161234567", "answer", ring=0.4, talk=1.0)  # ~0.2 s, then ~0.5 s
            dialer = Dialer(client, CallPacer(2, 10.0), answer_grace=1, max_call=60.0,
                            hangup_check=0.5)  # fmt: skip
            request = OriginateRequest(
                "Local/+79161234567@ivr-out-client", "ivr-out-queue", "s", timeout=5
            )
            began = time.monotonic()
            dialling = asyncio.ensure_future(dialer.dial(request))
            await peer.wait_for_action("Originate", timeout=5)
            await asyncio.sleep(0.35)  # answered, and its OriginateResponse seen
            peer.drop_connections()  # back only after ~1.5 s: the Hangup is missed
            result = await dialling
            return result, time.monotonic() - began, dialer.max_call

    result, seconds, max_call = run_on_reactor_loop(main())
    assert result.outcome == "answered"
    assert result.ended_at is not None
    # freed once the channel list could be read again, long before max_call
    assert seconds < max_call / 4, seconds
