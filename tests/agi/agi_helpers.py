"""Test helpers: a model of Asterisk's command reader and h11-style feeding."""

from __future__ import annotations

from collections.abc import Callable

from fastagi.agi import AGIConnection, Closed, Environment, Event, NeedData

# A short but complete env block, for tests that are about what follows it.
MINI_ENV = b"agi_network: yes\nagi_network_script: main\nagi_request: agi://127.0.0.1/main\n\n"


def asterisk_read_commands(stream: bytes, bufsize: int = 8192) -> list[bytes]:
    """Split what the script wrote into the command lines Asterisk handles.

    Models res_agi.c run_agi(): fgets() into a buffer of `bufsize` bytes reads
    at most bufsize - 1 bytes (the last is for the NUL), stopping after "\\n";
    a longer line is cut and its remainder read as the next command. The
    trailing "\\n" (only) is dropped.
    """
    commands = []
    pos = 0
    while pos < len(stream):
        end = stream.find(b"\n", pos, pos + bufsize - 1)
        chunk = stream[pos : end + 1] if end >= 0 else stream[pos : pos + bufsize - 1]
        pos += len(chunk)
        commands.append(chunk.removesuffix(b"\n"))
    return commands


def asterisk_parse_args(line: bytes) -> list[bytes]:
    """Split a command line into words exactly as res_agi.c parse_args() does.

    Walks the line byte by byte (a C string: it ends at the first NUL). A
    backslash makes the next byte literal; an unescaped double quote toggles
    quoting and, coming off whitespace, starts a new (possibly empty) word;
    unquoted, unescaped space or tab ends the word; any other byte starts a
    word when coming off whitespace and is appended.
    """
    words: list[bytearray] = []
    quoted = escaped = False
    whitespace = True
    for byte in line.split(b"\x00", 1)[0]:
        if byte == ord('"') and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                words.append(bytearray())
                whitespace = False
        elif byte in b" \t" and not quoted and not escaped:
            whitespace = True
        elif byte == ord("\\") and not escaped:
            escaped = True
        else:
            if whitespace:
                words.append(bytearray())
                whitespace = False
            words[-1].append(byte)
            escaped = False
    return [bytes(word) for word in words]


def drain(conn: AGIConnection) -> list[Event]:
    """Every event the connection can produce now (stops at NEED_DATA or Closed)."""
    events: list[Event] = []
    while True:
        event = conn.next_event()
        if isinstance(event, NeedData):
            return events
        events.append(event)
        if isinstance(event, Closed):
            return events


def ready(**options: int) -> AGIConnection:
    """A connection whose env block has been received (state IDLE)."""
    conn = AGIConnection(**options)
    conn.receive_data(MINI_ENV)
    assert isinstance(conn.next_event(), Environment)
    return conn


def awaiting(name: str = "NOOP", **options: int) -> AGIConnection:
    """A connection with one command in flight (state AWAITING_REPLY)."""
    conn = ready(**options)
    conn.send(name)
    return conn


def events_every_way(
    make: Callable[[], AGIConnection], data: bytes, *, trailing: bytes = b"200 res"
) -> list[Event]:
    """Feed `data` whole, byte by byte, and followed by the start of another line.

    Asserts the three ways give the same events (h11's test discipline) and
    returns them. `trailing` must not complete a line.
    """
    whole = make()
    whole.receive_data(data)
    expected = drain(whole)

    bytewise = make()
    got: list[Event] = []
    for index in range(len(data)):
        bytewise.receive_data(data[index : index + 1])
        got.extend(drain(bytewise))
    assert got == expected, "byte-by-byte feeding changed the events"
    assert bytewise.state is whole.state

    with_trailing = make()
    with_trailing.receive_data(data + trailing)
    assert drain(with_trailing) == expected, "trailing data changed the events"
    assert with_trailing.state is whole.state
    return expected
