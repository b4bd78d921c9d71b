"""Two `ivr serve` processes on one Redis behind the shipped dialplan: one dies mid-load.

Calls keep arriving through the emulator running asterisk-conf/extensions.conf
(with dialplan/ivr-entry.conf) unchanged. Half of them have server A as
IVR_AGI and B as IVR_AGI2, the other half the reverse - as two Asterisk boxes
with the shipped dialplan and the two addresses swapped would send them, or an
SRV record with two equal-weight targets. One emulator plays both boxes: the
addresses are set per call as channel variables, which shadow [globals] as in
Asterisk (and every call keeps its own uniqueid in the shared Redis).

Each AGI reply takes REPLY_DELAY real seconds, so a call spends a fraction of
a second in its menu and several calls are always in progress on each server.
Then one server is stopped:

- SIGKILL: the calls it was running end at once (AGISTATUS=SUCCESS with no
  IVRSTATUS, as res_agi reads a closed socket) and take the dialplan's
  fallback (the support queue, in business hours); they are not replayed on
  the other server. Every call placed after it died finds its port closed
  (AGISTATUS=FAILURE) and is served by the survivor through IVR_AGI2.
- SIGTERM: it stops listening and lets its calls finish; new calls go to the
  other server; no call takes the fallback.

Without the IVR_AGI2 lines of [ivr-entry], the calls placed after the stop
with the stopped server first would take the fallback, and the test fails.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import pytest
from serve_helpers import start_serve

from fastagi.storage import forget_prefix, open_async_client
from fastagi.testing import AsteriskEmulator, CallerScript, CallResult, Dialplan, DialplanResult

REPO = Path(__file__).resolve().parents[2]
# A Monday at 10:00 in Moscow: the fallback of [ivr-entry] is the support queue.
MONDAY_10AM = datetime(2025, 1, 6, 10, 0, tzinfo=ZoneInfo("Europe/Moscow"))
REPLY_DELAY = 0.08  # real seconds before each AGI reply: a call lasts ~0.3 s
CALLERS = 8  # calls in progress at any moment
WARM_UP_CALLS = 10  # served by each server before one is stopped
AFTER_STOP_CALLS = 24  # calls placed (and ended) after the stop before the load ends
DEADLINE = 20.0  # real seconds for any phase

pytestmark = pytest.mark.system


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)  # what it logged after its banner

    @property
    def address(self) -> str:
        return f"agi://127.0.0.1:{self.port}"


@dataclass
class Placed:
    first: str  # the server the call tried first ("A" or "B")
    started: float
    ended: float
    result: DialplanResult


@dataclass
class Load:
    placed: list[Placed] = field(default_factory=list)
    stopped_at: float = float("inf")  # when the victim no longer accepted calls

    def served_by(self, server: Server) -> int:
        return sum(_served_by(p.result) == server.port for p in self.placed)

    def placed_after_stop(self) -> list[Placed]:
        return [p for p in self.placed if p.started > self.stopped_at]


def _port(call: CallResult) -> int:
    return int(call.env["agi_request"].rsplit(":", 1)[1].split("/", 1)[0])


def _served_by(result: DialplanResult) -> int | None:
    """The port of the server whose menu ended the call normally, if any."""
    if result.variables.get("IVRSTATUS") != "SUCCESS":
        return None
    return _port(result.agi_calls[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return True
    return False


def _drain(stream: IO[str] | None, into: list[str]) -> None:
    """Keep reading a child's pipe (a full pipe would block its logging) into `into`."""
    if stream is not None:
        threading.Thread(target=lambda: into.extend(stream), daemon=True).start()


@pytest.fixture
def servers(tmp_path: Path, redis_server_url: str) -> Iterator[tuple[Server, Server]]:
    """Servers A and B: one Redis and prefix, their own state directories and ports."""
    prefix = f"two{uuid.uuid4().hex[:8]}:"
    pair: list[Server] = []
    try:
        with ThreadPoolExecutor(2) as pool:
            starting = {}
            for name in ("A", "B"):
                port = _free_port()
                config = tmp_path / f"server-{name}.yaml"
                config.write_text(
                    f"host: 127.0.0.1\nport: {port}\n"
                    f"redis_url: {redis_server_url}\nredis_prefix: '{prefix}'\n"
                    f"state_dir: {tmp_path / f'state-{name}'}\n"
                    "build_prompts_on_start: false\nshutdown_grace: 10\n",
                    encoding="utf-8",
                )
                starting[name, port] = pool.submit(start_serve, config)
            for (name, port), future in starting.items():
                process, banner = future.result(timeout=60)
                server = Server(name, port, process)
                pair.append(server)
                _drain(process.stdout, server.output)
                _drain(process.stderr, server.output)
                assert f"listening on 127.0.0.1:{port}" in banner[0], "".join(banner)
        yield pair[0], pair[1]
    finally:
        for server in pair:
            if server.process.poll() is None:
                server.process.kill()
            server.process.wait(10)

        async def forget() -> None:
            redis = open_async_client(redis_server_url, timeout=5.0)
            try:
                await forget_prefix(redis, prefix)
            finally:
                await redis.aclose()

        asyncio.run(forget())


async def _run_load(servers: tuple[Server, Server], victim: Server, how: signal.Signals) -> Load:
    """Calls from CALLERS callers until the victim is stopped and AFTER_STOP_CALLS more ended."""
    a, b = servers
    emulator = AsteriskEmulator(
        dialplan=Dialplan.load(REPO / "asterisk-conf" / "extensions.conf"), wall_limit=10.0
    )
    load = Load()
    running = True
    turn = iter(range(1_000_000))

    async def caller() -> None:
        while running:
            first, second = (a, b) if next(turn) % 2 == 0 else (b, a)
            started = time.monotonic()
            result = await emulator.run_dialplan(
                "ivr-entry",
                "84951234567",
                callerid="+79161234567",
                caller=CallerScript.parse("0"),
                now=MONDAY_10AM,
                channel_variables={"IVR_AGI": first.address, "IVR_AGI2": second.address},
                reply_delay=REPLY_DELAY,
            )
            load.placed.append(Placed(first.name, started, time.monotonic(), result))

    async def until(condition: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + DEADLINE
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {condition}")
            await asyncio.sleep(0.02)

    workers = [asyncio.ensure_future(caller()) for _ in range(CALLERS)]
    try:
        await until(
            "both servers to serve calls",
            lambda: min(load.served_by(a), load.served_by(b)) >= WARM_UP_CALLS,
        )
        victim.process.send_signal(how)
        if how == signal.SIGKILL:
            await asyncio.to_thread(victim.process.wait, 10)
        else:
            await until("the stopped server to refuse calls", lambda: _refuses(victim.port))
        load.stopped_at = time.monotonic()
        await until(
            f"{AFTER_STOP_CALLS} calls placed after the stop",
            lambda: len(load.placed_after_stop()) >= AFTER_STOP_CALLS,
        )
    finally:
        running = False
        # every call in progress ends by itself: none may be stuck
        await asyncio.wait_for(asyncio.gather(*workers), DEADLINE)
    return load


def _apps(result: DialplanResult) -> list[tuple[str, str]]:
    return [(run.app, run.data) for run in result.applications]


def _assert_served(placed: Placed, by: Server) -> None:
    """The caller heard the menu of `by`, chose the operator and reached the queue."""
    result = placed.result
    assert _served_by(result) == by.port, (placed.first, _statuses(result))
    assert result.variables["IVR_RESULT"] == "operator"
    assert any(prompt.endswith("main-greeting") for prompt in result.prompts)
    assert ("Queue", "operator,,,,120") in _apps(result)
    assert not any(data.startswith("IVR fallback") for _, data in _apps(result))


def _assert_fell_back(placed: Placed, on: Server) -> None:
    """Cut off on `on`: the dialplan's fallback (the support queue) took the call."""
    result = placed.result
    where = (placed.first, _statuses(result))
    [call] = result.agi_calls  # not replayed on the other server
    assert _port(call) == on.port and call.server_closed and not call.stuck, where
    assert call.agi_status == "SUCCESS" and result.variables["IVRSTATUS"] == "", where
    assert ("NoOp", "IVR fallback: AGISTATUS=SUCCESS IVRSTATUS=") in _apps(result)
    assert ("Queue", "support,,,,120") in _apps(result)


def _statuses(result: DialplanResult) -> list[tuple[int, str]]:
    return [(_port(call), call.agi_status) for call in result.agi_calls]


def _assert_nothing_stuck(load: Load) -> None:
    for placed in load.placed:
        result = placed.result
        assert not any(call.stuck for call in result.agi_calls), _statuses(result)
        assert result.ended == "hangup" and result.unknown_applications == []
        assert result.warnings == []


@pytest.mark.parametrize("victim_name", ["A", "B"])
def test_sigkill_mid_load_sends_new_calls_to_the_other_server(
    servers: tuple[Server, Server], victim_name: str
) -> None:
    victim, survivor = servers if victim_name == "A" else servers[::-1]
    started = time.monotonic()
    load = asyncio.run(_run_load(servers, victim, signal.SIGKILL))
    assert time.monotonic() - started < DEADLINE
    _assert_nothing_stuck(load)

    cut = []
    for placed in load.placed:
        if _served_by(placed.result) is None:
            _assert_fell_back(placed, on=victim)
            cut.append(placed)
    # the calls in progress on the killed server ended through the fallback...
    assert cut, "no call was in progress on the killed server"
    assert all(placed.started < load.stopped_at for placed in cut)
    # ...and every call placed after it died was served by the survivor
    after = load.placed_after_stop()
    assert len(after) >= AFTER_STOP_CALLS
    for placed in after:
        _assert_served(placed, by=survivor)
        expected = [(survivor.port, "SUCCESS")]
        if placed.first == victim.name:  # refused, then IVR_AGI2
            expected.insert(0, (victim.port, "FAILURE"))
        assert _statuses(placed.result) == expected
    assert any(placed.first == victim.name for placed in after)  # the failover was used
    assert survivor.process.poll() is None
    assert "Traceback" not in "".join(survivor.output)


def test_sigterm_mid_load_lets_calls_finish_and_sends_new_ones_to_the_other(
    servers: tuple[Server, Server],
) -> None:
    victim, survivor = servers
    started = time.monotonic()
    load = asyncio.run(_run_load(servers, victim, signal.SIGTERM))
    assert time.monotonic() - started < DEADLINE
    _assert_nothing_stuck(load)
    assert victim.process.wait(DEADLINE) == 0, "".join(victim.output)  # drained, exited
    for placed in load.placed:
        result = placed.result
        if _served_by(result) is None:
            # A connection the kernel queued just as the server stopped listening is
            # reset unanswered: Asterisk takes that as the script's end. Anything
            # else the stopped server had begun, it finished.
            [call] = result.agi_calls
            assert call.commands == [], _statuses(result)
            _assert_fell_back(placed, on=victim)
            continue
        # the calls it had begun finished on it; the rest went to the survivor
        on = victim if _served_by(result) == victim.port else survivor
        _assert_served(placed, by=on)
    after = load.placed_after_stop()
    assert len(after) >= AFTER_STOP_CALLS
    for placed in after:
        _assert_served(placed, by=survivor)
    assert any(placed.first == victim.name for placed in after)
    # calls were in progress on the stopping server and ended normally on it
    assert any(
        _served_by(p.result) == victim.port and p.ended > load.stopped_at for p in load.placed
    ), "no call was in progress on the stopped server"
    assert survivor.process.poll() is None
    assert "Traceback" not in "".join(survivor.output)
