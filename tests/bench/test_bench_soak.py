"""`ivr bench soak` runs the real server and reports calls, memory and descriptors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fastagi.cli import main

pytestmark = pytest.mark.system


def test_a_short_soak_reports_every_call_and_its_samples() -> None:
    result = CliRunner().invoke(
        main, ["bench", "soak", "--minutes", "0.1", "--rate", "20", "--sample-every", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["calls"] == 120
    assert (report["completed"], report["failed"]) == (120, 0)
    assert len(report["samples"]) >= 5
    assert report["rss_mib"]["max"] > 10  # a real process was measured
    assert report["fds"]["max"] > 3
    assert report["workload"] == "demo-mix"
    # Eight kinds of call take turns, from one command (a personal menu's greeting
    # and its result) to a queue, voicemail and transfer: the commands vary by kind.
    assert 120 * 3 < report["per_command_ms"]["samples"] < 120 * 12
