"""deploy/fastagi-ivr.service: runs `ivr serve`, reloads on SIGHUP, waits for calls, is hardened."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

from fastagi.config import ServerSettings

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "fastagi-ivr.service"


def _service() -> dict[str, list[str]]:
    """The [Service] keys, each with every value it is given (systemd allows repeats)."""
    values: dict[str, list[str]] = {}
    section = None
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_unit_parses_and_has_its_sections() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT, encoding="utf-8")
    assert {"Unit", "Service", "Install"} <= set(parser.sections())
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_it_runs_and_reloads_the_server() -> None:
    service = _service()
    assert service["ExecStart"] == ["/opt/fastagi-ivr/.venv/bin/ivr serve"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["Restart"] == ["on-failure"]
    assert service["User"] == ["ivr"]
    assert service["WorkingDirectory"] == ["/opt/fastagi-ivr"]
    assert service["EnvironmentFile"] == ["-/etc/fastagi-ivr/env"]


def test_systemd_waits_longer_than_the_calls_get() -> None:
    grace = ServerSettings().shutdown_grace
    (timeout,) = _service()["TimeoutStopSec"]
    assert float(timeout) > grace


def test_it_is_hardened() -> None:
    service = _service()
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert service[key] == ["yes"], key
    assert service["ProtectSystem"] == ["strict"]
    writable = " ".join(service["ReadWritePaths"]).split()
    assert "/var/lib/fastagi-ivr" in writable
    assert "/opt/fastagi-ivr/prompts/sounds" in writable
    assert service["CapabilityBoundingSet"] == [""]
    # ivr serve's state (embedded Redis, control socket) is the writable state directory.
    state = [v for v in service["Environment"] if v.startswith("IVR_STATE_DIR=")]
    assert state == ["IVR_STATE_DIR=/var/lib/fastagi-ivr"]


def test_systemd_itself_finds_nothing_wrong_with_the_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify` reads the unit as systemd would (unknown keys, bad values,
    a missing binary); the installed path is pointed at this checkout's `ivr`."""
    ivr = Path(sys.executable).with_name("ivr")
    assert ivr.exists(), "the tests run from an installed checkout (pip install -e .)"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/fastagi-ivr/.venv/bin/ivr", str(ivr)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip(), done.stderr.strip()) == (0, "", "")
