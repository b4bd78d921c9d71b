"""Which servers `ivr bench` can measure, and the ratios it derives between them."""

from __future__ import annotations

from typing import Any

import pytest

from fastagi.bench.report import ratios
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
