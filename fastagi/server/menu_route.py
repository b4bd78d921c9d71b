"""The route that plays YAML menus: script path `main` runs the menu named `main`."""

from __future__ import annotations

from functools import partial

from fastagi.call import Call
from fastagi.events import EventSink
from fastagi.menus import MenuEngine, MenuRegistry, MenuSet
from fastagi.server.router import CallStatus, Handler

__all__ = ["MenuRoute"]

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

    def __init__(self, registry: MenuRegistry, events: EventSink) -> None:
        self.registry = registry
        self.events = events

    def match(self, script: str) -> Handler | None:
        menus = self.registry.current
        if script not in menus:
            return None
        return partial(self._run, menus, script)

    async def _run(self, menus: MenuSet, name: str, call: Call) -> str:
        engine = MenuEngine(menus, events=self.events)
        outcome = await engine.run(call, name, node=call.env.query.get("node") or None)
        return _STATUS_OF_OUTCOME.get(outcome.kind, CallStatus.FAILED)
