"""The scripted caller: what the person on the phone does, step by step.

A step is used up by the first moment it fits:

- ``Press(digits, after)`` waits for the next *listening window* that accepts
  its first digit - STREAM FILE / SAY* / GET OPTION / RECORD FILE whose escape
  digits contain it, GET DATA, WAIT FOR DIGIT - and presses the first digit
  ``after`` seconds into it, the next ones ``gap`` seconds apart. Each digit
  goes to whatever listens at that moment (type-ahead reaches the next
  command; a digit pressed while nothing listens for it is lost).
  ``Press(..., anytime=True)`` does not wait for a window: it presses
  ``after`` seconds into the next command of any kind (barge-in on a prompt
  that has no escape digits, for instance).
- ``Silence()`` lets the next window that can time out (GET DATA, WAIT FOR
  DIGIT, GET OPTION, RECORD FILE) run out. A STREAM FILE with escape digits
  does not use it up: it simply plays to the end.
- ``HangUp(after)`` hangs up ``after`` seconds into the next command of any
  kind (a command that takes no channel time finishes first; the hangup then
  lands in whichever later command is running at that moment).
  ``HangUp(after, at_window=True)`` instead waits for the next listening
  window, like a press would: the caller hangs up rather than answer.

A step that waits for a window is not used while digits of an earlier press
are still to come: the caller finishes typing first. Nor is it used before
the caller has heard a prompt since the previous step: a person answers what
they hear, so the next entry goes to the next prompt (GET DATA, STREAM FILE,
SAY...), never to a bare WAIT FOR DIGIT that follows an entry (the server's
inter-digit wait) - that one times out, as it would on a real phone.

When the steps run out the caller stays silent; after ``idle_hangup`` windows
that started after the script ended have timed out (default 2), the caller
hangs up at the start of the next command. ``idle_hangup=0`` hangs up as the
first such window opens; ``idle_hangup=None`` never hangs up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fastagi.testing._parse import DTMF_DIGITS

__all__ = ["CallerScript", "HangUp", "Press", "Silence", "Step"]


@dataclass(frozen=True)
class Press:
    """Press ``digits`` ``after`` seconds into the next window that listens for the first one."""

    digits: str
    after: float = 0.5
    gap: float = 0.3
    anytime: bool = False

    def __post_init__(self) -> None:
        if not self.digits or any(d not in DTMF_DIGITS for d in self.digits):
            raise ValueError(f"not DTMF digits: {self.digits!r} (use {DTMF_DIGITS})")
        if self.after < 0 or self.gap < 0:
            raise ValueError("after and gap must not be negative")


@dataclass(frozen=True)
class Silence:
    """Let the next window that can time out run out without pressing anything."""


@dataclass(frozen=True)
class HangUp:
    """Hang up ``after`` seconds into the next command (or the next window, ``at_window``)."""

    after: float = 0.0
    at_window: bool = False

    def __post_init__(self) -> None:
        if self.after < 0:
            raise ValueError("after must not be negative")


Step = Press | Silence | HangUp


@dataclass(frozen=True, init=False)
class CallerScript:
    """What the caller does, as a sequence of steps; reusable across calls."""

    steps: tuple[Step, ...] = field(default=())
    idle_hangup: int | None = 2

    def __init__(self, steps: Iterable[Step] = (), *, idle_hangup: int | None = 2) -> None:
        object.__setattr__(self, "steps", tuple(steps))
        object.__setattr__(self, "idle_hangup", idle_hangup)
        for step in self.steps:
            if not isinstance(step, Press | Silence | HangUp):
                raise TypeError(f"not a caller step: {step!r}")

    @classmethod
    def parse(cls, text: str, *, idle_hangup: int | None = 2) -> CallerScript:
        """Build a script from ``"1,-,23#,h"``: comma-separated tokens.

        ``<digits>`` presses them, ``-`` is silence, ``h`` hangs up at the next prompt
        (``HangUp(at_window=True)``: the caller answers it by leaving). Any token
        may end in ``@<seconds>`` to set ``after`` (``"1@2.5"``, ``"h@10"``).
        An empty text is an empty script.
        """
        steps: list[Step] = []
        for raw in text.split(",") if text.strip() else []:
            token, _, after_text = raw.strip().partition("@")
            after: float | None = None
            if after_text:
                try:
                    after = float(after_text)
                except ValueError:
                    raise ValueError(f"bad delay in caller step {raw.strip()!r}") from None
            if token == "-":
                if after is not None:
                    raise ValueError("silence takes no delay")
                steps.append(Silence())
            elif token.lower() == "h":
                # Like a press, "h" answers the next prompt: by hanging up.
                steps.append(HangUp(after or 0.0, at_window=True))
            elif token:
                steps.append(Press(token) if after is None else Press(token, after))
            else:
                raise ValueError(f"empty caller step in {text!r}")
        return cls(steps, idle_hangup=idle_hangup)


class CallerCursor:
    """Where one call is in its script; turns steps into timed digits and a hangup time."""

    __slots__ = ("_fresh", "_hangup_next", "_index", "_script", "_window_idle", "idle_windows")

    def __init__(self, script: CallerScript) -> None:
        self._script = script
        self._index = 0
        self._hangup_next = False
        self._window_idle = False
        self._fresh = True  # heard a prompt since the last step was used
        self.idle_windows = 0

    def prompt_heard(self) -> None:
        """Something was played to the caller: they may answer it."""
        self._fresh = True

    def _peek(self) -> Step | None:
        steps = self._script.steps
        return steps[self._index] if self._index < len(steps) else None

    @staticmethod
    def _timed(step: Press, now: float) -> list[tuple[float, str]]:
        start = now + step.after
        return [(start + i * step.gap, digit) for i, digit in enumerate(step.digits)]

    def at_command(self, now: float) -> tuple[list[tuple[float, str]], float | None]:
        """A command starts at ``now``: digits to press and when to hang up (or None)."""
        hangup: float | None = None
        if self._hangup_next:
            self._hangup_next = False
            hangup = now
        step = self._peek()
        if isinstance(step, HangUp) and not step.at_window:
            self._index += 1
            at = now + step.after
            hangup = at if hangup is None else min(hangup, at)
        elif isinstance(step, Press) and step.anytime:
            self._index += 1
            return self._timed(step, now), hangup
        return [], hangup

    def at_window(
        self, now: float, accept: str, can_timeout: bool, typing: bool, prompted: bool = True
    ) -> tuple[list[tuple[float, str]], float | None]:
        """A listening window accepting ``accept`` opens at ``now``; ``typing`` means digits
        of an earlier press are still to come; ``prompted`` that the window plays a prompt.
        Returns digits to press and when to hang up (or None)."""
        self._window_idle = False
        if prompted:
            self._fresh = True
        if typing or not self._fresh:
            return [], None
        step = self._peek()
        if step is None:
            self._window_idle = True
            self._fresh = False
            if self._script.idle_hangup == 0:
                return [], now
        elif isinstance(step, Press) and not step.anytime and step.digits[0] in accept:
            self._index += 1
            self._fresh = False
            return self._timed(step, now), None
        elif isinstance(step, Silence) and can_timeout:
            self._index += 1
            self._fresh = False
        elif isinstance(step, HangUp) and step.at_window:
            self._index += 1
            self._fresh = False
            return [], now + step.after
        return [], None

    def timed_out(self) -> None:
        """The window opened last ran out with no digit."""
        if not self._window_idle:
            return
        self._window_idle = False
        self.idle_windows += 1
        limit = self._script.idle_hangup
        if limit is not None and self.idle_windows >= limit:
            self._hangup_next = True
