"""Missed calls called back, end to end: real Redis, the server over TCP, the AMI peer, SMTP.

A caller abandons the support queue on a Wednesday at noon (Moscow); the
server files the lost call; the scheduler - ticked by a clock the test
moves, nothing is slept - calls back within the hour through AMI, never
twice a day, and after three unanswered attempts sends one letter. An
answered callback closes the request; a scheduler restarted between the
request and the attempt loses nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from smtp_helpers import SmtpServer

from fastagi.ami import AmiClient
from fastagi.callbacks import CallbackRules, CallbackStore
from fastagi.callbacks.mailer import CallbackMailer
from fastagi.callbacks.rules import load_callback_rules
from fastagi.callers.service import CallerService
from fastagi.config import ServerSettings
from fastagi.events import EventRecorder
from fastagi.hours.business import load_business_hours
from fastagi.hours.loader import load_hours
from fastagi.menus import load_menus
from fastagi.outbound.callback_scheduler import CallbackScheduler
from fastagi.outbound.dialer import Dialer
from fastagi.outbound.pacing import CallPacer
from fastagi.server.app import caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import open_async_client
from fastagi.testing import (
    AmiPeer,
    AsteriskEmulator,
    CallerScript,
    Dialplan,
    QueueScript,
    TelephonyScript,
)

REPO = Path(__file__).resolve().parents[2]
MOSCOW = ZoneInfo("Europe/Moscow")
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=MOSCOW)
HOURS = load_hours(REPO / "config" / "hours.yaml")

pytestmark = pytest.mark.system


@dataclass
class Centre:
    settings: ServerSettings
    service: CallerService
    emulator: AsteriskEmulator
    peer: AmiPeer
    ami: AmiClient
    rules: CallbackRules
    url: str

    async def abandon_the_queue(self, number: str, at: datetime) -> None:
        """A call: support, technical, then the caller gives up after 45 s in the queue."""
        self.clock_at[0] = at
        gives_up = TelephonyScript(queues={"support": QueueScript(caller_hangup_after=45)})
        await self.emulator.run_dialplan(
            "ivr-entry", "4951234567", callerid=number, caller=CallerScript.parse("2,1"),
            now=at, telephony=gives_up,
        )  # fmt: skip
        await self.service.drain()  # the history and the lost call are written

    def scheduler(self, name: str = "scheduler-1", mailer: bool = True) -> CallbackScheduler:
        """A scheduler as a (re)started process makes it: its own Redis connection."""
        client = open_async_client(self.url, timeout=5.0)
        self.clients.append(client)
        store = CallbackStore.for_rules(
            client, self.rules, HOURS, prefix=self.settings.redis_prefix
        )
        dialer = Dialer(self.ami, CallPacer(2, 10.0), answer_grace=5)
        return CallbackScheduler(
            store, self.rules, HOURS, dialer=dialer,
            mailer=CallbackMailer(store, self.rules, zone=MOSCOW) if mailer else None,
            consumer=name, clock=lambda: self.clock_at[0], events=self.events,
        )  # fmt: skip

    def __post_init__(self) -> None:
        self.clock_at = [WEDNESDAY_NOON]
        self.clients: list[object] = []
        self.events = EventRecorder()


@contextlib.asynccontextmanager
async def _centre(redis_url: str, smtp: SmtpServer) -> AsyncIterator[Centre]:
    settings = ServerSettings(
        port=0,
        redis_prefix=f"t{uuid4().hex[:8]}:",
        segments_file=REPO / "config" / "segments.yaml",
        hours_file=REPO / "config" / "hours.yaml",
        callbacks_file=REPO / "config" / "callbacks.yaml",
    )
    shipped = load_callback_rules(settings.callbacks_file, hours=HOURS)
    # The shipped rules, with the client rung first (the peer plays the far end)
    # and the letter going to the test's SMTP server.
    rules = shipped.model_copy(
        update={
            "dial": shipped.dial.model_copy(update={"connect": "client_first"}),
            "smtp": shipped.smtp.model_copy(update={"host": smtp.host, "port": smtp.port}),
            "centre_number": "+7 495 123-45-67",
        }
    )
    service = caller_service(settings, redis_url)
    clock = [WEDNESDAY_NOON]
    server = start_server(
        settings,
        menus=load_menus(REPO / "ivr_menus"),
        callers=service,
        hours=load_business_hours(settings.hours_file),
        clock=lambda: clock[0],
    )
    host, port = server.address
    dialplan = Dialplan.load(REPO / "asterisk-conf" / "extensions.conf")
    emulator = AsteriskEmulator(dialplan=dialplan, globals={"IVR_AGI": f"agi://{host}:{port}"})
    peer = AmiPeer(time_scale=0.001)
    ami_host, ami_port = await peer.start()
    ami = AmiClient(ami_host, ami_port, "ivr", "s3cret", ping_interval=0)
    await ami.start(timeout=5)
    centre = Centre(settings, service, emulator, peer, ami, rules, redis_url)
    centre.clock_at = clock
    try:
        yield centre
    finally:
        await server.stop(grace=1.0)
        await service.drain()
        await service.directory.redis.aclose()
        for client in centre.clients:
            await client.aclose()  # type: ignore[attr-defined]
        await ami.close()
        await peer.stop()


async def _run_days(
    centre: Centre, scheduler: CallbackScheduler, start: datetime, days: float
) -> list[datetime]:
    """Tick every 5 minutes from `start` for `days`; the moments an Originate went out."""
    dialled: list[datetime] = []
    moment = start
    while moment < start + timedelta(days=days):
        centre.clock_at[0] = moment
        before = len(centre.peer.actions_named("Originate"))
        await scheduler.tick(moment)
        await scheduler.drain()
        if len(centre.peer.actions_named("Originate")) > before:
            dialled.append(moment)
        moment += timedelta(minutes=5)
    return dialled


def test_an_abandoned_call_is_called_back_within_the_hour_once_a_day_then_one_letter(
    redis_server_url: str, smtp_server: SmtpServer
) -> None:
    number = "+79165550201"

    async def scenario() -> tuple[list[datetime], object, Centre]:
        async with _centre(redis_server_url, smtp_server) as centre:
            await centre.service.directory.upsert(
                number, {"first_name": "Olga", "email": "olga@example.com", "language": "ru"}
            )
            await centre.abandon_the_queue(number, WEDNESDAY_NOON)
            centre.peer.script(number, "no_answer", ring=30.0)
            scheduler = centre.scheduler()
            dialled = await _run_days(centre, scheduler, WEDNESDAY_NOON, 4)
            request = await scheduler.store.open_request(number)
            closed = await scheduler.store.list_requests()
            return dialled, (request, closed), centre

    dialled, (still_open, requests), centre = run_on_reactor_loop(scenario())
    # the first attempt within the hour of the call, then one a day, three in all
    assert len(dialled) == 3, dialled
    assert dialled[0] - WEDNESDAY_NOON <= timedelta(hours=1)
    days = [moment.astimezone(MOSCOW).date() for moment in dialled]
    assert len(set(days)) == 3
    assert all(9 <= moment.astimezone(MOSCOW).hour < 18 for moment in dialled)
    # then one letter, and only one, however many ticks followed
    [letter] = smtp_server.mailbox.envelopes
    assert letter.rcpt_tos == ["olga@example.com"]
    assert still_open is None
    [request] = requests
    assert request.closed_reason == "emailed"
    assert [a.outcome for a in request.attempts] == ["no_answer"] * 3
    attempts = centre.events.by_call[f"cb-{request.id}"]
    assert [(e.kind, e.data["outcome"], e.data["attempt"]) for e in attempts] == [
        ("callback_attempt", "no_answer", str(n)) for n in (1, 2, 3)
    ]
    originate = centre.peer.actions_named("Originate")[0]
    assert originate.get("Channel") == f"Local/{number}@ivr-out-client"
    assert f"IVR_DIAL=PJSIP/{number}@trunk-main" in originate.get_all("Variable")


def test_an_answered_callback_closes_the_request(
    redis_server_url: str, smtp_server: SmtpServer
) -> None:
    number = "+79165550202"

    async def scenario() -> tuple[list[datetime], object]:
        async with _centre(redis_server_url, smtp_server) as centre:
            await centre.abandon_the_queue(number, WEDNESDAY_NOON)
            centre.peer.script(number, "answer", ring=5.0, talk=60.0)
            scheduler = centre.scheduler()
            dialled = await _run_days(centre, scheduler, WEDNESDAY_NOON, 2)
            return dialled, await scheduler.store.list_requests()

    dialled, requests = run_on_reactor_loop(scenario())
    assert len(dialled) == 1
    [request] = requests  # type: ignore[misc]
    assert request.closed_reason == "answered"
    assert smtp_server.mailbox.envelopes == []


@pytest.mark.parametrize("crash", ["before_intake", "after_intake"])
def test_a_restart_between_the_request_and_the_attempt_loses_nothing(
    redis_server_url: str, smtp_server: SmtpServer, crash: str
) -> None:
    number = "+79165550203"

    async def scenario() -> list[datetime]:
        async with _centre(redis_server_url, smtp_server) as centre:
            await centre.abandon_the_queue(number, WEDNESDAY_NOON)
            centre.peer.script(number, "answer", talk=10.0)
            if crash == "after_intake":
                first = centre.scheduler("scheduler-1")
                report = await first.tick(WEDNESDAY_NOON + timedelta(minutes=1))
                assert report.taken_in == 1 and report.dialled == []
                # ... and the process dies here, before the attempt is due
            restarted = centre.scheduler("scheduler-2")
            return await _run_days(centre, restarted, WEDNESDAY_NOON, 1)

    dialled = run_on_reactor_loop(scenario())
    assert len(dialled) == 1
    assert dialled[0] - WEDNESDAY_NOON <= timedelta(hours=1)


def test_with_asterisk_out_of_reach_requests_wait_and_are_dialled_when_it_is_back(
    redis_server_url: str, smtp_server: SmtpServer
) -> None:
    number = "+79165550204"

    async def scenario() -> tuple[int, int, int]:
        async with _centre(redis_server_url, smtp_server) as centre:
            await centre.abandon_the_queue(number, WEDNESDAY_NOON)
            centre.peer.script(number, "answer", talk=10.0)
            scheduler = centre.scheduler()
            await centre.ami.close()  # Asterisk down: nothing can be placed
            down = await _run_days(centre, scheduler, WEDNESDAY_NOON, 1 / 24)
            waiting = (await scheduler.tick(WEDNESDAY_NOON + timedelta(minutes=30))).waiting
            # back up: a new connection, the same requests
            host, port = centre.ami.host, centre.ami.port
            centre.ami = AmiClient(host, port, "ivr", "s3cret", ping_interval=0)
            await centre.ami.start(timeout=5)
            scheduler.dialer = Dialer(centre.ami, CallPacer(2, 10.0), answer_grace=5)
            up = await _run_days(centre, scheduler, WEDNESDAY_NOON + timedelta(hours=1), 1 / 24)
            await centre.ami.close()
            return len(down), waiting, len(up)

    down, waiting, up = run_on_reactor_loop(scenario())
    assert (down, waiting) == (0, 1)  # due, but waiting for Asterisk: not dropped
    assert up == 1
