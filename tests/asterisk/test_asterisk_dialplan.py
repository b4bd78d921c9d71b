"""build_dialplan: contexts, extensions, priorities, labels, includes, globals, AGI targets."""

from __future__ import annotations

from pathlib import Path

from asterisk_helpers import WriteFile

from fastagi.asterisk.conffile import read_conf
from fastagi.asterisk.dialplan import Dialplan, build_dialplan, substitute_globals


def _plan(write: WriteFile, text: str) -> tuple[Dialplan, Path]:
    path = write("extensions.conf", text)
    return build_dialplan(read_conf(path)), path


def test_priorities_labels_and_same(write: WriteFile) -> None:
    plan, _ = _plan(
        write,
        """
        [general]
        static=yes
        [ivr-entry]
        exten => _X.,1,NoOp()
         same => n,Answer()
         same => n(fallback),VoiceMail(100@default,u)
         same => n+2(route),Goto(ivr-results,${IVR_RESULT},1)
        exten => 100,hint,PJSIP/100
        exten => 100,1,Dial(PJSIP/100)
        exten => 100,s,NoOp(ignored: same priority twice)
        """,
    )
    assert list(plan.contexts) == ["ivr-entry"]  # [general] holds options
    ctx = plan.contexts["ivr-entry"]
    ext = ctx.extensions["_X."]
    assert sorted(ext.priorities) == [1, 2, 3, 6]
    assert ext.labels == {"fallback": 3, "route": 6}
    assert ext.priorities[3].application == "VoiceMail(100@default,u)"
    assert ext.priorities[3].source.line == 6
    assert ext.has_priority("route") and ext.has_priority("6") and not ext.has_priority("4")
    hundred = ctx.extensions["100"]
    assert hundred.has_hint and sorted(hundred.priorities) == [1]
    assert [i.message for i in plan.issues] == [
        "extension '100' in [ivr-entry] has priority 1 twice (first at "
        f"{hundred.priorities[1].source})"
    ]


def test_same_context_in_two_sections_is_merged_and_includes_are_followed(
    write: WriteFile,
) -> None:
    plan, _ = _plan(
        write,
        """
        [a]
        include => b
        include => c,09:00-17:00,mon-fri,*,*
        exten => 1,1,NoOp()
        [b]
        exten => _2X,1,NoOp()
        [a]
        exten => 3,1,NoOp()
        [c]
        include => a
        exten => 4,1,NoOp()
        """,
    )
    assert sorted(plan.contexts["a"].extensions) == ["1", "3"]
    assert plan.contexts["a"].includes == ["b", "c"]
    assert [c.name for c in plan.reachable_contexts("a")] == ["a", "b", "c"]  # loop stops
    assert [e.name for e in plan.find_extensions("a", "25")] == ["_2X"]
    assert [e.name for e in plan.find_extensions("a", "4")] == ["4"]
    assert plan.find_extensions("b", "4") == []


def test_globals_and_agi_targets(write: WriteFile) -> None:
    plan, path = _plan(
        write,
        """
        [globals]
        HOST=10.0.0.5
        IVR_AGI=agi://${HOST}:4573
        [ivr-entry]
        exten => s,1,AGI(${IVR_AGI}/main,vip)
         same => n,ExecIf($[1]?EAGI(agi://127.0.0.1/other))
         same => n,AGI(script.sh)
         same => n,agi(${UNKNOWN}/x)
         same => n,Set(NOT_AGI=MAGI(x))
        """,
    )
    assert plan.globals == {"HOST": "10.0.0.5", "IVR_AGI": "agi://${HOST}:4573"}
    found = [(t.written, t.address, t.priority) for t in plan.agi_targets]
    assert found == [
        ("${IVR_AGI}/main", "agi://10.0.0.5:4573/main", 1),
        ("agi://127.0.0.1/other", "agi://127.0.0.1/other", 2),
        ("script.sh", "script.sh", 3),
        ("${UNKNOWN}/x", "${UNKNOWN}/x", 4),
    ]
    first = plan.agi_targets[0]
    assert (first.context, first.extension, first.source.line) == ("ivr-entry", "s", 5)
    assert [name for name, _ in first.globals_used] == ["IVR_AGI", "HOST"]
    assert str(first.globals_used[0][1]) == f"{path}:3"


def test_substitute_globals_stops_on_a_loop() -> None:
    text, used = substitute_globals("${A}", {"A": "${B}", "B": "${A}"})
    assert text in ("${A}", "${B}")
    assert used == ["A", "B"]


def test_bad_lines_become_issues_with_their_lines(write: WriteFile) -> None:
    plan, path = _plan(
        write,
        """
        [ctx]
         same => n,NoOp(no exten yet)
        exten => 1,x,NoOp()
        exten => 2,n(ok),NoOp()
        exten => _1[2,1,NoOp()
        exten => lonely
        """,
    )
    assert [(i.source.line, i.message) for i in plan.issues] == [
        (2, "'same =>' with no 'exten =>' before it"),
        (3, "bad priority 'x' in context [ctx]"),
        (5, "pattern '_1[2' has '[' without ']'"),
        (6, "'exten => lonely' needs name,priority,app"),
    ]
    assert plan.issues[0].source.file == str(path)
    assert plan.contexts["ctx"].extensions["2"].labels == {"ok": 1}
