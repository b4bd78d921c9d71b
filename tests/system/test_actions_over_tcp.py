"""Issue 4's calls end to end: the shipped dialplan (ivr-entry, ivr-results, the action
subroutines) in the emulator, AGI() to the real server over TCP, callers in a real Redis."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from fastagi.callers.service import CallerService
from fastagi.config import ServerSettings
from fastagi.events import EventRecorder
from fastagi.hours.business import load_business_hours
from fastagi.menus import load_menus
from fastagi.server.app import caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import (
    AsteriskEmulator,
    CallerScript,
    Dialplan,
    DialplanResult,
    DialScript,
    FaxScript,
    QueueScript,
    TelephonyScript,
)

REPO = Path(__file__).resolve().parents[2]
MOSCOW = ZoneInfo("Europe/Moscow")
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=MOSCOW)
SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 0, tzinfo=MOSCOW)

pytestmark = pytest.mark.system


@dataclass
class Rig:
    service: CallerService
    emulator: AsteriskEmulator
    events: EventRecorder

    async def call(
        self, number: str, digits: str, at: datetime, telephony: TelephonyScript | None = None
    ) -> DialplanResult:
        return await self.emulator.run_dialplan(
            "ivr-entry",
            "4951234567",
            callerid=number,
            caller=CallerScript.parse(digits),
            now=at,
            telephony=telephony,
        )


@contextlib.asynccontextmanager
async def _pbx(redis_url: str, at: datetime) -> AsyncIterator[Rig]:
    """The demo server (callers, hours) and an emulator running asterisk-conf/ against it."""
    settings = ServerSettings(
        port=0,
        redis_prefix=f"t{uuid4().hex[:8]}:",
        segments_file=REPO / "config" / "segments.yaml",
    )
    service = caller_service(settings, redis_url)
    events = EventRecorder()
    server = start_server(
        settings,
        menus=load_menus(REPO / "ivr_menus"),
        events=events,
        callers=service,
        hours=load_business_hours(REPO / "config" / "hours.yaml"),
        clock=lambda: at,
    )
    host, port = server.address
    dialplan = Dialplan.load(REPO / "asterisk-conf" / "extensions.conf")
    emulator = AsteriskEmulator(dialplan=dialplan, globals={"IVR_AGI": f"agi://{host}:{port}"})
    try:
        yield Rig(service, emulator, events)
    finally:
        await server.stop(grace=1.0)
        await service.drain()
        await service.directory.redis.aclose()


def _queue_leave(rig: Rig, result: DialplanResult) -> dict[str, str]:
    (call,) = result.agi_calls
    leaves = [
        e.data for e in rig.events.events(call.uniqueid, "queue") if e.data["event"] == "leave"
    ]
    assert len(leaves) == 1, leaves
    return dict(leaves[0])


def test_two_minutes_in_the_queue_then_a_callback_is_stored(redis_server_url: str) -> None:
    async def scenario() -> tuple[DialplanResult, list[dict[str, str]], dict[str, str]]:
        async with _pbx(redis_server_url, WEDNESDAY_NOON) as rig:
            # support, technical, then "1": call me back on this number
            result = await rig.call("+79165550101", "2,1,1", WEDNESDAY_NOON)
            return (
                result,
                await rig.service.directory.callback_requests(),
                _queue_leave(rig, result),
            )

    result, requests, leave = run_on_reactor_loop(scenario())
    (entry,) = result.chan.telephony_log.queue_log
    assert (entry.queue, entry.timeout, entry.status, round(entry.wait)) == (
        "support", 120, "TIMEOUT", 120
    )  # fmt: skip
    assert (leave["outcome"], leave["wait"]) == ("timeout", "120")
    assert [(r["number"], r["queue"], r["reason"]) for r in requests] == [
        ("+79165550101", "support", "requested")
    ]
    assert [e.name for e in result.chan.telephony_log.user_events] == ["IvrCallbackRequested"]


def test_a_vip_is_queued_ahead_of_a_regular_caller(redis_server_url: str) -> None:
    async def scenario() -> tuple[DialplanResult, DialplanResult]:
        async with _pbx(redis_server_url, WEDNESDAY_NOON) as rig:
            await rig.service.directory.upsert("+79165550102", {"tags": "vip"})
            answered = TelephonyScript(
                queues={"support": QueueScript(answer_after=10)},
                dials={"PJSIP/100": DialScript(status="BUSY")},
            )
            vip = await rig.call("+79165550102", "1", WEDNESDAY_NOON, answered)
            regular = await rig.call("+79165550103", "2,1", WEDNESDAY_NOON, answered)
            return vip, regular

    vip, regular = run_on_reactor_loop(scenario())
    (vip_entry,) = vip.chan.telephony_log.queue_log
    (regular_entry,) = regular.chan.telephony_log.queue_log
    assert (vip_entry.queue, vip_entry.priority, vip_entry.music_class) == ("support", 10, "vip")
    assert (regular_entry.queue, regular_entry.priority) == ("support", 0)
    # the VIP got there because their manager's line was busy
    assert [d.status for d in vip.chan.telephony_log.dials] == ["BUSY"]


def test_after_hours_the_caller_reaches_voicemail(redis_server_url: str) -> None:
    async def scenario() -> DialplanResult:
        async with _pbx(redis_server_url, SATURDAY_NIGHT) as rig:
            return await rig.call("+79165550104", "2,1", SATURDAY_NIGHT)

    result = run_on_reactor_loop(scenario())
    assert [v.mailbox for v in result.chan.telephony_log.voicemails] == ["102@default"]
    assert result.chan.telephony_log.queue_log == []


def test_a_caller_who_hangs_up_in_the_queue_is_recorded_as_abandoned(
    redis_server_url: str,
) -> None:
    async def scenario() -> tuple[DialplanResult, dict[str, str]]:
        async with _pbx(redis_server_url, WEDNESDAY_NOON) as rig:
            gives_up = TelephonyScript(queues={"support": QueueScript(caller_hangup_after=45)})
            result = await rig.call("+79165550105", "2,1", WEDNESDAY_NOON, gives_up)
            return result, _queue_leave(rig, result)

    result, leave = run_on_reactor_loop(scenario())
    (entry,) = result.chan.telephony_log.queue_log
    assert (entry.outcome, round(entry.wait)) == ("ABANDON", 45)
    assert (leave["outcome"], leave["wait"], leave["status"]) == ("abandoned", "45", "HANGUP")
    assert result.hung_up_by == "caller"


@pytest.mark.parametrize("machine_hangs_up", [False, True])
def test_a_received_fax_is_filed_in_the_department_folder_and_recorded(
    redis_server_url: str, machine_hangs_up: bool
) -> None:
    number = "+74957770101"
    fax = FaxScript(pages=3, remote_station="+7 495 777-01-01", caller_hangs_up=machine_hangs_up)

    async def scenario() -> tuple[DialplanResult, dict[str, str], list[dict[str, str]]]:
        async with _pbx(redis_server_url, WEDNESDAY_NOON) as rig:
            # what Asterisk does when the menu's `fax` node armed detection and heard CNG
            result = await rig.emulator.run_dialplan(
                "ivr-entry",
                "fax",
                callerid=number,
                channel_variables={"IVR_FAX_FOLDER": "sales"},
                now=WEDNESDAY_NOON,
                telephony=TelephonyScript(fax=fax),
            )
            await rig.service.drain()
            (call,) = result.agi_calls
            (event,) = rig.events.events(call.uniqueid, "fax")
            # The result runs on the menu call's channel: it is not counted as a call again.
            starts = rig.events.events(call.uniqueid, "call_start")
            ends = rig.events.events(call.uniqueid, "call_end")
            assert (starts, ends) == ([], [])
            return result, dict(event.data), await rig.service.directory.history(number)

    result, event, history = run_on_reactor_loop(scenario())
    (received,) = result.chan.telephony_log.faxes
    assert received.file == f"/var/spool/asterisk/fax/sales/{result.chan.uniqueid}.tif"
    assert event == {
        "status": "SUCCESS",
        "pages": "3",
        "error": "NO_ERROR",
        "folder": "sales",
        "station": "+7 495 777-01-01",
    }
    assert [h["outcome"] for h in history] == ["fax success, 3 page(s) to sales"]


def test_server_down_sends_the_call_down_the_dialplan_fallback() -> None:
    async def scenario() -> DialplanResult:
        dialplan = Dialplan.load(REPO / "asterisk-conf" / "extensions.conf")
        emulator = AsteriskEmulator(dialplan=dialplan, globals={"IVR_AGI": "agi://127.0.0.1:9"})
        return await emulator.run_dialplan(
            "ivr-entry", "4951234567", callerid="+79165550106", now=WEDNESDAY_NOON
        )

    result = run_on_reactor_loop(scenario())
    assert result.agi_status == "FAILURE"
    assert [q.queue for q in result.chan.telephony_log.queue_log] == ["support"]
