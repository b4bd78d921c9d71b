"""Every kind of bad segments file is refused with file:line:column and a plain message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastagi.callers.segments import SegmentRules
from fastagi.menus.problems import MenuError, Problem


def load(tmp_path: Path, text: str) -> SegmentRules:
    path = tmp_path / "segments.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return SegmentRules.load(path)


def problems(tmp_path: Path, text: str) -> list[Problem]:
    with pytest.raises(MenuError) as caught:
        load(tmp_path, text)
    return list(caught.value.problems)


# (file text, line, column, text in the message)
CASES = [
    pytest.param("segments: [\n", 2, 1, "YAML:", id="yaml-syntax"),
    pytest.param("- a\n- b\n", 1, 1, "must be a mapping", id="not-a-mapping"),
    pytest.param("timezone: UTC\n", 1, 1, "missing required key 'segments'", id="no-segments"),
    pytest.param(
        "segmnets: []\nsegments: []\n", 1, 1, "did you mean 'segments'?", id="unknown-top-key"
    ),
    pytest.param("segments: {vip: x}\n", 1, 11, "must be a list of rules", id="segments-mapping"),
    pytest.param(
        """
        segments:
          - name: vip
            when: {has_tags: vip}
        """,
        3,
        12,
        "unknown condition 'has_tags' (did you mean 'has_tag'?)",
        id="unknown-condition",
    ),
    pytest.param(
        """
        segments:
          - name: vip
            when:
              any:
                - {has_tag: vip}
                - {field: lifetime_value, gte: lots}
        """,
        6,
        40,
        "gte compares numbers, got 'lots'",
        id="non-number-operand",
    ),
    pytest.param(
        """
        segments:
          - name: x
            when: {field: region, in: msk}
        """,
        3,
        31,
        "in needs a list of values",
        id="in-not-a-list",
    ),
    pytest.param(
        """
        segments:
          - name: x
            when: {has_open_ticket: sometimes}
        """,
        3,
        29,
        "has_open_ticket must be true or false",
        id="not-a-bool",
    ),
    pytest.param(
        """
        segments:
          - name: x
            when: {called: {at_least: 3, days: 0}}
        """,
        3,
        40,
        "days must be a whole number from 1 to 366",
        id="bad-days",
    ),
    pytest.param(
        """
        segments:
          - name: vip
            when: {has_tag: vip}
          - name: vip
            when: {has_tag: gold}
        """,
        4,
        11,
        "segment 'vip' is defined twice (first on line 2",
        id="duplicate-name",
    ),
    pytest.param(
        """
        segments:
          - name: VIP clients
            when: {has_tag: vip}
        """,
        2,
        11,
        "segment name 'VIP clients' may use only",
        id="bad-name",
    ),
    pytest.param(
        """
        segments:
          - name: default
            when: {always: true}
        """,
        2,
        11,
        "'default' is the segment of callers no rule matches",
        id="reserved-name",
    ),
    pytest.param(
        """
        segments:
          - name: vip
        """,
        2,
        5,
        "missing required key 'when'",
        id="missing-when",
    ),
    pytest.param(
        """
        segments:
          - when: {has_tag: vip}
        """,
        2,
        5,
        "missing required key 'name'",
        id="missing-name",
    ),
    pytest.param(
        """
        segments:
          - name: vip
            when: {has_tag: vip}
            meun: vip
        """,
        4,
        5,
        "unknown key 'meun' (did you mean 'menu'?)",
        id="unknown-rule-key",
    ),
    pytest.param(
        """
        segments:
          - name: vip
            when: {has_tag: vip}
            menu: VIP Menu
        """,
        4,
        11,
        "menu name 'VIP Menu' may use only",
        id="bad-menu-name",
    ),
    pytest.param(
        """
        timezone: Europe/Mosow
        segments: []
        """,
        1,
        11,
        "unknown time zone 'Europe/Mosow'; did you mean 'Europe/Moscow'?",
        id="bad-timezone",
    ),
    pytest.param(
        """
        timezone: ../../etc/passwd
        segments: []
        """,
        1,
        11,
        "unknown time zone",
        id="timezone-path",
    ),
    pytest.param(
        """
        default_region: Russia
        segments: []
        """,
        1,
        17,
        "default_region must be a two-letter country code",
        id="bad-region",
    ),
    pytest.param(
        """
        segments:
          - name: office
            when: {time_of_day: {from: "9:00", to: "6pm"}}
        """,
        3,
        44,
        "to must be a time of day HH:MM",
        id="bad-time",
    ),
    pytest.param(
        """
        segments:
          - name: office
            when: {weekday: [mon, tue, wendesday]}
        """,
        3,
        32,
        "unknown day 'wendesday' (did you mean 'wednesday'?)",
        id="bad-weekday",
    ),
    pytest.param(
        """
        segments:
          - name: vip_again
            when: {segment: vip}
        """,
        3,
        12,
        "segment is for menu routes",
        id="segment-in-rules",
    ),
    pytest.param(
        """
        segments:
          - name: x
            when: {field: balance, lt: 0, gt: -10}
        """,
        3,
        11,
        "exactly one operator, found lt and gt",
        id="two-operators",
    ),
    pytest.param(
        """
        segments:
          - name: x
            when: {field: balance}
        """,
        3,
        12,
        "field needs one operator",
        id="no-operator",
    ),
    pytest.param("segments: [\x07]\n", 1, 12, "not allowed in YAML", id="control-character"),
]


@pytest.mark.parametrize(("text", "line", "column", "message"), CASES)
def test_bad_file_is_refused_with_file_line_column(
    tmp_path: Path, text: str, line: int, column: int, message: str
) -> None:
    found = problems(tmp_path, text)
    located = [(p.line, p.column) for p in found if message in str(p)]
    assert located, [str(p) for p in found]
    assert located[0] == (line, column), [str(p) for p in found]
    shown = str(next(p for p in found if message in str(p)))
    assert shown.startswith(f"{tmp_path / 'segments.yaml'}:{line}:{column}: ")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        timezone: Mars/Olympus
        segments:
          - {name: a, when: {has_tagg: x}}
          - {name: a, when: {field: x, lt: y}}
          - {name: b, when: {is_new: perhaps}}
        """,
    )
    assert [p.line for p in found] == [1, 3, 4, 4, 5]


def test_rule_after_a_catch_all_is_a_warning_not_an_error(tmp_path: Path) -> None:
    rules = load(
        tmp_path,
        """
        segments:
          - {name: everyone, when: {always: true}}
          - {name: vip, when: {has_tag: vip}}
          - {name: new, when: {is_new: true}}
        """,
    )
    assert [w.code for w in rules.warnings] == ["unreachable", "unreachable"]
    first = rules.warnings[0]
    assert (first.line, first.severity) == (3, "warning")
    assert "rule 'vip' is never reached: rule 'everyone' (line 2)" in str(first)
    assert len(rules.rules) == 3


def test_warnings_travel_with_errors(tmp_path: Path) -> None:
    with pytest.raises(MenuError) as caught:
        load(
            tmp_path,
            """
            segments:
              - {name: everyone, when: {any: [{has_tag: x}, {always: true}]}}
              - {name: vip, when: {has_tag: [vip]}}
              - {name: after, when: {field: tag, equals: vip}}
            """,
        )
    assert [p.severity for p in caught.value.problems] == ["error", "warning", "warning"]
    assert [p.code for p in caught.value.warnings] == ["unreachable", "unknown-field"]


def test_alias_bombs_and_huge_files_are_refused(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        prev = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    bomb += "segments: []\n"
    assert "alias" in str(problems(tmp_path, bomb)[0]).lower()
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (2 << 20))
    with pytest.raises(MenuError, match="limit"):
        SegmentRules.load(path)
