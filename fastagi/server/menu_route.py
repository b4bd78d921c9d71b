"""The route that plays YAML menus: script path `main` runs the menu named `main`.

With a caller service, the caller is looked up first (within its latency
budget) and may get a personal or segment menu instead (fastagi.personalise);
the call is then added to their history.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from fastagi.call import Call
from fastagi.callbacks.lost import CallFacts, QueueOutcome
from fastagi.callers import iso_second
from fastagi.events import EventSink, as_tee
from fastagi.menus import MenuEngine, MenuRegistry, MenuSet, Outcome
from fastagi.menus.context import BusinessHours, CallContext
from fastagi.menus.outcome import (
    AFTER_HOURS,
    CALLBACK_REQUESTED,
    QUEUE_ABANDON,
    QUEUE_TIMEOUT,
    REACHED_AGENT,
)
from fastagi.menus.session import PromptSource
from fastagi.personalise import MenuChoice, choose_menu
from fastagi.server.router import CallStatus, Handler

if TYPE_CHECKING:
    from fastagi.callers.service import CallerService

__all__ = ["MenuRoute"]

log = logging.getLogger(__name__)

# Outcome kind -> IVRSTATUS. "return" and "hangup" are the menu doing its job.
_STATUS_OF_OUTCOME = {
    "return": CallStatus.SUCCESS,
    "hangup": CallStatus.SUCCESS,
    "caller_hangup": CallStatus.HANGUP,
    "error": CallStatus.FAILED,
    "max_steps": CallStatus.FAILED,
}


class MenuRoute:
    """Matches script paths naming a menu of the registry's current set.

    The set is taken once, when the call starts: a reload during the call
    does not change the menus it hears.
    """

    def __init__(
        self,
        registry: MenuRegistry,
        events: EventSink,
        callers: CallerService | None = None,
        hours: BusinessHours | None = None,
        clock: Callable[[], datetime] | None = None,
        prompts: PromptSource | None = None,
    ) -> None:
        self.registry = registry
        self.prompts = prompts
        self.events = as_tee(events)
        self.callers = callers
        self.hours = hours
        #: The time calls see (segments, hours); None: the real time. Scenarios set it.
        self.clock = clock
        self._engine: MenuEngine | None = None

    def match(self, script: str) -> Handler | None:
        menus = self.registry.current
        if script not in menus:
            return None
        return partial(self._run, menus, script)

    def _engine_for(self, menus: MenuSet) -> MenuEngine:
        # An engine keeps no per-call state: one per menu set, not one per call.
        if self._engine is None or self._engine.menus is not menus:
            self._engine = MenuEngine(menus, events=self.events, prompts=self.prompts)
        return self._engine

    async def _run(self, menus: MenuSet, name: str, call: Call) -> str:
        engine = self._engine_for(menus)
        node = call.env.query.get("node") or None
        now = None if self.clock is None else self.clock()
        if self.callers is None:
            context = (
                CallContext(hours=self.hours)
                if now is None
                else CallContext(hours=self.hours, now=now)
            )
            outcome = await engine.run(call, name, node=node, context=context)
            return _STATUS_OF_OUTCOME.get(outcome.kind, CallStatus.FAILED)
        started = time.time()
        context, match = await self.callers.identify(
            call.env.callerid, call.uniqueid, hours=self.hours, now=now
        )
        choice = choose_menu(name, context.profile, match, menus)
        if choice.menu != name:
            node = None  # a start node asked for belongs to the menu that was replaced
        self._note_caller(call, context, choice)
        outcome = await engine.run(call, choice.menu, node=node, context=context)
        self.callers.remember(
            context,
            _history_entry(call, context, choice, outcome, started),
            _call_facts(call, context, outcome, started),
        )
        return _STATUS_OF_OUTCOME.get(outcome.kind, CallStatus.FAILED)

    def _note_caller(self, call: Call, context: CallContext, choice: MenuChoice) -> None:
        profile = context.profile
        if profile.degraded:
            log.warning(
                "caller lookup degraded: default menu %s", choice.menu,
                extra={"uniqueid": call.uniqueid},
            )  # fmt: skip
        if not self.events.takes("caller"):
            return  # no sink listens: the event's data is not worth making
        data = {
            "number": profile.number or "anonymous",
            "segment": context.segment,
            "menu": choice.menu,
            "layer": choice.layer,
            "new": "1" if profile.is_new else "0",
            "degraded": "1" if profile.degraded else "0",
            "tags": profile.fields.get("tags", ""),
        }
        self.events.record(call.uniqueid, "caller", choice.menu, "", data)


def _call_facts(
    call: Call, context: CallContext, outcome: Outcome, started: float
) -> CallFacts | None:
    """What the missed-call callbacks need to know about the call that just ended.

    None for most calls: one that ended in the menu with no mark (no queue,
    agent, closed hours or callback request) and not by the caller hanging
    up can be neither lost nor answered by an agent.
    """
    marks = outcome.marks
    if not marks and outcome.kind != "caller_hangup":
        return None
    queue_outcome: QueueOutcome | None = None
    if QUEUE_ABANDON in marks:
        queue_outcome = "abandoned"
    elif QUEUE_TIMEOUT in marks:
        queue_outcome = "timeout"
    return CallFacts(
        number=context.profile.number or None,
        outcome=outcome.kind,
        at=context.now,
        uniqueid=call.uniqueid,
        reached_agent=REACHED_AGENT in marks,
        queue_outcome=queue_outcome,
        after_hours=AFTER_HOURS in marks,
        requested_callback=CALLBACK_REQUESTED in marks,
        duration=time.time() - started,
    )


def _history_entry(
    call: Call, context: CallContext, choice: MenuChoice, outcome: Outcome, started: float
) -> dict[str, str]:
    """One line of the caller's history: when, which menu, where they went, how it ended."""
    return {
        "when": iso_second(started),
        "uniqueid": call.uniqueid,
        "menu": choice.menu,
        "layer": choice.layer,
        "segment": context.segment,
        "path": " > ".join(outcome.path),
        "digits": ",".join(outcome.entries),
        "outcome": outcome.label,
    }
