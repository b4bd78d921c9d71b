"""What node handlers work with: the call, the current menu, events, and step values.

A `Session` is the state of one menu run. Handlers use its helpers to play
prompts (a missing prompt is logged and skipped, never fatal), wait for
digits, set variables and emit events, and return a `Step`: `Goto` a target
or `Finish` the run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from fastagi.agi import Reply
from fastagi.call import DigitsResult, PlaybackFailed, PlayResult
from fastagi.events import EventSink, as_tee
from fastagi.menus.context import CallContext
from fastagi.menus.model import Menu, MenuSet
from fastagi.menus.target import Target
from fastagi.personalise import PATH_SAFE, TEXT_SAFE, render, render_first

__all__ = [
    "LANGUAGE_VARIABLE",
    "Finish",
    "Goto",
    "MenuCall",
    "PromptSource",
    "Session",
    "Step",
    "seconds_to_ms",
]

log = logging.getLogger("fastagi.menus")

LANGUAGE_VARIABLE = "CHANNEL(language)"


class MenuCall(Protocol):
    """The part of `fastagi.call.Call` the menu engine uses."""

    @property
    def uniqueid(self) -> str: ...

    @property
    def language(self) -> str:
        """The channel's language when the call arrived (agi_language)."""
        ...

    async def play(self, filename: str, escape_digits: str = "") -> PlayResult: ...

    async def get_digits(
        self, prompt: str, *, timeout_ms: int, max_digits: int
    ) -> DigitsResult: ...

    async def wait_for_digit(self, timeout_ms: int) -> str | None: ...

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None: ...

    async def say_number(self, number: int, escape_digits: str = "") -> str | None: ...

    async def set_variable(self, name: str, value: str) -> None: ...

    async def hangup(self) -> None: ...

    async def gosub(self, context: str, extension: str, priority: str, *args: str) -> Reply:
        """Run a dialplan subroutine (GOSUB) until it returns."""
        ...

    async def get_full_variable(
        self, expression: str, *, after_hangup: bool = False
    ) -> str | None: ...


class PromptSource(Protocol):
    """Where prompts come from beyond plain names (fastagi.prompts.dynamic.DynamicPrompts)."""

    @property
    def names(self) -> frozenset[str]:
        """The sound names that are made during the call (`ivr/hello-caller`)."""
        ...

    async def sound_for(self, name: str, language: str, variables: Mapping[str, str]) -> str | None:
        """The file to play for dynamic prompt `name`, or None: play the next alternative."""
        ...

    def locate(self, name: str, language: str) -> str:
        """What to ask Asterisk to play for `name` (a URL when prompts are served over HTTP)."""
        ...


@dataclass(frozen=True)
class Goto:
    """Continue at `target` (resolved against the menu of the current node)."""

    target: Target


@dataclass(frozen=True)
class Finish:
    """End the run: `return` (IVR_RESULT already set), `hangup` or `error`."""

    kind: Literal["return", "hangup", "error"]
    result: str = ""


Step = Goto | Finish


def seconds_to_ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class Session:
    """One run of the engine over one call; handlers read and act through it."""

    def __init__(
        self,
        call: MenuCall,
        menus: MenuSet,
        events: EventSink,
        context: CallContext | None = None,
        prompts: PromptSource | None = None,
    ) -> None:
        self.call = call
        self.prompts = prompts
        self.menus = menus
        self.context = context if context is not None else CallContext()
        self._menus_entered = 0
        self.entries: list[str] = []  #: what the caller entered at each menu, in order
        self.marks: set[str] = set()  #: what happened on the way (fastagi.menus.outcome)
        self.menu: Menu | None = None
        self.node_id = ""
        # Known from the env block: a menu in the same language needs no SET VARIABLE.
        self.language: str | None = call.language
        self.first_visit = True  #: whether the current node is entered for the first time
        # The engine hands every session the same tee: its routes are worked out once.
        self._events = as_tee(events)
        self._uniqueid = call.uniqueid  # read once: emit needs it for every event
        self._visited: set[tuple[str, str]] = set()
        self.log = logging.LoggerAdapter(
            log, {"uniqueid": call.uniqueid, "menus_version": menus.version}
        )

    @property
    def menu_name(self) -> str:
        return "" if self.menu is None else self.menu.name

    def mark(self, fact: str) -> None:
        """Note a fact about the call for its outcome (REACHED_AGENT, QUEUE_ABANDON, ...)."""
        self.marks.add(fact)

    def emit(self, kind: str, data: Mapping[str, str] | None = None) -> None:
        """An event of this call, for the sinks that take `kind`; `data` becomes the event's."""
        menu = "" if self.menu is None else self.menu.name
        self._events.record(self._uniqueid, kind, menu, self.node_id, {} if data is None else data)

    def enter(self, menu: Menu, node_id: str, node_type: str) -> bool:
        """Record entering a node; return True when it is the first visit in this call."""
        self.menu = menu
        self.node_id = node_id
        self.emit("node", {"type": node_type})
        key = (menu.name, node_id)
        self.first_visit = key not in self._visited
        self._visited.add(key)
        return self.first_visit

    async def apply_language(self) -> None:
        """Set the channel language as a menu is entered.

        The first menu of the call starts in the caller's own language when the
        profile has one; after that each menu's `language` applies, so a menu
        option that switches language is obeyed.
        """
        self._menus_entered += 1
        menu_language = None if self.menu is None else self.menu.language
        first = self._menus_entered == 1
        wanted = (self.context.language if first else None) or menu_language
        if wanted is not None and wanted != self.language:
            await self.set_variable(LANGUAGE_VARIABLE, wanted)

    def prompt_played(self, prompt: str) -> None:
        self.emit("prompt", {"file": prompt})

    def prompt_failed(self, prompt: str, error: Exception) -> None:
        self.log.warning("prompt %r could not be played (%s); continuing", prompt, error)
        self.emit("prompt", {"file": prompt, "error": "playback failed"})

    async def prompt(self, ref: str) -> str:
        """The sound file to play for a prompt reference.

        A reference may hold alternatives (`names/{caller.first_name}|ivr/hello`):
        the first whose placeholders can all be filled from the caller's data
        wins; the last one has none (the loader makes sure), so one always does.
        A dynamic prompt (`ivr/vip-hello|ivr/vip-welcome`) wins when it is
        synthesised within its budget. The prompt source, when there is one,
        says where Asterisk finds the file.
        """
        source = self.prompts
        if source is None:
            if "|" not in ref and "{" not in ref:
                return ref
            return render_first(ref, self.context.variables, PATH_SAFE)
        language = self.language or "en"
        if "|" in ref or "{" in ref or ref in source.names:
            ref = await self._choose(ref, source, language)
        return source.locate(ref, language)

    async def _choose(self, ref: str, source: PromptSource, language: str) -> str:
        variables = self.context.variables
        *candidates, generic = ref.split("|")
        for candidate in candidates:
            if candidate in source.names:
                sound = await source.sound_for(candidate, language, variables)
            else:
                sound = render(candidate, variables, PATH_SAFE)
            if sound is not None:
                return sound
        return render(generic, variables, PATH_SAFE) or generic

    def text(self, template: str) -> str:
        """Text with caller data (`Call from {caller.first_name}|Call by phone`), as for prompts."""
        return render_first(template, self.context.variables, TEXT_SAFE)

    async def play(self, prompt: str | None) -> None:
        """Play `prompt` without barge-in; a missing file is logged and skipped."""
        if prompt is None:
            return
        prompt = await self.prompt(prompt)
        try:
            await self.call.play(prompt, "")
        except PlaybackFailed as exc:
            self.prompt_failed(prompt, exc)
            return
        self.prompt_played(prompt)

    async def wait_digit(self, timeout_ms: int) -> str | None:
        """One digit, or None on timeout (or when the channel cannot wait)."""
        try:
            return await self.call.wait_for_digit(timeout_ms)
        except PlaybackFailed as exc:
            self.log.warning("WAIT FOR DIGIT failed (%s); treating it as no input", exc)
            return None

    async def set_variable(self, name: str, value: str) -> None:
        await self.call.set_variable(name, value)
        self.emit("variable", {"name": name, "value": value})
        if name.lower() == LANGUAGE_VARIABLE.lower():
            self.language = value
