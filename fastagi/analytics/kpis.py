"""Contact-centre KPIs from call events (pure: events in, figures out).

`summarise_calls` folds each call's events into one `CallSummary`;
`compute_report` counts them. Every figure's definition is in docs/kpis.md;
the short version:

- contacts: incoming calls that reached the menus (`call_start`);
- answered: an agent took the call (a queue visit answered, a transfer
  answered, or an `agent` event from the queue's AMI events);
- lost: not answered and - in this order - the centre was closed
  (after hours), the caller left or timed out in a queue (in queue), or hung
  up in the menus (in IVR);
- self-service: the menu ended the call itself, no person involved;
- handed off: the menu returned the call to the dialplan (its fate is the
  dialplan's);
- wait: seconds in the queue per visit; service level: share of queue
  visits answered within the threshold, of all visits answered, abandoned
  or timed out;
- AHT: mean talk time (plus wrap-up when the queue reports it) of answered
  calls, from the queues' AgentComplete events.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from fastagi.analytics.stream import StoredEvent

__all__ = ["CallSummary", "NodeFunnel", "Report", "compute_report", "summarise_calls"]

#: IVR results that count as a conversion when no list is given (docs/kpis.md).
DEFAULT_CONVERSIONS: Final = frozenset({"confirmed", "sales_new_order"})


@dataclass
class QueueVisit:
    queue: str
    outcome: str  # answered, abandoned, timeout, unavailable
    wait: float


@dataclass
class CallSummary:
    """One incoming call, as its events tell it."""

    uid: str
    start: float
    menu: str = ""
    segment: str = ""
    tags: tuple[str, ...] = ()
    nodes: list[tuple[str, str]] = field(default_factory=list)
    outcome: str = ""  # return, hangup, caller_hangup, error, max_steps
    result: str = ""
    ended_at: tuple[str, str] = ("", "")
    queues: list[QueueVisit] = field(default_factory=list)
    transfer_answered: bool = False
    voicemail: bool = False
    callback_requested: bool = False
    after_hours: bool = False
    talk: float | None = None
    wrap: float = 0.0
    duration: float | None = None
    #: (menu, node, what): a key pressed ("1"), "invalid" or "timeout", in order.
    entries: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return (
            self.talk is not None
            or self.transfer_answered
            or any(v.outcome == "answered" for v in self.queues)
        )

    @property
    def category(self) -> str:
        """answered, lost_after_hours, lost_queue, lost_ivr, self_service, handed_off or other."""
        if self.answered:
            return "answered"
        if self.after_hours:
            return "lost_after_hours"
        if any(v.outcome in ("abandoned", "timeout") for v in self.queues):
            return "lost_queue"
        if self.outcome == "caller_hangup" and not self.voicemail:
            return "lost_ivr"
        if self.outcome == "hangup" and not (self.queues or self.voicemail):
            return "self_service"
        if self.outcome == "return" or self.voicemail:
            return "handed_off"
        return "other"


@dataclass
class NodeFunnel:
    """What callers did at one node: came in, pressed what, timed out, left."""

    menu: str
    node: str
    entered: int = 0
    digits: Counter[str] = field(default_factory=Counter)
    invalid: int = 0
    timeouts: int = 0
    hung_up: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "menu": self.menu,
            "node": self.node,
            "entered": self.entered,
            "digits": dict(sorted(self.digits.items())),
            "invalid": self.invalid,
            "timeouts": self.timeouts,
            "hung_up": self.hung_up,
        }


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def summarise_calls(events: Iterable[StoredEvent]) -> tuple[list[CallSummary], list[StoredEvent]]:
    """Incoming calls, one summary each; and the events that belong to no incoming call
    (callback attempts, campaign results), for the outbound figures."""
    by_call: dict[str, list[StoredEvent]] = defaultdict(list)
    outbound: list[StoredEvent] = []
    for event in events:
        if event.kind in ("callback_attempt", "campaign_result"):
            outbound.append(event)
        else:
            by_call[event.uid].append(event)
    calls = []
    for uid, own in by_call.items():
        own.sort(key=lambda e: e.at)
        starts = [e for e in own if e.kind == "call_start"]
        if not starts:
            continue  # agent events of a call outside the range, or a fax result
        calls.append(_summary(uid, starts[0].at, own))
    calls.sort(key=lambda c: c.start)
    return calls, outbound


def _summary(uid: str, start: float, events: list[StoredEvent]) -> CallSummary:
    call = CallSummary(uid, start)
    for event in events:
        data = event.data
        kind = event.kind
        if kind == "caller":
            call.menu = data.get("menu", call.menu)
            call.segment = data.get("segment", "")
            call.tags = tuple(sorted({t.strip().lower() for t in data.get("tags", "").split(",")
                                      if t.strip()}))  # fmt: skip
        elif kind == "node":
            call.nodes.append((event.menu, event.node))
            call.menu = call.menu or event.menu
        elif kind == "digits" and event.node:
            call.entries.append((event.menu, event.node, data.get("digits", "")))
        elif kind in ("invalid", "timeout") and event.node:
            call.entries.append((event.menu, event.node, kind))
        elif kind == "queue" and data.get("event") == "leave":
            wait = _seconds(data.get("wait")) or 0.0
            call.queues.append(QueueVisit(data.get("queue", ""), data.get("outcome", ""), wait))
        elif kind == "transfer":
            call.transfer_answered |= data.get("status") == "ANSWER"
        elif kind == "voicemail":
            call.voicemail = True
        elif kind == "callback":
            call.callback_requested = True
        elif kind == "hours":
            call.after_hours |= data.get("state", "open") != "open"
        elif kind == "agent":
            call.talk = (call.talk or 0.0) + (_seconds(data.get("talk")) or 0.0)
            call.wrap += _seconds(data.get("wrap")) or 0.0
        elif kind == "outcome":
            call.outcome = data.get("kind", "")
            call.result = data.get("result", "")
            call.ended_at = (event.menu, event.node)
        elif kind == "call_end":
            call.duration = _seconds(data.get("seconds"))
    return call


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Report:
    """The figures of one period (docs/kpis.md); `as_dict` for JSON and CSV."""

    contacts: int
    categories: Mapping[str, int]
    wait_avg: float | None
    wait_p90: float | None
    service_level: Mapping[int, float | None]
    aht: float | None
    funnel: list[NodeFunnel]
    callbacks: Mapping[str, Any]
    conversion: Mapping[str, Mapping[str, Any]]
    skipped_events: int = 0

    @property
    def lost(self) -> int:
        return sum(n for name, n in self.categories.items() if name.startswith("lost_"))

    def as_dict(self) -> dict[str, Any]:
        cats = self.categories
        return {
            "contacts": self.contacts,
            "answered": cats.get("answered", 0),
            "lost": self.lost,
            "lost_share": _share(self.lost, self.contacts),
            "lost_ivr": cats.get("lost_ivr", 0),
            "lost_queue": cats.get("lost_queue", 0),
            "lost_after_hours": cats.get("lost_after_hours", 0),
            "self_service": cats.get("self_service", 0),
            "self_service_rate": _share(cats.get("self_service", 0), self.contacts),
            "handed_off": cats.get("handed_off", 0),
            "wait_avg_s": self.wait_avg,
            "wait_p90_s": self.wait_p90,
            "service_level": {f"{t}s": v for t, v in self.service_level.items()},
            "aht_s": self.aht,
            "callbacks": dict(self.callbacks),
            "conversion": {k: dict(v) for k, v in self.conversion.items()},
            "funnel": [node.as_dict() for node in self.funnel],
            "skipped_events": self.skipped_events,
        }


def compute_report(
    events: Iterable[StoredEvent],
    *,
    thresholds: Iterable[int] = (20, 120),
    conversions: Iterable[str] = DEFAULT_CONVERSIONS,
    skipped_events: int = 0,
) -> Report:
    """The KPIs of `events` (one period's stream entries, any order)."""
    calls, outbound = summarise_calls(events)
    categories = Counter(call.category for call in calls)
    visits = [visit for call in calls for visit in call.queues]
    waits = [visit.wait for visit in visits]
    offered = [v for v in visits if v.outcome in ("answered", "abandoned", "timeout")]
    service_level = {
        t: _share(sum(1 for v in offered if v.outcome == "answered" and v.wait <= t), len(offered))
        for t in thresholds
    }
    talks = [call.talk + call.wrap for call in calls if call.talk is not None]
    wanted = frozenset(conversions)
    return Report(
        contacts=len(calls),
        categories=dict(categories),
        wait_avg=round(sum(waits) / len(waits), 2) if waits else None,
        wait_p90=_percentile(waits, 0.9),
        service_level=service_level,
        aht=round(sum(talks) / len(talks), 2) if talks else None,
        funnel=sorted(events_by_node(calls).values(), key=lambda n: (-n.entered, n.menu, n.node)),
        callbacks=_callbacks(outbound, calls),
        conversion=_conversion(calls, outbound, wanted),
        skipped_events=skipped_events,
    )


def events_by_node(calls: list[CallSummary]) -> dict[tuple[str, str], NodeFunnel]:
    funnel: dict[tuple[str, str], NodeFunnel] = {}
    for call in calls:
        for menu, node in call.nodes:
            entry = funnel.setdefault((menu, node), NodeFunnel(menu, node))
            entry.entered += 1
        for menu, node, what in call.entries:
            entry = funnel.setdefault((menu, node), NodeFunnel(menu, node))
            if what == "invalid":
                entry.invalid += 1
            elif what == "timeout":
                entry.timeouts += 1
            else:
                entry.digits[what] += 1
        if call.outcome == "caller_hangup" and call.ended_at in funnel:
            funnel[call.ended_at].hung_up += 1
    return funnel


def _callbacks(outbound: list[StoredEvent], calls: list[CallSummary]) -> dict[str, Any]:
    attempts = [e for e in outbound if e.kind == "callback_attempt"]
    answered = sum(1 for e in attempts if e.data.get("outcome") == "answered")
    return {
        "requested": sum(1 for call in calls if call.callback_requested),
        "attempts": len(attempts),
        "answered": answered,
        "success_rate": _share(answered, len(attempts)),
    }


def _conversion(
    calls: list[CallSummary], outbound: list[StoredEvent], wanted: frozenset[str]
) -> dict[str, dict[str, Any]]:
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for event in outbound:
        if event.kind == "campaign_result":
            group = f"campaign:{event.data.get('campaign', '')}"
            groups[group]["calls"] += 1
            groups[group]["converted"] += event.data.get("result", "") in wanted
    for call in calls:
        converted = call.result in wanted
        for group in (f"segment:{call.segment or 'unknown'}", *(f"tag:{t}" for t in call.tags)):
            groups[group]["calls"] += 1
            groups[group]["converted"] += converted
    return {
        name: {
            "calls": counts["calls"],
            "converted": counts["converted"],
            "rate": _share(counts["converted"], counts["calls"]),
        }
        for name, counts in sorted(groups.items())
    }
