"""Redis commands as RESP bytes, built by us: what `CommandBatcher` writes to the socket.

redis-py packs each argument through its encoder and each command through
its pipeline; for the few commands a call needs (one lookup script, one
history XADD) that was most of what Redis cost our server. Here a command
is encoded once, at the caller, into the exact bytes Redis reads, and the
parts that never change (the EVALSHA head of a script, a constant tail of
arguments) are encoded once per process.

Arguments are str (UTF-8), bytes, int or float, as redis-py accepts them
(a float as its `repr`, a bool refused: `True` is not a Redis value).
"""

from __future__ import annotations

import hashlib

__all__ = ["Script", "encode_arg", "encode_args", "encode_command", "encode_texts"]

Arg = str | bytes | int | float


def encode_arg(value: Arg) -> bytes:
    """One argument as a RESP bulk string: `$<length>\\r\\n<bytes>\\r\\n`."""
    if isinstance(value, str):
        data = value.encode()
    elif isinstance(value, bytes):
        data = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        data = repr(value).encode()
    else:
        raise TypeError(f"a Redis argument is str, bytes, int or float, not {type(value).__name__}")
    return b"$%d\r\n%b\r\n" % (len(data), data)


def encode_args(*args: Arg) -> bytes:
    """Several arguments, back to back, without the array header (a reusable part)."""
    return b"".join([encode_arg(arg) for arg in args])


def encode_texts(texts: list[str]) -> bytes:
    """`encode_args(*texts)` for text only, quicker: one encode for the lot when it is ASCII."""
    joined = "".join([f"${len(text)}\r\n{text}\r\n" for text in texts])
    if joined.isascii():  # then every length counted characters that are bytes
        return joined.encode()
    return encode_args(*texts)


def encode_command(*args: Arg) -> bytes:
    """A whole command, `*<count>` header included: `encode_command("GET", "k")`."""
    if not args:
        raise ValueError("a Redis command needs at least its name")
    return b"*%d\r\n%b" % (len(args), encode_args(*args))


class Script:
    """A Lua script called by EVALSHA, its head encoded once.

    `command(keys, args)` is the EVALSHA of this script; `load` the SCRIPT
    LOAD that puts it on a server that answered NOSCRIPT (a fresh or
    restarted Redis). `tail` arguments, constant for the life of a caller
    (e.g. the windows the segment rules count), are passed already encoded
    with `encode_args` and their count.
    """

    __slots__ = ("_heads", "load", "sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        self.load = encode_command("SCRIPT", "LOAD", source)
        self._heads: dict[tuple[int, int], bytes] = {}

    def head(self, numkeys: int, numargs: int) -> bytes:
        """`*<n>\\r\\n` EVALSHA <sha> <numkeys>, for `numkeys` keys and `numargs` arguments."""
        found = self._heads.get((numkeys, numargs))
        if found is None:
            found = b"*%d\r\n%b" % (
                3 + numkeys + numargs,
                encode_args("EVALSHA", self.sha, numkeys),
            )
            self._heads[numkeys, numargs] = found
        return found

    def command(self, keys: tuple[Arg, ...], args: tuple[Arg, ...]) -> bytes:
        """EVALSHA of this script with `keys` and `args`, ready to send."""
        return self.head(len(keys), len(args)) + encode_args(*keys, *args)
