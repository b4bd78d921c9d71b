"""Which servers `ivr bench` can measure, and the ratios it derives between them."""

from __future__ import annotations

from typing import Any

import pytest

from fastagi.bench.report import ratios, targets
from fastagi.bench.runner import BenchOptions


def _peer(per_cpu_s: float) -> dict[str, Any]:
    return {"throughput": {"setups_per_s": per_cpu_s / 2, "setups_per_cpu_s": per_cpu_s}}


def test_lookups_alone_are_an_optional_peer() -> None:
    assert BenchOptions(peers=("ours", "ours-nostream", "ours-nocallers")).peers[1] == (
        "ours-nostream"
    )
    with pytest.raises(ValueError, match="unknown peer"):
        BenchOptions(peers=("ours", "asterisk-java"))


def test_the_cost_of_lookups_and_of_the_stream_are_told_apart() -> None:
    peers = {"ours": _peer(2500.0), "ours-nostream": _peer(2700.0), "ours-nocallers": _peer(3300.0)}
    found = ratios(peers)
    assert found["ours_over_ours-nocallers"]["setups_per_cpu_s"] == 0.76
    assert found["ours-nostream_over_ours-nocallers"]["setups_per_cpu_s"] == 0.82
    assert found["ours_over_ours-nostream"]["setups_per_cpu_s"] == 0.93
    assert "ours_over_panoramisk" not in found  # not measured, not made up


def _measured(wall: float, per_cpu_s: float, server_pct: float, generator_pct: float) -> Any:
    return {
        "throughput": {
            "setups_per_s": wall,
            "setups_per_cpu_s": per_cpu_s,
            "server_cpu_pct": server_pct,
            "generator_cpu_pct": generator_pct,
        },
        "hold": {"held": 100, "rss_mib": 60.0},
        "rate": {
            "overhead_ms": {"p99": 0.5},
            "overhead_by_command_ms": [{"p99": 0.4}],
            "offered_per_s": 200.0,
            "seconds": 3.0,
        },
    }


def _lookup_target(peers: dict[str, Any]) -> dict[str, Any]:
    found = targets(BenchOptions(hold=100), peers, 6)
    return next(t for t in found if t["target"].startswith("caller lookups cost"))


def test_the_lookup_cost_is_judged_on_setups_per_second_when_both_servers_are_the_limit() -> None:
    # Both saturated: 3100 of 3600 setups/s is 0.86, whatever the CPU-second figures say.
    saturated = _lookup_target(
        {
            "ours": _measured(3100.0, 3200.0, 97.0, 70.0),
            "ours-nocallers": _measured(3600.0, 4000.0, 96.0, 75.0),
        }
    )
    assert saturated["met"] is True and saturated["basis"] == "setups/s, both servers saturated"
    # The generator held the plain server back: its wall rate is a floor, CPU decides.
    bound = _lookup_target(
        {
            "ours": _measured(2300.0, 2500.0, 92.0, 85.0),
            "ours-nocallers": _measured(2600.0, 3400.0, 78.0, 95.0),
        }
    )
    assert bound["met"] is False and "generator limited" in bound["basis"]
    # Neither generator saturated, but ours used 82 % of its core: something else
    # (its Redis, sharing the generator's core) set its pace, so CPU decides.
    idle = _lookup_target(
        {
            "ours": _measured(2750.0, 3370.0, 82.0, 64.0),
            "ours-nocallers": _measured(3530.0, 3735.0, 95.0, 80.0),
        }
    )
    assert idle["met"] is True and "ours under 90% of its core" in idle["basis"]


def test_the_rounds_ratios_median_pairs_rounds_that_ran_back_to_back() -> None:
    ours, plain = _measured(2700.0, 2900.0, 95.0, 70.0), _measured(3000.0, 3200.0, 95.0, 80.0)
    # One slow spell hit ours' third round only: the totals move, the median barely.
    ours["throughput"]["round_setups_per_s"] = {"each": [2700.0, 2800.0, 1000.0, 2600.0]}
    plain["throughput"]["round_setups_per_s"] = {"each": [3000.0, 3100.0, 3000.0, 2900.0]}
    ratio = ratios({"ours": ours, "ours-nocallers": plain})["ours_over_ours-nocallers"]
    assert ratio["setups_per_s_round_median"] == 0.9  # of 0.9, 0.903, 0.333, 0.897
    assert (
        "median of the rounds' ratios 0.9"
        in _lookup_target({"ours": ours, "ours-nocallers": plain})["value"]
    )
    del ours["throughput"]["round_setups_per_s"]  # results of an older bench
    assert (
        ratios({"ours": ours, "ours-nocallers": plain})["ours_over_ours-nocallers"][
            "setups_per_s_round_median"
        ]
        is None
    )
