"""No secret reaches a log line, a banner or a status, even at DEBUG level.

`ivr serve` runs with every secret it knows set - the AMI secret (right, or
wrong so the login fails and is logged), the dashboard password, the
webhook token (the webhook's host refuses the connection, so sending fails
and is logged), a password in the Redis URL's query - takes calls, answers
`ivr status`, and stops. Its whole output, and `ivr status`'s, must not
hold any of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serve_helpers import REPO, serve_env, start_serve

from fastagi.testing import AmiPeer, AsteriskEmulator, CallerScript

pytestmark = pytest.mark.system

DASHBOARD_PASSWORD = "dashboard-pass-7fa1c9e2"
WEBHOOK_TOKEN = "webhook-token-91c3b7d0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("ami_secret", ["s3cret", "wrong-secret-5d2e"])
def test_no_secret_is_logged_at_debug_level(
    tmp_path: Path, ami_peer: tuple[AmiPeer, int], ami_secret: str
) -> None:
    _, ami_port = ami_peer
    port = _free_port()
    state = tmp_path / "state"
    settings = {
        "IVR_STATE_DIR": str(state),
        "IVR_PORT": str(port),
        "IVR_SOUNDS_DIR": "",
        "IVR_LOG_LEVEL": "DEBUG",
        "IVR_AMI_HOST": "127.0.0.1",
        "IVR_AMI_PORT": str(ami_port),
        "IVR_AMI_SECRET": ami_secret,
        "IVR_DASHBOARD_LISTEN": f"127.0.0.1:{_free_port()}",
        "IVR_DASHBOARD_PASSWORD": DASHBOARD_PASSWORD,
        "IVR_WEBHOOK_URL": f"http://127.0.0.1:{_free_port()}/events",  # nothing listens
        "IVR_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
    }
    config = tmp_path / "absent.yaml"
    process, output = start_serve(config, settings, logs_with_banner=True)
    try:
        assert output and output[-1].startswith("Reload menus"), "".join(output)

        async def calls() -> list[str]:
            emulator = AsteriskEmulator()
            results = [
                await emulator.place_call(
                    "127.0.0.1", port, callerid=number, caller=CallerScript.parse("0")
                )
                for number in ("+79161110041", "+79161110042", "+79161110043")
            ]
            return [r.variables.get("IVRSTATUS", "") for r in results]

        assert asyncio.run(calls()) == ["SUCCESS"] * 3
        time.sleep(1.5)  # the webhook tries (and fails) to send; the AMI login ends one way
        status = subprocess.run(
            [sys.executable, "-m", "fastagi", "status"],
            env=serve_env(config, settings),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["calls_total"] == 3
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
        output.append(rest)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        pid_file = state / "redis.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
    everything = "".join(output) + status.stdout + status.stderr
    assert " DEBUG " in everything  # DEBUG lines were written
    assert "webhook" in everything.lower()  # the failed delivery was logged
    assert f"AMI ivr@127.0.0.1:{ami_port}" in everything  # and the AMI account, by name
    for secret in (ami_secret, DASHBOARD_PASSWORD, WEBHOOK_TOKEN):
        assert secret not in everything
