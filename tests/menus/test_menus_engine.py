"""The menu engine over a scripted fake Call: prompts, digits, counters, outcomes, events."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from menus_helpers import run

from fastagi.agi import CallHangup, Reply
from fastagi.call import Call, DigitsResult, PlaybackFailed, PlayResult
from fastagi.events import CallEvent, EventRecorder
from fastagi.menus import Menu, MenuCall, MenuEngine, MenuSet, Outcome
from fastagi.menus.handlers import missing_handlers

# Script items answer GET DATA and WAIT FOR DIGIT in order:
# "5" -> that digit, "" or None -> timeout, an exception -> raised.
Answer = str | None | BaseException


class FakeCall:
    """Implements the Call methods the engine uses; records every command."""

    def __init__(
        self,
        answers: Iterable[Answer] = (),
        *,
        missing: Iterable[str] = (),
        fail: dict[str, BaseException] | None = None,
    ) -> None:
        self.uniqueid = "call-1"
        self.language = "en"
        self.answers: deque[Answer] = deque(answers)
        self.missing = set(missing)
        self.fail = dict(fail or {})
        self.commands: list[tuple[Any, ...]] = []
        self.variables: dict[str, str] = {}

    def _record(self, *command: Any) -> None:
        self.commands.append(command)
        error = self.fail.get(command[0])
        if error is not None:
            raise error

    def _answer(self) -> str | None:
        if not self.answers:
            raise CallHangup("script exhausted")
        answer = self.answers.popleft()
        if isinstance(answer, BaseException):
            raise answer
        return answer or None

    async def play(self, filename: str, escape_digits: str = "") -> PlayResult:
        self._record("play", filename, escape_digits)
        if filename in self.missing:
            raise PlaybackFailed(f"cannot play {filename!r}")
        return PlayResult(digit=None, endpos=0)

    async def get_digits(self, prompt: str, *, timeout_ms: int, max_digits: int) -> DigitsResult:
        self._record("get_digits", prompt, timeout_ms, max_digits)
        if prompt in self.missing:
            raise PlaybackFailed(f"GET DATA failed on {prompt!r}")
        digits = self._answer() or ""
        return DigitsResult(digits=digits, timed_out=not digits)

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        self._record("wait_for_digit", timeout_ms)
        return self._answer()

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        self._record("say_digits", digits, escape_digits)
        return None

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        self._record("say_number", number, escape_digits)
        return None

    async def set_variable(self, name: str, value: str) -> None:
        self._record("set_variable", name, value)
        self.variables[name] = value

    async def hangup(self) -> None:
        self._record("hangup")

    async def gosub(self, context: str, extension: str, priority: str, *args: str) -> Reply:
        self._record("gosub", context, *args)
        return Reply(200, "0")

    async def get_full_variable(self, expression: str, *, after_hangup: bool = False) -> str | None:
        self._record("get_full_variable", expression)
        return ""

    def prompts(self) -> list[str]:
        return [c[1] for c in self.commands if c[0] in ("play", "get_digits")]


def menus(*menus: dict[str, Any]) -> MenuSet:
    return MenuSet(Menu.model_validate(m) for m in menus)


def main_menu(**welcome: Any) -> dict[str, Any]:
    node = {
        "type": "menu",
        "greeting": "g/long",
        "short_greeting": "g/short",
        "options": {"1": "one", "2": "two"},
        **welcome,
    }
    return {
        "menu": "main",
        "start": "welcome",
        "defaults": {"invalid_prompt": "p/invalid", "timeout_prompt": "p/timeout"},
        "nodes": {
            "welcome": node,
            "one": {"type": "return", "result": "first"},
            "two": {"type": "play", "prompts": ["p/info"], "next": "welcome"},
            "op": {"type": "return", "result": "operator"},
        },
    }


def go(menu_set: MenuSet, call: FakeCall, menu: str = "main", **kw: Any) -> Outcome:
    return run(MenuEngine(menu_set, **kw).run(call, menu))


def _the_real_call_fits_the_engine(call: Call) -> MenuCall:
    return call  # checked by mypy: fastagi.call.Call satisfies MenuCall


def _the_fake_fits_too(call: FakeCall) -> MenuCall:
    return call


def test_every_node_type_has_a_handler() -> None:
    assert missing_handlers() == []


def test_option_leads_to_return() -> None:
    call = FakeCall(["1"])
    outcome = go(menus(main_menu()), call)
    assert outcome == Outcome("return", "first", "main", "one", ("main/welcome", "main/one"))
    assert call.commands == [
        ("get_digits", "g/long", 5000, 1),
        ("set_variable", "IVR_RESULT", "first"),
    ]


def test_greeting_first_then_short_greeting_on_repeat_and_revisit() -> None:
    call = FakeCall(["9", "2", "1"])
    outcome = go(menus(main_menu()), call)
    assert outcome.result == "first"
    assert call.prompts() == ["g/long", "p/invalid", "g/short", "p/info", "g/short"]


def test_short_greeting_falls_back_to_greeting() -> None:
    call = FakeCall(["", "1"])
    go(menus(main_menu(short_greeting=None)), call)
    assert call.prompts() == ["g/long", "p/timeout", "g/long"]


def test_invalid_and_timeout_counters_are_separate() -> None:
    call = FakeCall(["", "9", "", "9", ""])
    recorder = EventRecorder()
    outcome = go(menus(main_menu(on_timeout="op", on_failure="op")), call, events=recorder)
    assert outcome.result == "operator"
    assert call.prompts() == [
        "g/long", "p/timeout", "g/short", "p/invalid", "g/short", "p/timeout",
        "g/short", "p/invalid", "g/short", "p/timeout",
    ]  # fmt: skip
    timeouts = [dict(e.data) for e in recorder.events("call-1", "timeout")]
    invalid = [dict(e.data) for e in recorder.events("call-1", "invalid")]
    assert [t["count"] for t in timeouts] == ["1", "2", "3"]
    assert invalid == [
        {"digits": "9", "count": "1", "max": "3"},
        {"digits": "9", "count": "2", "max": "3"},
    ]


def test_on_failure_after_max_failures() -> None:
    call = FakeCall(["7", "8"])
    outcome = go(menus(main_menu(max_failures=2, on_failure="op")), call)
    assert (outcome.kind, outcome.result, outcome.path) == (
        "return",
        "operator",
        ("main/welcome", "main/op"),
    )


def test_default_exit_hangs_up_politely() -> None:
    call = FakeCall(["", "", ""])
    outcome = go(menus(main_menu()), call)
    assert (outcome.kind, outcome.result, outcome.node) == ("hangup", "max_timeouts", "welcome")
    assert call.commands[-2:] == [("play", "ivr/goodbye", ""), ("hangup",)]

    call = FakeCall(["9", "9", "9"])
    outcome = go(menus(main_menu(goodbye_prompt=None)), call)
    assert (outcome.kind, outcome.result) == ("hangup", "max_failures")
    assert call.commands[-2:] == [("play", "p/invalid", ""), ("hangup",)]


def test_timeouts_come_from_defaults_and_node() -> None:
    spec = main_menu(digits=2, options={"1": "one", "12": "two"}, inter_digit_timeout=1.5)
    spec["defaults"]["timeout"] = 7
    call = FakeCall(["1", None])
    outcome = go(menus(spec), call)
    assert outcome.result == "first"
    assert call.commands[:2] == [("get_digits", "g/long", 7000, 1), ("wait_for_digit", 1500)]


def test_multi_digit_entry() -> None:
    spec = main_menu(digits=3, options={"1": "one", "123": "two"})
    call = FakeCall(["1", "2", "3"])
    outcome = go(menus(spec), call)
    assert outcome.path == ("main/welcome", "main/two", "main/welcome")
    assert [c[0] for c in call.commands[:3]] == ["get_digits", "wait_for_digit", "wait_for_digit"]


def test_terminator_ends_an_entry_early() -> None:
    spec = main_menu(digits=3, options={"1": "one", "123": "two"})
    call = FakeCall(["1", "#"])
    assert go(menus(spec), call).result == "first"
    call = FakeCall(["1", "2", "*", "1"])  # '*' is no terminator here: "12*" is invalid
    outcome = go(menus(main_menu(digits=3, options={"1": "one", "12*": "op", "123": "two"})), call)
    assert outcome.result == "operator"


def test_terminator_alone_is_an_entry() -> None:
    spec = main_menu(digits=2, options={"#": "op", "11": "one"})
    call = FakeCall(["#"])
    assert go(menus(spec), call).result == "operator"
    assert [c[0] for c in call.commands] == ["get_digits", "set_variable"]


def test_entry_that_cannot_grow_is_taken_at_once() -> None:
    spec = main_menu(digits=3, direct_dial="^[2-4][0-9]{2}$", options={"1": "one", "2": "two"})
    call = FakeCall(["1"])
    assert go(menus(spec), call).result == "first"
    assert [c[0] for c in call.commands] == ["get_digits", "set_variable"]
    call = FakeCall(["5", "1"])  # nothing starts with 5: invalid without waiting
    assert go(menus(spec), call).result == "first"
    assert [c[0] for c in call.commands] == ["get_digits", "play", "get_digits", "set_variable"]


def test_option_that_prefixes_an_extension_waits_for_the_inter_digit_timeout() -> None:
    spec = main_menu(digits=3, direct_dial="^[2-4][0-9]{2}$")
    call = FakeCall(["2", None, "1"])
    outcome = go(menus(spec), call)
    assert outcome.path == ("main/welcome", "main/two", "main/welcome", "main/one")
    assert call.commands[1] == ("wait_for_digit", 2000)


def test_direct_dial_returns_the_extension() -> None:
    spec = main_menu(digits=3, direct_dial="^[2-4][0-9]{2}$")
    call = FakeCall(["2", "0", "1"])
    outcome = go(menus(spec), call)
    assert (outcome.kind, outcome.result, outcome.node) == ("return", "201", "welcome")
    assert call.variables == {"IVR_RESULT": "201"}


def test_goto_another_menu_sets_its_language() -> None:
    other = {
        "menu": "ru",
        "language": "ru",
        "start": "hi",
        "nodes": {
            "hi": {"type": "play", "prompts": ["ru/hi"], "next": "deep"},
            "deep": {"type": "say", "digits": "042", "next": "menu:main/one"},
        },
    }
    spec = main_menu(options={"1": "menu:ru", "2": "menu:ru/deep"})
    spec["language"] = "en"
    call = FakeCall(["1"])
    recorder = EventRecorder()
    outcome = go(menus(spec, other), call, events=recorder)
    assert outcome.path == ("main/welcome", "ru/hi", "ru/deep", "main/one")
    # The channel arrived in English: only the switches are sent.
    assert [c for c in call.commands if c[0] == "set_variable"] == [
        ("set_variable", "CHANNEL(language)", "ru"),
        ("set_variable", "CHANNEL(language)", "en"),
        ("set_variable", "IVR_RESULT", "first"),
    ]
    assert ("say_digits", "042", "") in call.commands
    assert recorder.path("call-1") == ["welcome", "hi", "deep", "one"]


def test_set_node_language_is_not_set_twice() -> None:
    spec = main_menu(options={"1": "switch"})
    spec["nodes"]["switch"] = {
        "type": "set",
        "variables": {"CHANNEL(language)": "ru", "__SEGMENT": "vip"},
        "next": "menu:ru",
    }
    other = {
        "menu": "ru",
        "language": "ru",
        "start": "n",
        "nodes": {
            "n": {"type": "say", "number": 42, "next": "bye"},
            "bye": {"type": "hangup", "prompt": "ru/bye"},
        },
    }
    call = FakeCall(["1"])
    outcome = go(menus(spec, other), call)
    assert (outcome.kind, outcome.result, outcome.menu, outcome.node) == (
        "hangup",
        "hangup_node",
        "ru",
        "bye",
    )
    assert call.commands[1:] == [
        ("set_variable", "CHANNEL(language)", "ru"),
        ("set_variable", "__SEGMENT", "vip"),
        ("say_number", 42, ""),
        ("play", "ru/bye", ""),
        ("hangup",),
    ]


def test_return_node_prompt_then_result() -> None:
    spec = main_menu()
    spec["nodes"]["one"] = {"type": "return", "result": "first", "prompt": "p/connecting"}
    call = FakeCall(["1"])
    go(menus(spec), call)
    assert call.commands[1:] == [
        ("play", "p/connecting", ""),
        ("set_variable", "IVR_RESULT", "first"),
    ]


def test_caller_hangup_mid_node_is_an_outcome() -> None:
    call = FakeCall(["2"], fail={"play": CallHangup("gone")})
    recorder = EventRecorder()
    outcome = go(menus(main_menu()), call, events=recorder)
    assert outcome == Outcome("caller_hangup", "", "main", "two", ("main/welcome", "main/two"))
    (event,) = recorder.events("call-1", "outcome")
    assert dict(event.data) == {"kind": "caller_hangup", "result": ""}


def test_caller_hangup_while_collecting() -> None:
    outcome = go(menus(main_menu()), FakeCall([CallHangup("gone")]))
    assert (outcome.kind, outcome.node) == ("caller_hangup", "welcome")


def test_missing_prompt_is_logged_and_the_node_continues(caplog: pytest.LogCaptureFixture) -> None:
    call = FakeCall(["2", "1"], missing={"p/info"})
    with caplog.at_level(logging.WARNING, logger="fastagi.menus"):
        outcome = go(menus(main_menu()), call)
    assert outcome.result == "first"
    assert "p/info" in caplog.text


def test_missing_greeting_still_listens() -> None:
    call = FakeCall(["1"], missing={"g/long"})
    recorder = EventRecorder()
    outcome = go(menus(main_menu()), call, events=recorder)
    assert outcome.result == "first"
    assert call.commands[:2] == [("get_digits", "g/long", 5000, 1), ("wait_for_digit", 5000)]
    (prompt,) = recorder.events("call-1", "prompt")
    assert dict(prompt.data) == {"file": "g/long", "error": "playback failed"}


def test_handler_error_is_logged_and_becomes_an_error_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    call = FakeCall(["2"], fail={"play": RuntimeError("boom")})
    with caplog.at_level(logging.ERROR, logger="fastagi.menus"):
        outcome = go(menus(main_menu()), call)
    assert (outcome.kind, outcome.result, outcome.node) == ("error", "node_failed", "two")
    assert "boom" in caplog.text
    assert call.commands[-1] == ("set_variable", "IVR_RESULT", "error")


def test_max_steps_guard() -> None:
    looping = {
        "menu": "main",
        "start": "a",
        "nodes": {
            "a": {"type": "play", "prompts": ["x"], "next": "b"},
            "b": {"type": "play", "prompts": ["y"], "next": "a"},
        },
    }
    call = FakeCall()
    outcome = go(menus(looping), call, max_steps=7)
    assert (outcome.kind, len(outcome.path), outcome.node) == ("max_steps", 7, "a")
    assert call.variables == {"IVR_RESULT": "error"}


def test_dead_end_and_unknown_menu_are_errors() -> None:
    dead = {"menu": "main", "start": "a", "nodes": {"a": {"type": "play", "prompts": ["x"]}}}
    outcome = go(menus(dead), FakeCall())
    assert (outcome.kind, outcome.result) == ("error", "dead_end")
    outcome = go(menus(dead), FakeCall(), menu="nope")
    assert (outcome.kind, outcome.result, outcome.menu, outcome.path) == (
        "error",
        "unknown_menu",
        "nope",
        (),
    )


def test_broken_goto_is_an_error() -> None:
    broken = {
        "menu": "main",
        "start": "a",
        "nodes": {"a": {"type": "play", "prompts": ["x"], "next": "menu:gone"}},
    }
    outcome = go(menus(broken), FakeCall())
    assert (outcome.kind, outcome.result) == ("error", "missing_target")


def test_run_can_start_at_a_node() -> None:
    call = FakeCall()
    outcome = run(MenuEngine(menus(main_menu())).run(call, "main", node="one"))
    assert outcome.path == ("main/one",)


def test_events_describe_the_call() -> None:
    recorder = EventRecorder()
    go(menus(main_menu()), FakeCall(["9", "2", "1"]), events=recorder)
    kinds = [(e.kind, e.node, dict(e.data)) for e in recorder.events("call-1")]
    assert kinds == [
        ("node", "welcome", {"type": "menu"}),
        ("prompt", "welcome", {"file": "g/long"}),
        ("digits", "welcome", {"digits": "9"}),
        ("invalid", "welcome", {"digits": "9", "count": "1", "max": "3"}),
        ("prompt", "welcome", {"file": "p/invalid"}),
        ("prompt", "welcome", {"file": "g/short"}),
        ("digits", "welcome", {"digits": "2"}),
        ("node", "two", {"type": "play"}),
        ("prompt", "two", {"file": "p/info"}),
        ("node", "welcome", {"type": "menu"}),
        ("prompt", "welcome", {"file": "g/short"}),
        ("digits", "welcome", {"digits": "1"}),
        ("node", "one", {"type": "return"}),
        ("variable", "one", {"name": "IVR_RESULT", "value": "first"}),
        ("outcome", "one", {"kind": "return", "result": "first"}),
    ]
    assert all(e.menu == "main" for e in recorder.events("call-1"))


def test_engine_keeps_the_menus_it_was_given() -> None:
    first = menus(main_menu())
    engine = MenuEngine(first)
    changed = main_menu()
    changed["nodes"]["one"]["result"] = "changed"
    _ = menus(changed)  # a reload builds a new set; this engine keeps its own
    assert engine.menus is first
    assert run(engine.run(FakeCall(["1"]), "main")).result == "first"


def test_bad_max_steps() -> None:
    with pytest.raises(ValueError):
        MenuEngine(menus(main_menu()), max_steps=0)


def test_a_sink_that_routes_gets_only_its_kinds_and_is_asked_once_per_kind() -> None:
    """The engine's sessions route events themselves, as a TeeSink would."""
    taken: list[CallEvent] = []
    asked: list[str] = []

    class StoresAllButPrompts:
        def route(self, kind: str) -> Callable[[CallEvent], None] | None:
            asked.append(kind)
            return None if kind == "prompt" else taken.append

        def emit(self, event: CallEvent) -> None:  # pragma: no cover - routed instead
            raise AssertionError("a routed sink's emit is not called")

    engine = MenuEngine(menus(main_menu()), events=StoresAllButPrompts())
    for _ in range(2):
        outcome = run(engine.run(FakeCall(["1"]), "main"))
        assert outcome.kind == "return"
    kinds = [event.kind for event in taken]
    assert "prompt" not in kinds
    assert kinds[:2] == ["node", "digits"] and kinds.count("outcome") == 2
    assert sorted(asked) == sorted(set(asked)), "each kind's route is asked for once"
    assert "prompt" in asked
