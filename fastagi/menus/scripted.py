"""Run scenarios in memory: a scripted caller that answers the engine directly.

This is the reference meaning of a scenario's `input` list, with no Asterisk
and no sockets (the TCP runner over `fastagi.testing` must agree with it):

- each item is one whole entry at one listening point, i.e. one menu prompt
  (GET DATA). Its first digit answers the prompt; the rest answer the
  engine's inter-digit waits (WAIT FOR DIGIT) one by one; after that the
  caller pauses, so waits for more digits time out until the next prompt;
- `-` stays silent at that prompt (a timeout);
- `h` hangs up instead of answering that prompt;
- when the list runs out, the caller hangs up at the next prompt.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping

from fastagi.agi import CallHangup, Reply
from fastagi.call import DigitsResult, PlayResult
from fastagi.events import EventSink
from fastagi.menus.engine import MenuEngine
from fastagi.menus.model import MenuSet
from fastagi.menus.outcome import Outcome
from fastagi.menus.scenarios import HANGUP_INPUT, SILENCE_INPUT, Scenario

__all__ = ["ScriptedCall", "run_scenario"]


class ScriptedCall:
    """A `MenuCall` that answers prompts from a list of entries and records commands."""

    def __init__(
        self,
        entries: Iterable[str],
        *,
        uniqueid: str = "scripted",
        language: str = "en",
        statuses: Mapping[str, str] | None = None,
    ) -> None:
        self._uniqueid = uniqueid
        self.language = language
        self._entries = deque(entries)
        self._rest: deque[str] = deque()
        self.commands: list[tuple[str, ...]] = []
        self.variables: dict[str, str] = {}
        self.hung_up = False
        #: IVR_ACTION_STATUS each dialplan subroutine leaves (by context); none: a hangup
        self.statuses = dict(statuses or {})

    @property
    def uniqueid(self) -> str:
        return self._uniqueid

    def _check_alive(self) -> None:
        if self.hung_up:
            raise CallHangup("the call has ended")

    async def play(self, filename: str, escape_digits: str = "") -> PlayResult:
        self._check_alive()
        self.commands.append(("play", filename, escape_digits))
        return PlayResult(digit=None, endpos=0)

    async def get_digits(self, prompt: str, *, timeout_ms: int, max_digits: int) -> DigitsResult:
        self._check_alive()
        self.commands.append(("get_digits", prompt, str(timeout_ms), str(max_digits)))
        self._rest.clear()
        entry = self._entries.popleft() if self._entries else HANGUP_INPUT
        if entry == HANGUP_INPUT:
            self.hung_up = True
            raise CallHangup("the scripted caller hung up")
        if entry == SILENCE_INPUT:
            return DigitsResult(digits="", timed_out=True)
        self._rest.extend(entry[max_digits:])
        return DigitsResult(digits=entry[:max_digits], timed_out=False)

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        self._check_alive()
        self.commands.append(("wait_for_digit", str(timeout_ms)))
        return self._rest.popleft() if self._rest else None

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        self._check_alive()
        self.commands.append(("say_digits", digits))
        return None

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        self._check_alive()
        self.commands.append(("say_number", str(number)))
        return None

    async def set_variable(self, name: str, value: str) -> None:
        self._check_alive()
        self.commands.append(("set_variable", name, value))
        self.variables[name] = value

    async def gosub(self, context: str, extension: str, priority: str, *args: str) -> Reply:
        self._check_alive()
        self.commands.append(("gosub", context, extension, priority, *args))
        self.variables["IVR_ACTION_STATUS"] = self.statuses.get(context, "")
        return Reply(200, "0")

    async def get_full_variable(self, expression: str, *, after_hangup: bool = False) -> str | None:
        if not after_hangup:
            self._check_alive()
        self.commands.append(("get_full_variable", expression))
        return re.sub(r"\$\{([^}]*)\}", lambda m: self.variables.get(m.group(1), ""), expression)

    async def hangup(self) -> None:
        self._check_alive()
        self.commands.append(("hangup",))
        self.hung_up = True


async def run_scenario(
    menus: MenuSet,
    scenario: Scenario,
    *,
    events: EventSink | None = None,
    uniqueid: str = "scripted",
) -> tuple[Outcome, ScriptedCall]:
    """Play `scenario` against `menus` in memory; return the outcome and the call."""
    call = ScriptedCall(scenario.input, uniqueid=uniqueid)
    outcome = await MenuEngine(menus, events=events).run(call, scenario.menu, node=scenario.node)
    return outcome, call
