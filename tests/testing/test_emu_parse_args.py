"""parse_args must split command lines exactly like res_agi.c."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastagi.testing import MAX_ARGS, parse_args


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("ANSWER", ["ANSWER"]),
        ("", []),
        ("   \t ", []),
        ("STREAM FILE welcome 123", ["STREAM", "FILE", "welcome", "123"]),
        ("  STREAM   FILE  welcome  ", ["STREAM", "FILE", "welcome"]),
        ("GET\tDATA\t\tmenu", ["GET", "DATA", "menu"]),
        # quotes group words and vanish; opening one after blanks starts a word
        ('VERBOSE "hello world" 1', ["VERBOSE", "hello world", "1"]),
        ('VERBOSE "tab\there" 1', ["VERBOSE", "tab\there", "1"]),
        ('a"b c"d', ["ab cd"]),
        ('"a"b', ["ab"]),
        ('"open quote never closed', ["open quote never closed"]),
        # empty arguments
        ('STREAM FILE welcome ""', ["STREAM", "FILE", "welcome", ""]),
        ('"" ""', ["", ""]),
        ('""', [""]),
        ('x "" y', ["x", "", "y"]),
        ('x""', ["x"]),
        # escapes: the next character is literal
        (r'SET VARIABLE X "say \"hi\""', ["SET", "VARIABLE", "X", 'say "hi"']),
        (r"a\ b", ["a b"]),
        (r"a\\b", ["a\\b"]),
        (r"a\\\\b", ["a\\\\b"]),
        (r"\"", ['"']),
        (r"a\nb", ["anb"]),
        ("ab\\", ["ab"]),
        ("a\\\tb", ["a\tb"]),
        (r'"a\"b"', ['a"b']),
        (r"\ lead", [" lead"]),
        # carriage returns are ordinary characters
        ("ANSWER\r", ["ANSWER\r"]),
    ],
)
def test_parse_args_cases(line: str, words: list[str]) -> None:
    assert parse_args(line) == words


def test_unquoted_words_are_capped_at_127() -> None:
    line = " ".join(f"w{i}" for i in range(200))
    words = parse_args(line)
    assert len(words) == MAX_ARGS - 1 == 127
    assert words[-1] == "w126"


def test_cap_applies_on_the_slow_path_too() -> None:
    line = " ".join(f"w{i}" for i in range(200)) + ' "x y"'
    words = parse_args(line)
    # the quoted word opens past the cap: Asterisk does not check there
    assert len(words) == 128
    assert words[126] == "w126"
    assert words[-1] == "x y"


def test_characters_of_words_past_the_cap_are_dropped() -> None:
    line = " ".join(f"w{i}" for i in range(127)) + r" extra\ word more"
    words = parse_args(line)
    assert len(words) == 127
    assert "extra" not in "".join(words)


def _quote(argument: str) -> str:
    return '"' + argument.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(st.lists(st.text(alphabet=st.characters(exclude_characters="\n\r\0")), max_size=20))
def test_escaped_and_quoted_arguments_round_trip(arguments: list[str]) -> None:
    line = " ".join(["CMD", *(_quote(a) for a in arguments)])
    assert parse_args(line) == ["CMD", *arguments]


@given(st.text(alphabet='ab \t"\\'))
def test_never_fails_and_words_contain_no_bare_separators(line: str) -> None:
    words = parse_args(line)
    if '"' not in line and "\\" not in line:
        assert all(" " not in w and "\t" not in w and w for w in words)
