"""`ivr bench` end to end with tiny numbers: every server completes every call, same work.

Real processes, real TCP, the real emulator. Nothing here asserts speed: the
machines are noisy, and the bench reports timings, it does not judge them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fastagi.bench import report
from fastagi.bench.cli import bench_command
from fastagi.bench.runner import PEERS

pytestmark = pytest.mark.system

CALLS = 20
HOLD = 20
RATE = 20


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    docs = tmp_path_factory.mktemp("docs") / "benchmarks.md"
    docs.write_text(f"# Benchmarks\n\nHand-written reading.\n\n{report.BEGIN}\nold\n{report.END}\n")
    args = [
        "--quick",
        *("--calls", str(CALLS), "--concurrency", "5", "--rounds", "2"),
        *("--rate", str(RATE), "--rate-seconds", "1", "--hold", str(HOLD)),
        *("--peers", ",".join(PEERS), "--json", "--write-docs", "--docs", str(docs)),
    ]
    try:
        runner = CliRunner(mix_stderr=False)  # click 8.1; 8.2 always keeps stderr apart
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(bench_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), docs


def test_results_have_every_key(bench_run: tuple[dict[str, Any], Path]) -> None:
    results, _ = bench_run
    assert set(results) >= {
        "command",
        "date",
        "machine",
        "options",
        "scenario",
        "pinning",
        "peers",
        "ratios",
        "targets",
    }
    assert results["command"].startswith("ivr bench ")
    assert set(results["peers"]) == set(PEERS)
    expected = {f"ours_over_{peer}" for peer in PEERS if peer != "ours"}
    expected |= {"ours-nocallers_over_panoramisk", "ours-nocallers_over_bare"}
    assert set(results["ratios"]) == expected
    assert {t["target"] for t in results["targets"]}  # five targets, judged or "not measured"
    for peer in results["peers"].values():
        assert set(peer) >= {"throughput", "rate", "hold", "failed_calls"}
        assert set(peer["throughput"]) >= {
            "setups_per_s",
            "overhead_ms",
            "server_cpu_pct",
            "setups_per_cpu_s",
            "generator_cpu_pct",
        }
        assert set(peer["rate"]["overhead_ms"]) >= {"p50", "p99", "p999"}
        assert set(peer["hold"]) >= {"held", "rss_mib", "hwm_mib"}


def test_every_peer_completed_every_call_with_the_same_commands(
    bench_run: tuple[dict[str, Any], Path],
) -> None:
    results, _ = bench_run
    count = results["scenario"]["command_count"]
    assert count == len(results["scenario"]["commands"]) >= 2
    for name, peer in results["peers"].items():
        throughput, rate, hold = peer["throughput"], peer["rate"], peer["hold"]
        assert (throughput["completed"], throughput["failed"]) == (CALLS, 0), name
        assert throughput["command_counts"] == {str(count): CALLS}, name
        assert rate["failed"] == 0 and rate["completed"] == rate["calls"] == RATE, name
        assert rate["command_counts"] == {str(count): RATE}, name
        assert (hold["held"], hold["failed"]) == (HOLD, 0), name
        assert peer["failed_calls"] == 0, name
        assert throughput["overhead_ms"]["samples"] == CALLS * count, name


def test_memory_and_cpu_were_read(bench_run: tuple[dict[str, Any], Path]) -> None:
    results, _ = bench_run
    for name, peer in results["peers"].items():
        assert peer["hold"]["rss_mib"] > 0, name
        assert peer["hold"]["hwm_mib"] >= peer["hold"]["rss_mib"], name
        assert peer["throughput"]["setups_per_s"] > 0, name
    assert results["peers"]["ours"]["hold"]["server_active_calls"] == HOLD


def test_the_embedded_redis_is_measured_apart_and_kept_off_the_server_core(
    bench_run: tuple[dict[str, Any], Path],
) -> None:
    results, _ = bench_run
    peers, server_cpu = results["peers"], results["pinning"]["server_cpu"]
    ours = peers["ours"]
    # The lookups, history and stream make Redis work for every call...
    assert ours["throughput"]["redis_cpu_ms_per_call"] > 0
    # ...on a core of its own, not the one the server was pinned to.
    if server_cpu is not None:
        assert ours["pid_affinity"] == [server_cpu]
        assert ours["redis_affinity"] and server_cpu not in ours["redis_affinity"]
    for name in ("panoramisk", "bare"):  # no Redis of their own
        assert peers[name]["throughput"]["redis_cpu_ms_per_call"] is None, name
        assert peers[name]["redis_affinity"] is None, name


def test_docs_section_replaced_between_markers(bench_run: tuple[dict[str, Any], Path]) -> None:
    results, docs = bench_run
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n\nHand-written reading.\n")
    assert "\nold\n" not in text
    assert text.count(report.BEGIN) == 1 and text.count(report.END) == 1
    assert results["command"] in text
    for name in PEERS:
        assert f"| {name} |" in text
