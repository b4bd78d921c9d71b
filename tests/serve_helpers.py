"""`ivr serve` as a child process for the tests that check its endpoints (imported by bare name)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def serve_env(config: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a test's `ivr serve` (and of the `ivr` commands that talk to
    it): no IVR_* or REDIS_URL from the test's own, then `env`, and `config`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IVR_") and k != "REDIS_URL"}
    return {**clean, **(env or {}), "IVR_CONFIG": str(config)}


def start_serve(
    config: Path, env: Mapping[str, str] | None = None, *, logs_with_banner: bool = False
) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `ivr serve` with `serve_env(config, env)` and read its banner up to its last
    line, or the end of its output. `logs_with_banner`: its log (stderr) comes on the
    same pipe, in order, instead of a pipe of its own."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fastagi", "serve"],
        env=serve_env(config, env),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if logs_with_banner else subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner: list[str] = []
    for line in process.stdout:
        banner.append(line)
        if line.startswith("Reload menus"):
            break
    return process, banner
