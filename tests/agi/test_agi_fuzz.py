"""Arbitrary bytes never break the codec: only ProtocolError, never a crash or a hang.

Also replays the corpus in tests/agi/corpus/: tricky streams as Asterisk (or
a broken peer) might send them, each with the transcript it must produce.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastagi.agi import (
    AGIConnection,
    Closed,
    Environment,
    Event,
    Hangup,
    LocalProtocolError,
    NeedData,
    ProtocolError,
    Reply,
    State,
)

CORPUS = Path(__file__).parent / "corpus"

SEND = None  # marker in an action list: the script tries to send a command

TOKENS = [
    b"agi_network: yes\n",
    b"agi_calleridname: Bob\n",
    b"\n",
    b"\r\n",
    b"HANGUP\n",
    b"200 result=0\n",
    b"200 result=1 (x)\n",
    b"200 result=-1 endpos=0\n",
    b"100 result=0 Trying...\n",
    b"520-Invalid command syntax.  Proper usage follows:\n",
    b"520 End of proper usage.\n",
    b"510 Invalid or unknown command\n",
    b"511 Command Not Permitted\n",
    b"200 result=",
    b"(",
    b")",
    b"\xff",
    b"\x00",
    b"",
]

actions = st.lists(
    st.one_of(st.binary(max_size=48), st.sampled_from(TOKENS), st.just(SEND)), max_size=40
)


class Script:
    """Plays the script's side and records events.

    With `auto_send`, it sends NOOP as soon as AGI allows (after the env block
    and after every final reply), as a real script would.
    """

    def __init__(self, conn: AGIConnection, *, auto_send: bool = False) -> None:
        self.conn = conn
        self.auto_send = auto_send
        self.events: list[Event] = []
        self.failed = False

    def pump(self) -> None:
        while not self.failed:
            state = self.conn.state
            try:
                event = self.conn.next_event()
            except ProtocolError:
                self.failed = True
                assert self.conn.state is State.ERROR
                with pytest.raises(ProtocolError):
                    self.conn.next_event()
                return
            if isinstance(event, NeedData):
                return
            self.check(state, event)
            self.events.append(event)
            if isinstance(event, Closed):
                return
            if self.auto_send and self.conn.state is State.IDLE and not isinstance(event, Hangup):
                self.try_send()

    def check(self, before: State, event: Event) -> None:
        """The events make sense for the state the connection was in."""
        if isinstance(event, Environment):
            assert before is State.READING_ENV and self.conn.state is State.IDLE
        elif isinstance(event, Reply):
            assert before is State.AWAITING_REPLY
            expected = State.AWAITING_REPLY if event.code == 100 else State.IDLE
            assert self.conn.state is expected
        elif isinstance(event, Hangup):
            assert before in (State.IDLE, State.AWAITING_REPLY)
            assert self.conn.state is before and self.conn.hung_up
        else:
            assert self.conn.state is State.CLOSED

    def try_send(self) -> None:
        if self.conn.state is State.IDLE:
            assert self.conn.send("NOOP") == b"NOOP\n"
            assert self.conn.state is State.AWAITING_REPLY
        else:
            before = self.conn.state
            with pytest.raises(LocalProtocolError):
                self.conn.send("NOOP")
            assert self.conn.state is before


@settings(max_examples=400)
@given(actions, st.sampled_from([16, 64, 8192]))
def test_any_input_raises_only_protocol_error(
    steps: list[bytes | None], max_line_length: int
) -> None:
    script = Script(AGIConnection(max_line_length=max_line_length, max_env_lines=8))
    for step in steps:
        if step is SEND:
            script.try_send()
        else:
            script.conn.receive_data(step)
        script.pump()
    script.conn.receive_data(b"")
    script.pump()
    # Every stream ends in exactly one of the two terminal states.
    if script.failed:
        assert script.conn.state is State.ERROR
    else:
        assert script.conn.state is State.CLOSED and script.events[-1] == Closed()
    assert sum(isinstance(e, Environment) for e in script.events) <= 1


@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=64))
def test_random_bytes_after_env_in_random_chunks(data: bytes, size: int) -> None:
    script = Script(AGIConnection(max_line_length=256), auto_send=True)
    script.conn.receive_data(b"agi_network: yes\n\n")
    script.pump()
    for start in range(0, len(data), size):
        script.conn.receive_data(data[start : start + size])
        script.pump()
    script.conn.receive_data(b"")
    script.pump()
    assert script.conn.state in (State.CLOSED, State.ERROR)


# -- corpus ---------------------------------------------------------------------


def transcript(events: list[Event], failed: bool) -> list[str]:
    lines = []
    for event in events:
        if isinstance(event, Environment):
            lines.append(
                f"env script={event.script} callerid={event.callerid} "
                f"name={event.calleridname!r} malformed={len(event.malformed_lines)}"
            )
        elif isinstance(event, Reply):
            lines.append(f"reply {event.code} result={event.result} data={event.data}")
        elif isinstance(event, Hangup):
            lines.append("hangup")
        else:
            lines.append("closed")
    return [*lines, "error"] if failed else lines


def replay(data: bytes, chunk: int) -> list[str]:
    """Feed `data` in chunks, sending NOOP whenever allowed, then EOF."""
    script = Script(AGIConnection(max_line_length=8192), auto_send=True)
    for start in range(0, len(data), chunk):
        script.conn.receive_data(data[start : start + chunk])
        script.pump()
    script.conn.receive_data(b"")
    script.pump()
    return transcript(script.events, script.failed)


ENV = "env script=main callerid=unknown name='unknown' malformed=0"

EXPECTED = {
    "01_env_only.agi": [ENV, "closed"],
    "02_caller_name_newline.agi": [
        "env script=main callerid=79161234567 name='Ivan' malformed=1",
        "reply 200 result=0 data=None",
        "closed",
    ],
    "03_hangup_before_reply.agi": [
        ENV,
        "hangup",
        "reply 200 result=-1 data=None",
        "hangup",
        "closed",
    ],
    "04_gosub.agi": [
        ENV,
        "reply 100 result=0 data=None",
        "reply 200 result=0 data=None",
        "closed",
    ],
    "05_usage_block.agi": [
        ENV,
        "reply 520 result=None data=None",
        "reply 200 result=1 data=None",
        "closed",
    ],
    "06_crlf.agi": [ENV, "reply 200 result=1 data=ANSWER", "closed"],
    "07_eof_mid_line.agi": [ENV, "closed"],
    "08_eof_mid_env.agi": ["closed"],
    "09_name_ends_env_early.agi": [
        "env script=main callerid=unknown name='Bob' malformed=0",
        "error",
    ],
    "10_invalid_utf8.agi": [
        "env script=main callerid=unknown name='\ufffdBob\ufffd' malformed=0",
        "reply 200 result=1 data=\ufffd",
        "closed",
    ],
    "11_garbage_reply.agi": [ENV, "error"],
    "12_unknown_code.agi": [ENV, "error"],
    "13_nul_bytes.agi": [
        "env script=main callerid=unknown name='a\\x00b' malformed=0",
        "reply 200 result=1 data=a\x00b",
        "closed",
    ],
    "14_unterminated_data.agi": [ENV, "error"],
    "15_hangup_in_env.agi": [
        "env script=main callerid=unknown name='unknown' malformed=1",
        "hangup",
        "closed",
    ],
    "16_overlong_line.agi": [ENV, "error"],
    "17_injected_env_lines.agi": [
        "env script=main callerid=unknown name='x' malformed=2",
        "reply 200 result=1 data=None",
        "closed",
    ],
}


def test_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.agi")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_replay(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    assert replay(data, len(data) or 1) == EXPECTED[name]
    assert replay(data, 1) == EXPECTED[name]
    assert replay(data, 7) == EXPECTED[name]
