"""Small statistics helpers: nearest-rank percentiles in milliseconds, CPU shares."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["MIB", "percentile", "percentiles_ms", "share"]

MIB = 1024 * 1024


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0.0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def percentiles_ms(seconds: Iterable[float], *, p999: bool = False) -> dict[str, float]:
    """p50, p90, p99 (and p99.9), max and the sample count; values in ms, 3 decimals."""
    ordered = sorted(seconds)
    wanted = {"p50": 0.50, "p90": 0.90, "p99": 0.99}
    if p999:
        wanted["p999"] = 0.999
    result = {name: round(percentile(ordered, q) * 1000, 3) for name, q in wanted.items()}
    result["max"] = round((ordered[-1] if ordered else 0.0) * 1000, 3)
    result["samples"] = len(ordered)
    return result


def share(used: float, wall: float) -> float:
    """`used` CPU seconds over `wall` seconds, as a percentage of one core (1 decimal)."""
    return round(100.0 * used / wall, 1) if wall > 0 else 0.0
