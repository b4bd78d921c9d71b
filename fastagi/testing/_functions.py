"""Dialplan functions and builtin variables of the emulated channel, by name.

``${NAME(args)}``, GET VARIABLE ``NAME(args)`` and ``Set(NAME(args)=value)`` go
through one registry, so AGI commands and the dialplan runner see the same
functions. A module adds its own with `register_function` at import time, e.g.::

    register_function("QUEUE_WAITING_COUNT", lambda ch, args: "0")

A reader gets the channel and the raw text between the parentheses and returns
the value, or None when Asterisk would fail the read (GET VARIABLE then answers
``result=0``). A writer gets the channel, the arguments and the value, and
returns False when it does not accept those arguments (nothing is set or
logged, as when Asterisk refuses a write). Names are case-insensitive; a later
registration replaces an earlier one. `register_builtin` does the same for
builtin variables such as ``${EPOCH}``.

Emulated here: CALLERID (num, name, all; num and name writable), CHANNEL
(language, name, uniqueid, state, musicclass; language, musicclass and
hangup_handler_push writable: the runner runs the handlers after ``h``),
IF(cond?a:b), LEN, STRFTIME(epoch,tz,format), FAXOPT (any option, stored per
channel), LOCAL (Gosub-scoped variables), GLOBAL; builtins CHANNEL, UNIQUEID,
CONTEXT, EXTEN, PRIORITY, HANGUPCAUSE, EPOCH.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastagi.testing._expr import check_condition, split_args

if TYPE_CHECKING:
    from fastagi.testing._channel import Channel

__all__ = [
    "BuiltinReader",
    "FunctionHandler",
    "FunctionWriter",
    "GosubFrame",
    "fax_options",
    "gosub_frames",
    "read_builtin",
    "read_function",
    "register_builtin",
    "register_function",
    "write_function",
]

FunctionHandler = Callable[["Channel", str], "str | None"]
"""Reads ``NAME(args)``: the channel and the raw ``args``; None when the read fails."""

FunctionWriter = Callable[["Channel", str, str], bool]
"""Writes ``NAME(args)=value``; False when the arguments are not writable."""

BuiltinReader = Callable[["Channel"], str]
"""Reads a builtin variable (``${EPOCH}``, ``${UNIQUEID}``, ...)."""

_READERS: dict[str, FunctionHandler] = {}
_WRITERS: dict[str, FunctionWriter] = {}
_BUILTINS: dict[str, BuiltinReader] = {}


def register_function(
    name: str, reader: FunctionHandler | None, writer: FunctionWriter | None = None
) -> None:
    """Make ``NAME(...)`` readable (``reader``) and/or writable (``writer``) on every channel."""
    key = name.upper()
    if reader is None:
        _READERS.pop(key, None)
    else:
        _READERS[key] = reader
    if writer is None:
        _WRITERS.pop(key, None)
    else:
        _WRITERS[key] = writer


def register_builtin(name: str, reader: BuiltinReader) -> None:
    """Make ``${NAME}`` a builtin variable (looked up before channel variables)."""
    _BUILTINS[name] = reader


def _split(expr: str) -> tuple[str, str]:
    name, _, rest = expr.partition("(")
    return name.strip().upper(), rest[:-1] if rest.endswith(")") else rest


def read_function(ch: Channel, expr: str) -> str | None:
    """The value of ``NAME(args)`` on ``ch``; None for an unknown function or a failed read."""
    name, args = _split(expr)
    reader = _READERS.get(name)
    return None if reader is None else reader(ch, args)


def write_function(ch: Channel, expr: str, value: str) -> bool:
    """Write ``NAME(args)=value``; False if the function or its arguments are not writable."""
    name, args = _split(expr)
    writer = _WRITERS.get(name)
    return writer is not None and writer(ch, args, value)


def read_builtin(ch: Channel, name: str) -> str | None:
    """The value of builtin variable ``name``, or None if it is not one."""
    reader = _BUILTINS.get(name)
    return None if reader is None else reader(ch)


# -- per-channel state kept by functions -----------------------------------------------


class GosubFrame:
    """One Gosub on the stack: where Return goes and the variables it must restore."""

    __slots__ = ("agi", "argc", "return_to", "saved")

    def __init__(self, return_to: tuple[str, str, int] | None, *, agi: bool = False) -> None:
        self.return_to = return_to
        self.agi = agi  # started by the AGI's GOSUB command: Return ends that run
        self.argc = 0
        self.saved: dict[str, str | None] = {}

    def set_local(self, ch: Channel, name: str, value: str) -> None:
        """Set ``name`` for the life of this frame (its old value comes back on Return)."""
        if name not in self.saved:
            self.saved[name] = ch.variables.get(name)
        ch.variables[name] = value

    def restore(self, ch: Channel) -> None:
        for name, old in self.saved.items():
            if old is None:
                ch.variables.pop(name, None)
            else:
                ch.variables[name] = old


def gosub_frames(ch: Channel) -> list[GosubFrame]:
    """The channel's Gosub stack, innermost last (created empty on first use)."""
    frames = ch.datastores.setdefault("gosub", [])
    assert isinstance(frames, list)
    return frames


def hangup_handlers(ch: Channel) -> list[str]:
    """The channel's hangup handlers (``context,exten,priority(args)``), pushed last."""
    handlers = ch.datastores.setdefault("hangup_handlers", [])
    assert isinstance(handlers, list)
    return handlers


def fax_options(ch: Channel) -> dict[str, str]:
    """The channel's FAXOPT values by lower-case option name (``faxdetect``, ``status``...)."""
    options = ch.datastores.setdefault("faxopt", {})
    assert isinstance(options, dict)
    return options


# -- the functions ---------------------------------------------------------------------


def _callerid_read(ch: Channel, args: str) -> str | None:
    what = args.strip().lower()
    if what in ("num", "number"):
        return ch.caller_number
    if what == "name":
        return ch.caller_name
    if what == "all":
        return f'"{ch.caller_name}" <{ch.caller_number}>'
    return None


def _callerid_write(ch: Channel, args: str, value: str) -> bool:
    what = args.strip().lower()
    if what in ("num", "number"):
        ch.caller_number = value
    elif what == "name":
        ch.caller_name = value
    else:
        return False
    return True


def _channel_read(ch: Channel, args: str) -> str | None:
    what = args.strip().lower()
    if what == "language":
        return ch.language
    if what == "name":
        return ch.name
    if what == "uniqueid":
        return ch.uniqueid
    if what == "state":
        return "Up" if ch.state == 6 else str(ch.state)
    if what == "musicclass":
        # the class playing now (SET MUSIC, StartMusicOnHold), else the one set for the channel
        return ch.music_class or str(ch.datastores.get("musicclass", ""))
    return None


def _channel_write(ch: Channel, args: str, value: str) -> bool:
    what = args.strip().lower()
    if what == "language":
        ch.language = value
    elif what == "musicclass":
        ch.datastores["musicclass"] = value
    elif what == "hangup_handler_push":
        hangup_handlers(ch).append(value)
    else:
        return False
    return True


def _if(ch: Channel, args: str) -> str:
    """IF(cond?[true][:false]): the condition is pbx_checkcondition's."""
    condition, sep, branches = args.partition("?")
    if not sep:
        return ""
    yes, _, no = branches.partition(":")
    return yes.strip() if check_condition(condition.strip()) else no.strip()


def _strftime(ch: Channel, args: str) -> str:
    """STRFTIME([epoch][,timezone][,format]): default now, the call's zone, ``%c``."""
    parts = split_args(args)
    epoch_text, zone_name, fmt = [*parts, "", "", ""][:3]
    try:
        epoch = float(epoch_text) if epoch_text.strip() else ch.epoch
    except ValueError:
        epoch = ch.epoch
    zone = ch.clock_start.tzinfo or UTC
    if zone_name.strip():
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):  # Asterisk: system zone
            zone = ZoneInfo(zone_name.strip())
    return datetime.fromtimestamp(epoch, zone).strftime(fmt or "%c")


def _faxopt_read(ch: Channel, args: str) -> str | None:
    return fax_options(ch).get(args.strip().lower(), "")


def _faxopt_write(ch: Channel, args: str, value: str) -> bool:
    fax_options(ch)[args.strip().lower()] = value
    return True


def _local_read(ch: Channel, args: str) -> str | None:
    return ch.variables.get(args.strip(), "")


def _local_write(ch: Channel, args: str, value: str) -> bool:
    frames = gosub_frames(ch)
    if not frames:
        return False  # Asterisk: "Tried to set LOCAL(...), but we aren't within a Gosub routine"
    frames[-1].set_local(ch, args.strip(), value)
    return True


def _global_read(ch: Channel, args: str) -> str | None:
    return ch.globals.get(args.strip(), "")


def _global_write(ch: Channel, args: str, value: str) -> bool:
    ch.globals[args.strip()] = value
    return True


register_function("CALLERID", _callerid_read, _callerid_write)
register_function("CHANNEL", _channel_read, _channel_write)
register_function("IF", _if)
register_function("LEN", lambda ch, args: str(len(args)))
register_function("STRFTIME", _strftime)
register_function("FAXOPT", _faxopt_read, _faxopt_write)
register_function("LOCAL", _local_read, _local_write)
register_function("GLOBAL", _global_read, _global_write)


def _location(ch: Channel) -> dict[str, str]:
    return {
        "CHANNEL": ch.name,
        "UNIQUEID": ch.uniqueid,
        "CONTEXT": ch.context,
        "EXTEN": ch.extension,
        "PRIORITY": ch.priority,
        "HANGUPCAUSE": "16" if ch.hung_up else "0",
    }


def _builtin(name: str) -> BuiltinReader:
    return lambda ch: _location(ch)[name]


def _epoch(ch: Channel) -> str:
    return str(int(ch.epoch))


for _name in ("CHANNEL", "UNIQUEID", "CONTEXT", "EXTEN", "PRIORITY", "HANGUPCAUSE"):
    register_builtin(_name, _builtin(_name))
register_builtin("EPOCH", _epoch)
