"""Segment rules: the demo file, first match wins, explain, defaults, menu checks."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fastagi.callers.conditions import HasTag
from fastagi.callers.profile import CallerProfile
from fastagi.callers.segments import (
    DEFAULT_SEGMENT,
    SegmentMatch,
    SegmentRule,
    SegmentRules,
    check_segment_menus,
    default_rules,
)
from fastagi.menus.problems import MenuError

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "config" / "segments.yaml"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def caller(fields: dict[str, str] | None = None, *, is_new: bool = False) -> CallerProfile:
    return CallerProfile(number="+79161234567", fields=fields or {}, is_new=is_new)


def rules_of(text: str) -> SegmentRules:
    return SegmentRules.parse(textwrap.dedent(text).lstrip("\n"))


@pytest.fixture(scope="module")
def demo() -> SegmentRules:
    return SegmentRules.load(DEMO)


def test_demo_file_loads_without_warnings(demo: SegmentRules) -> None:
    assert [r.name for r in demo.rules] == [
        "blacklisted",
        "vip",
        "debtor",
        "has_open_ticket",
        "new",
        "regular",
    ]
    assert demo.warnings == ()
    assert demo.default_region == "RU"
    assert demo.timezone == ZoneInfo("Europe/Moscow")
    assert demo.rule("blacklisted") is not None
    assert demo.rules[0].menu == "blocked"
    assert demo.rules[1].menu == "vip"
    assert demo.rules[0].line is not None and demo.rules[0].line > 1


@pytest.mark.parametrize(
    ("profile", "segment", "menu"),
    [
        (caller({"tags": "blacklist,vip"}), "blacklisted", "blocked"),  # first match wins
        (caller({"tags": "vip", "balance": "-10"}), "vip", "vip"),
        (caller({"lifetime_value": "100000"}), "vip", "vip"),
        (caller({"balance": "-0.01", "open_tickets": "1"}), "debtor", None),
        (caller({"open_tickets": "1"}, is_new=True), "has_open_ticket", None),
        (caller(is_new=True), "new", None),
        (caller({"balance": "12"}), "regular", None),
    ],
)
def test_demo_segments(
    demo: SegmentRules, profile: CallerProfile, segment: str, menu: str | None
) -> None:
    match = demo.classify(profile, NOW)
    assert (match.segment, match.menu) == (segment, menu)
    assert match.rule_index == [r.name for r in demo.rules].index(segment)
    assert match.reasons


def test_classify_names_why(demo: SegmentRules) -> None:
    match = demo.classify(caller({"lifetime_value": "250000"}), NOW)
    assert match == SegmentMatch("vip", 1, "vip", ("field lifetime_value=250000 >= 100000",))


def test_anonymous_and_degraded_callers_match_only_rules_about_nothing(
    demo: SegmentRules,
) -> None:
    anonymous = CallerProfile.anonymous_caller()
    degraded = CallerProfile.unavailable("+79161234567")
    for profile in (anonymous, degraded):
        assert demo.classify(profile, NOW).segment == "regular"  # the `always` rule
    rules = rules_of(
        """
        segments:
          - {name: withheld, when: {anonymous: true}}
          - {name: vip, when: {has_tag: vip}}
          - {name: rich, when: {field: balance, gt: 0}}
          - {name: not_gold, when: {field: level, not_equals: gold}}
          - {name: frequent, when: {called: {at_most: 100, days: 7}}}
        """
    )
    assert rules.classify(anonymous, NOW).segment == "withheld"
    match = rules.classify(degraded, NOW)
    assert match == SegmentMatch(DEFAULT_SEGMENT, None, None, ("no rule matched",))
    without_withheld = SegmentRules(rules.rules[1:])
    assert without_withheld.classify(anonymous, NOW).segment == DEFAULT_SEGMENT


def test_first_match_wins_even_when_later_rules_match() -> None:
    rules = rules_of(
        """
        segments:
          - {name: a, when: {has_tag: x}, menu: first}
          - {name: b, when: {has_tag: x}, menu: second}
          - {name: c, when: {always: true}}
        """
    )
    assert rules.classify(caller({"tags": "x"}), NOW).menu == "first"
    explained = rules.explain(caller({"tags": "x"}), NOW)
    assert explained == [
        ("a", True, "tag 'x' present"),
        ("b", True, "tag 'x' present"),
        ("c", True, "always"),
    ]


def test_explain_lists_every_rule_with_why(demo: SegmentRules) -> None:
    rows = demo.explain(caller({"balance": "-500"}), NOW)
    assert [name for name, _, _ in rows] == [r.name for r in demo.rules]
    assert rows[0] == ("blacklisted", False, "tag 'blacklist' absent")
    assert rows[2] == ("debtor", True, "field balance=-500 < 0")
    assert rows[1][1] is False
    assert "lifetime_value is missing" in rows[1][2]
    first = next(name for name, matched, _ in rows if matched)
    assert first == demo.classify(caller({"balance": "-500"}), NOW).segment


def test_no_rules_means_default_with_a_warning() -> None:
    rules = rules_of("segments: []\n")
    assert rules.classify(caller(), NOW).segment == DEFAULT_SEGMENT
    assert [w.code for w in rules.warnings] == ["no-rules"]


def test_windows_lists_the_called_windows() -> None:
    rules = rules_of(
        """
        segments:
          - {name: frequent, when: {called: {at_least: 3, days: 7}}}
          - name: loyal
            when:
              all:
                - {called: {at_least: 10, days: 90}}
                - {not: {called: {at_most: 0, days: 7}}}
        """
    )
    assert rules.windows() == frozenset({7, 90})
    profile = CallerProfile("+79161234567", calls_in_last={7: 3, 90: 3})
    assert rules.classify(profile, NOW).segment == "frequent"
    profile = CallerProfile("+79161234567", calls_in_last={7: 1, 90: 12})
    assert rules.classify(profile, NOW).segment == "loyal"


def test_time_rules_use_the_file_timezone() -> None:
    rules = rules_of(
        """
        timezone: Europe/Berlin
        segments:
          - name: after_hours
            when:
              any:
                - {not: {time_of_day: {from: "09:00", to: "18:00"}}}
                - {weekday: [sat, sun]}
          - {name: office, when: {always: true}}
        """
    )
    winter_morning = datetime(2024, 1, 15, 7, 30, tzinfo=UTC)  # Monday 08:30 CET
    summer_morning = datetime(2024, 7, 15, 7, 30, tzinfo=UTC)  # Monday 09:30 CEST
    saturday = datetime(2024, 7, 13, 10, 0, tzinfo=UTC)
    assert rules.classify(caller(), winter_morning).segment == "after_hours"
    assert rules.classify(caller(), summer_morning).segment == "office"
    assert rules.classify(caller(), saturday).segment == "after_hours"
    assert rules.timezone_name == "Europe/Berlin"


def test_default_rules_and_load_or_default(tmp_path: Path) -> None:
    built_in = default_rules()
    assert built_in is default_rules()
    assert [r.name for r in built_in.rules] == [
        "blacklisted",
        "vip",
        "debtor",
        "has_open_ticket",
        "new",
        "regular",
    ]
    assert all(rule.menu is None for rule in built_in.rules)
    assert built_in.timezone_name == "UTC"
    assert built_in.default_region is None
    assert SegmentRules.load_or_default(tmp_path / "absent.yaml") is built_in
    assert SegmentRules.load_or_default(DEMO).source == str(DEMO)
    assert built_in.classify(caller({"tags": "vip"}), NOW).segment == "vip"


def test_missing_file_is_a_problem_for_load(tmp_path: Path) -> None:
    with pytest.raises(MenuError, match="cannot read the file"):
        SegmentRules.load(tmp_path / "absent.yaml")


def test_rules_built_in_python() -> None:
    rules = SegmentRules([SegmentRule("vip", HasTag("vip"), "vip")])
    assert rules.classify(caller({"tags": "vip"}), NOW).menu == "vip"
    assert rules.names == ("vip", DEFAULT_SEGMENT)
    assert len(rules) == 1 and list(rules) == list(rules.rules)
    with pytest.raises(ValueError, match="given twice or reserved"):
        SegmentRules([SegmentRule("a", HasTag("x")), SegmentRule("a", HasTag("y"))])


def test_check_segment_menus(demo: SegmentRules) -> None:
    assert check_segment_menus(demo, ["main", "blocked", "vip"]) == []
    problems = check_segment_menus(demo, ["main", "blocked", "vips"])
    (problem,) = problems
    assert problem.code == "unknown-menu"
    assert problem.key_path == "segments[1].menu"
    text = DEMO.read_text().splitlines()
    assert problem.line is not None and "menu: vip" in text[problem.line - 1]
    assert str(problem).startswith(f"{DEMO}:{problem.line}: ")
    assert "did you mean 'vips'?" in str(problem)
    (none_loaded,) = check_segment_menus(
        rules_of("segments: [{name: a, when: {always: true}, menu: x}]"), []
    )
    assert none_loaded.hint == "no menus are loaded"


def yaml_blocks(markdown: str) -> list[str]:
    blocks = markdown.split("```yaml\n")[1:]
    return [block.split("```", 1)[0] for block in blocks]


def test_every_example_in_the_docs_loads() -> None:
    from fastagi.callers.condition_parser import parse_condition
    from fastagi.menus._yaml import parse_yaml

    docs = (REPO / "docs" / "segments.md").read_text(encoding="utf-8")
    blocks = yaml_blocks(docs)
    assert len(blocks) >= 10
    for block in blocks:
        if block.startswith("segments:") or block.startswith("default_region:"):
            rules = SegmentRules.parse(block, "docs")
            assert rules.warnings == ()
        elif block.startswith("routes:"):
            doc = parse_yaml(block.encode(), "docs")
            for i, route in enumerate(doc.data["routes"]):  # type: ignore[index]
                parse_condition(route["when"], doc, ("routes", i, "when"), allow_segment=True)
        elif block.startswith("when:"):
            SegmentRules.parse("segments:\n  - name: x\n" + textwrap.indent(block, "    "))
        else:
            assert block.startswith("- name:"), block
            rules = SegmentRules.parse("segments:\n" + textwrap.indent(block, "  "), "docs")
            assert rules.warnings == ()
    assert DEMO.read_text(encoding="utf-8").split("\n\n", 1)[1] in docs
    assert default_rules().rules == SegmentRules.parse(blocks[-1]).rules
