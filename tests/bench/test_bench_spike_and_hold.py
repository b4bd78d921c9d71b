"""`ivr bench spike` and `ivr bench hold` run the real server and report what it did.

Tiny numbers: the tests check that the tools place the calls, sort them
right and read the server; the speed figures are for docs/benchmarks.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fastagi.bench._load import Scenario
from fastagi.bench.cli import bench_command
from fastagi.bench.spike import classify
from fastagi.testing import CallResult

EXPECTED = ("ANSWER", 'STREAM FILE ivr/welcome ""')
SCENARIO = Scenario("main", "+79161234567", "", EXPECTED)


def _json_of(args: list[str]) -> dict[str, Any]:
    result = CliRunner().invoke(bench_command, args)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output[result.output.index("{") :])
    return report


def _result(lines: list[str], **fields: Any) -> CallResult:
    result = CallResult(uniqueid="1.1", channel="PJSIP/test", server_closed=True, **fields)
    result.command_lines.extend(lines)
    return result


def test_a_busy_answer_is_a_refusal_not_a_failure() -> None:
    refused = _result(['SET VARIABLE IVRSTATUS "BUSY"'], variables={"IVRSTATUS": "BUSY"})
    assert classify(refused, SCENARIO) == "refused"


def test_the_menu_commands_complete_a_call() -> None:
    assert classify(_result(list(EXPECTED)), SCENARIO) == "completed"


@pytest.mark.parametrize(
    "result",
    [
        _result(list(EXPECTED[:1])),  # cut short
        _result([], error="ConnectionResetError: reset"),  # dropped without a word
        _result(['SET VARIABLE IVRSTATUS "FAILED"'], variables={"IVRSTATUS": "FAILED"}),
        _result(list(EXPECTED), agi_status="FAILURE"),
    ],
)
def test_anything_else_is_a_failure(result: CallResult) -> None:
    assert classify(result, SCENARIO) not in ("completed", "refused")


@pytest.mark.system
def test_a_spike_over_the_limit_is_shed_with_busy_and_nothing_fails(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    report = _json_of(
        [
            "spike", "--rate", "10", "--factor", "10", "--steady-seconds", "2",
            "--spike-seconds", "2", "--call-seconds", "1.5", "--max-calls", "20",
            "--json", "--write-docs", "--docs", str(docs),
        ]
    )  # fmt: skip
    before, spike, after = (report["phases"][name] for name in ("before", "spike", "after"))
    assert (before["calls"], spike["calls"], after["calls"]) == (20, 200, 20)
    assert report["failed"] == 0, report["phases"]
    # Under the limit every call is admitted; the spike asks for ~10x the limit.
    assert before["refused"] == 0 and before["completed"] == 20
    assert spike["refused"] > 100
    assert spike["completed"] + spike["refused"] == 200
    # The limit held: at most 20 calls of ~1.5 s at once over a 2 s spike.
    assert spike["completed"] <= 20 * 3
    assert spike["refusal_ms"]["samples"] == spike["refused"]
    assert report["plan"]["max_calls"] == 20
    text = docs.read_text()
    assert "### Spike" in text and "ivr bench spike --rate 10 --factor 10" in text


@pytest.mark.system
def test_hold_brings_every_call_up_and_the_server_counts_them() -> None:
    report = _json_of(["hold", "--calls", "300", "--json"])
    assert (report["held"], report["failed"]) == (300, 0)
    assert report["server_active_calls"] == 300
    assert report["server_open_fds"] >= 300  # one socket per call
    assert report["rss_mib"] > report["rss_idle_mib"]
