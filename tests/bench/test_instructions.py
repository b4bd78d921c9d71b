"""`ivr bench instructions`: the servers' instructions per call, counted under callgrind."""

from __future__ import annotations

import shutil

import pytest

from fastagi.bench.instructions import count_instructions, dumped_instructions, markdown
from fastagi.bench.runner import BenchError


def test_the_count_is_read_from_the_dumps_summary_line() -> None:
    dump = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 2465976301\n"
    assert dumped_instructions(dump) == 2_465_976_301
    with pytest.raises(BenchError, match="no summary"):
        dumped_instructions("events: Ir\n")


def test_an_unknown_peer_is_refused_before_anything_starts() -> None:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    with pytest.raises(BenchError, match="unknown peer"):
        count_instructions(["ours", "asterisk-java"], calls=1, warmup=0, concurrency=1)


@pytest.mark.system
def test_lookups_cost_instructions_that_the_server_without_them_does_not_spend() -> None:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    result = count_instructions(
        ["ours-nostream", "ours-nocallers"], calls=40, warmup=20, concurrency=10
    )
    with_lookups = result["peers"]["ours-nostream"]["instructions_per_call"]
    without = result["peers"]["ours-nocallers"]["instructions_per_call"]
    assert 200_000 < without < with_lookups
    ratio = round(without / with_lookups, 3)
    assert result["ratios"] == {"ours-nostream_over_ours-nocallers": ratio}
    assert "| ours-nostream |" in markdown(result)
