"""Call events: what the server decided and what the caller did.

Every component that observes a call emits `CallEvent`s to an `EventSink`.
`ivr simulate` and the scenario runner record them in memory; the analytics
layer writes them to a Redis stream.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import NamedTuple, Protocol

__all__ = ["CallEvent", "EventRecorder", "EventSink", "TeeSink", "as_tee"]


class _CallEventFields(NamedTuple):
    # The order of a stream row (docs/events.md), so the stream encodes the tuple as it is.
    uniqueid: str
    kind: str
    menu: str
    node: str
    at: float
    data: Mapping[str, str]


class CallEvent(_CallEventFields):
    """One fact about a call.

    `kind` is one of: call_start, node (a node was entered), prompt, digits,
    invalid, timeout, variable, outcome, call_end. `data` holds the
    kind-specific fields as strings, so the event can go to a Redis stream as is.
    `at` defaults to now (time.time()).

    A named tuple, so immutable: a call emits a dozen of these, and a frozen
    dataclass spent ~1 us on each one's __init__, three times this.
    """

    __slots__ = ()

    def __new__(
        cls,
        uniqueid: str,
        kind: str,
        menu: str = "",
        node: str = "",
        data: Mapping[str, str] | None = None,
        at: float | None = None,
    ) -> CallEvent:
        return tuple.__new__(
            cls,
            (
                uniqueid,
                kind,
                menu,
                node,
                time.time() if at is None else at,
                {} if data is None else data,
            ),
        )


# What TeeSink.record makes an event with: the tuple itself, no class call.
_make = tuple.__new__
_now = time.time


class EventSink(Protocol):
    def emit(self, event: CallEvent) -> None: ...


#: Kinds a TeeSink remembers the routes of; beyond, it works them out per event.
_ROUTED_KINDS = 256


class TeeSink:
    """Hands every event to each of `sinks` that takes its kind, in order.

    A sink with a `route(kind)` method says what takes that kind's events -
    its `emit`, something cheaper (a list's own `append`: no Python frame
    per event), or None when it does not want them (the metrics read two
    kinds of a call's dozen; the stream skips prompts). Routes are worked
    out once per kind. A sink without `route` gets every event through its
    `emit`. Tees given to a tee are flattened into it.

    `record` is how the server makes its events: only when some sink takes
    the kind (with no sink listening - no stream, no metrics - none are made).
    """

    def __init__(self, *sinks: EventSink) -> None:
        flat: list[EventSink] = []
        for sink in sinks:
            flat.extend(sink.sinks if isinstance(sink, TeeSink) else (sink,))
        self.sinks: tuple[EventSink, ...] = tuple(flat)
        self._routes: dict[str, tuple[Callable[[CallEvent], None], ...]] = {}

    def emit(self, event: CallEvent) -> None:
        takers = self._routes.get(event.kind)
        if takers is None:
            takers = self._work_out(event.kind)
        for take in takers:
            take(event)

    def record(
        self, uniqueid: str, kind: str, menu: str, node: str, data: Mapping[str, str]
    ) -> None:
        """An event of `kind` happening now, made and handed out if any sink takes it.

        `data` becomes the event's own: pass a fresh mapping. (Cheaper than
        `emit(CallEvent(...))`, which calls a class: type.__call__ and a
        Python __new__, for a dozen events a call.)
        """
        takers = self._routes.get(kind)
        if takers is None:
            takers = self._work_out(kind)
        if takers:
            event = _make(CallEvent, (uniqueid, kind, menu, node, _now(), data))
            for take in takers:
                take(event)

    def takes(self, kind: str) -> bool:
        """Whether any sink takes events of `kind` (worth making its data, then)."""
        takers = self._routes.get(kind)
        return bool(self._work_out(kind) if takers is None else takers)

    def _work_out(self, kind: str) -> tuple[Callable[[CallEvent], None], ...]:
        found: list[Callable[[CallEvent], None]] = []
        for sink in self.sinks:
            route = getattr(sink, "route", None)
            take = sink.emit if route is None else route(kind)
            if take is not None:
                found.append(take)
        takers = tuple(found)
        if len(self._routes) < _ROUTED_KINDS:
            self._routes[kind] = takers
        return takers


def as_tee(sink: EventSink | None) -> TeeSink:
    """`sink` as a TeeSink (itself when it is one), so it can `record`; None: no sink."""
    if isinstance(sink, TeeSink):
        return sink
    return TeeSink() if sink is None else TeeSink(sink)


class EventRecorder:
    """Keeps every event in memory, grouped by call; for simulate and tests."""

    def __init__(self) -> None:
        self.by_call: dict[str, list[CallEvent]] = defaultdict(list)

    def emit(self, event: CallEvent) -> None:
        self.by_call[event.uniqueid].append(event)

    def events(self, uniqueid: str, kind: str | None = None) -> list[CallEvent]:
        found = self.by_call.get(uniqueid, [])
        return [e for e in found if kind is None or e.kind == kind]

    def path(self, uniqueid: str) -> list[str]:
        """Node ids the call entered, in order."""
        return [e.node for e in self.events(uniqueid, "node")]
