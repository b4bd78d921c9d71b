"""`ivr serve` as a real process: embedded Redis, a call, reload, rollback, SIGTERM drain."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastagi.testing import AmiPeer, AsteriskEmulator, CallerScript, CallResult

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.system


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    def __init__(self, tmp: Path, **extra_env: str) -> None:
        self.menus = tmp / "menus"
        shutil.copytree(REPO / "ivr_menus", self.menus, ignore=shutil.ignore_patterns("scenarios"))
        self.state = tmp / "state"
        self.prompts = tmp / "prompts"
        shutil.copytree(REPO / "prompts", self.prompts, ignore=shutil.ignore_patterns("sounds"))
        self.sounds = tmp / "sounds"
        self.port = _free_port()
        self.env = {
            **os.environ,
            "IVR_STATE_DIR": str(self.state),
            "IVR_MENUS_DIR": str(self.menus),
            "IVR_PROMPTS_DIR": str(self.prompts),
            "IVR_SOUNDS_DIR": str(self.sounds),
            "IVR_TTS_ENGINE": "espeak-ng",
            "IVR_PORT": str(self.port),
            "IVR_CONFIG": str(tmp / "absent.yaml"),
            **extra_env,
        }
        self.env.pop("REDIS_URL", None)  # the README path: the embedded server
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fastagi", "serve"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.banner: list[str] = []
        while len(self.banner) < 20:  # up to its last line, or the end of its output
            line = self.process.stdout.readline()
            self.banner.append(line)
            if not line or line.startswith("Reload menus"):
                break

    def ivr(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fastagi", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stop(self) -> None:
        """Kill the server if it still runs, and its embedded Redis (it goes with its last
        user, which a killed server never tells)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        pid_file = self.state / "redis.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)

    async def slow_calls(self, count: int, reply_delay: float) -> list[CallResult]:
        """`count` calls at once (support, technical), each reply `reply_delay` s late."""
        emulator = AsteriskEmulator()  # one Asterisk: distinct uniqueids
        return list(await asyncio.gather(*(
            emulator.place_call("127.0.0.1", self.port, script="main",
                                caller=CallerScript.parse("2,1"), reply_delay=reply_delay)
            for _ in range(count)
        )))  # fmt: skip

    def call(
        self, script: str = "main", digits: str = "0", delay: float = 0.0, callerid: str = ""
    ) -> CallResult:
        emulator = AsteriskEmulator()
        return asyncio.run(
            emulator.place_call(
                "127.0.0.1",
                self.port,
                script=script,
                caller=CallerScript.parse(digits),
                reply_delay=delay,
                **({"callerid": callerid} if callerid else {}),
            )
        )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def test_serve_prints_where_it_listens_and_answers_a_call(served: Served) -> None:
    assert f"listening on 127.0.0.1:{served.port}" in served.banner[0]
    # the demo prompts were built before it listened, offline
    prompts = next(line for line in served.banner if line.startswith("Prompts:"))
    assert re.search(r"built (\d+) \(espeak-ng \1\), unchanged 0, failed 0", prompts), prompts
    assert (served.sounds / "ru" / "ivr" / "main-greeting.wav").is_file()
    assert any("ivr simulate main" in line for line in served.banner)
    assert served.call(digits="0").variables["IVR_RESULT"] == "operator"
    status = served.ivr("status")
    assert status.returncode == 0, status.stderr
    assert '"calls_total": 1' in status.stdout


def test_reload_with_a_bad_file_keeps_the_running_menus(served: Served) -> None:
    main = served.menus / "main.yaml"
    good = main.read_text()
    main.write_text(good.replace("start: welcome", "start: welcom"))
    reload = served.ivr("reload")
    assert reload.returncode == 1
    assert "main.yaml:" in reload.stdout and "welcom" in reload.stdout
    assert served.call(digits="0").variables["IVR_RESULT"] == "operator"

    # A good change is taken; rollback restores the version before it.
    main.write_text(good.replace("result: operator", "result: reception"))
    assert served.ivr("reload").returncode == 0
    assert served.call(digits="0").variables["IVR_RESULT"] == "reception"
    assert served.ivr("rollback").returncode == 0
    assert served.call(digits="0").variables["IVR_RESULT"] == "operator"


def test_sighup_reloads(served: Served) -> None:
    main = served.menus / "main.yaml"
    main.write_text(main.read_text().replace("result: operator", "result: reception"))
    served.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if served.call(digits="0").variables.get("IVR_RESULT") == "reception":
            break
        time.sleep(0.1)
    else:
        pytest.fail("SIGHUP did not reload the menus")


def test_sigterm_lets_the_call_in_progress_finish(served: Served) -> None:
    async def slow_call_then_sigterm() -> CallResult:
        emulator = AsteriskEmulator()
        call = asyncio.ensure_future(
            emulator.place_call(
                "127.0.0.1", served.port, script="main",
                caller=CallerScript.parse("0"), reply_delay=0.2,
            )
        )  # fmt: skip
        await asyncio.sleep(0.3)  # the call is under way
        served.process.send_signal(signal.SIGTERM)
        return await call

    result = asyncio.run(slow_call_then_sigterm())
    assert result.variables.get("IVR_RESULT") == "operator"
    assert result.variables.get("IVRSTATUS") == "SUCCESS"
    assert served.process.wait(30) == 0
    # New calls are refused once it has stopped, and its embedded Redis is gone.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", served.port), timeout=1).close()
    assert not (served.state / "redis.pid").exists()


def test_serve_refuses_to_start_on_bad_menus(tmp_path: Path) -> None:
    menus = tmp_path / "menus"
    menus.mkdir()
    (menus / "main.yaml").write_text("menu: main\nstart: a\nnodes:\n  a: {type: bogus}\n")
    env = {**os.environ, "IVR_MENUS_DIR": str(menus), "IVR_STATE_DIR": str(tmp_path / "s"),
           "IVR_PORT": str(_free_port()), "IVR_CONFIG": str(tmp_path / "absent.yaml")}  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "fastagi", "serve"], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert run.returncode == 2
    assert "main.yaml:4" in run.stderr


def test_reload_takes_a_changed_catalogue_and_refuses_a_broken_one(served: Served) -> None:
    vip = "+79161234567"
    assert served.ivr("callers", "set", vip, "first_name=Ivan", "tags=vip").returncode == 0
    before = served.call("vip", "1", callerid=vip).prompts[0]
    assert before.startswith("ivr/dynamic/")

    catalogue = served.prompts / "catalogue.yaml"
    good = catalogue.read_text()
    catalogue.write_text(good.replace("Welcome back, {caller.first_name}.", "Hi {caller.oops"))
    reload = served.ivr("reload")
    assert reload.returncode == 1
    assert "catalogue.yaml:" in reload.stdout
    assert served.call("vip", "1", callerid=vip).prompts[0] == before  # the running text stays

    catalogue.write_text(good.replace("Welcome back,", "Good to hear from you again,"))
    assert served.ivr("reload").returncode == 0
    after = served.call("vip", "1", callerid=vip).prompts[0]
    assert after.startswith("ivr/dynamic/") and after != before


@pytest.mark.parametrize(("secret", "state"), [("s3cret", "connected"), ("wrong", "failed")])
def test_serve_logs_in_to_ami_and_status_says_how_it_went(
    tmp_path: Path, ami_peer: tuple[AmiPeer, int], secret: str, state: str
) -> None:
    _, port = ami_peer
    served = Served(
        tmp_path, IVR_AMI_HOST="127.0.0.1", IVR_AMI_PORT=str(port), IVR_AMI_SECRET=secret
    )
    try:
        assert any(f"Outbound: AMI ivr@127.0.0.1:{port}" in line for line in served.banner)
        deadline = time.monotonic() + 10
        outbound: dict[str, object] = {}
        while time.monotonic() < deadline:
            status = served.ivr("status")
            outbound = json.loads(status.stdout)["outbound"]
            if outbound["ami"]["state"] == state:  # type: ignore[index]
                break
            time.sleep(0.2)
        assert outbound["ami"]["state"] == state, outbound  # type: ignore[index]
        # the server serves calls whatever became of the AMI login
        assert served.call(digits="0").variables["IVR_RESULT"] == "operator"
    finally:
        served.stop()


def test_the_calls_of_ivr_serve_are_in_the_report(served: Served) -> None:
    assert any(line.startswith("Events: Redis stream events") for line in served.banner)
    emulator = AsteriskEmulator()  # one Asterisk: three distinct uniqueids

    async def three_calls() -> list[CallResult]:
        return [
            await emulator.place_call(
                "127.0.0.1", served.port, script="main", caller=CallerScript.parse("0")
            )
            for _ in range(3)
        ]

    results = asyncio.run(three_calls())
    assert [r.variables["IVR_RESULT"] for r in results] == ["operator"] * 3
    deadline = time.monotonic() + 10
    report: dict[str, object] = {}
    while time.monotonic() < deadline:
        done = served.ivr("report", "--format", "json")
        assert done.returncode == 0, done.stderr
        if done.stdout.startswith("{"):
            report = json.loads(done.stdout)
            if report["contacts"] == 3:
                break
        time.sleep(0.2)
    assert report["contacts"] == 3
    assert report["handed_off"] == 3  # the operator result goes back to the dialplan


def test_a_restart_with_calls_in_flight_sends_them_to_the_fallback_and_keeps_their_events(
    tmp_path: Path,
) -> None:
    config = tmp_path / "server.yaml"
    config.write_text("shutdown_grace: 0.5\n")
    served = Served(tmp_path, IVR_CONFIG=str(config))
    try:
        # each reply takes 0.3 s: the calls are still in the menus when SIGTERM comes
        calls = asyncio.run(_with_sigterm(served.slow_calls(5, 0.3), served, after=1.0))
        assert served.process.wait(15) == 0
        # none of them got a menu result: Asterisk's dialplan takes them to its fallback
        # (ivr-entry: a person in business hours, the general mailbox after)
        for call in calls:
            assert call.variables.get("IVRSTATUS") != "SUCCESS"
            assert call.agi_status in ("FAILURE", "SUCCESS") and not call.stuck
        # restarted: the calls cut at shutdown are in the event stream all the same
        again = Served(tmp_path / "again", IVR_CONFIG=str(config), IVR_STATE_DIR=str(served.state))
        try:
            done = again.ivr("report", "--format", "json")
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["contacts"] == len(calls)
        finally:
            again.stop()
    finally:
        served.stop()


async def _with_sigterm(
    work: Any, served: Served, *, after: float, how: signal.Signals = signal.SIGTERM
) -> Any:
    task = asyncio.ensure_future(work)
    await asyncio.sleep(after)
    served.process.send_signal(how)
    return await task


def test_a_crash_with_calls_in_flight_keeps_their_events_up_to_seconds_before(
    tmp_path: Path,
) -> None:
    """SIGKILL (a crash, the OOM killer): nothing is written at the end, but what the
    calls in progress did up to the last periodic write (every 5 s) is in the stream."""
    served = Served(tmp_path)
    try:
        # each reply takes 1 s: the calls are in the menus for ~8 s
        calls = asyncio.run(
            _with_sigterm(served.slow_calls(4, 1.0), served, after=6.5, how=signal.SIGKILL)
        )
        assert served.process.wait(15) == -signal.SIGKILL
        assert all(call.variables.get("IVRSTATUS") != "SUCCESS" for call in calls)
        again = Served(tmp_path / "again", IVR_STATE_DIR=str(served.state))
        try:
            done = again.ivr("events", "export", "--format", "jsonl")
            assert done.returncode == 0, done.stderr
            events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        finally:
            again.stop()
    finally:
        served.stop()
    for call in calls:
        mine = [e for e in events if e.get("uid") == call.uniqueid]
        kinds = [e["kind"] for e in mine]
        assert kinds[:1] == ["call_start"], (call.uniqueid, kinds)
        assert "node" in kinds and "call_end" not in kinds  # how far it got, and no more
