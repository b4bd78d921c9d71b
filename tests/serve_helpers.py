"""`ivr serve` as a child process for the tests that check its endpoints (imported by bare name)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_serve(
    config: Path, env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `ivr serve` with `config` (no IVR_* or REDIS_URL from the test's environment,
    plus `env`) and read its banner up to its last line, or the end of its output."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IVR_") and k != "REDIS_URL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "fastagi", "serve"],
        env={**clean, **(env or {}), "IVR_CONFIG": str(config)},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner: list[str] = []
    for line in process.stdout:
        banner.append(line)
        if line.startswith("Reload menus"):
            break
    return process, banner
