"""The connection state machine: replies, HANGUP, usage blocks, limits, EOF."""

from __future__ import annotations

import pytest
from agi_helpers import MINI_ENV, awaiting, drain, events_every_way, ready

from fastagi.agi import (
    NEED_DATA,
    AGIConnection,
    Closed,
    Environment,
    Hangup,
    LocalProtocolError,
    ProtocolError,
    Reply,
    State,
)

USAGE_BLOCK = (
    b"520-Invalid command syntax.  Proper usage follows:\n"
    b"Usage: STREAM FILE <filename> <escape_digits> [sample offset]\n"
    b"\n"
    b"  Send the given file.\n"
    b"520 End of proper usage.\n"
)


def test_starts_reading_env_and_needs_data() -> None:
    conn = AGIConnection()
    assert conn.state is State.READING_ENV
    assert conn.next_event() is NEED_DATA
    assert not conn.hung_up


def test_command_and_reply() -> None:
    conn = ready()
    assert conn.send("STREAM FILE", "welcome", "12") == b'STREAM FILE "welcome" "12"\n'
    assert conn.state is State.AWAITING_REPLY
    conn.receive_data(b"200 result=49 endpos=8000\n")
    assert conn.next_event() == Reply(
        200, result="49", endpos=8000, raw="200 result=49 endpos=8000"
    )
    assert conn.state is State.IDLE


def test_reply_every_way() -> None:
    events = events_every_way(awaiting, b"200 result=1 (some (nested) value)\n")
    assert [e.data for e in events if isinstance(e, Reply)] == ["some (nested) value"]


def test_env_then_reply_in_one_chunk() -> None:
    conn = AGIConnection()
    conn.receive_data(MINI_ENV + b"HANGUP\n")
    assert isinstance(conn.next_event(), Environment)
    assert conn.next_event() == Hangup()
    assert conn.next_event() is NEED_DATA


def test_send_while_awaiting_reply_is_a_local_error() -> None:
    conn = awaiting()
    with pytest.raises(LocalProtocolError, match="one at a time"):
        conn.send("NOOP")
    assert conn.state is State.AWAITING_REPLY


def test_send_before_env_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        AGIConnection().send("NOOP")


def test_bad_command_leaves_state_unchanged() -> None:
    conn = ready()
    with pytest.raises(LocalProtocolError):
        conn.send("noop")
    assert conn.state is State.IDLE
    conn.send("NOOP")


def test_hangup_before_the_reply() -> None:
    events = events_every_way(lambda: awaiting("STREAM FILE"), b"HANGUP\n200 result=-1 endpos=0\n")
    assert events == [Hangup(), Reply(200, result="-1", endpos=0, raw="200 result=-1 endpos=0")]


def test_hangup_does_not_complete_the_pending_command() -> None:
    conn = awaiting("STREAM FILE")
    conn.receive_data(b"HANGUP\n")
    assert conn.next_event() == Hangup()
    assert conn.hung_up
    assert conn.state is State.AWAITING_REPLY
    with pytest.raises(LocalProtocolError):
        conn.send("NOOP")
    conn.receive_data(b"200 result=-1 endpos=0\n")
    assert isinstance(conn.next_event(), Reply)
    assert conn.state is State.IDLE


def test_hangup_while_idle_and_commands_after_it() -> None:
    conn = ready()
    conn.receive_data(b"HANGUP\n")
    assert conn.next_event() == Hangup()
    assert conn.state is State.IDLE and conn.hung_up
    conn.send("GET VARIABLE", "DIALSTATUS")  # allowed on a dead channel
    conn.receive_data(b"200 result=1 (ANSWER)\nHANGUP\n")
    assert conn.next_event() == Reply(200, result="1", data="ANSWER", raw="200 result=1 (ANSWER)")
    assert conn.next_event() == Hangup()  # Asterisk repeats HANGUP when the AGI ends


def test_dead_channel_reply() -> None:
    (reply,) = events_every_way(
        awaiting, b"511 Command Not Permitted on a dead channel or intercept routine\n"
    )
    assert isinstance(reply, Reply) and reply.code == 511


def test_gosub_trying_then_complete() -> None:
    conn = awaiting("GOSUB")
    conn.receive_data(b"100 result=0 Trying...\n")
    trying = conn.next_event()
    assert isinstance(trying, Reply) and trying.code == 100
    assert conn.state is State.AWAITING_REPLY
    with pytest.raises(LocalProtocolError):
        conn.send("NOOP")
    conn.receive_data(b"HANGUP\n200 result=0 Gosub complete\n")
    assert conn.next_event() == Hangup()
    done = conn.next_event()
    assert isinstance(done, Reply) and (done.code, done.extra) == (200, "Gosub complete")
    assert conn.state is State.IDLE


def test_gosub_every_way() -> None:
    events = events_every_way(
        lambda: awaiting("GOSUB"), b"100 result=0 Trying...\n200 result=0 Gosub complete\n"
    )
    assert [e.code for e in events if isinstance(e, Reply)] == [100, 200]


def test_usage_block_is_one_reply() -> None:
    (reply,) = events_every_way(lambda: awaiting("STREAM FILE"), USAGE_BLOCK)
    assert isinstance(reply, Reply)
    assert reply.code == 520
    assert reply.raw == "520-Invalid command syntax.  Proper usage follows:"
    assert reply.usage == (
        "Usage: STREAM FILE <filename> <escape_digits> [sample offset]\n\n  Send the given file."
    )


def test_usage_block_keeps_later_replies_in_step() -> None:
    conn = awaiting("STREAM FILE")
    conn.receive_data(USAGE_BLOCK)
    assert isinstance(conn.next_event(), Reply)
    assert conn.state is State.IDLE
    conn.send("NOOP")
    conn.receive_data(b"200 result=0\n")
    assert conn.next_event() == Reply(200, result="0", raw="200 result=0")


def test_single_line_520() -> None:
    (reply,) = events_every_way(
        awaiting, b"520 Invalid command syntax.  Proper usage not available.\n"
    )
    assert isinstance(reply, Reply) and reply.code == 520 and reply.usage == ""


def test_usage_block_too_long() -> None:
    conn = awaiting(max_usage_lines=2)
    conn.receive_data(b"520-x\na\nb\nc\n520 End of proper usage.\n")
    with pytest.raises(ProtocolError):
        conn.next_event()


@pytest.mark.parametrize(
    "line",
    [b"200 result=0\n", b"100 result=0 Trying...\n", b"520-x\n", b"garbage\n", b"\n"],
)
def test_line_with_no_command_pending_is_a_protocol_error(line: bytes) -> None:
    conn = ready()
    conn.receive_data(line)
    with pytest.raises(ProtocolError):
        conn.next_event()
    assert conn.state is State.ERROR


def test_second_reply_to_one_command_is_a_protocol_error() -> None:
    conn = awaiting()
    conn.receive_data(b"200 result=0\n200 result=0\n")
    assert isinstance(conn.next_event(), Reply)
    with pytest.raises(ProtocolError):
        conn.next_event()


def test_error_state_is_sticky() -> None:
    conn = awaiting()
    conn.receive_data(b"999 what\n")
    with pytest.raises(ProtocolError, match="999"):
        conn.next_event()
    conn.receive_data(b"200 result=0\n")
    for _ in range(2):
        with pytest.raises(ProtocolError):
            conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send("NOOP")


def test_incomplete_line_over_the_limit() -> None:
    conn = awaiting(max_line_length=100)
    conn.receive_data(b"200 result=1 (" + b"x" * 200)
    with pytest.raises(ProtocolError, match="longer than 100"):
        conn.next_event()
    assert conn.state is State.ERROR


def test_overlong_line_is_not_buffered() -> None:
    conn = awaiting(max_line_length=100)
    for _ in range(1000):
        conn.receive_data(b"x" * 1000)
    assert len(conn._buffer) <= 101  # capped, whatever the peer sends


def test_complete_line_over_the_limit() -> None:
    conn = awaiting(max_line_length=100)
    conn.receive_data(b"200 result=1 (" + b"x" * 200 + b")\n")
    with pytest.raises(ProtocolError):
        conn.next_event()


def test_line_at_the_limit_is_accepted() -> None:
    line = b"200 result=1 (" + b"x" * 85 + b")"
    assert len(line) == 100
    (reply,) = events_every_way(lambda: awaiting(max_line_length=100), line + b"\n")
    assert isinstance(reply, Reply)


def test_events_before_an_overlong_line_are_delivered() -> None:
    conn = awaiting(max_line_length=100)
    conn.receive_data(b"HANGUP\n" + b"x" * 500)
    assert conn.next_event() == Hangup()
    with pytest.raises(ProtocolError):
        conn.next_event()


def test_eof_when_idle() -> None:
    conn = ready()
    conn.receive_data(b"")
    assert conn.next_event() == Closed()
    assert conn.state is State.CLOSED
    assert conn.next_event() == Closed()
    conn.receive_data(b"200 result=0\n")  # ignored after EOF
    assert conn.next_event() == Closed()


def test_eof_mid_line_discards_the_partial_line() -> None:
    conn = awaiting()
    conn.receive_data(b"200 resu")
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"")
    assert conn.next_event() == Closed()
    assert conn.state is State.CLOSED


def test_eof_while_awaiting_reply_after_complete_lines() -> None:
    conn = awaiting()
    conn.receive_data(b"HANGUP\n")
    conn.receive_data(b"")
    assert drain(conn) == [Hangup(), Closed()]


def test_eof_mid_env_block() -> None:
    conn = AGIConnection()
    conn.receive_data(b"agi_network: yes\nagi_request: agi://x/main\n")
    conn.receive_data(b"")
    assert drain(conn) == [Closed()]


def test_eof_inside_usage_block() -> None:
    conn = awaiting()
    conn.receive_data(b"520-Invalid command syntax.  Proper usage follows:\nUsage: x\n")
    conn.receive_data(b"")
    assert drain(conn) == [Closed()]


def test_send_after_close_is_a_local_error() -> None:
    conn = ready()
    conn.receive_data(b"")
    drain(conn)
    with pytest.raises(LocalProtocolError, match="closed"):
        conn.send("NOOP")
