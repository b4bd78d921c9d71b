"""One emulated channel: its identity, variables, virtual clock, caller's DTMF and hangup.

Everything here runs in virtual time: a prompt "plays" by moving ``now``
forward, never by sleeping, so a call of several minutes costs microseconds.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastagi.testing._caller import CallerCursor, CallerScript
from fastagi.testing._expr import substitute
from fastagi.testing._functions import read_builtin, read_function, write_function
from fastagi.testing._result import TimelineEvent
from fastagi.testing._telephony import TelephonyLog, TelephonyScript

__all__ = [
    "STATE_UP",
    "AppHandler",
    "Channel",
    "GosubRequest",
    "Playback",
    "SubroutineHandler",
]

STATE_UP = 6
"""``AST_STATE_UP``: what CHANNEL STATUS reports for an answered channel."""


@dataclass(frozen=True)
class GosubRequest:
    """What the server asked GOSUB to run: ``GOSUB context exten priority [a,b,...]``."""

    context: str
    exten: str
    priority: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Playback:
    """How a played file ended: the digit that stopped it (or None) and positions in seconds."""

    digit: str | None
    position: float
    length: float

    @property
    def finished(self) -> bool:
        """True if the file played to its end."""
        return self.digit is None and self.position >= self.length


AppHandler = Callable[["Channel", str], int]
"""A dialplan application for EXEC: gets the channel and the data string, returns
the application's result (0 = carry on, -1 = hang up / failed)."""

SubroutineHandler = Callable[["Channel", GosubRequest], "bool | None"]
"""A dialplan subroutine for GOSUB: may set variables and consume virtual time
(``channel.wait``/``channel.play``); returning is the subroutine's Return().
Returning False means the label does not exist (GOSUB answers "label not found")."""


class Channel:
    """Asterisk's channel as the AGI sees it, on a virtual clock.

    Command, application and subroutine handlers use ``wait``/``play`` to let
    channel time pass (the caller's scripted digits and hangup happen on the
    way), ``open_window``/``window_timed_out`` to tell the caller when input is
    expected, and ``get_variable``/``set_variable`` for variables and the
    dialplan functions of `fastagi.testing._functions`.

    ``globals`` are the dialplan's global variables (read after the channel's
    own), ``datastores`` per-channel state of dialplan modules (the Gosub stack,
    FAXOPT values...), ``clock_start`` the wall-clock moment of virtual time 0.
    """

    def __init__(
        self,
        *,
        name: str,
        uniqueid: str,
        env: Mapping[str, str],
        variables: Mapping[str, str],
        caller: CallerScript,
        prompt_duration: Callable[[str], float],
        file_exists: Callable[[str, str], bool],
        applications: Mapping[str, AppHandler],
        subroutines: Mapping[str, SubroutineHandler],
        database: MutableMapping[tuple[str, str], str],
        max_duration: float,
        telephony: TelephonyScript | None = None,
    ) -> None:
        self.name = name
        self.uniqueid = uniqueid
        self.language = env.get("agi_language", "en")
        self.context = env.get("agi_context", "")
        self.extension = env.get("agi_extension", "")
        self.priority = env.get("agi_priority", "1")
        number = env.get("agi_callerid", "unknown")
        caller_name = env.get("agi_calleridname", "unknown")
        self.caller_number = "" if number == "unknown" else number
        self.caller_name = "" if caller_name == "unknown" else caller_name
        self.state = STATE_UP
        self.music_class: str | None = None
        self.variables: dict[str, str] = {_bare(k): v for k, v in variables.items()}
        self.applications = applications
        self.subroutines = subroutines
        self.database = database
        self.telephony = telephony if telephony is not None else TelephonyScript()
        """What the far ends do in Queue(), Dial(), VoiceMail(), ... (see `TelephonyScript`)."""
        self.telephony_log = TelephonyLog()
        """What those applications did, one record per run."""
        self.now = 0.0
        self.hung_up = False
        self.hung_up_by: str | None = None
        self.dead = False
        self.prompts: list[str] = []
        self.missing_files: list[str] = []
        self.recordings: list[str] = []
        self.digits_consumed: list[str] = []
        self.digits_lost: list[str] = []
        self.timeline: list[TimelineEvent] = []
        self._prompt_duration = prompt_duration
        self._file_exists = file_exists
        self._cursor = CallerCursor(caller)
        self._window_this_command = False
        self._dtmf: list[tuple[float, int, str]] = []
        self._dtmf_seq = 0
        self._caller_hangup = max_duration
        self._autohangup = math.inf
        self.globals: MutableMapping[str, str] = {}
        self.datastores: dict[str, object] = {}
        self.clock_start = datetime.now(UTC)

    @property
    def epoch(self) -> float:
        """Unix time now on the channel's clock (``${EPOCH}``)."""
        return self.clock_start.timestamp() + self.now

    def wall_clock(self) -> datetime:
        """The date and time now on the channel's clock, in ``clock_start``'s zone."""
        start = self.clock_start  # added in UTC: a DST change on the way is honoured
        return (start.astimezone(UTC) + timedelta(seconds=self.now)).astimezone(start.tzinfo)

    # -- records ---------------------------------------------------------------

    def log(self, kind: str, detail: str) -> None:
        """Add an entry to the call's timeline at the current virtual time."""
        self.timeline.append(TimelineEvent(self.now, kind, detail))

    # -- the caller: digits and hangup ------------------------------------------

    @property
    def hangup_at(self) -> float:
        """When the channel will be hung up if nothing else happens first."""
        return min(self._caller_hangup, self._autohangup)

    def _add_digits(self, timed: list[tuple[float, str]]) -> None:
        for at, digit in timed:
            self._dtmf_seq += 1
            heapq.heappush(self._dtmf, (at, self._dtmf_seq, digit))

    def start_command(self) -> None:
        """A command line arrived: let the caller act on "next command" steps."""
        self._window_this_command = False
        timed, hangup = self._cursor.at_command(self.now)
        self._add_digits(timed)
        if hangup is not None:
            self.schedule_caller_hangup(hangup)

    def schedule_caller_hangup(self, at: float) -> None:
        """Make the caller hang up at virtual time ``at`` (the earliest request wins)."""
        self._caller_hangup = min(self._caller_hangup, max(at, self.now))

    def set_autohangup(self, seconds: float) -> None:
        """SET AUTOHANGUP: hang up ``seconds`` from now; 0 cancels."""
        self._autohangup = self.now + seconds if seconds > 0 else math.inf

    def open_window(self, accept: str, *, can_timeout: bool, prompted: bool = True) -> None:
        """Input is expected now, ending on a digit in ``accept``: the caller may press
        (or hang up). ``can_timeout``: the window ends by itself if nothing is pressed;
        ``prompted``: the window plays something the caller answers (not a bare wait)."""
        self._window_this_command = True
        typing = any(at >= self.now for at, _, _ in self._dtmf)
        timed, hangup = self._cursor.at_window(self.now, accept, can_timeout, typing, prompted)
        self._add_digits(timed)
        if hangup is not None:
            self.schedule_caller_hangup(hangup)

    def window_timed_out(self) -> None:
        """The window opened last ran out with no input at all."""
        self._cursor.timed_out()

    def hangup(self, by: str) -> None:
        """Hang the channel up now (``by`` is "caller" or "agi")."""
        if not self.hung_up:
            self.hung_up = True
            self.hung_up_by = by
            self.log("hangup", by)

    def finish_command(self) -> None:
        """A command ended: a hangup due by now has happened, even if nothing waited."""
        if not self.hung_up and self.hangup_at <= self.now:
            self.hangup("caller" if self._caller_hangup <= self._autohangup else "agi")

    def wait(self, duration: float, accept: str = "") -> str | None:
        """Let up to ``duration`` seconds of channel time pass (``math.inf``: until something
        happens), listening for the digits in ``accept``.

        Returns the first accepted digit, at the moment it is pressed, or None
        when the time ran out or the caller hung up (then ``hung_up`` is set).
        Digits not in ``accept`` are thrown away, as are digits pressed
        before the wait began (between commands, or while nothing listened).
        """
        if self.hung_up:
            return None
        start = self.now
        end = start + max(duration, 0.0)
        queue = self._dtmf
        self.flush_lost()
        while True:
            digit_at = queue[0][0] if queue else math.inf
            hangup_at = self.hangup_at
            if min(digit_at, hangup_at) >= end:
                self.now = end
                return None
            if hangup_at <= digit_at:
                self.now = hangup_at
                self.finish_command()
                return None
            _, _, digit = heapq.heappop(queue)
            self.now = digit_at
            if digit in accept:
                self.digits_consumed.append(digit)
                self.log("dtmf", digit)
                return digit
            self._lose(digit, digit_at)

    def flush_lost(self) -> None:
        """Digits pressed before now that nothing listened for are lost."""
        queue = self._dtmf
        while queue and queue[0][0] < self.now:
            at, _, digit = heapq.heappop(queue)
            self._lose(digit, at)

    def _lose(self, digit: str, at: float) -> None:
        self.digits_lost.append(digit)
        bisect.insort(self.timeline, TimelineEvent(at, "dtmf-lost", digit), key=lambda e: e.at)

    # -- sound files -------------------------------------------------------------

    def file_exists(self, name: str) -> bool:
        """Whether Asterisk would find sound file ``name`` in the channel's language."""
        return self._file_exists(name, self.language)

    def missing(self, name: str) -> None:
        """Record that the server asked for a sound file that does not exist."""
        self.missing_files.append(name)
        self.log("missing", name)

    def play(
        self, name: str, accept: str = "", *, offset: float = 0.0, kind: str = "play"
    ) -> Playback:
        """Play ``name`` from ``offset`` seconds; a digit in ``accept`` stops it.

        The entry is added to ``prompts`` (unless the channel is already hung
        up: then nothing plays); its length comes from the emulator's
        ``prompt_duration``.
        """
        length = max(self._prompt_duration(name), 0.0)
        start = min(max(offset, 0.0), length)
        if self.hung_up:
            return Playback(None, start, length)
        self.prompts.append(name)
        if not self._window_this_command:  # a window already counted its own prompt
            self._cursor.prompt_heard()
        self.log(kind, name)
        began = self.now
        digit = self.wait(length - start, accept)
        return Playback(digit, start + (self.now - began), length)

    # -- variables and functions -------------------------------------------------

    def get_variable(self, name: str) -> str | None:
        """GET VARIABLE: a function ``NAME(args)``, a builtin, or a channel variable."""
        if name.endswith(")"):
            return read_function(self, name)
        builtin = read_builtin(self, name)
        if builtin is not None:
            return builtin
        value = self.variables.get(name)
        return value if value is not None else self.globals.get(name)

    def set_variable(self, name: str, value: str) -> None:
        """SET VARIABLE: write a function (CHANNEL(language), CALLERID(num|name)) or a variable.

        Leading ``_``/``__`` (inheritance marks) are not part of the name.
        """
        if name.endswith(")"):
            if write_function(self, name, value):
                self.log("set", f"{name}={value}")
            return  # else Asterisk logs "function not registered" and sets nothing
        bare = _bare(name)
        self.variables[bare] = value
        self.log("set", f"{bare}={value}")

    def substitute(self, text: str) -> str:
        """Expand ``${...}`` and ``$[...]`` as Asterisk does; unknown names give ""."""
        return substitute(text, self.get_variable)

    # -- dialplan --------------------------------------------------------------------

    def find_application(self, name: str) -> AppHandler | None:
        """The EXEC application called ``name`` (case-insensitive), if Asterisk knows it."""
        return self.applications.get(name.lower())

    def find_subroutine(self, context: str) -> SubroutineHandler | None:
        """The GOSUB subroutine for dialplan context ``context``, if the dialplan has it."""
        return self.subroutines.get(context)


def _bare(name: str) -> str:
    """A variable name without its inheritance marks (``_`` or ``__``)."""
    return name[2:] if name.startswith("__") else name[1:] if name.startswith("_") else name
