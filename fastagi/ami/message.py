"""Sans-I/O AMI codec: `AmiMessage`, `encode_action`, `AmiParser`.

No sockets here: bytes go into `AmiParser.feed`, whole messages come out;
`encode_action` turns an action into the bytes to write. What Asterisk sends
(main/manager.c): a banner line ``Asterisk Call Manager/<version>``, then
messages of ``Key: Value`` lines, each ended by an empty line. Keys are matched
case-insensitively, as manager.c's astman_get_header does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Literal

__all__ = [
    "BANNER_PREFIX",
    "END_COMMAND",
    "MAX_LINE_LENGTH",
    "MAX_MESSAGE_SIZE",
    "AmiMessage",
    "AmiParser",
    "encode_action",
]

BANNER_PREFIX = "Asterisk Call Manager/"
# The legacy `Action: Command` reply ends its raw CLI output with this marker.
END_COMMAND = "--END COMMAND--"
MAX_LINE_LENGTH = 16 * 1024
MAX_MESSAGE_SIZE = 64 * 1024

Kind = Literal["response", "event", "unknown"]
FieldValue = str | int | Sequence[str]


class AmiMessage:
    """One AMI message: an immutable, ordered list of (key, value) pairs.

    Keys keep their spelling but are matched case-insensitively. Repeated
    keys (``Variable``, ``ChanVariable``, ``Output``) are all kept, in order.
    `malformed` holds the lines of the message that were not ``Key: Value``.
    """

    __slots__ = ("_fields", "_index", "malformed")

    def __init__(
        self,
        fields: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        malformed: Iterable[str] = (),
    ) -> None:
        pairs = fields.items() if isinstance(fields, Mapping) else fields
        self._fields: tuple[tuple[str, str], ...] = tuple((str(k), str(v)) for k, v in pairs)
        self.malformed: tuple[str, ...] = tuple(malformed)
        index: dict[str, list[str]] = {}
        for key, value in self._fields:
            index.setdefault(key.lower(), []).append(value)
        self._index = index

    # -- lookups -------------------------------------------------------------

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of `key` (any case), or `default`."""
        values = self._index.get(key.lower())
        return values[0] if values else default

    def get_all(self, key: str) -> list[str]:
        """Every value of `key` (any case), in order; [] if absent."""
        return list(self._index.get(key.lower(), ()))

    def __getitem__(self, key: str) -> str:
        values = self._index.get(key.lower())
        if not values:
            raise KeyError(key)
        return values[0]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def items(self) -> tuple[tuple[str, str], ...]:
        """All (key, value) pairs in order, repeats included."""
        return self._fields

    def keys(self) -> list[str]:
        """Each key once, in first-seen order and spelling."""
        return list(self.as_dict())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._fields)

    def as_dict(self) -> dict[str, str]:
        """{key: first value}, keys in their first spelling."""
        result: dict[str, str] = {}
        seen: set[str] = set()
        for key, value in self._fields:
            if key.lower() not in seen:
                seen.add(key.lower())
                result[key] = value
        return result

    # -- what the message is ---------------------------------------------------

    @property
    def kind(self) -> Kind:
        """ "response", "event" or "unknown".

        Decided by the first key: events such as OriginateResponse carry a
        ``Response`` field of their own, so mere presence would mislead.
        """
        if self._fields:
            first = self._fields[0][0].lower()
            if first == "response":
                return "response"
            if first == "event":
                return "event"
        if "event" in self._index:
            return "event"
        if "response" in self._index:
            return "response"
        return "unknown"

    @property
    def name(self) -> str:
        """The Response value ("Success", "Error", ...) or the Event name; "" if unknown."""
        kind = self.kind
        if kind == "unknown":
            return ""
        return self.get("Response" if kind == "response" else "Event") or ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    @property
    def output(self) -> list[str]:
        """The CLI output lines of an ``Action: Command`` reply (legacy or modern)."""
        return self.get_all("Output")

    # -- value semantics ---------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AmiMessage):
            return NotImplemented
        return self._fields == other._fields and self.malformed == other.malformed

    def __hash__(self) -> int:
        return hash((self._fields, self.malformed))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._fields[:6])
        more = f", ... {len(self._fields) - 6} more" if len(self._fields) > 6 else ""
        bad = f", malformed={len(self.malformed)}" if self.malformed else ""
        return f"AmiMessage({shown}{more}{bad})"


# -- encoding -------------------------------------------------------------------


def _check_key(key: str) -> None:
    # A key with ':' or whitespace would be split differently by Asterisk.
    if not key or any(c in key for c in ":\r\n") or any(c.isspace() for c in key):
        raise ValueError(f"invalid AMI key {key!r}: no ':', spaces or line breaks allowed")


def _check_value(key: str, value: str) -> None:
    # A line break in a value would let data start a new header or action.
    if "\r" in value or "\n" in value:
        raise ValueError(f"AMI value for {key!r} contains a line break: {value!r}")


def encode_action(name: str, fields: Mapping[str, FieldValue], action_id: str) -> bytes:
    """``Action: name``, ``ActionID: action_id``, then each field, then the empty line.

    A sequence value repeats its key (several ``Variable:`` lines). Raises
    ValueError for a key or value that could inject headers or actions, and
    for ``Action``/``ActionID`` among `fields` (the client owns those).
    """
    _check_key(name)
    _check_value("ActionID", action_id)
    if not action_id:
        raise ValueError("empty ActionID")
    lines = [f"Action: {name}", f"ActionID: {action_id}"]
    for key, value in fields.items():
        _check_key(key)
        if key.lower() in ("action", "actionid"):
            raise ValueError(f"{key!r} is set by the client, not by the fields")
        if isinstance(value, str | int):
            values: Sequence[str | int] = [value]
        elif isinstance(value, Sequence):
            values = value
        else:
            raise TypeError(f"AMI value for {key!r} must be str, int or a sequence of str")
        for item in values:
            if not isinstance(item, str | int):
                raise TypeError(f"AMI value for {key!r} must be str, int or a sequence of str")
            text = str(item)
            _check_value(key, text)
            lines.append(f"{key}: {text}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


# -- parsing ----------------------------------------------------------------------


def _split_field(text: str) -> tuple[str, str] | None:
    """("Key", "Value") from "Key: Value" (or "Key:" with an empty value); None if neither."""
    key, sep, value = text.partition(": ")
    if sep and key:
        return key, value
    if text.endswith(":") and len(text) > 1 and ": " not in text:
        return text[:-1], ""
    return None


class AmiParser:
    """Bytes from Asterisk in, `AmiMessage`s out; never raises on bad input.

    Lines end with ``\\r\\n`` or ``\\n`` (manager.c's get_input accepts both).
    A line that is not ``Key: Value`` is counted in `malformed_lines` and kept
    in the message's `malformed`; a message with no field at all is dropped.
    A line longer than `max_line_length` or a message larger than
    `max_message_size` discards that whole message (`oversized_messages`),
    and parsing resumes after its empty line.

    ``Response: Follows`` (the legacy `Action: Command` reply) carries raw CLI
    output up to ``--END COMMAND--``, empty lines included; each output line
    becomes an ``Output`` field, as in the modern reply (``Response: Success``
    with ``Output:`` lines), so `AmiMessage.output` reads both.
    """

    def __init__(
        self,
        *,
        max_line_length: int = MAX_LINE_LENGTH,
        max_message_size: int = MAX_MESSAGE_SIZE,
        expect_banner: bool = True,
    ) -> None:
        self.max_line_length = max_line_length
        self.max_message_size = max_message_size
        self.banner: str | None = None
        self.malformed_lines = 0
        self.oversized_messages = 0
        self._awaiting_banner = expect_banner
        self._buffer = bytearray()
        self._dropping_line = False  # inside an overlong line: drop bytes up to its end
        self._skipping = False  # inside an oversized message: drop lines up to its end
        self._reset()

    @property
    def version(self) -> str | None:
        """The AMI version from the banner ("9.0.0"), or None before/without one."""
        if self.banner is None:
            return None
        return self.banner[len(BANNER_PREFIX) :].strip()

    def _reset(self) -> None:
        self._fields: list[tuple[str, str]] = []
        self._malformed: list[str] = []
        self._size = 0
        self._follows = False  # a `Response: Follows` reply
        self._modern = False  # ... whose output comes as `Output:` fields
        self._raw_output = False  # ... whose raw output has started

    def feed(self, data: bytes) -> list[AmiMessage]:
        """Take the next bytes of the stream; return the messages they complete."""
        out: list[AmiMessage] = []
        buffer = self._buffer
        buffer += data
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                if self._dropping_line:
                    start = len(buffer)
                elif len(buffer) - start > self.max_line_length:
                    self._oversized()
                    self._dropping_line = True
                    start = len(buffer)
                break
            raw = bytes(buffer[start:end])
            start = end + 1
            if self._dropping_line:
                self._dropping_line = False  # the overlong line ends here
            elif len(raw) > self.max_line_length:
                self._oversized()
            else:
                self._line(raw, out)
        del buffer[:start]
        return out

    def _oversized(self) -> None:
        if not self._skipping:
            self.oversized_messages += 1
            self._skipping = True
        self._awaiting_banner = False
        self._reset()

    def _line(self, raw: bytes, out: list[AmiMessage]) -> None:
        text = raw.decode("utf-8", errors="replace")
        if text.endswith("\r"):
            text = text[:-1]
        if self._awaiting_banner:
            self._awaiting_banner = False
            if text.startswith(BANNER_PREFIX):
                self.banner = text
                return
        if self._skipping:
            if not text:
                self._skipping = False
            return
        if not text:
            self._blank_line(out)
            return
        self._size += len(raw) + 1
        if self._size > self.max_message_size:
            self._oversized()
            return
        if self._follows and not self._modern:
            self._legacy_output_line(text, out)
            return
        field = _split_field(text)
        if field is None:
            if self._follows or (self._fields and self._fields[-1][0].lower() == "output"):
                # Some versions prefix only the first line of multi-line output.
                self._fields.append(("Output", text))
            else:
                self.malformed_lines += 1
                self._malformed.append(text)
            return
        if not self._fields and not self._malformed:
            self._follows = field[0].lower() == "response" and field[1].lower() == "follows"
        elif self._follows and field[0].lower() in ("message", "output"):
            self._modern = True
        self._fields.append(field)

    def _legacy_output_line(self, text: str, out: list[AmiMessage]) -> None:
        if text.endswith(END_COMMAND):
            # Output without a final newline runs into the marker on one line.
            before = text[: -len(END_COMMAND)]
            if before:
                self._fields.append(("Output", before))
            self._emit(out)
            return
        if not self._raw_output:
            field = _split_field(text)
            if field is not None and field[0].lower() in ("privilege", "actionid"):
                self._fields.append(field)
                return
            if field is not None and field[0].lower() in ("message", "output"):
                self._modern = True
                self._fields.append(field)
                return
        self._raw_output = True
        self._fields.append(("Output", text))

    def _blank_line(self, out: list[AmiMessage]) -> None:
        if not self._fields and not self._malformed:
            return  # stray empty line between messages
        if self._follows and not self._modern:
            # Legacy command output may hold empty lines; a reply that is not
            # a command's (no `Privilege: Command`) ends here like any other.
            is_command = any(
                k.lower() == "privilege" and v.lower() == "command" for k, v in self._fields
            )
            if self._raw_output or is_command:
                self._raw_output = True
                self._size += 1
                if self._size > self.max_message_size:
                    self._oversized()
                    return
                self._fields.append(("Output", ""))
                return
        self._emit(out)

    def _emit(self, out: list[AmiMessage]) -> None:
        if self._fields:
            out.append(AmiMessage(self._fields, self._malformed))
        self._reset()
