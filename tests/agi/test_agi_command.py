"""Command formatting and quoting, checked against a model of Asterisk's reader."""

from __future__ import annotations

import pytest
from agi_helpers import asterisk_parse_args, asterisk_read_commands
from hypothesis import given
from hypothesis import strategies as st

from fastagi.agi import (
    MAX_ARGS,
    MAX_COMMAND_BYTES,
    CommandTooLong,
    LocalProtocolError,
    format_command,
    quote_argument,
)


def words(line: bytes) -> list[str]:
    """What Asterisk's argv holds for a line we formatted."""
    assert line.endswith(b"\n")
    (command,) = asterisk_read_commands(line)
    return [word.decode("utf-8") for word in asterisk_parse_args(command)]


def as_sent(arg: str) -> str:
    """The argument as it can travel: CR and LF become spaces, NUL is dropped."""
    return arg.replace("\r", " ").replace("\n", " ").replace("\x00", "")


# -- the model itself, on the example from the brief and res_agi.c -----------


def test_model_splits_quoted_empty_and_escaped_words() -> None:
    assert asterisk_parse_args(b'"a b" "" "x\\"y"') == [b"a b", b"", b'x"y']


def test_model_unquoted_words_tabs_and_escapes() -> None:
    assert asterisk_parse_args(b"GET  DATA\tbeep") == [b"GET", b"DATA", b"beep"]
    assert asterisk_parse_args(b"a\\ b c\\\\d") == [b"a b", b"c\\d"]
    assert asterisk_parse_args(b'a"b c"d') == [b"ab cd"]


def test_model_line_reader_cuts_at_buffer_size() -> None:
    line = b"X" * 10 + b"\n"
    assert asterisk_read_commands(line, bufsize=12) == [b"X" * 10]
    assert asterisk_read_commands(b"X" * 11 + b"\n", bufsize=12) == [b"X" * 11, b""]


# -- quote_argument -----------------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "quoted"),
    [
        ("hello", '"hello"'),
        ("", '""'),
        ("a b", '"a b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\path\\", '"C:\\\\path\\\\"'),
        ("line1\nline2", '"line1 line2"'),
        ("crlf\r\n", '"crlf  "'),
        ("nul\x00byte", '"nulbyte"'),
        ("Привет, мир", '"Привет, мир"'),
    ],
)
def test_quote_argument(arg: str, quoted: str) -> None:
    assert quote_argument(arg) == quoted


# -- format_command -------------------------------------------------------------


def test_format_stream_file() -> None:
    line = format_command("STREAM FILE", "welcome", "123#")
    assert line == b'STREAM FILE "welcome" "123#"\n'
    assert words(line) == ["STREAM", "FILE", "welcome", "123#"]


def test_format_command_without_arguments() -> None:
    assert format_command("ANSWER") == b"ANSWER\n"


def test_empty_argument_survives() -> None:
    assert words(format_command("STREAM FILE", "beep", "")) == ["STREAM", "FILE", "beep", ""]


def test_hostile_caller_name_stays_one_argument() -> None:
    name = 'Bob" "x\\" EXEC System rm\n200 result=1\r\x00'
    line = format_command("SET VARIABLE", "CALLER_NAME", name)
    assert line.count(b"\n") == 1
    assert words(line) == ["SET", "VARIABLE", "CALLER_NAME", as_sent(name)]


def test_utf8_on_the_wire() -> None:
    line = format_command("VERBOSE", "звонок", "1")
    assert line == 'VERBOSE "звонок" "1"\n'.encode()


@pytest.mark.parametrize(
    "name", ["", "stream file", "STREAM  FILE", " NOOP", "NOOP ", "EXEC;", "NO\nOP", 'NOOP"']
)
def test_bad_command_name(name: str) -> None:
    with pytest.raises(LocalProtocolError):
        format_command(name)


def test_lone_surrogate_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        format_command("VERBOSE", "\udcff")


def test_longest_line_asterisk_reads_whole() -> None:
    overhead = len(b'SET VARIABLE "X" ""\n')
    longest = format_command("SET VARIABLE", "X", "v" * (MAX_COMMAND_BYTES - 1 - overhead))
    assert len(longest) == MAX_COMMAND_BYTES - 1
    assert len(asterisk_read_commands(longest)) == 1
    # One byte more and Asterisk would read the line as two commands.
    one_more = longest[:-1] + b"v\n"
    assert len(asterisk_read_commands(one_more)) == 2
    with pytest.raises(CommandTooLong):
        format_command("SET VARIABLE", "X", "v" * (MAX_COMMAND_BYTES - overhead))


def test_byte_limit_counts_utf8_bytes_not_characters() -> None:
    overhead = len(b'VERBOSE ""\n')
    fits = (MAX_COMMAND_BYTES - 1 - overhead) // 2
    assert len(format_command("VERBOSE", "я" * fits)) <= MAX_COMMAND_BYTES - 1
    with pytest.raises(CommandTooLong):
        format_command("VERBOSE", "я" * (fits + 1))


def test_escapes_count_towards_the_limit() -> None:
    with pytest.raises(CommandTooLong):
        format_command("VERBOSE", '"' * (MAX_COMMAND_BYTES // 2))


def test_older_asterisk_buffer() -> None:
    arg = "v" * 3000
    assert format_command("VERBOSE", arg)  # fits the 8K buffer
    with pytest.raises(CommandTooLong):
        format_command("VERBOSE", arg, max_bytes=2048)


def test_word_limit_counts_command_keywords() -> None:
    most = MAX_ARGS - 2
    line = format_command("SET VARIABLE", *["a"] * (most - 2))
    assert len(words(line)) == most
    with pytest.raises(CommandTooLong):
        format_command("SET VARIABLE", *["a"] * (most - 1))
    with pytest.raises(CommandTooLong):
        format_command("NOOP", *["a"] * MAX_ARGS)


def test_command_too_long_is_a_local_protocol_error() -> None:
    assert issubclass(CommandTooLong, LocalProtocolError)


# -- properties -----------------------------------------------------------------


@given(st.lists(st.text(max_size=40), max_size=12))
def test_round_trip_through_asterisk_parser(args: list[str]) -> None:
    line = format_command("EXEC", *args)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert b"\r" not in line and b"\x00" not in line
    assert words(line) == ["EXEC", *map(as_sent, args)]


@given(st.text())
def test_single_argument_round_trip(arg: str) -> None:
    line = format_command("SET VARIABLE", "V", arg)
    assert words(line) == ["SET", "VARIABLE", "V", as_sent(arg)]


@given(st.text(alphabet=st.sampled_from('\\" \t\r\n\x00ab'), max_size=30))
def test_round_trip_of_special_characters(arg: str) -> None:
    assert words(format_command("VERBOSE", arg)) == ["VERBOSE", as_sent(arg)]
