"""extensions.conf parsing and extension lookup (fastagi.testing.Dialplan)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fastagi.testing import Dialplan, DialplanError

MOSCOW = ZoneInfo("Europe/Moscow")

SAMPLE = r"""
[general]
static=yes

[globals]
HOST=127.0.0.1
AGI_URL=agi://${HOST}:4573   ; a comment after a value
SEMI=a\;b

[main]
exten => 100,1,NoOp(first)
 same => n(again),Set(X=1)
 same => n,Goto(again)
exten = 101,1,NoOp(old-style equals)
exten => 101,2(two),NoOp()
exten => 102,hint,PJSIP/102
 same => 1,Playback(hello)   ;-- a block comment
   spanning lines --; same => n,Hangup()
exten => 103,1,Set(A=x)
 same => n+1,NoOp(skips 2)
include => other
ignorepat => 9

[other]
exten => _X.,1,NoOp(pattern in other)
"""


def test_contexts_priorities_labels_and_globals() -> None:
    plan = Dialplan.parse(SAMPLE, "sample.conf")
    assert sorted(plan.contexts) == ["main", "other"]
    assert plan.globals == {"HOST": "127.0.0.1", "AGI_URL": "agi://127.0.0.1:4573", "SEMI": "a;b"}
    ext = plan.contexts["main"].extensions["100"]
    assert [(p.number, p.app, p.data, p.label) for p in ext.priorities.values()] == [
        (1, "NoOp", "first", None),
        (2, "Set", "X=1", "again"),
        (3, "Goto", "again", None),
    ]
    assert ext.labels == {"again": 2}
    assert ext.priorities[2].source == "sample.conf:12"
    assert plan.find("main", "101", 2) is not None
    assert plan.find_label("main", "101", "two") == 2


def test_hint_is_skipped_and_block_comments_span_lines() -> None:
    plan = Dialplan.parse(SAMPLE, "sample.conf")
    ext = plan.contexts["main"].extensions["102"]
    # the text after "--;" is read, as Asterisk reads it
    assert [(p.number, p.app) for p in ext.priorities.values()] == [(1, "Playback"), (2, "Hangup")]
    assert [
        (p.number, p.app) for p in plan.contexts["main"].extensions["103"].priorities.values()
    ] == [
        (1, "Set"),
        (3, "NoOp"),
    ]


def test_include_searches_the_included_context_after_the_own_extensions() -> None:
    plan = Dialplan.parse(SAMPLE, "sample.conf")
    step = plan.find("main", "555", 1)
    assert step is not None and step.data == "pattern in other"
    own = plan.find("main", "100", 1)
    assert own is not None and own.data == "first"
    assert plan.exists("main", "555") and not plan.exists("main", "abc-not-digits")


@pytest.mark.parametrize(
    ("pattern", "exten", "matches"),
    [
        ("_X.", "1", False),  # "." needs at least one more character
        ("_X.", "12", True),
        ("_X!", "1", True),
        ("_[2-4]XX", "250", True),
        ("_[2-4]XX", "550", False),
        ("_[2-4]XX", "25", False),
        ("_NXX", "123", False),
        ("_NXX", "223", True),
        ("_ZX", "09", False),
        ("_ZX", "19", True),
        ("_+X.", "+79161234567", True),
        ("_8-495-XXX", "8495123", True),  # dashes in a pattern are ignored
        ("_[a-c]1", "b1", True),
        ("_x.", "55", True),  # pattern letters are case-insensitive
    ],
)
def test_patterns(pattern: str, exten: str, matches: bool) -> None:
    plan = Dialplan.parse(f"[c]\nexten => {pattern},1,NoOp()\n", "p.conf")
    assert plan.exists("c", exten) is matches


def test_literal_beats_patterns_and_specific_patterns_beat_general_ones() -> None:
    plan = Dialplan.parse(
        """
[c]
exten => _X.,1,NoOp(any)
exten => _2XX,1,NoOp(2xx)
exten => _[2-3]XX,1,NoOp(2-3xx)
exten => 200,1,NoOp(literal)
exten => _X!,1,NoOp(bang)
""",
        "c.conf",
    )

    def which(exten: str) -> str | None:
        step = plan.find("c", exten, 1)
        return step.data if step else None

    assert which("200") == "literal"
    assert which("201") == "2xx"
    assert which("301") == "2-3xx"
    assert which("401") == "any"
    assert which("4") == "bang"


def test_a_missing_priority_is_looked_for_in_the_next_match() -> None:
    plan = Dialplan.parse(
        "[c]\nexten => 200,1,NoOp(literal)\nexten => _X.,1,NoOp(p1)\n same => n,NoOp(p2)\n",
        "c.conf",
    )
    step = plan.find("c", "200", 2)
    assert step is not None and step.data == "p2"


def test_timed_include_counts_only_inside_its_hours() -> None:
    plan = Dialplan.parse(
        "[in]\ninclude => day,09:00-17:59,mon-fri,*,*\n[day]\nexten => s,1,NoOp()\n", "t.conf"
    )
    monday_noon = datetime(2025, 1, 6, 12, 0, tzinfo=MOSCOW)
    sunday_noon = datetime(2025, 1, 5, 12, 0, tzinfo=MOSCOW)
    assert plan.exists("in", "s", monday_noon)
    assert not plan.exists("in", "s", sunday_noon)


def test_include_files_are_relative_to_the_top_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.conf").write_text("[a]\nexten => s,1,NoOp(from a)\n")
    (tmp_path / "sub" / "b.conf").write_text("exten => t,1,NoOp(into the open context)\n")
    (tmp_path / "extensions.conf").write_text(
        '[globals]\nX=1\n#include "sub/a.conf"\n'
        '[top]\n#include sub/b.conf\n#tryinclude "nope.conf"\n'
    )
    plan = Dialplan.load(tmp_path / "extensions.conf")
    assert sorted(plan.contexts) == ["a", "top"]
    assert plan.find("top", "t", 1) is not None
    step = plan.find("a", "s", 1)
    assert step is not None and step.source == f"{tmp_path / 'sub' / 'a.conf'}:2"
    assert plan.files == [tmp_path / "sub" / "a.conf", tmp_path / "sub" / "b.conf"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[c]\nexten => 1,1,NoOp()\nexten => 1,1,NoOp()\n",
            "bad.conf:3: 1 priority 1 already defined",
        ),
        ("[c]\nsame => n,NoOp()\n", "bad.conf:2: 'same =>' without an 'exten =>'"),
        ("[c]\nexten => 1,n,NoOp()\n", "bad.conf:2: priority 'n' needs a priority before it"),
        ("[c]\nexten => 1,x,NoOp()\n", "bad.conf:2: bad priority 'x'"),
        ("[c]\nexten => 1,1,NoOp(\n", "bad.conf:2: NoOp(...) has no closing ')'"),
        ("[c]\nexten => 1,1\n", "bad.conf:2: no application"),
        ("[c]\nexten => 1/123,1,NoOp()\n", "bad.conf:2: caller ID matching"),
        ("[c]\nswitch => Realtime/foo\n", "bad.conf:2: 'switch' is not supported"),
        ("exten => 1,1,NoOp()\n", "bad.conf:1: 'exten' outside any [context]"),
        ("[c](!)\n", "bad.conf:1: context options (!) are not supported"),
        ("[c\n", "bad.conf:1: '[' without ']'"),
        ("[c]\nthis is not a line\n", "bad.conf:2: expected 'name => value'"),
        ("#exec /bin/true\n", "bad.conf:1: #exec is not supported"),
        ('[c]\n#include "missing.conf"\n', "bad.conf:2: #include 'missing.conf': no such file"),
        ("[c]\nexten => _[12,1,NoOp()\n", "bad.conf:2: pattern '_[12' has '[' without ']'"),
        ("[c]\nexten => 1,1(a),NoOp()\n same => n(a),NoOp()\n", "bad.conf:3: 1 label 'a' already"),
    ],
)
def test_errors_name_file_and_line(text: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(DialplanError) as caught:
        Dialplan.parse(text, "bad.conf", directory=tmp_path)
    assert str(caught.value).startswith(message)


def test_an_error_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "inc.conf").write_text("[x]\n\nexten => 1,1,NoOp(\n")
    (tmp_path / "extensions.conf").write_text('#include "inc.conf"\n')
    with pytest.raises(DialplanError, match=r"inc\.conf:3: NoOp"):
        Dialplan.load(tmp_path / "extensions.conf")


def test_an_include_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "extensions.conf").write_text('#include "extensions.conf"\n')
    with pytest.raises(DialplanError, match="includes itself"):
        Dialplan.load(tmp_path / "extensions.conf")
