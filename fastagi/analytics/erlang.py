"""Erlang B and Erlang C staffing (pure math: numbers in, numbers out).

Erlang B sizes lines: a call that finds every line busy is lost. Erlang C
sizes agents for a queue: a call that finds every agent busy waits (calls
arrive at random, handle times are exponential, nobody abandons). docs/erlang.md
explains each figure; the formulas:

- traffic A (erlangs) = calls per hour x AHT / 3600;
- Erlang B by its recurrence B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1)),
  which never forms a factorial or a power, so hundreds of erlangs are safe;
- Erlang C from B: C = N B / (N - A (1 - B)) when N > A, else 1 (the queue
  never drains);
- service level within t seconds = 1 - C exp(-(N - A) t / AHT);
- ASA = C AHT / (N - A); occupancy = A / N.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

__all__ = [
    "MAX_TRAFFIC",
    "IntervalStaffing",
    "Staffing",
    "agents_for",
    "asa",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "parse_fraction",
    "parse_target",
    "service_level",
    "staffing_at",
    "staffing_per_interval",
    "staffing_table",
    "traffic_erlangs",
    "trunk_capacity",
    "trunks_for",
    "wait_longer_than",
    "with_shrinkage",
]

#: The largest traffic accepted (erlangs). Far beyond any single queue; it keeps a
#: typo (calls per day given as per hour, AHT in milliseconds) from a long loop.
MAX_TRAFFIC: Final = 100_000.0


# -- validation --------------------------------------------------------------


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def _positive(name: str, value: float) -> float:
    number = _finite(name, value)
    if number <= 0:
        raise ValueError(f"{name} must be greater than 0, got {value!r}")
    return number


def _non_negative(name: str, value: float) -> float:
    number = _finite(name, value)
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return number


def _traffic(value: float) -> float:
    traffic = _non_negative("traffic", value)
    if traffic > MAX_TRAFFIC:
        raise ValueError(
            f"traffic of {traffic:g} erlangs is beyond this calculator (at most {MAX_TRAFFIC:g});"
            " check the units: calls per hour and AHT in seconds"
        )
    return traffic


def _agents(value: int, name: str = "agents") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return value


def _share(name: str, value: float, *, allow_one: bool) -> float:
    number = _finite(name, value)
    if number <= 0 or number > 1 or (number == 1 and not allow_one):
        upper = "1]" if allow_one else "1)"
        raise ValueError(f"{name} must be in (0, {upper}, got {value!r}")
    return number


# -- the formulas ------------------------------------------------------------


def traffic_erlangs(calls_per_hour: float, aht_s: float) -> float:
    """Offered traffic in erlangs: calls per hour x AHT (s) / 3600."""
    calls = _positive("calls per hour", calls_per_hour)
    aht = _positive("AHT", aht_s)
    return _traffic(calls * aht / 3600.0)


def _blocking_steps(traffic: float) -> Iterator[float]:
    """B(0), B(1), B(2), ... for `traffic` erlangs, one recurrence step at a time."""
    blocking = 1.0
    yield blocking
    n = 0
    while True:
        n += 1
        carried = traffic * blocking
        blocking = carried / (n + carried)
        yield blocking


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability: the share of calls lost when `agents` lines carry `traffic`."""
    traffic = _traffic(traffic)
    agents = _agents(agents)
    blocking = 1.0
    for n in range(1, agents + 1):
        carried = traffic * blocking
        blocking = carried / (n + carried)
    return blocking


def _c_from_b(traffic: float, agents: int, blocking: float) -> float:
    if agents <= traffic:
        return 1.0
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a call waits at all; 1.0 when agents <= traffic."""
    traffic = _traffic(traffic)
    agents = _agents(agents)
    return _c_from_b(traffic, agents, erlang_b(traffic, agents))


def _sl_from_c(traffic: float, agents: int, aht: float, target: float, wait: float) -> float:
    if agents <= traffic:
        return 0.0
    return 1.0 - wait * math.exp(-(agents - traffic) * target / aht)


def service_level(traffic: float, agents: int, aht_s: float, target_s: float) -> float:
    """Share of calls answered within `target_s` seconds (0.0 when agents <= traffic)."""
    aht = _positive("AHT", aht_s)
    target = _non_negative("target seconds", target_s)
    wait = erlang_c(traffic, agents)
    return _sl_from_c(float(traffic), agents, aht, target, wait)


def wait_longer_than(traffic: float, agents: int, aht_s: float, wait_s: float) -> float:
    """Probability that a call waits more than `wait_s` seconds: 1 - service level at wait_s."""
    return 1.0 - service_level(traffic, agents, aht_s, wait_s)


def asa(traffic: float, agents: int, aht_s: float) -> float:
    """Average speed of answer in seconds, over all calls (inf when agents <= traffic)."""
    aht = _positive("AHT", aht_s)
    wait = erlang_c(traffic, agents)
    if agents <= traffic:
        return math.inf
    return wait * aht / (agents - traffic)


def occupancy(traffic: float, agents: int) -> float:
    """Share of the agents' time spent on calls: traffic / agents, at most 1.0."""
    traffic = _traffic(traffic)
    agents = _agents(agents)
    if agents == 0:
        raise ValueError("occupancy needs at least one agent")
    return min(traffic / agents, 1.0)


def trunks_for(traffic: float, blocking: float = 0.01) -> int:
    """The fewest lines (Erlang B) that lose at most `blocking` of `traffic`."""
    traffic = _traffic(traffic)
    target = _share("blocking", blocking, allow_one=False)
    for n, value in enumerate(_blocking_steps(traffic)):
        if value <= target:
            return n
    raise AssertionError("unreachable: Erlang B tends to 0")  # pragma: no cover


def trunk_capacity(trunks: int, blocking: float = 0.01) -> float:
    """The most traffic (erlangs) `trunks` lines carry while losing at most `blocking`."""
    trunks = _agents(trunks, "trunks")
    target = _share("blocking", blocking, allow_one=False)
    if trunks == 0:
        return 0.0
    low, high = 0.0, float(trunks)
    while erlang_b(high, trunks) <= target:  # pragma: no cover - B(N, N) > 1% for any N
        high *= 2
    for _ in range(100):
        middle = (low + high) / 2
        if erlang_b(middle, trunks) <= target:
            low = middle
        else:
            high = middle
    return low


# -- staffing ----------------------------------------------------------------


@dataclass(frozen=True)
class Staffing:
    """The figures for one number of agents on a queue."""

    agents: int
    traffic_erlangs: float
    service_level: float  # share answered within the target seconds
    probability_wait: float  # Erlang C: share of calls that wait at all
    asa_s: float  # average speed of answer over all calls, seconds
    occupancy: float  # traffic / agents

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _figures(traffic: float, agents: int, blocking: float, aht: float, target: float) -> Staffing:
    wait = _c_from_b(traffic, agents, blocking)
    return Staffing(
        agents=agents,
        traffic_erlangs=traffic,
        service_level=_sl_from_c(traffic, agents, aht, target, wait),
        probability_wait=wait,
        asa_s=math.inf if agents <= traffic else wait * aht / (agents - traffic),
        occupancy=min(traffic / agents, 1.0) if agents else 1.0,
    )


def staffing_at(traffic: float, agents: int, aht_s: float, *, target_s: float = 20) -> Staffing:
    """Every figure for `agents` agents answering `traffic` erlangs."""
    traffic = _traffic(traffic)
    agents = _agents(agents)
    aht = _positive("AHT", aht_s)
    target = _non_negative("target seconds", target_s)
    return _figures(traffic, agents, erlang_b(traffic, agents), aht, target)


def _meets(row: Staffing, sl_target: float, max_wait: float | None, max_occ: float | None) -> bool:
    if row.agents <= row.traffic_erlangs or row.service_level < sl_target:
        return False
    if max_wait is not None and row.asa_s > max_wait:
        return False
    return max_occ is None or row.occupancy <= max_occ


def agents_for(
    calls_per_hour: float,
    aht_s: float,
    *,
    sl_target: float = 0.8,
    target_s: float = 20,
    max_wait_s: float | None = None,
    max_occupancy: float | None = None,
) -> Staffing:
    """The fewest agents meeting every goal given, with their figures.

    The goals: at least `sl_target` of the calls answered within `target_s`
    seconds; when given, an ASA of at most `max_wait_s` seconds and an occupancy
    of at most `max_occupancy`. Always more agents than erlangs of traffic.
    """
    traffic = traffic_erlangs(calls_per_hour, aht_s)
    aht = float(aht_s)
    goal = _share("service level target", sl_target, allow_one=False)
    target = _non_negative("target seconds", target_s)
    max_wait = None if max_wait_s is None else _positive("max wait", max_wait_s)
    max_occ = (
        None if max_occupancy is None else _share("max occupancy", max_occupancy, allow_one=True)
    )
    # Each figure improves with every agent added, so the first count that meets
    # them all is the answer; B is carried along the recurrence, not recomputed.
    for agents, blocking in enumerate(_blocking_steps(traffic)):
        if agents == 0:
            continue
        row = _figures(traffic, agents, blocking, aht, target)
        if _meets(row, goal, max_wait, max_occ):
            return row
    raise AssertionError("unreachable: the service level tends to 1")  # pragma: no cover


def staffing_table(
    calls_per_hour: float,
    aht_s: float,
    *,
    sl_target: float = 0.8,
    target_s: float = 20,
    max_wait_s: float | None = None,
    max_occupancy: float | None = None,
    around: int = 3,
) -> list[Staffing]:
    """Rows for the recommendation -`around` .. +`around` agents, skipping counts <= traffic."""
    around = _agents(around, "around")
    best = agents_for(
        calls_per_hour, aht_s, sl_target=sl_target, target_s=target_s,
        max_wait_s=max_wait_s, max_occupancy=max_occupancy,
    )  # fmt: skip
    traffic = best.traffic_erlangs
    first = max(best.agents - around, math.floor(traffic) + 1)
    return [
        staffing_at(traffic, n, aht_s, target_s=target_s)
        for n in range(first, best.agents + around + 1)
    ]


def with_shrinkage(agents: int, shrinkage: float) -> int:
    """Staff to roster so that `agents` remain on the phones: ceil(agents / (1 - shrinkage)).

    Shrinkage is the share of paid time not available for calls (breaks,
    training, absence), in [0, 1).
    """
    agents = _agents(agents)
    share = _finite("shrinkage", shrinkage)
    if not 0 <= share < 1:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    # Round off float noise first: 14 / (1 - 0.3) is 20.000000000000004, not 21 staff.
    return math.ceil(round(agents / (1.0 - share), 9))


# -- per interval ------------------------------------------------------------


@dataclass(frozen=True)
class IntervalStaffing:
    """The recommendation for one interval of measured traffic."""

    start: datetime
    calls: int
    aht_s: float
    staffing: Staffing  # agents 0 and no traffic when the interval had no calls
    rostered: int  # staffing.agents with shrinkage


def staffing_per_interval(
    intervals: Sequence[tuple[datetime, int, float]],
    *,
    interval: timedelta = timedelta(minutes=30),
    sl_target: float = 0.8,
    target_s: float = 20,
    max_wait_s: float | None = None,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
) -> list[IntervalStaffing]:
    """A recommendation per (start, calls in the interval, AHT seconds), in the order given.

    The calls of an `interval`-long slot are scaled to calls per hour. A slot
    without calls needs no agents (its AHT is ignored): whether someone must
    be present anyway is a rostering decision, not an Erlang one.
    """
    length = interval.total_seconds()
    if length <= 0:
        raise ValueError(f"interval must be longer than 0, got {interval}")
    result: list[IntervalStaffing] = []
    for start, calls, aht_s in intervals:
        calls = _agents(calls, f"calls at {start.isoformat()}")
        if calls == 0:
            idle = Staffing(0, 0.0, 1.0, 0.0, 0.0, 0.0)
            result.append(IntervalStaffing(start, 0, float(aht_s), idle, 0))
            continue
        try:
            best = agents_for(
                calls * 3600.0 / length, aht_s, sl_target=sl_target, target_s=target_s,
                max_wait_s=max_wait_s, max_occupancy=max_occupancy,
            )  # fmt: skip
        except ValueError as exc:
            raise ValueError(f"interval {start.isoformat()}: {exc}") from exc
        rostered = with_shrinkage(best.agents, shrinkage)
        result.append(IntervalStaffing(start, calls, float(aht_s), best, rostered))
    return result


# -- parsing the trade's notations ------------------------------------------

_TARGET = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%?\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*")


def parse_target(text: str) -> tuple[float, float]:
    """Read a service-level target: `80/20` (percent answered / within seconds) -> (0.8, 20.0)."""
    match = _TARGET.fullmatch(text)
    if match is None:
        raise ValueError(f"expected PERCENT/SECONDS such as 80/20, got {text!r}")
    percent, seconds = float(match.group(1)), float(match.group(2))
    if not 1 <= percent < 100:
        raise ValueError(
            f"the service level is a percentage from 1 to under 100 (such as 80/20), got {text!r}"
        )
    return percent / 100.0, seconds


def parse_fraction(text: str, name: str, *, allow_zero: bool, allow_one: bool) -> float:
    """Read a share written as a percentage (`30%`) or a fraction (`0.3`) -> 0.3.

    The value must lie between 0 and 1; `allow_zero` and `allow_one` say
    whether the ends themselves are accepted.
    """
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a percentage such as 30% or a share such as 0.3, "
                         f"got {text!r}") from None  # fmt: skip
    low = "[0" if allow_zero else "(0"
    high = "1]" if allow_one else "1)"
    if (
        not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
        or value > 1
        or (value == 1 and not allow_one)
    ):
        raise ValueError(f"{name} must be in {low}, {high} (30% or 0.3), got {text!r}")
    return value
