"""Reply line parsing: every form res_agi.c writes, and nothing else."""

from __future__ import annotations

import contextlib
import inspect
import re
from dataclasses import MISSING, fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastagi.agi import ProtocolError, Reply, parse_reply_line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("200 result=1", Reply(200, result="1")),
        ("200 result=0", Reply(200, result="0")),
        ("200 result=-1 endpos=1234", Reply(200, result="-1", endpos=1234)),
        ("200 result=49 endpos=16000", Reply(200, result="49", endpos=16000)),
        ("200 result=0 (timeout)", Reply(200, result="0", data="timeout")),
        ("200 result=12* (timeout)", Reply(200, result="12*", data="timeout")),
        ("200 result= (timeout)", Reply(200, result="", data="timeout")),
        ("200 result=", Reply(200, result="")),
        ("200 result=123#", Reply(200, result="123#")),
        (
            "200 result=1 (some value (with) parens)",
            Reply(200, result="1", data="some value (with) parens"),
        ),
        ("200 result=1 ()", Reply(200, result="1", data="")),
        ("200 result=1 (a) endpos=5)", Reply(200, result="1", data="a) endpos=5")),
        (
            "200 result=0 (timeout) endpos=5000",
            Reply(200, result="0", data="timeout", endpos=5000),
        ),
        ("200 result=0 Gosub complete", Reply(200, result="0", extra="Gosub complete")),
        ("200 result=-1 Gosub failed", Reply(200, result="-1", extra="Gosub failed")),
        ("100 result=0 Trying...", Reply(100, result="0", extra="Trying...")),
        (
            "200 result=1 (digit) digit=5 endpos=880",
            Reply(200, result="1", data="digit", endpos=880, extra="digit=5"),
        ),
        ("510 Invalid or unknown command", Reply(510, extra="Invalid or unknown command")),
        (
            "511 Command Not Permitted on a dead channel or intercept routine",
            Reply(511, extra="Command Not Permitted on a dead channel or intercept routine"),
        ),
        (
            "520 Invalid command syntax.  Proper usage not available.",
            Reply(520, extra="Invalid command syntax.  Proper usage not available."),
        ),
    ],
)
def test_reply_forms(line: str, expected: Reply) -> None:
    reply = parse_reply_line(line)
    assert reply == Reply(
        code=expected.code,
        result=expected.result,
        data=expected.data,
        endpos=expected.endpos,
        extra=expected.extra,
        raw=line,
    )


def test_get_variable_value_with_parentheses_and_spaces() -> None:
    reply = parse_reply_line("200 result=1 (Ivan (VIP) Petrov )")
    assert reply.result_int == 1
    assert reply.data == "Ivan (VIP) Petrov "


def test_digits_with_timeout_are_kept_as_text() -> None:
    reply = parse_reply_line("200 result=12* (timeout)")
    assert reply.result == "12*"
    assert reply.result_int is None


def test_usage_block_first_line_with_usage() -> None:
    first = "520-Invalid command syntax.  Proper usage follows:"
    reply = parse_reply_line(first, usage="Usage: STREAM FILE <file> <digits>")
    assert reply.code == 520
    assert reply.usage == "Usage: STREAM FILE <file> <digits>"
    assert reply.raw == first
    assert reply.extra == "Invalid command syntax.  Proper usage follows:"


@pytest.mark.parametrize(
    "line",
    [
        "",
        "HANGUP",
        "hello",
        "200",
        "200result=1",
        "2000 result=1",
        "20 result=1",
        "404 Not found",
        "300 result=1",
        "503 result=-2 Memory allocation failure",
        "510-Invalid",
        "200-result=1",
        " 200 result=1",
        "٢٠٠ result=1",
        "200 result=1 (unterminated",
        "200 result=1 )(",
        "200 result=1 endpos=" + "9" * 5000,
        "agi_network: yes",
    ],
)
def test_not_a_reply(line: str) -> None:
    with pytest.raises(ProtocolError):
        parse_reply_line(line)


@given(st.text())
def test_random_text_raises_only_protocol_error(line: str) -> None:
    try:
        reply = parse_reply_line(line)
    except ProtocolError:
        return
    assert reply.raw == line
    assert reply.code in {100, 200, 510, 511, 520}


@given(
    st.sampled_from(["200 ", "100 ", "510 ", "511 ", "520 ", "520-", "200 result="]),
    st.text(alphabet=st.sampled_from("( )=-0123456789endposresult*#"), max_size=40),
)
def test_near_miss_text_raises_only_protocol_error(prefix: str, rest: str) -> None:
    with contextlib.suppress(ProtocolError):
        parse_reply_line(prefix + rest)


_ENDPOS_SUFFIX = re.compile(r"endpos=-?[0-9]+\Z")


@given(
    result=st.text().filter(lambda s: " " not in s),
    data=st.none() | st.text(),
    endpos=st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
    extra=st.text().filter(
        lambda s: (
            s == s.strip(" ") and "(" not in s and ")" not in s and not _ENDPOS_SUFFIX.search(s)
        )
    ),
)
def test_reply_round_trip(result: str, data: str | None, endpos: int | None, extra: str) -> None:
    # Asterisk's order: result, then (data), then free text, then endpos.
    line = f"200 result={result}"
    if data is not None:
        line += f" ({data})"
    if extra:
        line += f" {extra}"
    if endpos is not None:
        line += f" endpos={endpos}"
    expected = Reply(200, result=result, data=data, endpos=endpos, extra=extra, raw=line)
    assert parse_reply_line(line) == expected


def test_reply_init_matches_its_fields() -> None:
    # Reply writes its own __init__ (for speed): it must take exactly the fields.
    params = inspect.signature(Reply).parameters.values()
    assert [(p.name, p.default) for p in params] == [
        (f.name, inspect.Parameter.empty if f.default is MISSING else f.default)
        for f in fields(Reply)
    ]
