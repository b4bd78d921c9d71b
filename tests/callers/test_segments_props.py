"""Properties: classify is "the first rule that holds", checked against a separate model.

The model below interprets the condition mappings directly, written from
docs/segments.md rather than from the implementation, so a shared mistake
in `conditions.py` does not hide itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastagi.callers.condition_parser import CONDITION_KINDS, parse_condition
from fastagi.callers.profile import CallerProfile
from fastagi.callers.segments import (
    DEFAULT_SEGMENT,
    EvalContext,
    SegmentRule,
    SegmentRules,
    default_rules,
)
from fastagi.menus.problems import MenuError

REPO = Path(__file__).resolve().parents[2]
DEMO = SegmentRules.load(REPO / "config" / "segments.yaml")

FIELDS = ("balance", "lifetime_value", "region", "email", "level")
TAGS = ("vip", "blacklist", "gold", "VIP")
WINDOWS = (1, 7, 30)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZONES = (UTC, ZoneInfo("Europe/Moscow"), ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"))

Node = dict[str, Any]

# -- the model -----------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def number(text: str) -> Decimal | None:
    text = text.strip()
    return Decimal(text) if len(text) <= 40 and _NUMBER.fullmatch(text) else None


def same(a: str, b: str) -> bool:
    na, nb = number(a), number(b)
    if na is not None and nb is not None:
        return na == nb
    return a.strip().casefold() == b.strip().casefold()


def minutes(text: str) -> int:
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


def model(node: Node, profile: CallerProfile, now: datetime, zone: tzinfo) -> bool:
    ((key, value),) = [(k, v) for k, v in node.items() if k != "field"] or [("field", None)]
    if "field" in node:
        raw = profile.fields.get(node["field"])
        blank = raw is None or not raw.strip()
        if key == "exists":
            return bool((node["field"] in profile.fields) == value)
        if key == "empty":
            return bool(blank == value)
        if blank:
            return False
        assert raw is not None
        if key == "equals":
            return same(raw, str(value))
        if key == "not_equals":
            return not same(raw, str(value))
        if key in ("in", "not_in"):
            listed = any(same(raw, str(v)) for v in value)
            return listed if key == "in" else not listed
        left, right = number(raw), Decimal(str(value))
        if left is None:
            return False
        return {
            "lt": left < right,
            "lte": left <= right,
            "gt": left > right,
            "gte": left >= right,
        }[key]
    if key == "always":
        return bool(value)
    if key == "all":
        return all(model(part, profile, now, zone) for part in value)
    if key == "any":
        return any(model(part, profile, now, zone) for part in value)
    if key == "not":
        return not model(value, profile, now, zone)
    if key == "has_tag":
        tags = {t.strip().casefold() for t in profile.fields.get("tags", "").split(",")}
        return value.casefold() in tags - {""}
    if key == "has_open_ticket":
        return bool((profile.open_tickets > 0) == value)
    if key == "is_new":
        return bool(profile.is_new == value)
    if key == "anonymous":
        return bool(profile.anonymous == value)
    if key == "called":
        count = profile.calls_in_last.get(value["days"])
        if count is None:
            return False
        return bool(value.get("at_least", 0) <= count <= value.get("at_most", count))
    local = now.astimezone(zone)
    if key == "weekday":
        return DAYS[local.weekday()] in value
    assert key == "time_of_day"
    start, end, minute = (
        minutes(value["from"]),
        minutes(value["to"]),
        local.hour * 60 + local.minute,
    )
    return start <= minute < end if start < end else minute >= start or minute < end


# -- strategies ----------------------------------------------------------------

numbers = st.one_of(
    st.integers(-200_000, 200_000),
    st.decimals(-1000, 1000, places=2, allow_nan=False, allow_infinity=False).map(str),
)
values = st.one_of(numbers.map(str), st.sampled_from(["gold", "Gold ", "msk", "", "007", "7"]))
times = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}", st.sampled_from([0, 6, 9, 18, 22]), st.sampled_from([0, 30])
)


def field_node(op: str) -> st.SearchStrategy[Node]:
    name = st.sampled_from(FIELDS)
    if op in ("equals", "not_equals"):
        operand: st.SearchStrategy[Any] = st.one_of(values, numbers)
    elif op in ("in", "not_in"):
        operand = st.lists(values, min_size=1, max_size=3)
    elif op in ("exists", "empty"):
        operand = st.booleans()
    else:
        operand = numbers
    return st.builds(lambda n, v: {"field": n, op: v}, name, operand)


def called_node() -> st.SearchStrategy[Node]:
    bounds = st.fixed_dictionaries(
        {"days": st.sampled_from(WINDOWS)},
        optional={"at_least": st.integers(0, 5), "at_most": st.integers(5, 9)},
    ).filter(lambda d: "at_least" in d or "at_most" in d)
    return bounds.map(lambda b: {"called": b})


leaves: st.SearchStrategy[Node] = st.one_of(
    st.booleans().map(lambda b: {"always": b}),
    st.sampled_from(TAGS).map(lambda t: {"has_tag": t}),
    st.booleans().map(lambda b: {"has_open_ticket": b}),
    st.booleans().map(lambda b: {"is_new": b}),
    st.booleans().map(lambda b: {"anonymous": b}),
    *(
        field_node(op)
        for op in (
            "equals",
            "not_equals",
            "in",
            "not_in",
            "lt",
            "lte",
            "gt",
            "gte",
            "exists",
            "empty",
        )
    ),
    called_node(),
    st.tuples(times, times)
    .filter(lambda t: t[0] != t[1])
    .map(lambda t: {"time_of_day": {"from": t[0], "to": t[1]}}),
    st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True).map(
        lambda d: {"weekday": d}
    ),
)

conditions: st.SearchStrategy[Node] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"all": parts}),
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"any": parts}),
        inner.map(lambda part: {"not": part}),
    ),
    max_leaves=6,
)

field_values = st.one_of(values, st.text(max_size=12), numbers.map(str))
tag_lists = st.lists(st.sampled_from([*TAGS, " vip ", "silver", ""]), max_size=4).map(",".join)


@st.composite
def profiles(draw: st.DrawFn) -> CallerProfile:
    if draw(st.integers(0, 9)) == 0:
        return CallerProfile.anonymous_caller()
    fields: dict[str, str] = draw(st.dictionaries(st.sampled_from(FIELDS), field_values))
    if draw(st.booleans()):
        fields["tags"] = draw(tag_lists)
    if draw(st.booleans()):
        fields["open_tickets"] = draw(st.sampled_from(["0", "1", "3", "x", "-2", ""]))
    degraded = draw(st.integers(0, 9)) == 0
    return CallerProfile(
        number="+79161234567",
        fields={} if degraded else fields,
        is_new=draw(st.booleans()),
        degraded=degraded,
        calls_in_last={}
        if degraded
        else draw(st.dictionaries(st.sampled_from(WINDOWS), st.integers(0, 12))),
    )


any_instant = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
# Whole and half hours often, so the ends of time_of_day windows are hit.
instants = st.one_of(
    any_instant,
    any_instant.map(lambda t: t.replace(minute=0, second=0, microsecond=0)),
    any_instant.map(lambda t: t.replace(minute=30, second=0, microsecond=0)),
)

# -- properties ---------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    nodes=st.lists(conditions, min_size=1, max_size=6),
    profile=profiles(),
    now=instants,
    zone=st.sampled_from(ZONES),
)
def test_classify_is_the_first_rule_the_model_says_holds(
    nodes: list[Node], profile: CallerProfile, now: datetime, zone: tzinfo
) -> None:
    rules = SegmentRules(
        [
            SegmentRule(f"r{i}", parse_condition(node, "<prop>", timezone=zone))
            for i, node in enumerate(nodes)
        ],
        timezone=zone,
    )
    expected = next(
        (i for i, node in enumerate(nodes) if model(node, profile, now, zone)),
        None,
    )
    match = rules.classify(profile, now)
    assert match.rule_index == expected
    assert match.segment == (DEFAULT_SEGMENT if expected is None else f"r{expected}")
    # and it is the first rule whose own evaluate() says True
    ctx = EvalContext(profile, now)
    direct = next((i for i, r in enumerate(rules.rules) if r.condition.evaluate(ctx)), None)
    assert direct == expected
    explained = rules.explain(profile, now)
    assert [matched for _, matched, _ in explained] == [
        model(node, profile, now, zone) for node in nodes
    ]


@settings(max_examples=300)
@given(
    fields=st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=8),
    known=st.dictionaries(
        st.sampled_from([*FIELDS, "tags", "open_tickets"]), st.text(max_size=60), max_size=7
    ),
    calls=st.dictionaries(st.integers(-5, 500), st.integers(-5, 10**9), max_size=4),
    is_new=st.booleans(),
    now=st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("Asia/Kolkata")])),
    naive=st.datetimes(),
)
def test_arbitrary_field_values_never_raise(
    fields: Mapping[str, str],
    known: Mapping[str, str],
    calls: Mapping[int, int],
    is_new: bool,
    now: datetime,
    naive: datetime,
) -> None:
    fields = {**fields, **known}
    profile = CallerProfile("+79161234567", fields=fields, is_new=is_new, calls_in_last=calls)
    for rules in (DEMO, default_rules()):
        for moment in (now, naive):
            match = rules.classify(profile, moment)
            assert match.segment in rules.names
            assert all(isinstance(reason, str) for reason in match.reasons)
            assert len(rules.explain(profile, moment)) == len(rules.rules)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(node=conditions, fields=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=30)))
def test_explain_and_reasons_never_raise(node: Node, fields: dict[str, str]) -> None:
    condition = parse_condition(node, "<prop>", timezone=ZoneInfo("Europe/Berlin"))
    profile = CallerProfile("+79161234567", fields=fields)
    ctx = EvalContext(profile, datetime(2024, 10, 27, 1, 30, tzinfo=UTC))  # Berlin falls back
    assert condition.explain(ctx)
    assert condition.describe()
    if condition.evaluate(ctx):
        assert condition.reasons(ctx)


yamlish = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(max_size=10),
        st.sampled_from(["always", "field", "lt", "09:00", "mon-fri", "true", "-1", "7"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [*CONDITION_KINDS, "days", "at_least", "from", "to", "in", "lt", "equals"]
                ),
                st.text(max_size=5),
            ),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=500)
@given(node=yamlish)
def test_parse_condition_only_ever_raises_menu_error(node: object) -> None:
    try:
        condition = parse_condition(node, "<fuzz>", allow_segment=True)
    except MenuError as exc:
        assert exc.problems
        assert all(p.file == "<fuzz>" for p in exc.problems)
    else:
        now = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=13)
        condition.evaluate(EvalContext(CallerProfile("+7"), now, "vip"))


@settings(max_examples=300)
@given(
    start=st.integers(0, 1439),
    end=st.integers(1, 1440),
    zone=st.sampled_from(ZONES),
    day=st.dates(min_value=datetime(2020, 1, 1).date(), max_value=datetime(2030, 1, 1).date()),
    at_end=st.booleans(),
    nudge=st.sampled_from([-1, 0, 1]),
)
def test_time_of_day_edges(
    start: int, end: int, zone: tzinfo, day: Any, at_end: bool, nudge: int
) -> None:
    if start == end % 1440:
        return
    window = {
        "from": f"{start // 60:02d}:{start % 60:02d}",
        "to": f"{end // 60:02d}:{end % 60:02d}",
    }
    node = {"time_of_day": window}
    edge = (end if at_end else start) + nudge
    local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=edge)
    now = local.astimezone(UTC)
    condition = parse_condition(node, "<prop>", timezone=zone)
    profile = CallerProfile("+79161234567")
    assert condition.evaluate(EvalContext(profile, now)) == model(node, profile, now, zone)
