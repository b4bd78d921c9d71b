"""Scenario files: scripted calls an admin writes to check menus end to end.

A scenario file is a YAML list; each item names the menu to call, what the
caller presses at each listening point, and what should happen (the nodes
visited and the result). The runner (`ivr test`/the scenario runner) places
the calls; this module defines the format, loads it with file:line errors,
checks it against a MenuSet and compares an `Outcome` with the expectation.

Path convention: a step is a bare node id for nodes of the scenario's own
`menu`, and `menu/node` for nodes of any other menu (`main_ru/welcome`).
A qualified step for the own menu (`main/welcome`) is accepted too.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from fastagi.menus._validation import did_you_mean, validation_problems
from fastagi.menus._yaml import PathKey, read_yaml
from fastagi.menus.fields import MenuName, NodeId
from fastagi.menus.model import MenuSet, MenuSource
from fastagi.menus.nodes import ReturnNode
from fastagi.menus.outcome import OUTCOME_KINDS, Outcome
from fastagi.menus.problems import MenuError, Problem
from fastagi.menus.scenario_telephony import ScenarioTelephony

__all__ = [
    "HANGUP_INPUT",
    "SILENCE_INPUT",
    "GivenTicket",
    "Scenario",
    "ScenarioExpect",
    "ScenarioGiven",
    "check_scenarios",
    "load_scenarios",
    "qualify_path",
    "relative_path",
    "scenario_mismatches",
]

SILENCE_INPUT = "-"  #: stay silent at this listening point (a timeout)
HANGUP_INPUT = "h"  #: hang up at this listening point

_INPUT_PATTERN = r"^([0-9*#]{1,32}|-|h)$"
_STEP_PATTERN = r"^([a-z0-9_-]{1,64}/)?[A-Za-z0-9_-]{1,64}$"
_CALLER_PATTERN = r"^(\+?[0-9]{1,20}|unknown|anonymous)$"

InputItem = Annotated[str, Field(pattern=_INPUT_PATTERN)]
PathStep = Annotated[str, Field(pattern=_STEP_PATTERN)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScenarioExpect(_Frozen):
    """What the call should do. Give `path`, `result` or both."""

    path: tuple[PathStep, ...] | None = Field(
        default=None,
        description="Node ids entered, in order ('menu/node' outside the scenario's menu).",
    )
    result: str | None = Field(
        default=None,
        description="IVR_RESULT of a return (e.g. operator, or dialled digits), or the outcome"
        " kind: hangup, caller_hangup, error, max_steps.",
        min_length=1,
        max_length=64,
    )

    @model_validator(mode="after")
    def _something(self) -> ScenarioExpect:
        if self.path is None and self.result is None:
            raise ValueError("expect needs 'path', 'result' or both")
        return self


class GivenTicket(_Frozen):
    """An open ticket the caller has before the call."""

    subject: str = Field(min_length=1, max_length=200)
    agent: str = Field(default="", pattern=r"^[0-9]{0,20}$", description="Agent's extension.")
    status: Literal["open", "in_progress", "waiting"] = "open"


class ScenarioGiven(_Frozen):
    """What the caller directory holds about the caller before the call.

    Before each scenario the caller's record is wiped (in a scratch key
    prefix: `ivr test` never touches real callers) and rebuilt from `given`:
    a known caller with this profile and these open tickets - or, with
    `new: true`, a number never seen before. No `given` is a known caller
    with an empty profile.
    """

    new: bool = Field(default=False, description="The number has never called (segment new).")
    profile: dict[str, str] = Field(
        default_factory=dict, description="Profile fields, e.g. {tags: vip, first_name: Ivan}."
    )
    tickets: tuple[GivenTicket, ...] = Field(default=(), max_length=20)


class Scenario(_Frozen):
    """One scripted call."""

    name: str = Field(min_length=1, max_length=200, description="Shown in test reports.")
    description: str = ""
    menu: MenuName = Field(description="The menu the call starts in.")
    node: NodeId | None = Field(
        default=None, description="Start at this node instead of the start node."
    )
    caller: str = Field(
        default="unknown", pattern=_CALLER_PATTERN, description="Caller number (E.164), or unknown."
    )
    input: tuple[InputItem, ...] = Field(
        default=(),
        max_length=200,
        description="One item per listening point: digits pressed, '-' silence, 'h' hang up."
        " When the list runs out the caller hangs up.",
    )
    given: ScenarioGiven | None = Field(
        default=None, description="The caller's profile and open tickets before the call."
    )
    telephony: ScenarioTelephony | None = Field(
        default=None, description="How queues, transfers and voicemail turn out in this call."
    )
    at: AwareDatetime | None = Field(
        default=None,
        description="When the call happens, with its UTC offset (for hours and time rules).",
    )
    expect: ScenarioExpect

    def expected_path(self) -> tuple[str, ...] | None:
        """The expected path with every step as 'menu/node'."""
        if self.expect.path is None:
            return None
        return qualify_path(self.expect.path, self.menu)


_FILE = TypeAdapter(list[Scenario])


def qualify_path(steps: Iterable[str], menu: str) -> tuple[str, ...]:
    """Bare node ids become `menu/node`; qualified steps stay as they are."""
    return tuple(step if "/" in step else f"{menu}/{step}" for step in steps)


def relative_path(path: Iterable[str], menu: str) -> tuple[str, ...]:
    """An Outcome path written the scenario way: bare ids for nodes of `menu`."""
    prefix = f"{menu}/"
    return tuple(step.removeprefix(prefix) for step in path)


def scenario_mismatches(scenario: Scenario, outcome: Outcome) -> list[str]:
    """How `outcome` differs from what `scenario` expects (empty when it passes)."""
    problems = []
    expected = scenario.expected_path()
    if expected is not None and expected != outcome.path:
        want = " -> ".join(relative_path(expected, scenario.menu))
        got = " -> ".join(relative_path(outcome.path, scenario.menu))
        problems.append(f"path: expected {want}, got {got}")
    if scenario.expect.result is not None and scenario.expect.result != outcome.label:
        problems.append(f"result: expected {scenario.expect.result}, got {outcome.label}")
    return problems


def _results(menus: MenuSet) -> set[str]:
    return {
        node.result
        for menu in menus.values()
        for node in menu.nodes.values()
        if isinstance(node, ReturnNode)
    }


def check_scenarios(
    scenarios: Iterable[Scenario], menus: MenuSet, *, source: MenuSource | None = None
) -> list[Problem]:
    """Menus, nodes and results the scenarios name that `menus` does not have.

    `source` (the scenario file's positions) puts file:line on each problem.
    """
    where = source or MenuSource(file="<scenarios>")
    problems: list[Problem] = []
    results = _results(menus)

    def add(path: PathKey, message: str, hint: str = "") -> None:
        problems.append(where.problem(path, message, hint=hint, code="scenario"))

    for index, scenario in enumerate(scenarios):
        menu = menus.get(scenario.menu)
        if menu is None:
            add(
                (index, "menu"),
                f"unknown menu {scenario.menu!r}",
                did_you_mean(scenario.menu, set(menus)),
            )
            continue
        if scenario.node is not None and scenario.node not in menu.nodes:
            add(
                (index, "node"),
                f"menu {scenario.menu!r} has no node {scenario.node!r}",
                did_you_mean(scenario.node, set(menu.nodes)),
            )
        for step_no, step in enumerate(scenario.expected_path() or ()):
            name, _, node = step.partition("/")
            step_path = (index, "expect", "path", step_no)
            if name not in menus:
                add(step_path, f"unknown menu {name!r}", did_you_mean(name, set(menus)))
            elif node not in menus[name].nodes:
                add(
                    step_path,
                    f"menu {name!r} has no node {node!r}",
                    did_you_mean(node, set(menus[name].nodes)),
                )
        result = scenario.expect.result
        known = result is None or result in OUTCOME_KINDS or result.isdigit() or result in results
        if not known:
            assert result is not None
            add(
                (index, "expect", "result"),
                f"no return node gives result {result!r}",
                did_you_mean(result, results),
            )
    return problems


def load_scenarios(path: str | Path, *, menus: MenuSet | None = None) -> tuple[Scenario, ...]:
    """Load a scenario file; with `menus`, also check the names it uses.

    Raises `MenuError` with file:line problems (YAML, format, duplicate names,
    unknown menus/nodes/results).
    """
    doc = read_yaml(Path(path))
    if not isinstance(doc.data, list):
        raise MenuError(
            [
                Problem(
                    doc.file,
                    1,
                    1,
                    "",
                    "a scenario file must be a list of scenarios ('- name: ...')",
                    code="not-a-list",
                )
            ]
        )
    try:
        scenarios = tuple(_FILE.validate_python(doc.data))
    except ValidationError as exc:
        raise MenuError(validation_problems(exc, doc, list[Scenario])) from None
    source = MenuSource(file=doc.file, digest=doc.digest, positions=doc.positions)
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for index, scenario in enumerate(scenarios):
        if scenario.name in first:
            problems.append(
                source.problem(
                    (index, "name"),
                    f"scenario name {scenario.name!r} is used twice",
                    hint=f"first used by item {first[scenario.name] + 1}",
                    code="duplicate-scenario",
                )
            )
        first.setdefault(scenario.name, index)
    if menus is not None:
        problems += check_scenarios(scenarios, menus, source=source)
    if problems:
        raise MenuError(problems)
    return scenarios
