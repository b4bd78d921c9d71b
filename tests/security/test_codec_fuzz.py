"""Fuzzing the AGI codec: env lines, reply lines and whole streams of arbitrary bytes.

Only the codec's documented error (`ProtocolError`) may come out. The budget
is a few hundred examples a run; `IVR_FUZZ=long` raises it to 100,000 per
property, `IVR_FUZZ_EXAMPLES=<n>` to any number (docs/security-tests.md).
The corpus in corpus/*.txt is replayed every run, whole and in every
chunking, and must give the same events either way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastagi.agi import (
    AGIConnection,
    Event,
    NeedData,
    ProtocolError,
    parse_env_line,
    parse_reply_line,
)

LONG = os.environ.get("IVR_FUZZ") == "long"
EXAMPLES = int(os.environ.get("IVR_FUZZ_EXAMPLES") or (100_000 if LONG else 300))
BUDGET = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.txt"))
MAX_LINE = 256


def replay(chunks: list[bytes]) -> tuple[list[Event], bool]:
    """Feed `chunks` then EOF; the events, and whether a ProtocolError ended it."""
    conn = AGIConnection(max_line_length=MAX_LINE, max_env_lines=32)
    events: list[Event] = []
    for chunk in [*chunks, b""]:
        conn.receive_data(chunk)
        for _ in range(10_000):
            try:
                event = conn.next_event()
            except ProtocolError:
                return events, True
            if isinstance(event, NeedData):
                break
            events.append(event)
            if type(event).__name__ == "Closed":
                return events, False
        assert len(conn._buffer) <= MAX_LINE + len(chunk)
    return events, False


@BUDGET
@given(st.text())
def test_env_line_parser_never_raises(line: str) -> None:
    parsed = parse_env_line(line)
    if parsed is not None:
        name, value = parsed
        assert line == f"agi_{name}:" + (f" {value}" if value else "") or line == f"agi_{name}: "


@BUDGET
@given(st.text())
def test_reply_parser_raises_only_protocol_error(line: str) -> None:
    try:
        reply = parse_reply_line(line)
    except ProtocolError:
        return
    assert reply.code in (100, 200, 510, 511, 520)


@BUDGET
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_any_byte_stream_gives_events_or_a_protocol_error(chunks: list[bytes]) -> None:
    events, _ = replay(chunks)
    assert len(events) <= 10_000


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_is_handled_the_same_in_any_chunking(path: Path) -> None:
    data = path.read_bytes()
    whole = replay([data])
    assert replay([data[i : i + 1] for i in range(len(data))]) == whole
    for size in (2, 3, 7, 64):
        assert replay([data[i : i + size] for i in range(0, len(data), size)]) == whole


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 5
