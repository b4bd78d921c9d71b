"""The AGI connection state machine: bytes in, events out, commands to bytes.

No I/O happens here (the h11 model). The transport feeds what it reads to
`receive_data` (b"" at end of stream) and calls `next_event` until it returns
`NEED_DATA`; `send` turns a command into the bytes to write. Every state
change goes through the one table `_TRANSITIONS` below.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from types import MappingProxyType

from fastagi.agi._command import MAX_COMMAND_BYTES, format_command
from fastagi.agi._env import parse_env_line
from fastagi.agi._errors import LocalProtocolError, ProtocolError
from fastagi.agi._events import NEED_DATA, Closed, Environment, Event, Hangup, NeedData, Reply
from fastagi.agi._response import parse_reply_line, preview

__all__ = ["AGIConnection", "State"]


class State(enum.Enum):
    """Where the conversation with Asterisk stands."""

    READING_ENV = "READING_ENV"  # the agi_* block has not ended yet
    IDLE = "IDLE"  # the script may send a command
    AWAITING_REPLY = "AWAITING_REPLY"  # a command is in flight
    CLOSED = "CLOSED"  # Asterisk closed the connection (terminal)
    ERROR = "ERROR"  # Asterisk sent something that is not AGI (terminal)

    # Members are singletons compared by identity: hash them by identity too.
    # Enum's own __hash__ is a Python function, called twice per table lookup.
    __hash__ = object.__hash__


class _Input(enum.Enum):
    ENV_END = "blank line ending the environment block"
    SEND = "command sent by the script"
    INTERIM_REPLY = "interim reply (100)"
    FINAL_REPLY = "reply"
    HANGUP = "HANGUP line"
    EOF = "end of stream"

    __hash__ = object.__hash__  # as State's


# Reading `State.X` goes through Enum's descriptor machinery (~60 ns a time):
# the per-line paths use these module-level names instead.
_READING_ENV = State.READING_ENV
_IDLE = State.IDLE
_AWAITING_REPLY = State.AWAITING_REPLY
_CLOSED = State.CLOSED
_ERROR = State.ERROR
_SEND = _Input.SEND
_INTERIM_REPLY = _Input.INTERIM_REPLY
_FINAL_REPLY = _Input.FINAL_REPLY


# The whole state machine. A pair missing from the table is illegal: SEND
# raises LocalProtocolError (e.g. a second command while one is in flight),
# a received input raises ProtocolError (e.g. a reply when none is due). Every
# ProtocolError moves the connection to ERROR, from any non-terminal state.
# (In READING_ENV a HANGUP line is just a malformed env line.) Inside
# AWAITING_REPLY, a `520-` usage block is collected line by line until its
# closing `520 ` line, which is the FINAL_REPLY.
_TRANSITIONS: dict[tuple[State, _Input], State] = {
    (State.READING_ENV, _Input.ENV_END): State.IDLE,
    (State.READING_ENV, _Input.EOF): State.CLOSED,
    (State.IDLE, _Input.SEND): State.AWAITING_REPLY,
    (State.IDLE, _Input.HANGUP): State.IDLE,
    (State.IDLE, _Input.EOF): State.CLOSED,
    (State.AWAITING_REPLY, _Input.INTERIM_REPLY): State.AWAITING_REPLY,
    (State.AWAITING_REPLY, _Input.FINAL_REPLY): State.IDLE,
    (State.AWAITING_REPLY, _Input.HANGUP): State.AWAITING_REPLY,
    (State.AWAITING_REPLY, _Input.EOF): State.CLOSED,
}

_SEND_REFUSED = {
    State.READING_ENV: "the environment block has not been received yet",
    State.AWAITING_REPLY: "a command is still awaiting its reply (AGI allows one at a time)",
    State.CLOSED: "the connection is closed",
    State.ERROR: "the connection failed with a protocol error",
}

# A plain env line, as `parse_env_line` accepts it: `agi_<name>:` then nothing
# or " <value>". Run over a whole block (MULTILINE): a match never crosses a
# "\n", so each line yields at most one match.
_ENV_LINE = re.compile(r"^agi_([A-Za-z0-9_]+):(?: ([^\n]*))?$", re.MULTILINE)


class AGIConnection:
    """One FastAGI conversation, seen from the script's side, without I/O.

    `max_line_length` bounds every received line (bytes, without "\\n") and so
    the bytes buffered for an incomplete line; `max_env_lines` bounds the
    environment block and `max_usage_lines` a 520 usage block;
    `max_command_bytes` is the command buffer of the Asterisk on the other end
    (`MAX_COMMAND_BYTES`; pass 2048 for Asterisk releases before the 8K fix).
    Bytes received after end of stream, or after an error, are ignored.
    """

    def __init__(
        self,
        *,
        max_line_length: int = 8192,
        max_env_lines: int = 512,
        max_usage_lines: int = 512,
        max_command_bytes: int = MAX_COMMAND_BYTES,
    ) -> None:
        self._max_line_length = max_line_length
        self._max_env_lines = max_env_lines
        self._max_usage_lines = max_usage_lines
        self._max_command_bytes = max_command_bytes
        self._state = State.READING_ENV
        self._hung_up = False
        self._error = ""
        self._buffer = bytearray()
        self._scanned = 0  # bytes at the start of _buffer known to hold no "\n"
        # Complete lines cut from _buffer in one go, handed out one at a time
        # by next_event (a reply may come with a HANGUP line in one chunk).
        self._lines: deque[bytes] = deque()
        self._tail = 0  # length of the incomplete line at the end of _buffer
        self._overflow = False  # an incomplete line grew past max_line_length
        self._eof = False
        self._env: dict[str, str] = {}
        self._env_malformed: list[str] = []
        self._env_lines = 0
        self._usage_first: str | None = None  # first line of a 520- block in progress
        self._usage_lines: list[str] = []

    @property
    def state(self) -> State:
        return self._state

    @property
    def hung_up(self) -> bool:
        """True once Asterisk has sent a HANGUP line: the caller is gone."""
        return self._hung_up

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes read from Asterisk; b"" means end of stream."""
        if self._eof or self._overflow or self._state is _CLOSED or self._state is _ERROR:
            return
        if not data:
            self._eof = True
            return
        self._buffer += data
        newline = data.rfind(b"\n")
        self._tail = self._tail + len(data) if newline < 0 else len(data) - newline - 1
        if self._tail > self._max_line_length:
            # Keep memory bounded: drop the overlong line now, report it from
            # next_event once the complete lines before it have been delivered.
            del self._buffer[len(self._buffer) - self._tail :]
            self._tail = 0
            self._overflow = True

    def next_event(self) -> Event | NeedData:
        """Return the next event, or `NEED_DATA` when more bytes are needed.

        Returns `Environment` once, then `Reply` and `Hangup` events, and
        `Closed` (for ever) after end of stream. Raises `ProtocolError` (for
        ever) once Asterisk has sent something that is not AGI.
        """
        if self._state is _ERROR:
            raise ProtocolError(self._error)
        if self._state is _CLOSED:
            return Closed()
        lines = self._lines
        if not lines and not self._buffer and not (self._eof or self._overflow):
            return NEED_DATA  # nothing buffered: the answer to every other call
        try:
            while True:
                if not lines:
                    chunk = self._cut_lines()
                    if chunk is None:
                        if self._overflow:
                            raise ProtocolError(
                                f"line longer than {self._max_line_length} bytes from Asterisk"
                            )
                        if self._eof:
                            self._transition(_Input.EOF)
                            self._discard()
                            return Closed()
                        return NEED_DATA
                    if self._state is _READING_ENV:
                        env, rest = self._env_block(chunk)
                        if rest is not None:
                            lines.extend(rest.split(b"\n"))
                        if env is not None:
                            return env
                        continue
                    lines.extend(chunk.split(b"\n"))
                raw = lines.popleft()
                if len(raw) > self._max_line_length:
                    raise ProtocolError(
                        f"line longer than {self._max_line_length} bytes from Asterisk"
                    )
                if raw.endswith(b"\r"):
                    raw = raw[:-1]
                event = self._handle_line(raw.decode("utf-8", errors="replace"))
                if event is not None:
                    return event
        except ProtocolError as exc:
            self._state = State.ERROR
            self._error = str(exc)
            self._discard()
            raise

    def send(self, name: str, *args: str) -> bytes:
        """Return the bytes of one command line and wait for its reply.

        Legal only in IDLE (AGI allows one command at a time); raises
        `LocalProtocolError` otherwise, and whatever `format_command` raises
        for a bad command (the state is then unchanged).
        """
        new = self._next_state(_SEND, name)
        data = format_command(name, *args, max_bytes=self._max_command_bytes)
        self._state = new
        return data

    # -- internals ---------------------------------------------------------

    def _next_state(self, what: _Input, subject: str) -> State:
        """The state `what` leads to, per the table; raise if the table forbids it."""
        new = _TRANSITIONS.get((self._state, what))
        if new is not None:
            return new
        if what is _SEND:
            reason = _SEND_REFUSED.get(self._state, f"illegal in state {self._state.name}")
            raise LocalProtocolError(f"cannot send {subject}: {reason}")
        raise ProtocolError(
            f"unexpected {what.value} in state {self._state.name}: {preview(subject)}"
        )

    def _transition(self, what: _Input, subject: str = "") -> None:
        self._state = self._next_state(what, subject)

    def _discard(self) -> None:
        self._buffer.clear()
        self._lines.clear()
        self._scanned = self._tail = 0
        self._env.clear()
        self._env_malformed.clear()
        self._usage_lines.clear()
        self._usage_first = None

    def _cut_lines(self) -> bytes | None:
        """Take every complete line out of the buffer, as one chunk without its last "\\n".

        None when the buffer holds no complete line.
        """
        buffer = self._buffer
        end = buffer.rfind(b"\n", self._scanned)
        if end < 0:
            self._scanned = len(buffer)
            return None
        chunk = bytes(buffer[:end])
        del buffer[: end + 1]
        self._scanned = 0
        return chunk

    def _env_block(self, chunk: bytes) -> tuple[Environment | None, bytes | None]:
        """Parse the env lines at the start of `chunk` in one go; the fast path.

        The env block (~25 lines) arrives as one chunk; line by line it was
        about a tenth of the server's CPU per call. Here it takes one decode
        and one regex pass, when every line up to the blank one (or to the end
        of `chunk`) is a plain `agi_name: value` line, new, without "\\r", and no
        limit is near. Anything else goes line by line, which handles every
        case: this path then returns `(None, chunk)`. Otherwise returns the
        Environment (None if the block goes on in later data) and the lines
        after the blank one (None if there are none).
        """
        end = chunk.find(b"\n\n")  # the line before the blank one ends at `end`
        if end < 0 and chunk.endswith(b"\n"):
            end = len(chunk) - 1  # the blank line is the last one
        part = chunk if end < 0 else chunk[:end]
        count = part.count(b"\n") + 1
        if (
            len(part) > self._max_line_length  # so no line of it can be too long
            or self._env_lines + count > self._max_env_lines
            or b"\r" in part
        ):
            return None, chunk
        found = _ENV_LINE.findall(part.decode("utf-8", errors="replace"))
        variables = dict(found)
        if (
            len(found) != count  # a line is malformed (or blank: the block is empty)
            or len(variables) != count  # a name repeats
            or not self._env.keys().isdisjoint(variables)
        ):
            return None, chunk
        self._env.update(variables)
        self._env_lines += count
        if end < 0:
            return None, None
        rest = chunk[end + 2 :] if end + 1 < len(chunk) else None
        return self._end_env(), rest

    def _end_env(self) -> Environment:
        env = Environment(
            variables=MappingProxyType(self._env),
            malformed_lines=tuple(self._env_malformed),
        )
        self._transition(_Input.ENV_END)
        self._env = {}  # the Environment keeps the old dict
        self._env_malformed.clear()
        return env

    def _handle_line(self, line: str) -> Event | None:
        state = self._state
        if state is _READING_ENV:
            return self._env_line(line)
        if self._usage_first is not None and state is _AWAITING_REPLY:
            return self._usage_line(line)
        if line == "HANGUP":
            self._transition(_Input.HANGUP, line)
            self._hung_up = True
            return Hangup()
        if line.startswith("520-"):
            self._next_state(_FINAL_REPLY, line)  # only legal with a command pending
            self._usage_first = line
            return None
        reply = parse_reply_line(line)
        self._state = self._next_state(_INTERIM_REPLY if reply.code == 100 else _FINAL_REPLY, line)
        return reply

    def _env_line(self, line: str) -> Environment | None:
        if not line:
            return self._end_env()
        self._env_lines += 1
        if self._env_lines > self._max_env_lines:
            raise ProtocolError(f"environment block longer than {self._max_env_lines} lines")
        parsed = parse_env_line(line)
        if parsed is None or parsed[0] in self._env:
            # Asterisk never repeats a name: a repeat comes from a value holding
            # a newline (a crafted caller name), so the first value stands.
            self._env_malformed.append(line)
        else:
            self._env[parsed[0]] = parsed[1]
        return None

    def _usage_line(self, line: str) -> Reply | None:
        if not line.startswith("520 "):
            self._usage_lines.append(line)
            if len(self._usage_lines) > self._max_usage_lines:
                raise ProtocolError(f"520 usage block longer than {self._max_usage_lines} lines")
            return None
        first = self._usage_first or ""
        reply = parse_reply_line(first, usage="\n".join(self._usage_lines))
        self._usage_first = None
        self._usage_lines.clear()
        self._transition(_FINAL_REPLY)
        return reply
