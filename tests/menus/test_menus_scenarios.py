"""Scenario files: the format, file:line errors, and the demo scenarios run in memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from menus_helpers import WriteFile, run

from fastagi.events import EventRecorder
from fastagi.menus import MenuError, Outcome, Scenario, load_menus, load_scenarios
from fastagi.menus.scenarios import qualify_path, relative_path, scenario_mismatches
from fastagi.menus.scripted import run_scenario


def demo_scenarios(demo_dir: Path) -> list[Scenario]:
    menus = load_menus(demo_dir)
    files = sorted((demo_dir / "scenarios").glob("*.yaml"))
    return [scenario for path in files for scenario in load_scenarios(path, menus=menus)]


def test_demo_scenarios_pass_in_memory(demo_dir: Path) -> None:
    """The in-memory reference has no caller directory, dialplan or clock: scenarios
    with `given` data, `telephony` or `at` run over TCP with Redis (tests/system)."""
    menus = load_menus(demo_dir)
    failures = {}
    plain = (
        s for s in demo_scenarios(demo_dir) if s.given is None and s.telephony is None and not s.at
    )
    for scenario in plain:
        outcome, _ = run(run_scenario(menus, scenario))
        problems = scenario_mismatches(scenario, outcome)
        if problems:
            failures[scenario.name] = problems
    assert failures == {}


def test_demo_scenarios_cover_every_node_of_the_demo(demo_dir: Path) -> None:
    menus = load_menus(demo_dir)
    visited: set[str] = set()
    for scenario in demo_scenarios(demo_dir):
        visited.update(scenario.expected_path() or ())
    every_node = {f"{m}/{n}" for m, menu in menus.items() for n in menu.nodes}
    assert every_node <= visited
    results = {s.expect.result for s in demo_scenarios(demo_dir)}
    assert {"caller_hangup", "201", "499", "operator", "support", "billing", "sales"} <= results


def test_key_demo_path_pressing_2_reaches_support(demo_dir: Path) -> None:
    menus = load_menus(demo_dir)
    scenario = Scenario.model_validate(
        {"name": "x", "menu": "main", "caller": "+79161234567", "input": ["2"],
         "expect": {"path": ["welcome", "support"], "result": "caller_hangup"}}
    )  # fmt: skip
    recorder = EventRecorder()
    outcome, call = run(run_scenario(menus, scenario, events=recorder))
    assert scenario_mismatches(scenario, outcome) == []
    assert recorder.path("scripted") == ["welcome", "support"]
    assert ("get_digits", "ivr/support-greeting", "5000", "1") in call.commands


def test_mismatches_are_explained() -> None:
    scenario = Scenario.model_validate(
        {
            "name": "x",
            "menu": "main",
            "expect": {"path": ["welcome", "main_ru/welcome"], "result": "sales"},
        }
    )
    outcome = Outcome("hangup", "max_timeouts", "main", "welcome", ("main/welcome",))
    assert scenario_mismatches(scenario, outcome) == [
        "path: expected welcome -> main_ru/welcome, got welcome",
        "result: expected sales, got hangup",
    ]


def test_path_convention() -> None:
    assert qualify_path(["welcome", "main_ru/welcome", "main/x"], "main") == (
        "main/welcome",
        "main_ru/welcome",
        "main/x",
    )
    assert relative_path(("main/welcome", "main_ru/welcome"), "main") == (
        "welcome",
        "main_ru/welcome",
    )


def test_scenario_format_errors_have_lines(write: WriteFile) -> None:
    path = write(
        "s.yaml",
        """
        - name: a
          menu: main
          input: ["1", "x"]
          expect: {result: operator}
        - name: b
          menu: main
          expct: {result: operator}
        """,
    )
    with pytest.raises(MenuError) as exc:
        load_scenarios(path)
    assert [(p.line, p.key_path) for p in exc.value.problems] == [
        (3, "[0].input[1]"),
        (5, "[1]"),
        (7, "[1]"),
    ]
    assert exc.value.problems[2].hint == "did you mean 'expect'?"


def test_scenario_names_checked_against_menus(write: WriteFile, demo_dir: Path) -> None:
    path = write(
        "s.yaml",
        """
        - name: a
          menu: main
          input: ["2"]
          expect: {path: [welcome, suport, main_ru/welcom], result: suport}
        - name: a
          menu: mian
          expect: {result: operator}
        """,
    )
    with pytest.raises(MenuError) as exc:
        load_scenarios(path, menus=load_menus(demo_dir))
    assert [(p.line, p.message, p.hint) for p in exc.value.problems] == [
        (4, "menu 'main' has no node 'suport'", "did you mean 'support'?"),
        (4, "menu 'main_ru' has no node 'welcom'", "did you mean 'welcome'?"),
        (4, "no return node gives result 'suport'", "did you mean 'support'?"),
        (5, "scenario name 'a' is used twice", "first used by item 1"),
        (6, "unknown menu 'mian'", "did you mean 'main'?"),
    ]


def test_expect_needs_something(write: WriteFile) -> None:
    path = write("s.yaml", "- {name: a, menu: main, expect: {}}\n")
    with pytest.raises(MenuError, match="expect needs 'path', 'result' or both"):
        load_scenarios(path)


def test_scenario_file_must_be_a_list(write: WriteFile) -> None:
    with pytest.raises(MenuError, match="must be a list"):
        load_scenarios(write("s.yaml", "name: a\n"))
