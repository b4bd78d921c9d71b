"""Erlang B / Erlang C staffing: published reference figures, properties, the CLI."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from fastagi.analytics.erlang import (
    MAX_TRAFFIC,
    Staffing,
    agents_for,
    asa,
    erlang_b,
    erlang_c,
    occupancy,
    parse_fraction,
    parse_target,
    service_level,
    staffing_at,
    staffing_per_interval,
    staffing_table,
    traffic_erlangs,
    trunk_capacity,
    trunks_for,
    wait_longer_than,
    with_shrinkage,
)
from fastagi.cli_erlang import erlang


def exact_b(traffic: Fraction, agents: int) -> Fraction:
    """Erlang B by its textbook definition, (A^N/N!) / sum(A^k/k!), in exact rationals."""
    term = Fraction(1)
    total = Fraction(1)
    for k in range(1, agents + 1):
        term = term * traffic / k
        total += term
    return term / total


def exact_c(traffic: Fraction, agents: int) -> Fraction:
    """Erlang C by its textbook definition, in exact rationals (agents > traffic)."""
    term = Fraction(1)
    below = Fraction(0)
    for k in range(agents):
        below += term
        term = term * traffic / (k + 1)
    waiting = term * agents / (agents - traffic)
    return waiting / (below + waiting)


# -- reference figures ----------------------------------------------------------


def test_worked_example_100_calls_in_30_minutes_aht_180_s() -> None:
    # Published example (Call Centre Helper's Erlang C example, reproduced with the
    # same figures by the pyworkforce README and the CRAN ErlangC package README,
    # and by CONTACT_CENTRE.md): 10 erlangs, 14 agents answer 88.8% within 20 s,
    # 17.41% wait, ASA 7.84 s, occupancy 71.4%; with 11 agents 68.21% wait.
    traffic = traffic_erlangs(200, 180)
    assert traffic == pytest.approx(10.0)
    assert erlang_c(traffic, 14) == pytest.approx(0.1741319, abs=1e-7)
    assert service_level(traffic, 14, 180, 20) == pytest.approx(0.88835, abs=1e-5)
    assert asa(traffic, 14, 180) == pytest.approx(7.835937, abs=1e-6)
    assert occupancy(traffic, 14) == pytest.approx(0.7142857, abs=1e-7)
    assert erlang_c(traffic, 11) == pytest.approx(0.6821182, abs=1e-7)

    best = agents_for(200, 180, sl_target=0.8, target_s=20)
    assert best.agents == 14
    assert best.service_level == pytest.approx(0.88835, abs=1e-5)
    # The same sources: 30% shrinkage turns 14 agents into 20 rostered staff.
    assert with_shrinkage(best.agents, 0.3) == 20
    # ... and a maximum occupancy of 85% does not change the answer (71.4% < 85%).
    assert agents_for(200, 180, max_occupancy=0.85).agents == 14


def test_average_hour_example_250_calls_aht_330_s_80_30() -> None:
    # jonesthenet.com "Erlang uplift": 250 calls in the average hour, AHT 330 s,
    # 80% in 30 s -> 22.9 erlangs of workload but 28 advisors.
    best = agents_for(250, 330, sl_target=0.8, target_s=30)
    assert round(best.traffic_erlangs, 1) == 22.9
    assert best.agents == 28


def test_360_calls_per_half_hour_aht_4_minutes() -> None:
    # The classic step-by-step Erlang C example: 360 calls per half hour, 4 minute
    # calls, 55 agents, 15 s target. Traffic is 0.2 calls/s x 240 s = 48 erlangs
    # (not 24). The figures below are checked against the exact definition.
    traffic = traffic_erlangs(720, 240)
    assert traffic == pytest.approx(48.0)
    wait = erlang_c(traffic, 55)
    assert wait == pytest.approx(float(exact_c(Fraction(48), 55)), rel=1e-12)
    assert wait == pytest.approx(0.2387, abs=1e-4)
    assert occupancy(traffic, 55) == pytest.approx(0.873, abs=1e-3)
    assert asa(traffic, 55, 240) == pytest.approx(8.18, abs=0.01)
    assert service_level(traffic, 55, 240, 15) == pytest.approx(0.846, abs=1e-3)


@pytest.mark.parametrize(
    ("lines", "blocking", "published"),
    [
        # "Carrier Grade Voice over IP" (2nd ed.), appendix A Erlang B table (GlobalSpec):
        # traffic in erlangs, to 0.1 E, that N channels carry at a blocking probability.
        (4, 0.001, 0.4), (4, 0.01, 0.9), (4, 0.02, 1.1), (4, 0.05, 1.5),
        (5, 0.001, 0.8), (5, 0.01, 1.4), (5, 0.02, 1.7), (5, 0.05, 2.2),
        (7, 0.001, 1.6), (7, 0.01, 2.5), (7, 0.02, 2.9), (7, 0.05, 3.7),
        (8, 0.001, 2.1), (8, 0.01, 3.1), (8, 0.02, 3.6), (8, 0.05, 4.5),
        (9, 0.001, 2.6), (9, 0.01, 3.8), (9, 0.02, 4.3), (9, 0.05, 5.4),
    ],
)  # fmt: skip
def test_erlang_b_table_capacities(lines: int, blocking: float, published: float) -> None:
    assert abs(trunk_capacity(lines, blocking) - published) <= 0.05 + 1e-9


def test_erlang_b_calculator_15_lines_at_1_percent_carry_8_108_erlangs() -> None:
    # erlang.com (Westbay) calculator manual: 15 lines, 1% blocking -> 8.108 E.
    assert trunk_capacity(15, 0.01) == pytest.approx(8.108, abs=5e-4)
    assert erlang_b(8.108, 15) == pytest.approx(0.01, abs=1e-5)


def test_erlang_b_13_5_erlangs_needs_22_circuits_at_1_percent_16_at_10() -> None:
    # erlang.com forum, "Erlang B table in Excel".
    assert trunks_for(13.5, 0.01) == 22
    assert trunks_for(13.5, 0.10) == 16


def test_erlang_b_30_lines_25_erlangs_block_about_5_percent() -> None:
    # Wolfram's Mathematica 9 notes: 30 lines, 25 E -> approximately 0.05.
    assert erlang_b(25, 30) == pytest.approx(0.05, abs=0.005)


@pytest.mark.parametrize(
    ("traffic", "lines"),
    [(5, 11), (10, 18), (20, 30), (50, 64), (180, 201), (200, 221), (1000, 1029)],
)
def test_lines_needed_at_1_percent(traffic: float, lines: int) -> None:
    # 5 E -> 11 and 10 E -> 18 from the 1% column of the Erlang B tables (10 lines
    # carry 4.46 E, 11 carry 5.16 E; 17 carry 9.69 E, 18 carry 10.44 E); the rest
    # from P. Dordal's "Erlang Models" notes (Loyola University Chicago).
    assert trunks_for(traffic, 0.01) == lines
    assert erlang_b(traffic, lines) <= 0.01 < erlang_b(traffic, lines - 1)


@pytest.mark.parametrize(("traffic", "lines"), [(100, 117), (500, 527)])
def test_lines_needed_where_an_approximate_table_is_off_by_one(traffic: int, lines: int) -> None:
    # Dordal's table gives 118 lines for 100 E and 526 for 500 E; exact Erlang B says
    # 117 already block under 1% and 526 still block over it. Checked in exact rationals.
    assert trunks_for(traffic, 0.01) == lines
    assert (
        exact_b(Fraction(traffic), lines)
        <= Fraction(1, 100)
        < exact_b(Fraction(traffic), lines - 1)
    )


# -- agreement with the textbook definitions ------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    tenths=st.integers(min_value=1, max_value=600), agents=st.integers(min_value=0, max_value=90)
)
def test_recurrence_matches_the_factorial_definition(tenths: int, agents: int) -> None:
    traffic = Fraction(tenths, 10)
    assert erlang_b(float(traffic), agents) == pytest.approx(
        float(exact_b(traffic, agents)), rel=1e-9
    )
    if agents > traffic:
        assert erlang_c(float(traffic), agents) == pytest.approx(
            float(exact_c(traffic, agents)), rel=1e-9
        )


# -- properties -----------------------------------------------------------------

traffic_values = st.floats(min_value=0.01, max_value=400, allow_nan=False)
agent_counts = st.integers(min_value=0, max_value=500)


@given(traffic_values, agent_counts)
def test_probabilities_are_between_0_and_1_and_c_is_at_least_b(traffic: float, agents: int) -> None:
    b = erlang_b(traffic, agents)
    c = erlang_c(traffic, agents)
    assert 0.0 <= b <= 1.0
    assert 0.0 <= c <= 1.0
    assert c >= b - 1e-15


@given(traffic_values, st.integers(min_value=0, max_value=499))
def test_blocking_decreases_with_each_line(traffic: float, agents: int) -> None:
    before, after = erlang_b(traffic, agents), erlang_b(traffic, agents + 1)
    # Strictly smaller, until the true value is below the smallest float and both read 0.
    assert after < before or before == after == 0.0


@given(
    traffic_values, st.integers(min_value=1, max_value=499), st.floats(min_value=1, max_value=900)
)
def test_more_agents_never_serve_worse(traffic: float, agents: int, aht_s: float) -> None:
    assert erlang_c(traffic, agents + 1) <= erlang_c(traffic, agents)
    assert service_level(traffic, agents + 1, aht_s, 20) >= service_level(
        traffic, agents, aht_s, 20
    )
    assert asa(traffic, agents + 1, aht_s) <= asa(traffic, agents, aht_s)


@given(
    calls=st.floats(min_value=1, max_value=5000),
    aht_s=st.floats(min_value=10, max_value=900),
    sl_target=st.floats(min_value=0.5, max_value=0.99),
    target_s=st.floats(min_value=0, max_value=120),
    max_wait_s=st.none() | st.floats(min_value=1, max_value=300),
    max_occupancy=st.none() | st.floats(min_value=0.5, max_value=1.0),
)
def test_agents_for_is_the_smallest_count_meeting_every_goal(
    calls: float,
    aht_s: float,
    sl_target: float,
    target_s: float,
    max_wait_s: float | None,
    max_occupancy: float | None,
) -> None:
    best = agents_for(
        calls, aht_s, sl_target=sl_target, target_s=target_s,
        max_wait_s=max_wait_s, max_occupancy=max_occupancy,
    )  # fmt: skip
    traffic = best.traffic_erlangs

    def meets(agents: int) -> bool:
        if agents <= traffic:
            return False
        ok = service_level(traffic, agents, aht_s, target_s) >= sl_target
        if max_wait_s is not None:
            ok = ok and asa(traffic, agents, aht_s) <= max_wait_s
        if max_occupancy is not None:
            ok = ok and occupancy(traffic, agents) <= max_occupancy
        return ok

    assert best.agents > traffic
    assert meets(best.agents)
    assert not meets(best.agents - 1)
    assert best == staffing_at(traffic, best.agents, aht_s, target_s=target_s)


def test_hundreds_of_erlangs_stay_finite() -> None:
    b, c = erlang_b(500, 550), erlang_c(500, 550)
    for value in (b, c, service_level(500, 550, 180, 20), asa(500, 550, 180)):
        assert math.isfinite(value)
    assert 0 < b < c < 1
    assert c == pytest.approx(float(exact_c(Fraction(500), 550)), rel=1e-9)
    # A few thousand erlangs: the recurrence neither overflows nor underflows to nonsense.
    best = agents_for(50_000, 300)  # 4166.7 E
    assert best.agents > best.traffic_erlangs
    assert 0.8 <= best.service_level < 1
    assert math.isfinite(best.asa_s)


def test_overloaded_queue() -> None:
    assert erlang_c(10, 10) == 1.0
    assert erlang_c(10, 5) == 1.0
    assert service_level(10, 10, 180, 20) == 0.0
    assert asa(10, 9, 180) == math.inf
    assert occupancy(10, 5) == 1.0
    assert wait_longer_than(10, 10, 180, 120) == 1.0


def test_wait_longer_than_is_the_complement_of_service_level() -> None:
    assert wait_longer_than(10, 14, 180, 120) == pytest.approx(1 - service_level(10, 14, 180, 120))
    assert wait_longer_than(10, 14, 180, 0) == pytest.approx(erlang_c(10, 14))


def test_zero_traffic() -> None:
    assert erlang_b(0, 3) == 0.0
    assert erlang_b(0, 0) == 1.0
    assert erlang_c(0, 1) == 0.0


# -- table, shrinkage, intervals -------------------------------------------------


def test_staffing_table_around_the_recommendation() -> None:
    rows = staffing_table(200, 180, around=3)
    assert [row.agents for row in rows] == list(range(11, 18))
    assert rows[3] == agents_for(200, 180)
    # Near the traffic, counts that cannot drain the queue are left out.
    rows = staffing_table(200, 180, around=6)
    assert rows[0].agents == 11  # 10 agents = 10 E is skipped
    assert staffing_table(200, 180, around=0) == [agents_for(200, 180)]


@pytest.mark.parametrize(
    ("agents", "shrinkage", "rostered"),
    [(14, 0.3, 20), (14, 0.0, 14), (10, 0.5, 20), (10, 0.35, 16), (0, 0.3, 0), (7, 0.3, 10)],
)
def test_with_shrinkage(agents: int, shrinkage: float, rostered: int) -> None:
    assert with_shrinkage(agents, shrinkage) == rostered


def test_staffing_per_interval_from_plain_data() -> None:
    day = datetime(2024, 3, 4, 9, 0)
    result = staffing_per_interval(
        [
            (day, 100, 180.0),  # 200 calls/h, 10 E: the worked example
            (day + timedelta(minutes=30), 0, 0.0),  # nothing measured: AHT ignored
            (day + timedelta(minutes=60), 360, 240.0),  # 720 calls/h, 48 E
        ],
        shrinkage=0.3,
    )
    assert [item.start for item in result] == [day + timedelta(minutes=m) for m in (0, 30, 60)]
    first, idle, busy = result
    assert (first.calls, first.staffing.agents, first.rostered) == (100, 14, 20)
    assert first.staffing.traffic_erlangs == pytest.approx(10.0)
    assert idle.staffing == Staffing(0, 0.0, 1.0, 0.0, 0.0, 0.0)
    assert idle.rostered == 0
    assert busy.staffing == agents_for(720, 240)
    assert busy.rostered == with_shrinkage(busy.staffing.agents, 0.3)


def test_staffing_per_interval_scales_to_the_interval_length() -> None:
    hour = datetime(2024, 3, 4, 9, 0)
    (item,) = staffing_per_interval([(hour, 200, 180.0)], interval=timedelta(hours=1))
    assert item.staffing.agents == 14
    (item,) = staffing_per_interval([(hour, 50, 180.0)], interval=timedelta(minutes=15))
    assert item.staffing.agents == 14


def test_staffing_per_interval_names_the_bad_interval() -> None:
    at = datetime(2024, 3, 4, 10, 30)
    with pytest.raises(ValueError, match=r"2024-03-04T10:30:00.*AHT"):
        staffing_per_interval([(at, 10, 0.0)])
    with pytest.raises(ValueError, match="calls at 2024-03-04T10:30:00"):
        staffing_per_interval([(at, -1, 180.0)])
    with pytest.raises(ValueError, match="interval"):
        staffing_per_interval([(at, 10, 180.0)], interval=timedelta(0))


# -- parsing and validation -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80/20", (0.8, 20.0)),
        (" 90% / 15s ", (0.9, 15.0)),
        ("85/0", (0.85, 0.0)),
        ("80.5/20", (0.805, 20.0)),
    ],
)
def test_parse_target(text: str, expected: tuple[float, float]) -> None:
    assert parse_target(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text", ["80", "80-20", "/20", "80/", "abc", "100/20", "0/20", "0.8/20", "80/-5"]
)
def test_parse_target_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="80/20"):
        parse_target(text)


def test_parse_fraction() -> None:
    assert parse_fraction("30%", "shrinkage", allow_zero=True, allow_one=False) == pytest.approx(
        0.3
    )
    assert parse_fraction("0.3", "shrinkage", allow_zero=True, allow_one=False) == pytest.approx(
        0.3
    )
    assert parse_fraction("0", "shrinkage", allow_zero=True, allow_one=False) == 0.0
    assert parse_fraction("100%", "max occupancy", allow_zero=False, allow_one=True) == 1.0
    for text in ("30", "100%", "1", "-5%", "abc", "nan", "", "inf"):
        with pytest.raises(ValueError, match="shrinkage"):
            parse_fraction(text, "shrinkage", allow_zero=True, allow_one=False)
    with pytest.raises(ValueError, match="max occupancy"):
        parse_fraction("0%", "max occupancy", allow_zero=False, allow_one=True)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: erlang_b(-1, 3), "traffic must not be negative"),
        (lambda: erlang_b(math.nan, 3), "traffic must be a finite number"),
        (lambda: erlang_b(1, -1), "agents must not be negative"),
        (lambda: erlang_c(1, 2.5), "agents must be a whole number"),  # type: ignore[arg-type]
        (lambda: erlang_b(MAX_TRAFFIC * 2, 3), "beyond this calculator"),
        (lambda: service_level(5, 8, 0, 20), "AHT must be greater than 0"),
        (lambda: service_level(5, 8, 180, -1), "target seconds must not be negative"),
        (lambda: occupancy(5, 0), "at least one agent"),
        (lambda: agents_for(0, 180), "calls per hour must be greater than 0"),
        (lambda: agents_for(-10, 180), "calls per hour must be greater than 0"),
        (lambda: agents_for(100, 0), "AHT must be greater than 0"),
        (lambda: agents_for(100, 180, sl_target=1.0), r"service level target must be in \(0, 1\)"),
        (lambda: agents_for(100, 180, sl_target=0), "service level target"),
        (lambda: agents_for(100, 180, max_wait_s=0), "max wait must be greater than 0"),
        (lambda: agents_for(100, 180, max_occupancy=1.2), r"max occupancy must be in \(0, 1\]"),
        (lambda: agents_for(10**9, 3600), "beyond this calculator"),
        (lambda: with_shrinkage(10, 1.0), r"shrinkage must be in \[0, 1\)"),
        (lambda: with_shrinkage(10, -0.1), r"shrinkage must be in \[0, 1\)"),
        (lambda: trunks_for(10, 0), "blocking"),
        (lambda: trunk_capacity(10, 1.5), "blocking"),
        (lambda: staffing_table(100, 180, around=-1), "around must not be negative"),
    ],
)
def test_bad_inputs_raise_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# -- the command -------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(erlang, list(args))
    return result.exit_code, result.output


def test_cli_table_marks_the_recommendation_and_rosters_with_shrinkage() -> None:
    code, out = run(
        "--calls-per-hour", "200", "--aht", "180", "--target", "80/20", "--shrinkage", "30%"
    )
    assert code == 0, out
    assert "Traffic: 10.00 erlangs" in out
    lines = out.splitlines()
    marked = [line for line in lines if "<- recommended" in line]
    assert len(marked) == 1
    assert marked[0].split()[:5] == ["14", "88.8%", "17.4%", "7.8", "71.4%"]
    rows = [line.split()[0] for line in lines if line[:6].strip().isdigit()]
    assert rows == [str(n) for n in range(11, 18)]
    assert "Recommended: 14 agents" in out
    assert "Rostered with 30% shrinkage: 20 staff." in out


def test_cli_skips_counts_that_cannot_drain_the_queue() -> None:
    code, out = run("--calls-per-hour", "200", "--aht", "180", "--around", "5")
    assert code == 0, out
    rows = [int(line.split()[0]) for line in out.splitlines() if line[:6].strip().isdigit()]
    assert rows == list(range(11, 20))


def test_cli_json() -> None:
    code, out = run(
        "--calls-per-hour", "200", "--aht", "180",
        "--shrinkage", "0.3", "--max-wait", "120", "--json",
    )  # fmt: skip
    assert code == 0, out
    answer = json.loads(out)
    assert answer["agents"] == 14
    assert answer["traffic_erlangs"] == pytest.approx(10.0)
    assert answer["service_level"] == pytest.approx(0.88835, abs=1e-5)
    assert answer["probability_wait"] == pytest.approx(0.1741319, abs=1e-7)
    assert answer["asa_s"] == pytest.approx(7.835937, abs=1e-6)
    assert answer["occupancy"] == pytest.approx(0.7142857, abs=1e-7)
    assert answer["rostered"] == 20
    assert answer["max_wait_s"] == 120
    assert [row["agents"] for row in answer["table"]] == list(range(11, 18))
    assert [row["agents"] for row in answer["table"] if row["recommended"]] == [14]
    assert set(answer["table"][0]) >= {
        "agents",
        "service_level",
        "probability_wait",
        "asa_s",
        "occupancy",
    }


def test_cli_max_wait_and_max_occupancy_raise_the_count() -> None:
    # 14 agents give an ASA of 7.8 s; asking for 5 s at most needs 15 (3.7 s).
    code, out = run("--calls-per-hour", "200", "--aht", "180", "--max-wait", "5", "--json")
    assert code == 0, out
    assert json.loads(out)["agents"] == 15
    # 14 agents are 71.4% occupied; 70% at most needs 15 (66.7%).
    code, out = run("--calls-per-hour", "200", "--aht", "180", "--max-occupancy", "70%")
    assert code == 0, out
    assert "Recommended: 15 agents" in out
    assert "occupancy at most 70.0%" in out


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--calls-per-hour", "0", "--aht", "180"], "'--calls-per-hour'"),
        (["--calls-per-hour", "-5", "--aht", "180"], "'--calls-per-hour'"),
        (["--calls-per-hour", "lots", "--aht", "180"], "'--calls-per-hour'"),
        (["--calls-per-hour", "200", "--aht", "0"], "'--aht'"),
        (["--calls-per-hour", "200", "--aht", "180", "--target", "80-20"], "'--target'"),
        (["--calls-per-hour", "200", "--aht", "180", "--target", "100/20"], "'--target'"),
        (["--calls-per-hour", "200", "--aht", "180", "--shrinkage", "100%"], "'--shrinkage'"),
        (["--calls-per-hour", "200", "--aht", "180", "--shrinkage", "30"], "'--shrinkage'"),
        (["--calls-per-hour", "200", "--aht", "180", "--shrinkage", "x"], "'--shrinkage'"),
        (["--calls-per-hour", "200", "--aht", "180", "--max-wait", "0"], "'--max-wait'"),
        (["--calls-per-hour", "200", "--aht", "180", "--max-occupancy", "0"], "'--max-occupancy'"),
        (["--calls-per-hour", "1e9", "--aht", "3600"], "'--calls-per-hour' / '--aht'"),
        (["--aht", "180"], "'--calls-per-hour'"),
    ],
)
def test_cli_bad_values_are_usage_errors_naming_the_option(args: list[str], option: str) -> None:
    code, out = run(*args)
    assert code == 2, out
    assert option in out
