"""Each condition kind: true and false cases, explanations, time zones, load errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

import pytest

from fastagi.callers.condition_parser import CONDITION_KINDS, parse_condition
from fastagi.callers.conditions import Called, Condition, EvalContext, parse_number
from fastagi.callers.profile import CallerProfile
from fastagi.menus._yaml import parse_yaml
from fastagi.menus.problems import MenuError, Problem

NOON = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # a Wednesday
MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def cond(node: object, zone: tzinfo = UTC, *, routes: bool = False) -> Condition:
    return parse_condition(node, "<test>", timezone=zone, allow_segment=routes)


def ctx(
    fields: Mapping[str, str] | None = None,
    *,
    now: datetime = NOON,
    segment: str | None = None,
    is_new: bool = False,
    calls_in_last: Mapping[int, int] | None = None,
) -> EvalContext:
    profile = CallerProfile(
        number="+79161234567",
        fields=dict(fields or {}),
        is_new=is_new,
        calls_in_last=dict(calls_in_last or {}),
    )
    return EvalContext(profile, now, segment)


def holds(node: object, context: EvalContext, zone: tzinfo = UTC) -> bool:
    return cond(node, zone, routes=True).evaluate(context)


def error_of(node: object, *, routes: bool = False) -> str:
    with pytest.raises(MenuError) as caught:
        cond(node, routes=routes)
    return str(caught.value)


# -- always, all, any, not ---------------------------------------------------


def test_always_true_and_false() -> None:
    assert holds({"always": True}, ctx())
    assert holds({"always": "true"}, ctx())  # YAML hands scalars over as text
    assert not holds({"always": "false"}, ctx())
    assert cond({"always": "yes"}).is_always
    assert not cond({"always": "no"}).is_always


def test_all_any_not() -> None:
    vip_debtor = ctx({"tags": "vip", "balance": "-5"})
    both = {"all": [{"has_tag": "vip"}, {"field": "balance", "lt": 0}]}
    either = {"any": [{"has_tag": "gold"}, {"field": "balance", "lt": 0}]}
    assert holds(both, vip_debtor)
    assert not holds(both, ctx({"tags": "vip", "balance": "5"}))
    assert holds(either, vip_debtor)
    assert not holds(either, ctx({"balance": "5"}))
    assert holds({"not": {"has_tag": "gold"}}, vip_debtor)
    assert not holds({"not": {"has_tag": "vip"}}, vip_debtor)


def test_is_always_sees_through_groups() -> None:
    assert cond({"any": [{"has_tag": "x"}, {"always": True}]}).is_always
    assert cond({"all": [{"always": True}, {"always": True}]}).is_always
    assert cond({"not": {"always": False}}).is_always
    assert not cond({"all": [{"always": True}, {"has_tag": "x"}]}).is_always


def test_reasons_of_any_name_only_the_parts_that_held() -> None:
    c = cond({"any": [{"has_tag": "vip"}, {"field": "lifetime_value", "gte": 100000}]})
    context = ctx({"lifetime_value": "150000"})
    assert c.reasons(context) == ("field lifetime_value=150000 >= 100000",)
    c = cond({"all": [{"has_tag": "vip"}, {"field": "balance", "lt": 0}]})
    assert c.reasons(ctx({"tags": "vip", "balance": "-500"})) == (
        "tag 'vip' present",
        "field balance=-500 < 0",
    )


# -- field -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "operand", "value", "expected"),
    [
        ("equals", "gold", "gold", True),
        ("equals", "gold", " Gold ", True),  # case and spaces ignored
        ("equals", "gold", "silver", False),
        ("equals", 7, "7.0", True),  # numbers compare as numbers
        ("equals", "7", "007", True),
        ("equals", "7", "7a", False),
        ("not_equals", "gold", "silver", True),
        ("not_equals", "gold", "GOLD", False),
        ("not_equals", 1, "1.00", False),
        ("lt", 0, "-500", True),
        ("lt", 0, "0", False),
        ("lte", 0, "0", True),
        ("lte", "0", "0.01", False),
        ("gt", "2.5", "10", True),  # 10 > 2.5 numerically although "10" < "2.5" as text
        ("gt", 10, "9", False),
        ("gte", 100000, "100000", True),
        ("gte", 100000, "99999.99", False),
        ("lt", 0, "abc", False),  # text is not a number: comparisons are false
        ("gt", 0, "1e5", False),  # no exponents
        ("gt", 0, "١٢", False),  # only ASCII digits make numbers
    ],
)
def test_field_operators(op: str, operand: object, value: str, expected: bool) -> None:
    assert holds({"field": "x", op: operand}, ctx({"x": value})) is expected


def test_field_in_and_not_in() -> None:
    c_in = {"field": "region", "in": ["msk", "spb", 77]}
    c_not_in = {"field": "region", "not_in": ["msk", "spb"]}
    assert holds(c_in, ctx({"region": "SPB"}))
    assert holds(c_in, ctx({"region": "77.0"}))
    assert not holds(c_in, ctx({"region": "nsk"}))
    assert holds(c_not_in, ctx({"region": "nsk"}))
    assert not holds(c_not_in, ctx({"region": "msk"}))


@pytest.mark.parametrize(
    "node",
    [
        {"field": "x", "equals": "a"},
        {"field": "x", "not_equals": "a"},
        {"field": "x", "in": ["a"]},
        {"field": "x", "not_in": ["a"]},
        {"field": "x", "lt": 1},
        {"field": "x", "gte": 1},
    ],
)
@pytest.mark.parametrize("fields", [{}, {"x": ""}, {"x": "   "}])
def test_missing_or_blank_field_fails_every_value_operator(
    node: dict[str, object], fields: dict[str, str]
) -> None:
    assert not holds(node, ctx(fields))


def test_exists_and_empty() -> None:
    assert holds({"field": "email", "exists": True}, ctx({"email": ""}))  # present, blank
    assert not holds({"field": "email", "exists": True}, ctx())
    assert holds({"field": "email", "exists": False}, ctx())
    assert holds({"field": "email", "empty": True}, ctx({"email": " "}))
    assert holds({"field": "email", "empty": True}, ctx())
    assert not holds({"field": "email", "empty": True}, ctx({"email": "a@b.c"}))
    assert holds({"field": "email", "empty": "false"}, ctx({"email": "a@b.c"}))


def test_parse_number_accepts_plain_decimals_only() -> None:
    assert parse_number(" -500 ") == -500
    assert parse_number("2.50") == parse_number("2.5")
    assert parse_number(".5") is not None
    for text in ("", "-", "1e3", "inf", "nan", "1_000", "1,5", "0x10", "1" * 41):
        assert parse_number(text) is None, text


# -- has_tag and the yes/no facts -----------------------------------------------


def test_has_tag() -> None:
    assert holds({"has_tag": "vip"}, ctx({"tags": "wholesale, VIP"}))
    assert not holds({"has_tag": "vip"}, ctx({"tags": "vips,wholesale"}))
    assert not holds({"has_tag": "vip"}, ctx())


def test_has_open_ticket() -> None:
    assert holds({"has_open_ticket": True}, ctx({"open_tickets": "2"}))
    assert not holds({"has_open_ticket": True}, ctx({"open_tickets": "0"}))
    assert not holds({"has_open_ticket": True}, ctx({"open_tickets": "lots"}))
    assert holds({"has_open_ticket": False}, ctx())


def test_is_new_and_anonymous() -> None:
    assert holds({"is_new": True}, ctx(is_new=True))
    assert not holds({"is_new": True}, ctx())
    assert holds({"is_new": False}, ctx())
    anonymous = EvalContext(CallerProfile.anonymous_caller(), NOON)
    assert holds({"anonymous": True}, anonymous)
    assert not holds({"anonymous": True}, ctx())
    assert holds({"anonymous": "no"}, ctx())


# -- called ------------------------------------------------------------------


def test_called_at_least_and_at_most() -> None:
    counts = {7: 3, 30: 10}
    assert holds({"called": {"at_least": 3, "days": 7}}, ctx(calls_in_last=counts))
    assert not holds({"called": {"at_least": 4, "days": 7}}, ctx(calls_in_last=counts))
    assert holds({"called": {"at_most": 3, "days": 7}}, ctx(calls_in_last=counts))
    assert not holds({"called": {"at_most": 9, "days": 30}}, ctx(calls_in_last=counts))
    between = {"called": {"at_least": 5, "at_most": 10, "days": 30}}
    assert holds(between, ctx(calls_in_last=counts))


def test_called_is_false_when_the_window_was_not_counted() -> None:
    assert not holds({"called": {"at_least": 0, "days": 1}}, ctx(calls_in_last={7: 3}))
    assert not holds({"called": {"at_most": 5, "days": 1}}, ctx())


def test_windows_collects_every_days_value() -> None:
    c = cond(
        {
            "any": [
                {"called": {"at_least": 3, "days": 7}},
                {"not": {"called": {"at_most": 1, "days": "30"}}},
            ]
        }
    )
    assert c.windows() == frozenset({7, 30})
    assert [type(part) for part in c.walk()].count(Called) == 2


# -- time_of_day and weekday -------------------------------------------------------


def at(hour: int, minute: int = 0, day: int = 1, month: int = 5) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def test_time_of_day_in_utc_includes_from_and_excludes_to() -> None:
    office = {"time_of_day": {"from": "09:00", "to": "18:00"}}
    assert holds(office, ctx(now=at(9)))
    assert holds(office, ctx(now=at(17, 59)))
    assert not holds(office, ctx(now=at(18)))
    assert not holds(office, ctx(now=at(8, 59)))


def test_time_of_day_across_midnight_in_moscow() -> None:
    night = {"time_of_day": {"from": "22:00", "to": "06:00"}}  # Moscow is UTC+3 all year
    assert holds(night, ctx(now=at(19, 30)), MOSCOW)  # 22:30 MSK
    assert holds(night, ctx(now=at(21, 0)), MOSCOW)  # 00:00 MSK
    assert holds(night, ctx(now=at(2, 59)), MOSCOW)  # 05:59 MSK
    assert not holds(night, ctx(now=at(3, 0)), MOSCOW)  # 06:00 MSK
    assert not holds(night, ctx(now=at(18, 59)), MOSCOW)  # 21:59 MSK
    assert not holds(night, ctx(now=at(19, 30)))  # 19:30 UTC is not night in UTC


def test_time_of_day_follows_daylight_saving_in_berlin() -> None:
    office = {"time_of_day": {"from": "09:00", "to": "18:00"}}
    # Winter, CET = UTC+1
    assert not holds(office, ctx(now=at(7, 30, day=15, month=1)), BERLIN)  # 08:30
    assert holds(office, ctx(now=at(8, 30, day=15, month=1)), BERLIN)  # 09:30
    assert holds(office, ctx(now=at(16, 30, day=15, month=1)), BERLIN)  # 17:30
    # Summer, CEST = UTC+2: the same UTC instants fall an hour later
    assert holds(office, ctx(now=at(7, 30, day=15, month=7)), BERLIN)  # 09:30
    assert not holds(office, ctx(now=at(16, 30, day=15, month=7)), BERLIN)  # 18:30


def test_time_of_day_on_the_night_clocks_go_forward_in_berlin() -> None:
    # 2024-03-31: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
    early = {"time_of_day": {"from": "02:00", "to": "03:00"}}  # does not exist that night
    late = {"time_of_day": {"from": "03:00", "to": "04:00"}}
    before = ctx(now=at(0, 59, day=31, month=3))  # 01:59 CET
    after = ctx(now=at(1, 0, day=31, month=3))  # 03:00 CEST
    assert not holds(early, before, BERLIN)
    assert not holds(early, after, BERLIN)
    assert holds(late, after, BERLIN)


def test_time_of_day_to_midnight() -> None:
    evening = {"time_of_day": {"from": "18:00", "to": "24:00"}}
    assert holds(evening, ctx(now=at(23, 59)))
    assert not holds(evening, ctx(now=at(0, 0)))


def test_naive_now_is_utc() -> None:
    office = {"time_of_day": {"from": "09:00", "to": "10:00"}}
    assert holds(office, ctx(now=datetime(2024, 5, 1, 9, 30)))


def test_weekday_in_a_time_zone() -> None:
    weekend = {"weekday": ["sat", "sun"]}
    friday_night = at(21, 30, day=3)  # Friday 21:30 UTC = Saturday 00:30 in Moscow
    assert not holds(weekend, ctx(now=friday_night))
    assert holds(weekend, ctx(now=friday_night), MOSCOW)
    assert holds({"weekday": "mon-fri"}, ctx(now=friday_night))
    assert holds({"weekday": ["Friday"]}, ctx(now=friday_night))
    assert not holds({"weekday": "mon-fri"}, ctx(now=friday_night), MOSCOW)


def test_weekday_ranges_wrap_over_the_weekend() -> None:
    c = cond({"weekday": "fri-mon"})
    assert c.describe().startswith("weekday in [mon, fri, sat, sun]")


# -- segment (menu routes only) -------------------------------------------------------


def test_segment_condition_reads_the_context() -> None:
    assert holds({"segment": "vip"}, ctx(segment="vip"))
    assert holds({"segment": ["vip", "debtor"]}, ctx(segment="debtor"))
    assert not holds({"segment": "vip"}, ctx(segment="regular"))
    assert not holds({"segment": "vip"}, ctx())
    assert cond({"segment": ["vip", "new"]}, routes=True).segments() == {"vip", "new"}


def test_segment_condition_is_refused_outside_routes() -> None:
    assert "segment is for menu routes" in error_of({"segment": "vip"})


# -- explanations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "fields", "text"),
    [
        ({"has_tag": "vip"}, {"tags": "vip"}, "tag 'vip' present"),
        ({"has_tag": "vip"}, {}, "tag 'vip' absent"),
        ({"field": "balance", "lt": 0}, {"balance": "-500"}, "field balance=-500 < 0"),
        ({"field": "balance", "lt": 0}, {"balance": "20"}, "field balance=20 >= 0"),
        ({"field": "balance", "lt": 0}, {}, "field balance is missing (wanted < 0)"),
        (
            {"field": "balance", "lt": 0},
            {"balance": "n/a"},
            "field balance='n/a' is not a number (wanted < 0)",
        ),
        ({"field": "lang", "equals": "ru"}, {"lang": "en"}, "field lang='en' != 'ru'"),
        ({"field": "r", "in": ["a", "b"]}, {"r": "c"}, "field r='c' not in ['a', 'b']"),
        ({"field": "email", "empty": True}, {}, "field email is empty"),
        ({"field": "email", "exists": True}, {}, "field email does not exist"),
        ({"has_open_ticket": True}, {"open_tickets": "1"}, "1 open ticket"),
        ({"has_open_ticket": True}, {}, "no open tickets"),
        ({"not": {"has_tag": "vip"}}, {}, "tag 'vip' absent"),
        ({"is_new": True}, {}, "caller is not new"),
        (
            {"called": {"at_least": 3, "days": 7}},
            {},
            "calls in the last 7 days not known (wanted at least 3)",
        ),
        ({"time_of_day": {"from": "09:00", "to": "18:00"}}, {}, "local time 12:00 (UTC) within"),
        ({"weekday": ["sat", "sun"]}, {}, "local day wed (UTC) not in [sat, sun]"),
    ],
)
def test_explain_states_what_was_found(node: object, fields: dict[str, str], text: str) -> None:
    assert cond(node).explain(ctx(fields)).startswith(text)


def test_explain_of_called_and_of_long_text() -> None:
    called = cond({"called": {"at_least": 3, "days": 7}})
    assert called.explain(ctx(calls_in_last={7: 1})) == "1 call in the last 7 days, not at least 3"
    assert called.explain(ctx(calls_in_last={7: 4})) == "4 calls in the last 7 days, at least 3"
    long_text = cond({"field": "note", "equals": "x"}).explain(ctx({"note": "y" * 500}))
    assert len(long_text) < 100


# -- parse errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"has_tags": "vip"}, "unknown condition 'has_tags' (did you mean 'has_tag'?)"),
        ({"equals": 1}, "an operator needs a field"),
        ({"has_tag": "vip", "is_new": True}, "one condition per mapping"),
        ("always", "a condition must be a mapping"),
        (None, "a condition must be a mapping"),
        ({"all": []}, "all needs a list of conditions, got an empty list"),
        ({"any": {"has_tag": "x"}}, "any needs a list of conditions, got a mapping"),
        ({"always": "maybe"}, "always must be true or false"),
        ({"is_new": 1}, "is_new must be true or false"),
        ({"has_tag": ["a", "b"]}, "has_tag takes one tag"),
        ({"has_tag": "a,b"}, "has_tag must name one tag"),
        ({"field": "x"}, "field needs one operator"),
        ({"field": "x", "lt": 1, "gt": 0}, "exactly one operator, found lt and gt"),
        ({"field": "x", "less": 1}, "unknown field operator 'less'"),
        ({"field": "x", "lt": "abc"}, "lt compares numbers, got 'abc'"),
        ({"field": "x", "gte": [1]}, "gte must be a single value"),
        ({"field": "x", "equals": None}, "equals needs a value"),
        ({"field": "x", "equals": ["a"]}, "equals takes one value (for a list of values use in"),
        ({"field": "x", "in": "a"}, "in needs a list of values"),
        ({"field": "x", "not_in": [{"a": 1}]}, "in item must be a single value"),
        ({"field": "x", "exists": "perhaps"}, "exists must be true or false"),
        ({"field": "a b", "equals": 1}, "field name 'a b' may use only"),
        ({"field": None, "equals": 1}, "field needs the name of a profile field"),
        ({"called": {"at_least": 3}}, "called needs days"),
        ({"called": {"days": 7}}, "called needs at_least or at_most"),
        ({"called": {"at_least": "x", "days": 7}}, "at_least must be a whole number"),
        ({"called": {"at_least": 1, "days": 400}}, "days must be a whole number from 1 to 366"),
        ({"called": {"at_least": 5, "at_most": 2, "days": 7}}, "never true"),
        ({"called": {"atleast": 5, "days": 7}}, "did you mean 'at_least'?"),
        ({"called": 3}, "called needs a mapping"),
        ({"time_of_day": {"from": "9am", "to": "18:00"}}, "from must be a time of day HH:MM"),
        ({"time_of_day": {"from": "09:00", "to": "24:01"}}, "to must be a time of day HH:MM"),
        ({"time_of_day": {"from": "24:00", "to": "06:00"}}, "from must be a time of day HH:MM"),
        ({"time_of_day": {"from": "09:60", "to": "10:00"}}, "from must be a time of day HH:MM"),
        ({"time_of_day": {"from": 540, "to": "10:00"}}, "from must be a time of day HH:MM"),
        ({"time_of_day": {"from": "09:00"}}, "time_of_day needs to"),
        ({"time_of_day": {"from": "00:00", "to": "24:00"}}, "00:00-24:00 is the whole day"),
        ({"time_of_day": {"from": "10:00", "to": "10:00"}}, "the window is empty"),
        ({"time_of_day": {"from": "09:00", "till": "18:00"}}, "unknown key 'till'"),
        ({"weekday": ["mon", "tuw"]}, "unknown day 'tuw' (did you mean 'tue'?)"),
        ({"weekday": []}, "weekday needs a list of days"),
        ({"weekday": "mon-"}, "unknown day 'mon-'"),
    ],
)
def test_bad_conditions_are_refused(node: object, message: str) -> None:
    assert message in error_of(node)


def test_every_condition_kind_is_documented() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "segments.md").read_text()
    for kind in CONDITION_KINDS:
        assert f"`{kind}" in docs, kind


def test_problems_point_at_the_line_in_the_source_document() -> None:
    text = b"routes:\n  - when:\n      any:\n        - {has_tag: vip}\n        - {feild: x}\n"
    doc = parse_yaml(text, "main.yaml")
    with pytest.raises(MenuError) as caught:
        parse_condition(doc.data["routes"][0]["when"], doc, ("routes", 0, "when"))  # type: ignore[index]
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.column) == ("main.yaml", 5, 12)
    assert problem.key_path == "routes[0].when.any[1].feild"
    assert "did you mean 'field'?" in str(problem)


def test_warnings_go_to_the_list_given() -> None:
    warnings: list[Problem] = []
    c = parse_condition({"field": "tag", "equals": "x"}, "f.yaml", warnings=warnings)
    assert c.evaluate(ctx({"tag": "x"}))
    (warning,) = warnings
    assert warning.severity == "warning"
    assert warning.code == "unknown-field"
    assert "did you mean 'tags'?" in str(warning)
