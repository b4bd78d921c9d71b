"""Personalised calls over real TCP and a real Redis: segments, personal menus, contacts, outage."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from caller_rig import serving

from fastagi.callers.profile import CallerProfile
from fastagi.events import EventRecorder
from fastagi.menus import MenuSet, load_menus
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import EmbeddedRedis
from fastagi.testing import CallResult

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def demo() -> MenuSet:
    return load_menus(REPO / "ivr_menus")


def test_vip_caller_lands_in_the_vip_menu(redis_server_url: str, demo: MenuSet) -> None:
    async def scenario() -> CallResult:
        async with serving(redis_server_url, demo) as rig:
            await rig.service.directory.upsert("+79161110001", {"tags": "vip", "name": "V. I. P."})
            return await rig.call("89161110001", "1")  # national form of the same number

    result = run_on_reactor_loop(scenario())
    assert result.error is None and not result.stuck
    assert "ivr/vip-greeting" in result.prompts
    assert "ivr/main-greeting" not in result.prompts
    # the VIP menu transfers to the personal manager: reception (100) when none is on file
    assert 'GOSUB "ivr-transfer" "s" "1" "PJSIP/100,30,"' in result.command_lines
    assert result.variables.get("IVRSTATUS") == "SUCCESS"


def test_personal_menu_wins_over_the_vip_segment(redis_server_url: str, demo: MenuSet) -> None:
    async def scenario() -> CallResult:
        async with serving(redis_server_url, demo) as rig:
            fields = {"tags": "vip", "menu": "personal_ivanov", "manager": "207"}
            await rig.service.directory.upsert("+79161110002", fields)
            return await rig.call("+79161110002")

    result = run_on_reactor_loop(scenario())
    assert result.prompts[:1] == ["ivr/personal-ivanov-greeting"]
    assert "ivr/vip-greeting" not in result.prompts
    assert result.variables.get("IVR_RESULT") == "manager"
    assert result.variables.get("IVR_MANAGER") == "207"  # their own manager, from the profile


def test_new_number_becomes_a_contact_with_history(redis_server_url: str, demo: MenuSet) -> None:
    number = "+79161110003"
    recorder = EventRecorder()
    seen: dict[str, CallerProfile | None] = {}

    async def scenario() -> tuple[CallResult, CallResult, list[dict[str, str]]]:
        async with serving(redis_server_url, demo, recorder) as rig:
            directory = rig.service.directory
            seen["before"] = await directory.get(number)
            first = await rig.call(number, "0")
            await rig.service.drain()  # the history entry is written in the background
            seen["first"] = await directory.get(number)
            history = await directory.history(number)
            second = await rig.call(number, "2,2")
            await rig.service.drain()
            seen["second"] = await directory.get(number)
            return first, second, history

    first, second, history = run_on_reactor_loop(scenario())
    assert seen["before"] is None
    after_first, after_second = seen["first"], seen["second"]
    assert after_first is not None and after_second is not None
    assert after_first.call_count == 1 and after_first.get("first_call")
    assert after_second.call_count == 2
    assert after_second.get("first_call") == after_first.get("first_call")
    noted = [recorder.events(r.uniqueid, "caller")[0].data for r in (first, second)]
    assert [(d["new"], d["menu"]) for d in noted] == [("1", "main"), ("0", "main")]
    # The new-caller path (main.yaml routes: segment new -> new_caller) on the first call only.
    assert first.prompts == ["ivr/welcome-new", "ivr/main-greeting", "ivr/connecting"]
    assert first.variables.get("IVR_RESULT") == "operator"
    assert second.prompts[:2] == ["ivr/main-greeting", "ivr/support-greeting"]
    assert second.variables.get("IVR_RESULT") == "billing"
    (entry,) = history
    assert entry["uniqueid"] == first.uniqueid
    assert (entry["menu"], entry["segment"], entry["digits"], entry["outcome"]) == (
        "main", "new", "0", "operator",
    )  # fmt: skip
    assert entry["path"] == "main/new_caller > main/welcome > main/operator"


def test_caller_with_an_open_ticket_hears_its_status(redis_server_url: str, demo: MenuSet) -> None:
    async def scenario() -> tuple[int, CallResult]:
        async with serving(redis_server_url, demo) as rig:
            directory = rig.service.directory
            await directory.upsert("+79161110005", {"first_name": "Olga"})
            ticket = await directory.open_ticket("+79161110005", "Order 1042 is late", agent="203")
            return ticket.id, await rig.call("+79161110005", "1")

    ticket_id, result = run_on_reactor_loop(scenario())
    assert result.prompts[:3] == [
        "ivr/ticket-number", f"say-digits:{ticket_id}", "ivr/ticket-status-open",
    ]  # fmt: skip
    assert "ivr/main-greeting" not in result.prompts
    assert result.variables.get("IVR_TICKET") == str(ticket_id)
    assert result.variables.get("IVR_AGENT") == "203"
    assert result.variables.get("IVR_RESULT") == "ticket_agent"


def test_blacklisted_caller_is_told_and_hung_up(redis_server_url: str, demo: MenuSet) -> None:
    async def scenario() -> CallResult:
        async with serving(redis_server_url, demo) as rig:
            await rig.service.directory.upsert("+79161110004", {"tags": "blacklist,vip"})
            return await rig.call("+79161110004", "1")

    result = run_on_reactor_loop(scenario())
    assert result.prompts == ["ivr/blocked-notice"]
    assert result.hung_up_by == "agi"
    assert "IVR_RESULT" not in result.variables


@pytest.mark.parametrize("callerid", ["unknown", "anonymous", ""])
def test_anonymous_caller_gets_the_default_menu_and_no_key(
    redis_server_url: str, demo: MenuSet, callerid: str
) -> None:
    async def scenario() -> tuple[CallResult, list[str]]:
        async with serving(redis_server_url, demo) as rig:
            result = await rig.call(callerid, "0")
            await rig.service.drain()
            pattern = f"{rig.service.directory.keys.prefix}*"
            keys = [k async for k in rig.service.directory.redis.scan_iter(match=pattern)]
            return result, keys

    result, keys = run_on_reactor_loop(scenario())
    assert result.prompts[:1] == ["ivr/main-greeting"]
    assert result.variables.get("IVR_RESULT") == "operator"
    assert keys == []


def _freeze(pid: int) -> Callable[[], None]:
    os.kill(pid, signal.SIGSTOP)
    return lambda: os.kill(pid, signal.SIGCONT)


def _kill(redis: EmbeddedRedis, pid: int) -> Callable[[], None]:
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)  # our child (Popen in acquire): reap it so it reads as dead

    def restart() -> None:
        redis.acquire()  # a new server on the same socket, with the append-only data

    return restart


@pytest.mark.parametrize("outage", ["frozen", "killed"])
def test_redis_outage_sends_callers_to_the_default_menu_then_recovers(
    tmp_path: Path, demo: MenuSet, outage: str
) -> None:
    vip = "+79161110006"
    redis = EmbeddedRedis(tmp_path / "state")
    url = redis.acquire()
    resume: Callable[[], None] | None = None
    recorder = EventRecorder()
    degraded_lookups: list[int] = []

    async def scenario() -> tuple[CallResult, CallResult, float, list[CallResult]]:
        nonlocal resume
        async with serving(url, demo, recorder) as rig:
            await rig.service.directory.upsert(vip, {"tags": "vip"})
            healthy = await rig.call(vip, "1")
            pid = int(redis.pid_path.read_text())
            resume = _freeze(pid) if outage == "frozen" else _kill(redis, pid)
            started = time.monotonic()
            degraded = await rig.call(vip, "0")
            wall = time.monotonic() - started
            degraded_lookups.append(rig.service.directory.degraded_lookups)
            resume()
            resume = None
            later: list[CallResult] = []
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                later.append(await rig.call(vip, "1"))
                if "ivr/vip-greeting" in later[-1].prompts:
                    break
                await asyncio.sleep(0.1)
            return healthy, degraded, wall, later

    try:
        healthy, degraded, wall, later = run_on_reactor_loop(scenario())
    finally:
        if resume is not None:
            resume()
        redis.release()
    assert "ivr/vip-greeting" in healthy.prompts
    assert degraded.prompts[:1] == ["ivr/main-greeting"]
    assert degraded.variables.get("IVRSTATUS") == "SUCCESS"
    assert degraded.variables.get("IVR_RESULT") == "operator"
    assert degraded.timings[0] < 1.0, "call setup waited past the lookup budget"
    assert wall < 2.0
    assert degraded_lookups == [1]
    (noted,) = recorder.events(degraded.uniqueid, "caller")
    assert (noted.data["degraded"], noted.data["menu"], noted.data["layer"]) == (
        "1",
        "main",
        "default",
    )
    assert later, "no call placed after Redis came back"
    assert "ivr/vip-greeting" in later[-1].prompts, [r.prompts[:1] for r in later]
    assert 'GOSUB "ivr-transfer" "s" "1" "PJSIP/100,30,"' in later[-1].command_lines


@pytest.mark.parametrize("outage", ["frozen", "killed"])
def test_redis_lost_and_back_under_load_fails_no_call(
    tmp_path: Path, demo: MenuSet, outage: str
) -> None:
    """Twenty callers at a time while Redis goes away for a second and comes back."""
    vip = "+79161110007"
    redis = EmbeddedRedis(tmp_path / "state")
    url = redis.acquire()
    resume: Callable[[], None] | None = None

    async def scenario() -> tuple[list[CallResult], list[CallResult], list[CallResult]]:
        nonlocal resume
        async with serving(url, demo) as rig:
            await rig.service.directory.upsert(vip, {"tags": "vip"})
            phase = ["before"]
            placed: dict[str, list[CallResult]] = {"before": [], "down": [], "after": []}

            async def caller() -> None:
                while phase[0] != "done":
                    when = phase[0]
                    placed[when].append(await rig.call(vip, "0"))

            workers = [asyncio.ensure_future(caller()) for _ in range(20)]
            await asyncio.sleep(0.5)
            pid = int(redis.pid_path.read_text())
            phase[0] = "down"
            resume = _freeze(pid) if outage == "frozen" else _kill(redis, pid)
            await asyncio.sleep(1.0)
            resume()
            resume = None
            phase[0] = "after"
            await asyncio.sleep(2.0)
            phase[0] = "done"
            await asyncio.gather(*workers)
            return placed["before"], placed["down"], placed["after"]

    try:
        before, down, after = run_on_reactor_loop(scenario())
    finally:
        if resume is not None:
            resume()
        redis.release()
    everyone = before + down + after
    assert len(down) > 20  # calls kept coming while Redis was away
    # no call failed: every one was served to its end, VIP menu or default menu
    assert {c.variables.get("IVRSTATUS") for c in everyone} == {"SUCCESS"}
    assert all(c.variables.get("IVR_RESULT") for c in everyone)  # each handed on somewhere
    assert any(c.prompts[:1] == ["ivr/main-greeting"] for c in down)  # degraded: default menu
    assert all(c.timings[0] < 1.0 for c in everyone)  # nobody waited past the budget
    # and service resumed on its own: the last calls are personalised again
    assert any("ivr/vip-greeting" in c.prompts for c in after[-20:])
