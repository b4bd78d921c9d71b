"""Calls with known outcomes in a real event stream, and an HTTP client, for the dashboard tests.

`seed_events` writes, through a `StreamSink` as the server does, nine calls of
today (three answered in the queue, two abandoned in it, one hung up at
main/welcome, one ended by the menus, one handed back to the dialplan after
the caller typed a phone number, one after hours) and a callback attempt;
and, dated before local midnight, one call of yesterday that the dashboard
must not count.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import time as day_time
from typing import Any, Final

from fastagi.analytics.stream import StreamSink, events_key
from fastagi.events import CallEvent

#: Digits a caller typed at a transfer node: counted in the funnel, never shown.
TYPED_NUMBER: Final = "89161234567"

#: Today's figures of the seeded calls, worked out by hand (docs/kpis.md).
EXPECTED: Final[Mapping[str, Any]] = {
    "contacts": 9,
    "answered": 3,
    "lost": 4,
    "lost_share": 0.4444,
    "lost_ivr": 1,
    "lost_queue": 2,
    "lost_after_hours": 1,
    "self_service": 1,
    "self_service_rate": 0.1111,
    "handed_off": 1,
    "wait_avg_s": 44.0,  # waits 5, 15, 30, 40, 130
    "wait_p90_s": 130.0,
    "service_level": {"20s": 0.4, "120s": 0.6},
    "aht_s": 130.0,  # 90, 120 + 10, 150 + 20
    "callbacks": {"requested": 1, "attempts": 1, "answered": 1, "success_rate": 1.0},
}

#: The funnel, busiest node first, as the dashboard shows it.
EXPECTED_FUNNEL: Final = [
    # (menu, node, entered, hung up, timeouts, invalid, single keys, longer entries)
    ("main", "welcome", 8, 1, 1, 0, {"0": 1, "2": 5, "3": 1}, 0),
    ("main", "support", 5, 2, 0, 0, {}, 0),
    ("main", "closed", 1, 0, 0, 0, {}, 0),
    ("main", "tickets", 1, 0, 0, 0, {}, 0),
    ("main", "transfer_out", 1, 0, 0, 0, {}, 1),
]

Step = tuple[str, str, str, dict[str, str]]

WELCOME_SUPPORT: Final[tuple[Step, ...]] = (
    ("node", "main", "welcome", {"type": "menu"}),
    ("digits", "main", "welcome", {"digits": "2"}),
    ("node", "main", "support", {"type": "queue"}),
)


def _leave(outcome: str, wait: int) -> Step:
    data = {"event": "leave", "queue": "support", "outcome": outcome, "wait": str(wait)}
    return ("queue", "main", "support", data)


def _call(uid: str, at: float, *steps: Step) -> list[CallEvent]:
    events = [CallEvent(uid, "call_start", data={"script": "main"}, at=at)]
    for offset, (kind, menu, node, data) in enumerate(steps, start=1):
        events.append(CallEvent(uid, kind, menu, node, data, at=at + offset))
    end = {"status": "SUCCESS", "seconds": str(len(steps) + 1)}
    events.append(CallEvent(uid, "call_end", data=end, at=at + len(steps) + 1))
    return events


def todays_calls(at: float) -> list[CallEvent]:
    """The seeded calls' events in the order the server would emit them."""
    events: list[CallEvent] = []
    for i, (wait, talk, wrap) in enumerate([(5, 90, 0), (15, 120, 10), (30, 150, 20)]):
        uid = f"answered-{i}"
        events += _call(
            uid,
            at + i,
            *WELCOME_SUPPORT,
            _leave("answered", wait),
            ("outcome", "main", "support", {"kind": "return", "result": ""}),
        )
        # The queue's AgentComplete comes after the call left the IVR.
        events.append(CallEvent(uid, "agent", data={"talk": str(talk), "wrap": str(wrap)}))
    for i, wait in enumerate([40, 130]):
        callback: tuple[Step, ...] = (
            (("callback", "main", "support", {"queue": "support"}),) if i == 0 else ()
        )
        events += _call(
            f"abandoned-{i}",
            at + 10 + i,
            *WELCOME_SUPPORT,
            _leave("abandoned", wait),
            *callback,
            ("outcome", "main", "support", {"kind": "caller_hangup"}),
        )
    events += _call(
        "hung-up",
        at + 20,
        ("node", "main", "welcome", {"type": "menu"}),
        ("timeout", "main", "welcome", {"count": "1", "max": "3"}),
        ("outcome", "main", "welcome", {"kind": "caller_hangup"}),
    )
    events += _call(
        "self-service",
        at + 30,
        ("node", "main", "welcome", {"type": "menu"}),
        ("digits", "main", "welcome", {"digits": "3"}),
        ("node", "main", "tickets", {"type": "ticket_status"}),
        ("outcome", "main", "tickets", {"kind": "hangup"}),
    )
    events += _call(
        "typed-number",
        at + 40,
        ("node", "main", "welcome", {"type": "menu"}),
        ("digits", "main", "welcome", {"digits": "0"}),
        ("node", "main", "transfer_out", {"type": "transfer"}),
        ("digits", "main", "transfer_out", {"digits": TYPED_NUMBER}),
        ("transfer", "main", "transfer_out", {"target": "x", "status": "NOANSWER"}),
        ("outcome", "main", "transfer_out", {"kind": "return", "result": ""}),
    )
    events += _call(
        "after-hours",
        at + 50,
        ("node", "main", "closed", {"type": "hours"}),
        ("hours", "main", "closed", {"state": "closed"}),
        ("voicemail", "main", "closed", {"status": "SUCCESS"}),
        ("outcome", "main", "closed", {"kind": "return", "result": ""}),
    )
    events.append(CallEvent("cb-1", "callback_attempt", data={"outcome": "answered"}))
    return events


def local_midnight() -> datetime:
    return datetime.combine(datetime.now().date(), day_time.min).astimezone()


async def seed_events(redis: Any, prefix: str) -> None:
    """Yesterday's call in an entry dated an hour before local midnight, then today's
    calls through a StreamSink (entries dated now)."""
    yesterday = local_midnight().timestamp() - 3600
    rows = [
        ["yesterday", "call_start", "", "", yesterday, {"script": "main"}],
        ["yesterday", "node", "main", "welcome", yesterday + 1, {"type": "menu"}],
        ["yesterday", "outcome", "main", "welcome", yesterday + 2, {"kind": "caller_hangup"}],
    ]
    fields = {"v": "1", "at": f"{yesterday:.3f}", "events": json.dumps(rows)}
    await redis.xadd(events_key(prefix), fields, id=f"{int(yesterday * 1000)}-0")
    sink = StreamSink(redis, prefix)
    for event in todays_calls(time.time() - 600):
        sink.emit(event)
    await sink.drain()
    assert (sink.written, sink.dropped) == (sum(1 for _ in todays_calls(0)), 0)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _fetch(url: str, method: str, headers: Mapping[str, str]) -> Reply:
    request = urllib.request.Request(url, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return Reply(response.status, headers, response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


async def fetch(url: str, method: str = "GET", headers: Mapping[str, str] | None = None) -> Reply:
    """An HTTP request from a thread: the server answers on this test's event loop."""
    return await asyncio.to_thread(_fetch, url, method, headers or {})


def seconds_text(value: float | None) -> str:
    """A duration as the page writes it (its secs())."""
    if value is None:
        return "\u2013"
    if value < 60:
        return f"{value:.1f} s"
    total = round(value)
    return f"{total // 60}:{total % 60:02d} min"


def share_text(value: float | None) -> str:
    """A share as the page writes it (its pct())."""
    return "\u2013" if value is None else f"{value * 100:.1f} %"
