"""Flow lint: each rule fires on a small bad menu, and the demo is clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from menus_helpers import WriteFile

from fastagi.menus import LINT_RULES, Menu, MenuSet, Problem, lint_menus, load_menus


def lint_text(write: WriteFile, text: str, *others: tuple[str, str]) -> list[Problem]:
    path = write("main.yaml", text)
    for name, body in others:
        write(name, body)
    return lint_menus(load_menus(path.parent))


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def menu(name: str, start: str, nodes: dict[str, Any]) -> Menu:
    return Menu.model_validate({"menu": name, "start": start, "nodes": nodes})


EXIT = "    on_failure: op\n    on_timeout: op\n"
OP = "  op: {type: return, result: operator}\n"


def test_demo_is_lint_clean(demo_dir: Path) -> None:
    assert lint_menus(load_menus(demo_dir)) == []


def test_every_rule_is_documented_with_a_severity() -> None:
    assert all(text.startswith(("error:", "warning:")) for text in LINT_RULES.values())


def test_unreachable_node(write: WriteFile) -> None:
    problems = lint_text(
        write,
        """
        start: a
        nodes:
          a: {type: hangup}
          orphan: {type: play, prompts: [ivr/x], next: a}
        """,
    )
    (problem,) = problems
    assert (problem.code, problem.severity, problem.key_path, problem.line) == (
        "unreachable",
        "warning",
        "nodes.orphan",
        4,
    )
    assert str(problem).endswith("warning: nodes.orphan: no call can reach this node [unreachable]")


def test_cross_menu_goto_makes_a_node_reachable(write: WriteFile) -> None:
    problems = lint_text(
        write,
        "start: a\nnodes:\n  a: {type: play, prompts: [ivr/x], next: menu:other/deep}\n",
        ("other.yaml", "start: s\nnodes:\n  s: {type: hangup}\n  deep: {type: hangup}\n"),
    )
    assert problems == []


def test_dead_end(write: WriteFile) -> None:
    problems = lint_text(
        write,
        """
        start: a
        nodes:
          a: {type: play, prompts: [ivr/x]}
          b: {type: set, variables: {X: "1"}, next: a}
        """,
    )
    assert [(p.code, p.severity, p.message) for p in problems if p.code == "dead-end"] == [
        ("dead-end", "error", "the call stops here: a play node needs 'next'")
    ]


def test_loop_with_no_way_out(write: WriteFile) -> None:
    problems = lint_text(
        write,
        """
        start: a
        nodes:
          a: {type: play, prompts: [ivr/a], next: b}
          b: {type: play, prompts: [ivr/b], next: c}
          c: {type: say, number: 3, next: a}
        """,
    )
    (problem,) = problems
    assert problem.code == "no-way-out" and problem.severity == "error"
    assert problem.message == "these nodes loop forever with no way out: a -> b -> c -> a"
    assert problem.line == 3


def test_loop_through_a_menu_with_only_inner_gotos_is_a_trap(write: WriteFile) -> None:
    problems = lint_text(
        write,
        """
        start: m
        nodes:
          m:
            type: menu
            greeting: ivr/m
            options: {"1": info}
            on_failure: m
            on_timeout: info
          info: {type: play, prompts: [ivr/i], next: m}
        """,
    )
    assert codes(problems) == ["no-way-out"]


def test_loop_left_through_another_menu_is_fine(write: WriteFile) -> None:
    problems = lint_text(
        write,
        "start: a\nnodes:\n  a: {type: play, prompts: [ivr/a], next: b}\n"
        "  b: {type: set, variables: {X: '1'}, next: menu:other}\n",
        ("other.yaml", "start: s\nnodes:\n  s: {type: hangup}\n"),
    )
    assert problems == []


def test_silent_caller_loop(write: WriteFile) -> None:
    problems = lint_text(
        write,
        """
        start: m
        nodes:
          m:
            type: menu
            greeting: ivr/m
            options: {"1": op}
            on_failure: op
            on_timeout: again
          again: {type: play, prompts: [ivr/please], next: m}
          op: {type: return, result: operator}
        """,
    )
    (problem,) = problems
    assert (problem.code, problem.severity, problem.key_path) == (
        "silent-loop",
        "warning",
        "nodes.m",
    )
    assert "m -> again -> m" in problem.message


def test_menu_without_failure_and_timeout_exits(write: WriteFile) -> None:
    problems = lint_text(
        write,
        """
        start: m
        nodes:
          m: {type: menu, greeting: ivr/m, options: {"1": op}}
          op: {type: return, result: operator}
        """,
    )
    assert [(p.code, p.message) for p in problems] == [
        ("no-failure-exit", "no on_failure: after 3 invalid entries the caller is hung up"),
        ("no-failure-exit", "no on_timeout: after 3 timeouts the caller is hung up"),
    ]


def test_silent_retry_prompts(write: WriteFile) -> None:
    problems = lint_text(
        write,
        "start: m\ndefaults: {invalid_prompt: null}\nnodes:\n"
        "  m:\n    type: menu\n    greeting: ivr/m\n    timeout_prompt: null\n"
        '    options: {"1": op}\n' + EXIT + OP,
    )
    assert [(p.code, p.key_path, p.line) for p in problems] == [
        ("silent-retry", "defaults.invalid_prompt", 2),
        ("silent-retry", "nodes.m.timeout_prompt", 7),
    ]


def test_menu_without_options(write: WriteFile) -> None:
    problems = lint_text(
        write, "start: m\nnodes:\n  m:\n    type: menu\n    greeting: ivr/m\n" + EXIT + OP
    )
    assert codes(problems) == ["no-options"]


def test_option_digit_also_matched_by_direct_dial(write: WriteFile) -> None:
    problems = lint_text(
        write,
        "start: m\nnodes:\n  m:\n    type: menu\n    greeting: ivr/m\n    digits: 3\n"
        '    direct_dial: "^[2-4][0-9]{2}$"\n'
        '    options: {"1": op, "2": op, "200": op}\n' + EXIT + OP,
    )
    (problem,) = problems
    assert (problem.code, problem.severity, problem.key_path) == (
        "duplicate-digits",
        "warning",
        "nodes.m.options.200",
    )


def test_options_the_caller_cannot_enter(write: WriteFile) -> None:
    problems = lint_text(
        write,
        "start: m\nnodes:\n  m:\n    type: menu\n    greeting: ivr/m\n    digits: 2\n"
        '    options: {"1": op, "123": op, "1#": op, "#": op}\n' + EXIT + OP,
    )
    assert [(p.code, p.key_path) for p in problems] == [
        ("unreachable-option", "nodes.m.options.123"),
        ("unreachable-option", "nodes.m.options.1#"),
    ]
    assert all(p.severity == "error" for p in problems)


def test_missing_targets_and_start_in_a_set_built_in_python() -> None:
    menus = MenuSet(
        [
            menu("main", "nowhere", {"a": {"type": "play", "prompts": ["x"], "next": "menu:zz"}}),
            menu("b", "s", {"s": {"type": "play", "prompts": ["x"], "next": "menu:main/q"}}),
        ]
    )
    problems = lint_menus(menus)
    found = sorted((p.file, p.code, p.message) for p in problems if p.is_error)
    assert found == [
        ("<menu b>", "missing-target", "menu 'main' has no node 'q'"),
        ("<menu main>", "missing-start", "start node 'nowhere' does not exist"),
        ("<menu main>", "missing-target", "unknown menu 'zz'"),
    ]
    assert "<menu main>: start: start node 'nowhere' does not exist" in [str(p) for p in problems]
