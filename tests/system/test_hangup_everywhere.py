"""A caller hanging up at every single command of every demo scenario.

Whatever the server was doing - a prompt, a GOSUB into a queue, reading a
variable after the action, a dynamic greeting, a callback offer - a hangup
there must end the call cleanly: outcome `caller_hangup` (or the scenario's
own end if the call was already over), never an error, never a stuck call,
never an exception in the server's log.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fastagi.menus import load_menus, load_scenarios
from fastagi.scenario_runner import scenario_call
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.simulate import SimulationResult, simulate_calls

REPO = Path(__file__).resolve().parents[2]
#: A hangup is tried at each of the first this many commands; every demo
#: scenario's call sends fewer (checked below), so that is every command.
MAX_COMMANDS = 24

pytestmark = pytest.mark.system


def test_a_hangup_at_any_command_ends_every_scenario_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    menus = load_menus(REPO / "ivr_menus")
    scenarios = [
        s
        for path in sorted((REPO / "ivr_menus" / "scenarios").glob("*.yaml"))
        for s in load_scenarios(path, menus=menus)
    ]
    calls = [
        scenario_call(s, hangup_at_command=command)
        for s in scenarios
        for command in range(1, MAX_COMMANDS + 1)
    ]
    caplog.set_level(logging.ERROR, logger="fastagi")
    results: list[SimulationResult] = run_on_reactor_loop(simulate_calls(menus, calls))
    assert len(results) == len(calls) > 1000
    # With the hangup due at the last command tried, every call had ended before it.
    last = [
        (call.menu, call.input, r.commands)
        for call, r in zip(calls, results, strict=True)
        if call.hangup_at_command == MAX_COMMANDS and r.commands >= MAX_COMMANDS
    ]
    assert last == [], "raise MAX_COMMANDS: these scenarios send more commands"
    # a hangup at the very first command ends every scenario as the caller's hangup
    first = [
        r.outcome for call, r in zip(calls, results, strict=True) if call.hangup_at_command == 1
    ]
    assert first == ["caller_hangup"] * len(scenarios)
    failed = [
        (call.menu, call.input, call.hangup_at_command, r.outcome, r.status)
        for call, r in zip(calls, results, strict=True)
        if r.outcome in ("error", "max_steps", "") or r.status == "FAILED"
    ]
    assert failed == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
