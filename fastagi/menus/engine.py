"""The menu engine: walks a call through the nodes of a MenuSet.

The engine holds the MenuSet it was built with; a hot reload builds a new
engine (or passes a new set) for later calls, so a call in progress keeps
the menus it started with. `run` always returns an `Outcome`: a caller who
hangs up, a missing prompt, a broken goto or a bug in a handler never
escapes as an exception (cancellation of the task still propagates).
"""

from __future__ import annotations

import fastagi.actions  # noqa: F401  (registers the action node handlers)
from fastagi.agi import CallHangup
from fastagi.callers.conditions import EvalContext
from fastagi.events import EventSink, as_tee
from fastagi.menus.context import CallContext
from fastagi.menus.handlers import RESULT_VARIABLE, handler_for, missing_handlers
from fastagi.menus.model import Menu, MenuSet
from fastagi.menus.outcome import Outcome, OutcomeKind
from fastagi.menus.references import resolve_target
from fastagi.menus.session import Finish, MenuCall, PromptSource, Session

__all__ = ["DEFAULT_MAX_STEPS", "MenuEngine", "Outcome"]

DEFAULT_MAX_STEPS = 500


class MenuEngine:
    """Runs calls through the menus of one MenuSet."""

    def __init__(
        self,
        menus: MenuSet,
        *,
        events: EventSink | None = None,
        max_steps: int = DEFAULT_MAX_STEPS,
        prompts: PromptSource | None = None,
    ) -> None:
        missing = missing_handlers()
        if missing:
            raise TypeError(f"node types without a handler: {', '.join(missing)}")
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.menus = menus
        # One tee for all the calls: the sessions share its routes per kind.
        self._events = as_tee(events)
        self._max_steps = max_steps
        self._prompts = prompts

    async def run(
        self,
        call: MenuCall,
        menu: str,
        *,
        node: str | None = None,
        context: CallContext | None = None,
    ) -> Outcome:
        """Run `call` from menu `menu` (its start node, or `node`) until it ends.

        Returns the Outcome; never raises for call or menu problems. A return
        sets IVR_RESULT; an error or the step guard sets IVR_RESULT=error
        when the channel still allows it, so the dialplan can route the call.
        """
        session = Session(call, self.menus, self._events, context, self._prompts)
        path: list[str] = []
        current: Menu | None = self.menus.get(menu)
        if current is None:
            session.log.error("menu %r does not exist (menus %s)", menu, self.menus.version)
            return await self._end(session, "error", "unknown_menu", path, (menu, node or ""))
        node_id = node if node is not None else current.start
        routed: set[str] = set()  # menus whose routes were applied: each at most once a call
        while True:
            if node_id == current.start and current.name not in routed and current.routes:
                routed.add(current.name)
                jump = self._route(session, current)
                if jump is not None:
                    current, node_id = jump
                    continue
            node_obj = current.nodes.get(node_id)
            if node_obj is None:
                session.log.error("menu %r has no node %r", current.name, node_id)
                return await self._end(
                    session, "error", "missing_node", path, (current.name, node_id)
                )
            if len(path) >= self._max_steps:
                session.log.warning("call cut off after %d menu steps", len(path))
                return await self._end(session, "max_steps", "", path)
            new_menu = session.menu is not current
            path.append(f"{current.name}/{node_id}")
            session.enter(current, node_id, node_obj.type)
            try:
                if new_menu:
                    await session.apply_language()
                step = await handler_for(node_obj)(session, node_obj)
            except CallHangup:
                return await self._end(session, "caller_hangup", "", path)
            except Exception:
                session.log.exception("node %s/%s failed", current.name, node_id)
                return await self._end(session, "error", "node_failed", path)
            if isinstance(step, Finish):
                if step.kind == "error":
                    session.log.error("node %s/%s: %s", current.name, node_id, step.result)
                return await self._end(session, step.kind, step.result, path)
            resolved = resolve_target(self.menus, current.name, step.target)
            if resolved is None:
                session.log.error(
                    "node %s/%s: no such target %s", current.name, node_id, step.target
                )
                return await self._end(session, "error", "missing_target", path)
            current, node_id = self.menus[resolved[0]], resolved[1]

    def _route(self, session: Session, menu: Menu) -> tuple[Menu, str] | None:
        """Where the first route of `menu` whose condition holds sends the call, if any."""
        ctx = session.context
        facts = EvalContext(ctx.profile, ctx.now, segment=ctx.segment)
        for index, route in enumerate(menu.routes):
            if not route.when.evaluate(facts):
                continue
            resolved = resolve_target(self.menus, menu.name, route.goto)
            if resolved is None:  # the loader checks targets; a stale set must not crash
                session.log.error(
                    "menu %s route %d: no such target %s", menu.name, index, route.goto
                )
                return None
            session.emit(
                "route", {"menu": menu.name, "route": str(index + 1), "goto": str(route.goto)}
            )
            return self.menus[resolved[0]], resolved[1]
        return None

    async def _end(
        self,
        session: Session,
        kind: OutcomeKind,
        result: str,
        path: list[str],
        where: tuple[str, str] | None = None,
    ) -> Outcome:
        if kind in ("error", "max_steps"):
            try:
                await session.set_variable(RESULT_VARIABLE, "error")
            except Exception as exc:  # the channel may be gone; the outcome still stands
                session.log.info("could not set %s=error: %s", RESULT_VARIABLE, exc)
        menu, node = where if where is not None else (session.menu_name, session.node_id)
        outcome = Outcome(
            kind=kind,
            result=result,
            menu=menu,
            node=node,
            path=tuple(path),
            entries=tuple(session.entries),
            marks=frozenset(session.marks),
        )
        session.emit("outcome", {"kind": kind, "result": result})
        session.log.debug(
            "menu run ended: %s %s at %s/%s (menus %s)",
            kind,
            result,
            outcome.menu,
            outcome.node,
            self.menus.version,
        )
        return outcome
