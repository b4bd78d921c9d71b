"""The dialplan's text language: substitution, $[...] expressions, conditions, functions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fastagi.testing import CallerScript, Channel, register_function
from fastagi.testing._expr import check_condition, evaluate, split_args, substitute

VARIABLES = {"A": "5", "EMPTY": "", "S": "hello", "NAME": "S", "ABC": "abc"}


@pytest.mark.parametrize(
    ("expr", "result"),
    [
        ("1 + 2", "3"),
        ("7 / 2", "3.5"),  # floating point, as Asterisk 1.6+
        ("7 % 3", "1"),
        ("2 * (3 + 4)", "14"),
        ("2 * 3 + 4", "10"),
        ("-5 + 2", "-3"),
        ("10 > 9", "1"),  # numbers compare as numbers ...
        ("10 > 9a", "0"),  # ... a string on either side makes it a string comparison
        ("abc < abd", "1"),
        ("5 = 5", "1"),
        ("5 == 5", "1"),
        ('5 = "5"', "0"),  # quotes belong to the string
        ('"abc" = "abc"', "1"),
        ('"" = ""', "1"),
        ('"x" != ""', "1"),
        ("3 >= 3", "1"),
        ("3 <= 2", "0"),
        ("1 | 0", "1"),
        ("0 | 7", "7"),
        ("0 & 1", "0"),
        ("2 & 3", "2"),
        ("1 && 1", "1"),
        ("0 || 0", "0"),
        ("!0", "1"),
        ("!1", "0"),
        ("!abc", "1"),  # C atoi("abc") is 0
        ("1 ? yes :: no", "yes"),
        ("0 ? yes :: no", "no"),
        ("abc : a.", "2"),  # match length, anchored
        ("abcdef =~ cd", "2"),
        ('"ab" ~~ "cd"', "abcd"),
        ("5 / 0", "2147483647"),
        ("", ""),
        ("1 +", "0"),  # syntax error
        ("(1", "0"),
    ],
)
def test_expressions(expr: str, result: str) -> None:
    assert evaluate(expr) == result


def test_function_calls_inside_expressions_read_through_the_lookup() -> None:
    def lookup(name: str) -> str | None:
        return {"LEN(abc)": "3", "X(1,2)": "word"}.get(name)

    assert evaluate("LEN(abc) + 1", lookup) == "4"
    assert evaluate("X(1,2) = word", lookup) == "1"
    assert evaluate("ABS(0 - 4)") == "4"


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("${A}", "5"),
        ("x${A}y${MISSING}z", "x5yz"),
        ("${${NAME}}", "hello"),  # nested: the inner name is expanded first
        ("${S:1}", "ello"),
        ("${S:1:3}", "ell"),
        ("${S:-3}", "llo"),
        ("${S:-3:2}", "ll"),
        ("${S:0:-1}", "hell"),
        ("${S:1:-1}", "ell"),
        ("${S:10}", ""),
        ("${S::2}", "hello"),  # sscanf("%d:%d") stops at the missing offset
        ("$[${A} + 1]", "6"),
        ('$["${EMPTY}" = ""]', "1"),
        ("$[$[1 + 1] * 3]", "6"),
        ("cost: $5", "cost: $5"),
        ("${unterminated", "${unterminated"),
        ("${ABC}{x}", "abc{x}"),
    ],
)
def test_substitution(text: str, result: str) -> None:
    assert substitute(text, VARIABLES.get) == result


@pytest.mark.parametrize(
    ("text", "truth"),
    [("", False), ("0", False), ("1", True), ("-1", True), (" 0", False), ("abc", True)],
)
def test_conditions(text: str, truth: bool) -> None:
    assert check_condition(text) is truth


@pytest.mark.parametrize(
    ("data", "raw", "args"),
    [
        ("", False, []),
        ("a,b", False, ["a", "b"]),
        ("a,", False, ["a", ""]),
        ("a(b,c),d", False, ["a(b,c)", "d"]),
        ("[1,2],3", False, ["[1,2]", "3"]),
        ('"x,y",z', False, ["x,y", "z"]),
        ('"x,y",z', True, ['"x,y"', "z"]),
        ("a\\,b,c", False, ["a,b", "c"]),
    ],
)
def test_application_arguments(data: str, raw: bool, args: list[str]) -> None:
    assert split_args(data, raw=raw) == args


def _channel() -> Channel:
    return Channel(
        name="PJSIP/trunk-00000001",
        uniqueid="1700000000.1",
        env={"agi_callerid": "79160000000", "agi_calleridname": "Ivan"},
        variables={"ARGX": "abc"},
        caller=CallerScript(),
        prompt_duration=lambda name: 3.0,
        file_exists=lambda name, language: True,
        applications={},
        subroutines={},
        database={},
        max_duration=3600.0,
    )


def test_functions_of_the_registry() -> None:
    ch = _channel()
    ch.clock_start = datetime(2025, 1, 6, 10, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    ch.now = 90.0
    assert ch.substitute("${EPOCH}") == str(1736146800 + 90)
    assert ch.substitute("${STRFTIME(${EPOCH},,%H:%M:%S)}") == "10:01:30"
    assert ch.substitute("${STRFTIME(${EPOCH},UTC,%H:%M)}") == "07:01"
    assert ch.substitute("${LEN(${ARGX})}|${LEN()}") == "3|0"
    assert ch.substitute("${IF($[1 = 1]?yes:no)}|${IF(0?yes:no)}|${IF(0?yes)}") == "yes|no|"
    assert ch.substitute("${CALLERID(num)} ${CALLERID(name)}") == "79160000000 Ivan"


def test_function_writes_and_the_musicclass_of_the_channel() -> None:
    ch = _channel()
    ch.set_variable("FAXOPT(faxdetect)", "yes")
    ch.set_variable("CHANNEL(musicclass)", "vip")
    ch.set_variable("CALLERID(name)", "Petr")
    ch.set_variable("NOSUCHFUNC(x)", "ignored")
    assert ch.get_variable("FAXOPT(faxdetect)") == "yes"
    assert ch.get_variable("CHANNEL(musicclass)") == "vip"
    assert ch.caller_name == "Petr"
    assert ch.get_variable("NOSUCHFUNC(x)") is None
    assert [e.detail for e in ch.timeline] == [
        "FAXOPT(faxdetect)=yes",
        "CHANNEL(musicclass)=vip",
        "CALLERID(name)=Petr",
    ]


def test_globals_come_after_channel_variables_and_global_writes_them() -> None:
    ch = _channel()
    ch.globals = {"G": "global", "ARGX": "shadowed"}
    assert ch.substitute("${G} ${ARGX}") == "global abc"
    ch.set_variable("GLOBAL(NEW)", "1")
    assert ch.globals["NEW"] == "1"


def test_register_function_adds_a_function_for_every_channel() -> None:
    register_function("TEST_TWICE", lambda ch, args: args * 2)
    try:
        assert _channel().substitute("${TEST_TWICE(ab)}") == "abab"
    finally:
        register_function("TEST_TWICE", None)
    assert _channel().get_variable("TEST_TWICE(ab)") is None
