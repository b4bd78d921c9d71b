"""A simulated day of traffic and its report: every figure checked against the plan.

Two thousand calls go through the real server over TCP and the emulator
running the shipped dialplan, each kind with an outcome known in advance:
answered after 15 s in the queue, abandoned after 45 s, timed out and asking
for a callback, hung up in the main menu or the support menu, put through
to the operator, calling after hours, blacklisted. The server writes its
events to a real Redis stream; the queue's AgentComplete events come over
AMI from the emulator's peer. The report read back from Redis must match
the counts computed here from the plan alone.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from fastagi.ami import AmiClient
from fastagi.analytics.kpis import compute_report
from fastagi.analytics.queue_events import bridge_queue_events
from fastagi.analytics.stream import StreamSink, read_events
from fastagi.cli import main
from fastagi.config import ServerSettings
from fastagi.hours.business import load_business_hours
from fastagi.menus import load_menus
from fastagi.server.app import caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import forget_prefix, open_async_client
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
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=MOSCOW)
SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 0, tzinfo=MOSCOW)

pytestmark = pytest.mark.system


@dataclass(frozen=True)
class Kind:
    name: str
    count: int
    digits: str
    queue: QueueScript | None = None
    at: datetime = NOON
    blacklisted: bool = False


PLAN = (
    Kind("answered", 400, "2,1", QueueScript(answer_after=15, talk=90)),
    Kind("abandoned", 300, "2,1", QueueScript(caller_hangup_after=45)),
    Kind("timeout_callback", 200, "2,1,1"),  # nobody answers in 120 s; "1": call me back
    Kind("hangup_main", 300, "h"),
    Kind("hangup_support", 200, "2,h"),
    Kind("operator", 300, "0"),
    Kind("after_hours", 200, "2,1", at=SATURDAY_NIGHT),
    Kind("blacklisted", 100, "", blacklisted=True),
)


def _talk(index: int) -> int:
    """The talk time the queue reports for the index-th answered call."""
    return 60 + index % 90


def test_a_day_of_traffic_gives_a_report_that_matches_the_plan(redis_server_url: str) -> None:
    prefix = f"t{uuid4().hex[:8]}:"
    calls = [(kind, n) for kind in PLAN for n in range(kind.count)]

    async def scenario() -> tuple[dict[str, object], float]:
        redis = open_async_client(redis_server_url, timeout=5.0)
        sink = StreamSink(redis, prefix)
        settings = ServerSettings(
            port=0, redis_prefix=prefix, segments_file=REPO / "config" / "segments.yaml"
        )
        service = caller_service(settings, redis_server_url)
        clock = [NOON]
        server = start_server(
            settings, menus=load_menus(REPO / "ivr_menus"), events=sink, callers=service,
            hours=load_business_hours(REPO / "config" / "hours.yaml"), clock=lambda: clock[0],
        )  # fmt: skip
        peer = AmiPeer()
        ami_host, ami_port = await peer.start()
        ami = AmiClient(ami_host, ami_port, "ivr", "s3cret", ping_interval=0)
        await ami.start(timeout=5)
        unbridge = bridge_queue_events(ami, sink)
        emulator = AsteriskEmulator(
            dialplan=Dialplan.load(REPO / "asterisk-conf" / "extensions.conf")
        )
        host, port = server.address
        started = datetime.now(UTC)
        try:
            for kind in PLAN:
                if kind.blacklisted:
                    for n in range(kind.count):
                        await service.directory.upsert(_number(kind, n), {"tags": "blacklist"})
            answered_index = 0
            for kind in PLAN:
                clock[0] = kind.at
                telephony = TelephonyScript(queues={"support": kind.queue}) if kind.queue else None
                for batch in range(0, kind.count, 25):
                    results = await asyncio.gather(*(
                        emulator.place_call(
                            host, port, script="main", callerid=_number(kind, n),
                            caller=CallerScript.parse(kind.digits), telephony=telephony,
                        )
                        for n in range(batch, min(batch + 25, kind.count))
                    ))  # fmt: skip
                    if kind.name == "answered":
                        for result in results:
                            peer.emit_event(
                                "AgentComplete",
                                {"Queue": "support", "Uniqueid": result.uniqueid,
                                 "MemberName": "Agent 301", "HoldTime": "15",
                                 "TalkTime": str(_talk(answered_index)), "Reason": "agent"},
                                category="agent",
                            )  # fmt: skip
                            answered_index += 1
            await asyncio.sleep(0.2)  # the last AMI events arrive
            await service.drain()
            await sink.drain()
            found = await read_events(
                redis,
                prefix,
                started - timedelta(seconds=1),
                datetime.now(UTC) + timedelta(seconds=1),
            )
            report = compute_report(found.events).as_dict()
        finally:
            unbridge()
            await server.stop(grace=1.0)
            await service.drain()
            await service.directory.redis.aclose()
            await ami.close()
            await peer.stop()
        await redis.aclose()
        report["_started"] = started
        return report, sink.dropped

    async def clean() -> None:
        redis = open_async_client(redis_server_url, timeout=5.0)
        await forget_prefix(redis, prefix)
        await redis.aclose()

    try:
        report, dropped = run_on_reactor_loop(scenario())
        # the same report through the command an admin runs
        report["_cli"] = _cli_report(redis_server_url, prefix, report["_started"])  # type: ignore[arg-type]
    finally:
        asyncio.run(clean())
    assert dropped == 0
    count = {kind.name: kind.count for kind in PLAN}
    total = len(calls)
    assert report["contacts"] == total
    assert report["answered"] == count["answered"]
    assert report["lost_queue"] == count["abandoned"] + count["timeout_callback"]
    assert report["lost_ivr"] == count["hangup_main"] + count["hangup_support"]
    assert report["lost_after_hours"] == count["after_hours"]
    lost = report["lost_queue"] + report["lost_ivr"] + report["lost_after_hours"]  # type: ignore[operator]
    assert report["lost"] == lost
    assert report["lost_share"] == round(lost / total, 4)
    assert report["handed_off"] == count["operator"]
    assert report["self_service"] == count["blacklisted"]
    # queue waits: 15 s answered, 45 s abandoned, 120 s timed out
    waits = sorted([15.0] * count["answered"] + [45.0] * count["abandoned"]
                   + [120.0] * count["timeout_callback"])  # fmt: skip
    assert report["wait_avg_s"] == round(sum(waits) / len(waits), 2)
    assert report["wait_p90_s"] == waits[math.ceil(0.9 * len(waits)) - 1]
    offered = len(waits)
    assert report["service_level"] == {
        "20s": round(count["answered"] / offered, 4),
        "120s": round(count["answered"] / offered, 4),
    }
    talks = [_talk(i) for i in range(count["answered"])]
    assert report["aht_s"] == round(sum(talks) / len(talks), 2)
    assert report["callbacks"]["requested"] == count["timeout_callback"]  # type: ignore[index]
    funnel = {(n["menu"], n["node"]): n for n in report["funnel"]}  # type: ignore[attr-defined]
    welcome = funnel[("main", "welcome")]
    assert welcome["entered"] == total - count["blacklisted"]
    assert welcome["hung_up"] == count["hangup_main"]
    to_support = total - count["blacklisted"] - count["hangup_main"] - count["operator"]
    assert welcome["digits"] == {"2": to_support, "0": count["operator"]}
    assert funnel[("main", "support")]["hung_up"] == count["hangup_support"]
    assert funnel[("main", "support_queue")]["entered"] == offered
    assert funnel[("blocked", "notice")]["entered"] == count["blacklisted"]
    cli, staffing_json = str(report["_cli"]).split("\n@@")
    assert f"contacts          {total}" in cli
    # the measured traffic, staffed per interval: every call counted once, AHT as measured
    intervals = json.loads(staffing_json)
    assert sum(row["calls"] for row in intervals) == total
    busy = [row for row in intervals if row["calls"]]
    assert all(row["aht_s"] == round(sum(talks) / len(talks), 1) for row in busy)
    assert all(row["agents"] > 0 for row in busy)
    assert f"answered          {count['answered']}" in cli  # type: ignore[operator]


def _number(kind: Kind, n: int) -> str:
    return f"+7916{PLAN.index(kind)}{n:06d}"


def _cli_report(redis_url: str, prefix: str, started: datetime) -> str:
    config = Path(f"/tmp/report-{prefix.strip(':')}.yaml")
    config.write_text(f"redis_url: {redis_url}\nredis_prefix: '{prefix}'\n")
    try:
        since = (started - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
        until = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
        result = CliRunner().invoke(
            main,
            [
                "report",
                "--config",
                str(config),
                "--from",
                since + "+00:00",
                "--to",
                until + "+00:00",
            ],
        )
        assert result.exit_code == 0, result.output
        staffing = CliRunner().invoke(
            main,
            ["erlang", "--from-events", "--config", str(config), "--interval", "1h",
             "--from", since + "+00:00", "--to", until + "+00:00", "--json"],
        )  # fmt: skip
        assert staffing.exit_code == 0, staffing.output
        return result.output + "\n@@" + staffing.output
    finally:
        config.unlink()
