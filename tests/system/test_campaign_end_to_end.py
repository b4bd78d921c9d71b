"""A campaign end to end: a CSV file, real Redis, the dialer over the AMI peer, a moved clock.

Entries are dialled in priority order, never more at once than the lines
allow, a blacklisted number never, and an appointment reminder only inside
the days around its event.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from fastagi.ami import AmiClient
from fastagi.callers import CallerDirectory
from fastagi.callers.segments import SegmentRules
from fastagi.campaigns.dnc import DoNotCall
from fastagi.campaigns.parse import parse_campaign
from fastagi.campaigns.store import CampaignStore
from fastagi.events import EventRecorder
from fastagi.outbound.campaign_runner import CampaignRunner
from fastagi.outbound.dialer import Dialer
from fastagi.outbound.pacing import CallPacer
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import forget_prefix, open_async_client
from fastagi.testing import AmiPeer

REPO = Path(__file__).resolve().parents[2]
MOSCOW = ZoneInfo("Europe/Moscow")
MONDAY_TEN = datetime(2026, 11, 30, 10, 0, tzinfo=MOSCOW)
EVENT = date(2026, 12, 4)  # Friday: its calls are due from Wednesday 2 December

CSV = f"""number,priority,event_date,voice,menu,appointment
+79165550301,0,,ivr/main-greeting,main,
+79165550302,10,,ivr/main-greeting,main,
+79165550303,5,,,,
+79165550304,10,,,,
+79165550305,-1,,,,
+79165550306,5,{EVENT.isoformat()},ivr/goodbye,main,dentist 10:30
+79165550307,0,,,,
+79165550399,10,,,,
"""

pytestmark = pytest.mark.system


def test_a_campaign_is_dialled_by_priority_within_the_lines_and_event_days(
    redis_server_url: str,
) -> None:
    prefix = f"t{uuid4().hex[:8]}:"

    recorder = EventRecorder()

    async def scenario() -> tuple[list[tuple[datetime, str]], AmiPeer, dict[str, int]]:
        redis = open_async_client(redis_server_url, timeout=5.0)
        directory = CallerDirectory(redis, prefix=prefix)
        await directory.upsert("+79165550399", {"tags": "blacklist"})  # do not call
        rules = SegmentRules.load(REPO / "config" / "segments.yaml")
        store = CampaignStore(redis, prefix, dnc=DoNotCall(directory, rules))
        parsed = parse_campaign(CSV.splitlines(keepends=True), file="demo.csv")
        assert not parsed.skipped and not parsed.duplicates
        await store.load("reminders", parsed.entries, file="demo.csv", now=MONDAY_TEN)

        peer = AmiPeer(time_scale=0.001)
        for row in range(1, 8):
            peer.script(f"+7916555030{row}", "answer", ring=5.0, talk=120.0)
        host, port = await peer.start()
        ami = AmiClient(host, port, "ivr", "s3cret", ping_interval=0)
        await ami.start(timeout=5)
        runner = CampaignRunner(
            store, Dialer(ami, CallPacer(2, 10.0), answer_grace=5), zone=MOSCOW,
            clock=lambda: moment, events=recorder,
        )  # fmt: skip
        started: list[tuple[datetime, str]] = []
        moment = MONDAY_TEN
        try:
            while moment < MONDAY_TEN + timedelta(days=3):
                for entry in await runner.tick(moment):
                    started.append((moment, entry.number))
                await runner.drain()
                moment += timedelta(minutes=10)
            status = await store.status("reminders")
        finally:
            await ami.close()
            await peer.stop()
            await forget_prefix(redis, prefix)
            await redis.aclose()
        return started, peer, dict(status.counts)

    started, peer, counts = run_on_reactor_loop(scenario())
    numbers = [number for _, number in started]
    # priority order: 10, 10, 5, 0, 0, -1 on Monday; the event's call waits for its days
    assert numbers[:6] == [
        "+79165550302", "+79165550304", "+79165550303",
        "+79165550301", "+79165550307", "+79165550305",
    ]  # fmt: skip
    assert all(moment.date() == MONDAY_TEN.date() for moment, _ in started[:6])
    [(event_call, event_number)] = started[6:]
    assert event_number == "+79165550306"
    assert event_call.astimezone(MOSCOW).date() == EVENT - timedelta(days=2)
    # never more calls at once than the lines, and the blacklisted number never
    assert peer.max_active_calls <= 2
    assert "+79165550399" not in numbers
    assert counts["done"] == 7 and counts["dnc"] == 1
    event_originate = next(
        a for a in peer.actions_named("Originate") if "+79165550306" in a.get("Channel")
    )
    assert "IVR_VOICE=ivr/goodbye" in event_originate.get_all("Variable")
    # the file's own columns reach the dialplan and the menu
    assert "IVR_FIELD_APPOINTMENT=dentist 10:30" in event_originate.get_all("Variable")
    assert event_originate.get("Context") == "ivr-out-campaign"
    # each call's result is an event for the report
    results = [e for events in recorder.by_call.values() for e in events]
    assert len(results) == 7
    assert {(e.kind, e.data["campaign"], e.data["outcome"]) for e in results} == {
        ("campaign_result", "reminders", "answered")
    }
