"""The AMI wire format as Asterisk's manager.c reads and writes it.

Reading follows ``get_input``/``do_message``: a line ends at CRLF or a bare LF;
the session buffer holds 1024 bytes, so a longer line is discarded (all but its
last byte) and the message it belongs to is answered with "Failed to parse
message: line too long"; a NUL ends a line's text; a message ends at an empty
line and keeps at most 128 lines (AST_MAX_MANHEADERS). A header is looked up
like ``__astman_get_header``: the name, case-insensitive, directly followed by
``:``; the value starts after any bytes below 33 (``ast_skip_blanks``).

Text is decoded with ``surrogateescape``, so bytes that are not UTF-8 survive a
round trip (an ActionID is echoed byte for byte).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_HEADERS",
    "MAX_LINE",
    "AmiMessage",
    "MessageReader",
    "ReadMessage",
    "ast_false",
    "ast_true",
    "decode",
    "encode",
    "format_lines",
    "response_lines",
]

MAX_LINE = 1024
"""manager.c ``inbuf[1025]`` less the byte kept for the terminating NUL."""
MAX_HEADERS = 128
"""AST_MAX_MANHEADERS: lines kept per message."""

_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})
_FALSE = frozenset({"no", "false", "n", "f", "0", "off"})


def ast_true(text: str) -> bool:
    """utils.c ast_true: yes/true/y/t/1/on, any case."""
    return text.lower() in _TRUE


def ast_false(text: str) -> bool:
    """utils.c ast_false: no/false/n/f/0/off, any case."""
    return text.lower() in _FALSE


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _skip_blanks(text: str) -> str:
    """strings.h ast_skip_blanks: drop leading characters below 33."""
    start = 0
    while start < len(text) and ord(text[start]) < 33:
        start += 1
    return text[start:]


class AmiMessage:
    """One AMI message: its lines in order, looked up as Asterisk looks them up.

    ``lines`` are the raw ``Key: Value`` lines (a line without ``:`` is kept but
    never matches a key); ``pairs`` the ``(key, value)`` of lines that have one.
    """

    __slots__ = ("lines",)

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines: tuple[str, ...] = tuple(lines)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> AmiMessage:
        return cls(f"{key}: {value}" for key, value in pairs)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        out = []
        for line in self.lines:
            key, colon, value = line.partition(":")
            if colon:
                out.append((key, _skip_blanks(value)))
        return out

    def _values(self, key: str) -> list[str]:
        prefix = key.lower() + ":"
        size = len(prefix)
        return [_skip_blanks(line[size:]) for line in self.lines if line[:size].lower() == prefix]

    def get(self, key: str, default: str = "") -> str:
        """The first value of ``key`` (astman_get_header), ``default`` if absent."""
        values = self._values(key)
        return values[0] if values else default

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key``, in order (e.g. repeated ``Variable`` headers)."""
        return self._values(key)

    def __getitem__(self, key: str) -> str:
        values = self._values(key)
        if not values:
            raise KeyError(key)
        return values[0]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._values(key))

    @property
    def action(self) -> str:
        """The first non-empty ``Action`` (GET_HEADER_SKIP_EMPTY), "" if none."""
        return next((value for value in self._values("Action") if value), "")

    @property
    def event(self) -> str:
        return self.get("Event")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AmiMessage) and other.lines == self.lines

    def __hash__(self) -> int:
        return hash(self.lines)

    def __repr__(self) -> str:
        return f"AmiMessage({list(self.lines)!r})"


def format_lines(lines: Iterable[str]) -> bytes:
    """Lines joined with CRLF and the empty line that ends a message."""
    return encode("".join(f"{line}\r\n" for line in lines) + "\r\n")


@dataclass(frozen=True)
class ReadMessage:
    """A message as ``do_message`` hands it on: its lines, or the error it earns."""

    message: AmiMessage
    error: str | None = None


class MessageReader:
    """Reads messages from a stream with Asterisk's buffer and line limits."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buffer = bytearray()
        self._too_long = False

    async def _line(self) -> bytes | None:
        buffer = self._buffer
        while True:
            newline = buffer.find(b"\n")
            if newline >= 0:
                end = newline - 1 if newline > 0 and buffer[newline - 1] == 13 else newline
                line = bytes(buffer[:end])
                del buffer[: newline + 1]
                return line.split(b"\0", 1)[0]
            if len(buffer) >= MAX_LINE:
                # manager.c keeps the last byte in case it is the CR of a CRLF
                del buffer[:-1]
                self._too_long = True
            chunk = await self._reader.read(MAX_LINE - len(buffer))
            if not chunk:
                return None
            buffer += chunk

    async def read(self) -> ReadMessage | None:
        """The next message, or None at the end of the stream."""
        lines: list[str] = []
        overflow = False
        while True:
            raw = await self._line()
            if raw is None:
                return None
            if raw:
                if len(lines) < MAX_HEADERS:
                    lines.append(decode(raw))
                else:
                    overflow = True
                continue
            message = AmiMessage(lines)
            if overflow:
                return ReadMessage(message, "Too many lines in message or allocation failure")
            if self._too_long:
                self._too_long = False
                return ReadMessage(message, "Failed to parse message: line too long")
            return ReadMessage(message)


def response_lines(
    message: AmiMessage,
    response: str,
    text: str | None = None,
    *,
    listflag: str | None = None,
    more: Sequence[str] = (),
) -> list[str]:
    """astman_send_response_full: Response, ActionID, EventList, Message, then ``more``."""
    lines = [f"Response: {response}"]
    if message.action_id:
        lines.append(f"ActionID: {message.action_id}")
    if listflag is not None:
        lines.append(f"EventList: {listflag}")
    if text is not None:
        lines.append(f"Message: {text}")
    lines.extend(more)
    return lines
