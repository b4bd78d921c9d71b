"""Measured traffic per interval, from the call events: what Erlang staffing takes in.

`intervals_from_events` counts the incoming calls (`call_start`) of each
interval and their average handle time from the queues' `agent` events
(talk plus wrap-up) of the calls that started in it. An interval without
measured handle times uses the period's average, or the `default_aht` the
admin gave when there is none at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from fastagi.analytics.stream import StoredEvent

__all__ = ["intervals_from_events"]


def intervals_from_events(
    events: Iterable[StoredEvent],
    start: datetime,
    end: datetime,
    interval: timedelta,
    *,
    default_aht: float | None = None,
) -> list[tuple[datetime, int, float]]:
    """(interval start, calls, AHT seconds) for every interval from `start` to `end`.

    Raises ValueError when no handle time was measured and none is given.
    """
    length = interval.total_seconds()
    if length <= 0:
        raise ValueError("the interval must be longer than 0")
    origin = start.timestamp()
    started: dict[str, int] = {}
    calls: dict[int, int] = defaultdict(int)
    handled: dict[int, list[float]] = defaultdict(list)
    own = sorted(events, key=lambda e: e.at)
    for event in own:
        if event.kind == "call_start" and start.timestamp() <= event.at < end.timestamp():
            slot = int((event.at - origin) // length)
            started[event.uid] = slot
            calls[slot] += 1
    for event in own:
        if event.kind == "agent" and event.uid in started:
            talk = float(event.data.get("talk") or 0) + float(event.data.get("wrap") or 0)
            handled[started[event.uid]].append(talk)
    every = [t for times in handled.values() for t in times]
    overall = sum(every) / len(every) if every else default_aht
    if overall is None:
        raise ValueError("no handle time in the events (no queue AgentComplete): give --aht")
    slots = max(0, int((end.timestamp() - origin + length - 1) // length))
    result = []
    for slot in range(slots):
        times = handled.get(slot)
        aht = sum(times) / len(times) if times else overall
        moment = datetime.fromtimestamp(origin + slot * length, UTC).astimezone(start.tzinfo)
        result.append((moment, calls.get(slot, 0), aht))
    return result
