"""The demo call centre over real TCP: the server on loopback, the Asterisk emulator calling."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from fastagi.config import ServerSettings
from fastagi.events import EventRecorder
from fastagi.menus import MenuSet, load_menus, load_scenarios
from fastagi.scenario_runner import ScenarioReport, run_scenarios
from fastagi.server.app import caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.simulate import SimulatedCall, simulate_calls
from fastagi.storage import forget_prefix
from fastagi.testing import AsteriskEmulator, CallerScript

REPO = Path(__file__).resolve().parents[2]
SCENARIO_FILES = sorted((REPO / "ivr_menus" / "scenarios").glob("*.yaml"))

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def demo() -> MenuSet:
    return load_menus(REPO / "ivr_menus")


def test_support_path_from_the_readme(demo: MenuSet) -> None:
    (result,) = run_on_reactor_loop(
        simulate_calls(demo, [SimulatedCall("main", "+79161234567", ("2",))])
    )
    assert result.path[:2] == ["welcome", "support"]
    assert result.prompts[:2] == ["ivr/main-greeting", "ivr/support-greeting"]


def test_every_demo_scenario_passes_and_covers_every_option(
    demo: MenuSet, redis_server_url: str
) -> None:
    scenarios = [s for path in SCENARIO_FILES for s in load_scenarios(path, menus=demo)]
    assert scenarios, "the demo ships scenarios"
    settings = ServerSettings(
        redis_prefix=f"scn{uuid.uuid4().hex[:8]}:", segments_file=REPO / "config/segments.yaml"
    )
    callers = caller_service(settings, redis_server_url)

    async def run() -> ScenarioReport:
        try:
            return await run_scenarios(demo, scenarios, callers=callers)
        finally:
            await callers.drain()
            await forget_prefix(callers.directory.redis, settings.redis_prefix)
            await callers.directory.redis.aclose()

    report = run_on_reactor_loop(run())
    failures = {o.scenario.name: o.mismatches for o in report.failures}
    assert failures == {}
    assert report.coverage.nodes_missed == []
    assert report.coverage.options_missed == []


def test_a_hangup_at_every_command_of_a_scenario_ends_cleanly(demo: MenuSet) -> None:
    """Whatever command the caller hangs up in, the server stops talking and closes."""

    async def scenario() -> list[tuple[int, str | None, bool, int]]:
        server = start_server(ServerSettings(port=0), menus=demo)
        host, port = server.address
        emulator = AsteriskEmulator()
        script = CallerScript.parse("2,2")
        full = await emulator.place_call(host, port, script="main", caller=script)
        outcomes = []
        for n in range(1, len(full.commands) + 1):
            result = await emulator.place_call(
                host, port, script="main", caller=script, hangup_at_command=n
            )
            outcomes.append(
                (n, result.hung_up_by, result.server_closed, result.commands_after_hangup)
            )
        await server.stop(grace=1.0)
        assert server.factory.active_calls == 0
        return outcomes

    outcomes = run_on_reactor_loop(scenario())
    assert len(outcomes) >= 5
    for n, hung_up_by, closed, after in outcomes:
        assert hung_up_by == "caller", n
        assert closed, f"server left the socket open after a hangup at command {n}"
        assert after == 0, f"server kept sending commands after a hangup at command {n}"


def test_concurrent_calls_do_not_disturb_each_other(demo: MenuSet) -> None:
    async def scenario() -> list[str]:
        recorder = EventRecorder()
        server = start_server(ServerSettings(port=0), menus=demo, events=recorder)
        host, port = server.address
        emulator = AsteriskEmulator()
        inputs = ["9,0", "2,2", "0", "1,1", "3,0,0", "h"] * 10
        results = await asyncio.gather(
            *(
                emulator.place_call(host, port, script="main", caller=CallerScript.parse(i))
                for i in inputs
            )
        )
        await server.stop(grace=1.0)
        return [r.variables.get("IVR_RESULT", "-") for r in results]

    results = run_on_reactor_loop(scenario())
    assert results == ["operator", "billing", "operator", "sales", "operator", "-"] * 10


def test_call_over_the_limit_goes_to_the_dialplan_fallback(demo: MenuSet) -> None:
    async def scenario() -> tuple[str, str]:
        server = start_server(ServerSettings(port=0, max_calls=1), menus=demo)
        host, port = server.address
        emulator = AsteriskEmulator()
        # The first caller is slow to answer each command: the call is held a while.
        held = asyncio.ensure_future(
            emulator.place_call(
                host, port, script="main", caller=CallerScript.parse("0"), reply_delay=0.1
            )
        )
        for _ in range(200):
            if server.factory.active_calls:
                break
            await asyncio.sleep(0.01)
        second = await emulator.place_call(host, port, script="main")
        first = await held
        await server.stop(grace=1.0)
        return second.variables.get("IVRSTATUS", ""), first.variables.get("IVR_RESULT", "")

    busy, first_result = run_on_reactor_loop(scenario())
    assert busy == "BUSY"
    assert first_result == "operator"  # the held caller was served to the end


def test_unknown_script_path_is_reported_to_the_dialplan(demo: MenuSet) -> None:
    async def scenario() -> str:
        server = start_server(ServerSettings(port=0), menus=demo)
        host, port = server.address
        result = await AsteriskEmulator().place_call(host, port, script="no-such-menu")
        await server.stop(grace=1.0)
        return result.variables.get("IVRSTATUS", "")

    assert run_on_reactor_loop(scenario()) == "NOTFOUND"
