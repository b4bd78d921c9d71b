"""`ivr test`: run an admin's scenario files over TCP and report what they covered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fastagi.callers.service import CallerService
from fastagi.menus import MenuSet, Scenario
from fastagi.menus.nodes import MenuNode
from fastagi.menus.scenarios import ScenarioGiven, qualify_path, relative_path
from fastagi.menus.session import PromptSource
from fastagi.simulate import SimulatedCall, SimulationResult, simulate_calls

__all__ = ["Coverage", "ScenarioOutcome", "ScenarioReport", "run_scenarios", "scenario_call"]


def scenario_call(scenario: Scenario, *, hangup_at_command: int | None = None) -> SimulatedCall:
    """The call a scenario places; `hangup_at_command` makes the caller hang up during
    that command (1-based) whatever the scenario says."""
    return SimulatedCall(
        scenario.menu,
        scenario.caller,
        tuple(scenario.input),
        node=scenario.node,
        idle_hangup=0,  # the scenario format: the caller hangs up when its input runs out
        telephony=scenario.telephony,
        at=scenario.at,
        hangup_at_command=hangup_at_command,
    )


@dataclass(frozen=True)
class ScenarioOutcome:
    scenario: Scenario
    result: SimulationResult
    mismatches: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True)
class Coverage:
    """Which nodes and menu options the scenarios exercised, out of all there are."""

    nodes_all: frozenset[str]
    nodes_hit: frozenset[str]
    options_all: frozenset[str]
    options_hit: frozenset[str]

    @property
    def nodes_missed(self) -> list[str]:
        return sorted(self.nodes_all - self.nodes_hit)

    @property
    def options_missed(self) -> list[str]:
        return sorted(self.options_all - self.options_hit)

    def summary(self) -> str:
        return (
            f"nodes {len(self.nodes_hit)}/{len(self.nodes_all)}, "
            f"options {len(self.options_hit)}/{len(self.options_all)}"
        )


@dataclass(frozen=True)
class ScenarioReport:
    outcomes: list[ScenarioOutcome]
    coverage: Coverage
    failures: list[ScenarioOutcome] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _mismatches(scenario: Scenario, result: SimulationResult) -> tuple[str, ...]:
    found: list[str] = []
    expected = scenario.expected_path()
    actual = qualify_path(result.path, scenario.menu)
    if expected is not None and expected != actual:
        want = " -> ".join(relative_path(expected, scenario.menu))
        found.append(f"path: expected {want}, got {' -> '.join(result.path)}")
    if scenario.expect.result is not None and scenario.expect.result != result.result:
        found.append(f"result: expected {scenario.expect.result}, got {result.result}")
    return tuple(found)


def _coverage(menus: MenuSet, results: Sequence[SimulationResult]) -> Coverage:
    nodes_all = {f"{m}/{n}" for m, menu in menus.items() for n in menu.nodes}
    options_all = {
        f"{m}/{n}/{digit}"
        for m, menu in menus.items()
        for n, node in menu.nodes.items()
        if isinstance(node, MenuNode)
        for digit in node.options
    }
    nodes_hit = {step for r in results for step in qualify_path(r.path, r.menu)}
    options_hit = {"/".join(taken) for r in results for taken in r.options_taken}
    return Coverage(
        nodes_all=frozenset(nodes_all),
        nodes_hit=frozenset(nodes_hit & nodes_all),
        options_all=frozenset(options_all),
        options_hit=frozenset(options_hit & options_all),
    )


async def _seed(callers: CallerService, scenario: Scenario) -> None:
    """Rebuild the caller's record from the scenario's `given` (see ScenarioGiven)."""
    given = scenario.given or ScenarioGiven()
    directory = callers.directory
    number = directory.caller_number(scenario.caller)
    if number is None:
        return
    keys = directory.keys
    await directory.redis.delete(
        keys.caller(number), keys.calls(number), keys.history(number), keys.caller_tickets(number)
    )
    if given.new:
        return
    await directory.upsert(number, dict(given.profile))
    for ticket in given.tickets:
        opened = await directory.open_ticket(number, ticket.subject, agent=ticket.agent)
        if ticket.status != "open":
            await directory.update_ticket(opened.id, status=ticket.status)


async def run_scenarios(
    menus: MenuSet,
    scenarios: Sequence[Scenario],
    *,
    callers: CallerService | None = None,
    prompts: PromptSource | None = None,
) -> ScenarioReport:
    """Place every scenario's call through the emulator; compare and measure coverage.

    With `callers` (a directory in a scratch prefix), callers are looked up and
    personalised as in production, and each scenario's `given` is seeded first.
    """

    async def before_call(index: int) -> None:
        if callers is not None:
            await _seed(callers, scenarios[index])

    calls = [scenario_call(s) for s in scenarios]
    results = await simulate_calls(
        menus, calls, callers=callers, before_call=before_call, prompts=prompts
    )
    outcomes = [
        ScenarioOutcome(scenario, result, _mismatches(scenario, result))
        for scenario, result in zip(scenarios, results, strict=True)
    ]
    return ScenarioReport(
        outcomes=outcomes,
        coverage=_coverage(menus, results),
        failures=[o for o in outcomes if not o.passed],
    )
