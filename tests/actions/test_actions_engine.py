"""Action nodes through the engine, in memory: which branch each dialplan status takes.

The calls here are `ScriptedCall`s: GOSUB leaves the IVR_ACTION_STATUS the test
names for that subroutine (none: the caller hung up inside it). The same
actions over TCP against the shipped dialplan are in tests/system.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from fastagi.actions.hold import hold_periods
from fastagi.actions.record import recording_name
from fastagi.events import EventRecorder
from fastagi.menus import Menu, MenuEngine, MenuSet, Outcome
from fastagi.menus.context import CallContext
from fastagi.menus.outcome import (
    AFTER_HOURS,
    QUEUE_ABANDON,
    QUEUE_TIMEOUT,
    REACHED_AGENT,
)
from fastagi.menus.scripted import ScriptedCall


def _menus(nodes: dict[str, Any], start: str = "act") -> MenuSet:
    base = {
        "done": {"type": "return", "result": "done"},
        "fallback": {"type": "return", "result": "fallback"},
        "busy": {"type": "return", "result": "busy"},
        "later": {"type": "return", "result": "later"},
    }
    menu = {"menu": "main", "start": start, "nodes": {**base, **nodes}}
    return MenuSet([Menu.model_validate(menu)])


def _run(
    nodes: dict[str, Any],
    call: ScriptedCall,
    context: CallContext | None = None,
    events: EventRecorder | None = None,
) -> Outcome:
    engine = MenuEngine(_menus(nodes), events=events)
    return asyncio.run(engine.run(call, "main", context=context))


QUEUE = {
    "type": "queue",
    "queue": "support",
    "announce_position": False,
    "priority": {"vip": 10, "default": 1},
    "on_timeout": "later",
    "on_unavailable": "fallback",
    "next": "done",
    "continue_after_agent": True,
}


@pytest.mark.parametrize(
    ("status", "result"),
    [
        ("TIMEOUT", "later"),
        ("FULL", "fallback"),
        ("JOINEMPTY", "fallback"),
        ("LEAVEEMPTY", "fallback"),
        ("JOINUNAVAIL", "fallback"),
        ("LEAVEUNAVAIL", "fallback"),
        ("CONTINUE", "done"),
        ("SOMETHING_NEW", "fallback"),  # unknown: the safe default
    ],
)
def test_queue_branches_on_every_queuestatus(status: str, result: str) -> None:
    call = ScriptedCall([], statuses={"ivr-queue": status})
    outcome = _run({"act": QUEUE}, call)
    assert outcome.result == result


def test_queue_priority_comes_from_the_segment() -> None:
    for segment, priority in (("vip", "10"), ("regular", "1")):
        call = ScriptedCall([], statuses={"ivr-queue": "TIMEOUT"})
        _run({"act": QUEUE}, call, CallContext(segment=segment))
        gosub = next(c for c in call.commands if c[0] == "gosub")
        assert gosub[1:] == ("ivr-queue", "s", "1", "support", "", priority, "120", "c")


def test_unavailable_queue_without_its_own_target_uses_on_timeout() -> None:
    node = {k: v for k, v in QUEUE.items() if k != "on_unavailable"}
    call = ScriptedCall([], statuses={"ivr-queue": "FULL"})
    assert _run({"act": node}, call).result == "later"


def test_caller_hanging_up_in_the_queue_is_an_abandon_with_its_wait() -> None:
    call = ScriptedCall([], statuses={})  # the status never set: Queue returned -1
    call.variables.update({"IVR_ACTION_STARTED": "1000", "EPOCH": "1037"})
    events = EventRecorder()
    outcome = _run({"act": QUEUE}, call, events=events)
    assert outcome.kind == "caller_hangup"
    leave = [e.data for e in events.events("scripted", "queue") if e.data["event"] == "leave"]
    assert leave == [
        {
            "queue": "support",
            "event": "leave",
            "outcome": "abandoned",
            "status": "HANGUP",
            "wait": "37",
            "priority": "1",
            "agent": "",
        }
    ]


def test_announcement_says_position_and_expected_minutes() -> None:
    node = {**QUEUE, "announce_position": True}
    call = ScriptedCall([], statuses={"ivr-queue": "TIMEOUT"})
    call.variables.update({"QUEUE_WAITING_COUNT(support)": "3", "QUEUEHOLDTIME": "150"})
    _run({"act": node}, call)
    said = [c for c in call.commands if c[0] in ("play", "say_number")]
    assert said[:4] == [
        ("play", "ivr/queue-position", ""),
        ("say_number", "4"),  # three ahead: the caller is fourth
        ("play", "ivr/queue-wait", ""),
        ("say_number", "3"),  # 150 s is 3 minutes, rounded up
    ]


TRANSFER = {
    "type": "transfer",
    "extension": "{caller.manager}|100",
    "on_busy": "busy",
    "on_failure": "fallback",
}


@pytest.mark.parametrize(
    ("status", "result"),
    [
        ("BUSY", "busy"),
        ("NOANSWER", "fallback"),
        ("CHANUNAVAIL", "fallback"),
        ("CONGESTION", "fallback"),
        ("WHATEVER", "fallback"),
    ],
)
def test_transfer_falls_back_by_dialstatus(status: str, result: str) -> None:
    call = ScriptedCall([], statuses={"ivr-transfer": status})
    context = CallContext(variables={"caller.manager": "207"})
    assert _run({"act": TRANSFER}, call, context).result == result
    gosub = next(c for c in call.commands if c[0] == "gosub")
    assert gosub[1:] == ("ivr-transfer", "s", "1", "PJSIP/207", "30", "")


def test_answered_transfer_ends_the_menu() -> None:
    call = ScriptedCall([], statuses={"ivr-transfer": "ANSWER"})
    outcome = _run({"act": TRANSFER}, call)
    assert (outcome.kind, outcome.result) == ("hangup", "transferred")
    assert ("gosub", "ivr-transfer", "s", "1", "PJSIP/100", "30", "") in call.commands


@pytest.mark.parametrize("typed", ["901", "2019", "12#", "0"])
def test_typed_extension_outside_the_allowed_pattern_never_reaches_dial(typed: str) -> None:
    node = {"type": "transfer", "entered": "ivr/enter-extension", "allowed": "^2[0-9]{2}$",
            "on_failure": "fallback"}  # fmt: skip
    call = ScriptedCall([typed])
    assert _run({"act": node}, call).result == "fallback"
    assert not [c for c in call.commands if c[0] == "gosub"]


def test_typed_extension_inside_the_pattern_is_dialled() -> None:
    node = {"type": "transfer", "entered": "ivr/enter-extension", "allowed": "^2[0-9]{2}$",
            "on_no_answer": "later", "on_failure": "fallback"}  # fmt: skip
    call = ScriptedCall(["205"], statuses={"ivr-transfer": "NOANSWER"})
    assert _run({"act": node}, call).result == "later"
    assert ("gosub", "ivr-transfer", "s", "1", "PJSIP/205", "30", "") in call.commands


def test_external_number_goes_through_the_trunk() -> None:
    node = {"type": "transfer", "number": "+74951234567", "trunk": "trunk-main",
            "on_failure": "fallback"}  # fmt: skip
    call = ScriptedCall([], statuses={"ivr-transfer": "ANSWER"})
    _run({"act": node}, call)
    assert ("gosub", "ivr-transfer", "s", "1", "PJSIP/+74951234567@trunk-main", "30", "") in (
        call.commands
    )


def test_voicemail_mailbox_from_the_profile_and_the_greeting_option() -> None:
    node = {"type": "voicemail", "mailbox": "{caller.manager}@default|100@default",
            "greeting": "busy", "next": "done", "on_failure": "fallback"}  # fmt: skip
    call = ScriptedCall([], statuses={"ivr-voicemail": "SUCCESS"})
    context = CallContext(variables={"caller.manager": "207"})
    assert _run({"act": node}, call, context).result == "done"
    assert ("gosub", "ivr-voicemail", "s", "1", "207@default", "b") in call.commands
    failed = ScriptedCall([], statuses={"ivr-voicemail": "FAILED"})
    assert _run({"act": node}, failed, context).result == "fallback"


def test_hold_plays_the_announcement_between_periods() -> None:
    assert hold_periods(70, 30, True) == [30, 30, 10]
    assert hold_periods(70, 30, False) == [70]
    node = {"type": "hold", "duration": 70, "announce": "ivr/still-holding",
            "announce_every": 30, "next": "done"}  # fmt: skip
    call = ScriptedCall([], statuses={"ivr-hold": "DONE"})
    assert _run({"act": node}, call).result == "done"
    steps = [c[:1] + c[4:] for c in call.commands if c[0] in ("gosub", "play")]
    assert steps == [
        ("gosub", "default", "30"),
        ("play",),
        ("gosub", "default", "30"),
        ("play",),
        ("gosub", "default", "10"),
    ]


class _Hours:
    def __init__(self, state: str) -> None:
        self.state = state
        self.asked: list[tuple[str | None, datetime]] = []

    def state_at(self, calendar: str | None, at: datetime) -> str:
        self.asked.append((calendar, at))
        return self.state


@pytest.mark.parametrize(
    ("state", "result"), [("open", "done"), ("closed", "later"), ("holiday", "busy")]
)
def test_hours_routes_open_closed_holiday(state: str, result: str) -> None:
    node = {"type": "hours", "calendar": "office", "open": "done", "closed": "later",
            "holiday": "busy"}  # fmt: skip
    hours = _Hours(state)
    at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert _run({"act": node}, ScriptedCall([]), CallContext(hours=hours, now=at)).result == result
    assert hours.asked == [("office", at)]


def test_holiday_defaults_to_closed() -> None:
    node = {"type": "hours", "open": "done", "closed": "later"}
    context = CallContext(hours=_Hours("holiday"))
    assert _run({"act": node}, ScriptedCall([]), context).result == "later"


def test_record_names_files_by_date_and_uniqueid_and_only_for_its_segments() -> None:
    assert recording_name("sales", "1700000000.42", 1764245400.0) == (
        "sales/2025/11/27/20251127-121000-1700000000.42.wav"
    )
    node = {"type": "record", "segments": ["vip"], "folder": "vip", "next": "done"}
    at = datetime(2026, 11, 27, 12, 10, tzinfo=UTC)
    vip = ScriptedCall([], statuses={"ivr-record": "RECORDING"})
    _run({"act": node}, vip, CallContext(segment="vip", now=at))
    expected = "vip/2026/11/27/20261127-121000-scripted.wav"
    assert ("gosub", "ivr-record", "s", "1", "on", expected, "b") in vip.commands
    assert vip.variables["IVR_RECORDING"] == expected
    other = ScriptedCall([], statuses={"ivr-record": "RECORDING"})
    _run({"act": node}, other, CallContext(segment="regular", now=at))
    assert not [c for c in other.commands if c[0] == "gosub"]


def test_conference_invites_the_manager_when_allowed() -> None:
    node = {"type": "conference", "invite": "{caller.manager}", "next": "done"}
    call = ScriptedCall([], statuses={"ivr-conference": "HANGUP"})
    _run({"act": node}, call, CallContext(variables={"caller.manager": "207"}))
    assert ("gosub", "ivr-conference", "s", "1", "ivr-scripted", "ivr_bridge", "ivr_user",
            "207") in call.commands  # fmt: skip


def test_fax_language_and_dialplan_set_their_variables() -> None:
    nodes = {
        "act": {"type": "fax", "folder": "sales", "next": "lang"},
        "lang": {"type": "language", "language": "ru", "next": "out"},
        "out": {"type": "dialplan", "context": "sales-desk", "extension": "s"},
    }
    call = ScriptedCall([])
    outcome = _run(nodes, call)
    assert (outcome.kind, outcome.result) == ("return", "sales-desk,s,1")
    assert call.variables == {
        "IVR_FAX_FOLDER": "sales",
        "FAXOPT(faxdetect)": "yes",
        "CHANNEL(language)": "ru",
        "IVR_GOTO": "sales-desk,s,1",
    }


def test_missing_subroutine_takes_the_unavailable_branch() -> None:
    class NoDialplan(ScriptedCall):
        async def gosub(self, context: str, extension: str, priority: str, *args: str) -> Any:
            from fastagi.agi import Reply

            return Reply(200, "-1")

    assert _run({"act": QUEUE}, NoDialplan([])).result == "fallback"


@pytest.mark.parametrize(
    ("status", "marks"),
    [
        ("CONTINUE", {REACHED_AGENT}),  # an agent took the call, the caller stayed on
        ("TIMEOUT", {QUEUE_TIMEOUT}),  # two minutes passed
        ("FULL", set()),  # never waited: no abandon, no timeout
        (None, {QUEUE_ABANDON}),  # the caller hung up waiting
    ],
)
def test_queue_marks_what_callbacks_need_to_know(status: str | None, marks: set[str]) -> None:
    call = ScriptedCall([], statuses={"ivr-queue": status} if status else {})
    assert _run({"act": QUEUE}, call).marks == marks


def test_an_answered_transfer_marks_the_agent_even_when_the_caller_hangs_up_after() -> None:
    answered = ScriptedCall([], statuses={"ivr-transfer": "ANSWER"})
    assert REACHED_AGENT in _run({"act": {**TRANSFER, "next": "done"}}, answered).marks
    busy = ScriptedCall([], statuses={"ivr-transfer": "BUSY"})
    assert _run({"act": TRANSFER}, busy).marks == set()


def test_a_closed_centre_is_marked_after_hours() -> None:
    class Closed:
        def state_at(self, calendar: str | None, at: datetime) -> str:
            return "holiday"

    node = {"type": "hours", "open": "done", "closed": "later"}
    outcome = _run({"act": node}, ScriptedCall([]), CallContext(hours=Closed()))
    assert outcome.result == "later"
    assert outcome.marks == {AFTER_HOURS}
