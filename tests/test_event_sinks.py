"""TeeSink: every sink gets the events of the kinds it wants, in order."""

from __future__ import annotations

from collections.abc import Callable

from fastagi.events import CallEvent, EventRecorder, TeeSink


class Picky(EventRecorder):
    def __init__(self, *kinds: str) -> None:
        super().__init__()
        self.kinds = frozenset(kinds)

    def route(self, kind: str) -> Callable[[CallEvent], None] | None:
        return self.emit if kind in self.kinds else None


def _kinds(sink: EventRecorder) -> list[str]:
    return [event.kind for event in sink.events("1.1")]


def test_each_sink_gets_only_the_kinds_it_wants_and_others_get_all() -> None:
    everything, ends = EventRecorder(), Picky("call_end")
    tee = TeeSink(everything, ends)
    for kind in ("call_start", "prompt", "call_end", "prompt", "call_end"):
        tee.emit(CallEvent("1.1", kind))
    assert _kinds(everything) == ["call_start", "prompt", "call_end", "prompt", "call_end"]
    assert _kinds(ends) == ["call_end", "call_end"]


def test_a_tee_inside_a_tee_is_flattened_and_keeps_the_order() -> None:
    order: list[str] = []

    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

        def emit(self, event: CallEvent) -> None:
            order.append(self.name)

    first, second, third = Named("first"), Named("second"), Named("third")
    tee = TeeSink(TeeSink(first, second), third)
    assert tee.sinks == (first, second, third)
    tee.emit(CallEvent("1.1", "node"))
    assert order == ["first", "second", "third"]


def test_record_makes_an_event_only_for_the_sinks_that_take_its_kind() -> None:
    everything, ends = EventRecorder(), Picky("call_end")
    tee = TeeSink(ends)
    assert not tee.takes("node") and tee.takes("call_end")
    data = {"status": "SUCCESS"}
    tee.record("1.1", "node", "main", "welcome", {"type": "menu"})
    tee.record("1.1", "call_end", "", "", data)
    assert _kinds(ends) == ["call_end"]
    (event,) = ends.events("1.1")
    assert (event.menu, event.node, event.data) == ("", "", data) and event.at > 0
    both = TeeSink(tee, everything)
    both.record("1.1", "node", "main", "welcome", {"type": "menu"})
    assert _kinds(everything) == ["node"] and _kinds(ends) == ["call_end"]


def test_a_tee_of_no_sinks_takes_nothing() -> None:
    assert not TeeSink().takes("call_start")
