"""Node handlers: what the engine does for each node type.

A handler is `async def handler(session, node) -> Step`, registered for its
node model with `@node_handler(Model)`. Handlers let `CallHangup` and
unexpected errors propagate: the engine turns them into outcomes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastagi.menus.collect import collect_entry
from fastagi.menus.nodes import (
    NODE_TYPES,
    HangupNode,
    MenuNode,
    MenuSettings,
    NodeBase,
    PlayNode,
    ReturnNode,
    SayNode,
    SetNode,
    TicketOpenNode,
    TicketStatusNode,
)
from fastagi.menus.session import Finish, Goto, Session, Step
from fastagi.menus.target import Target

__all__ = [
    "RESULT_VARIABLE",
    "Handler",
    "handler_for",
    "missing_handlers",
    "next_step",
    "node_handler",
]

#: The channel variable that tells the dialplan how the menu ended.
RESULT_VARIABLE = "IVR_RESULT"

N = TypeVar("N", bound=NodeBase)
Handler = Callable[[Session, Any], Awaitable[Step]]
_HANDLERS: dict[type[NodeBase], Handler] = {}


def node_handler(
    model: type[N],
) -> Callable[[Callable[[Session, N], Awaitable[Step]]], Callable[[Session, N], Awaitable[Step]]]:
    """Register the decorated coroutine as the handler of `model` nodes."""

    def register(
        handler: Callable[[Session, N], Awaitable[Step]],
    ) -> Callable[[Session, N], Awaitable[Step]]:
        if model in _HANDLERS:
            raise ValueError(f"{model.__name__} already has a handler")
        _HANDLERS[model] = handler
        return handler

    return register


def handler_for(node: NodeBase) -> Handler:
    """The handler of `node`'s type (KeyError if none is registered)."""
    return _HANDLERS[type(node)]


def missing_handlers() -> list[str]:
    """Registered node types that have no handler (should be empty)."""
    return [model.__name__ for model in NODE_TYPES if model not in _HANDLERS]


def next_step(target: Target | None) -> Step:
    return Goto(target) if target is not None else Finish("error", "dead_end")


async def _give_up(
    session: Session, target: Target | None, settings: MenuSettings, reason: str
) -> Step:
    if target is not None:
        return Goto(target)
    await session.play(settings.goodbye_prompt)
    await session.call.hangup()
    return Finish("hangup", reason)


@node_handler(MenuNode)
async def run_menu(session: Session, node: MenuNode) -> Step:
    """Greeting, entry, and branching; counts invalid entries and timeouts."""
    assert session.menu is not None
    settings = session.menus.menu_settings(session.menu.name, session.node_id)  # cached
    repeat_prompt = node.short_greeting or node.greeting
    prompt = node.greeting if session.first_visit else repeat_prompt
    failures = timeouts = 0
    while True:
        entry = await collect_entry(session, node, settings, prompt)
        prompt = repeat_prompt
        if not entry:
            timeouts += 1
            session.emit("timeout", {"count": str(timeouts), "max": str(settings.max_timeouts)})
            await session.play(settings.timeout_prompt)
            if timeouts >= settings.max_timeouts:
                return await _give_up(session, node.on_timeout, settings, "max_timeouts")
            continue
        session.emit("digits", {"digits": entry})
        session.entries.append(entry)
        target = node.options.get(entry)
        if target is not None:
            return Goto(target)
        if node.direct_dial is not None and re.fullmatch(node.direct_dial, entry):
            await session.set_variable(RESULT_VARIABLE, entry)
            return Finish("return", entry)
        failures += 1
        session.emit(
            "invalid",
            {"digits": entry, "count": str(failures), "max": str(settings.max_failures)},
        )
        await session.play(settings.invalid_prompt)
        if failures >= settings.max_failures:
            return await _give_up(session, node.on_failure, settings, "max_failures")


@node_handler(PlayNode)
async def run_play(session: Session, node: PlayNode) -> Step:
    for prompt in node.prompts:
        await session.play(prompt)
    return next_step(node.next)


@node_handler(SayNode)
async def run_say(session: Session, node: SayNode) -> Step:
    if node.digits is not None:
        await session.call.say_digits(node.digits, "")
    elif node.number is not None:
        await session.call.say_number(node.number, "")
    return next_step(node.next)


@node_handler(SetNode)
async def run_set(session: Session, node: SetNode) -> Step:
    for name, value in node.variables.items():
        # Caller data in a value ("{caller.manager}|100"), as in prompts.
        await session.set_variable(name, session.text(value) if "{" in value else value)
    return next_step(node.next)


@node_handler(ReturnNode)
async def run_return(session: Session, node: ReturnNode) -> Step:
    await session.play(node.prompt)
    await session.set_variable(RESULT_VARIABLE, node.result)
    return Finish("return", node.result)


@node_handler(HangupNode)
async def run_hangup(session: Session, node: HangupNode) -> Step:
    await session.play(node.prompt)
    await session.call.hangup()
    return Finish("hangup", "hangup_node")


#: Ticket reads and writes during a call: past this the caller moves on without them.
TICKET_BUDGET = 1.0
TICKET_VARIABLE = "IVR_TICKET"
AGENT_VARIABLE = "IVR_AGENT"


def _ticket_failure(session: Session, what: str, exc: BaseException) -> None:
    session.log.warning("could not %s (%s: %s); going on without it", what,
                        type(exc).__name__, exc)  # fmt: skip


@node_handler(TicketStatusNode)
async def run_ticket_status(session: Session, node: TicketStatusNode) -> Step:
    context = session.context
    number = context.profile.number
    if context.tickets is None or not number or context.profile.open_tickets == 0:
        return next_step(node.none)
    try:
        async with asyncio.timeout(TICKET_BUDGET):
            ticket = await context.tickets.latest_open_ticket(number)
    except Exception as exc:  # Redis down or slow: the caller is not held for it
        _ticket_failure(session, "read the caller's tickets", exc)
        return next_step(node.none)
    if ticket is None:
        return next_step(node.none)
    session.emit("ticket", {"id": str(ticket.id), "status": ticket.status})
    await session.play(node.prompt)
    await session.call.say_digits(str(ticket.id), "")
    await session.play(f"{node.status_prefix}{ticket.status}")
    await session.set_variable(TICKET_VARIABLE, str(ticket.id))
    if ticket.agent:
        await session.set_variable(AGENT_VARIABLE, ticket.agent)
    return next_step(node.next)


@node_handler(TicketOpenNode)
async def run_ticket_open(session: Session, node: TicketOpenNode) -> Step:
    context = session.context
    number = context.profile.number
    if context.tickets is None or not number:
        return next_step(node.failed)
    subject = session.text(node.subject)
    try:
        async with asyncio.timeout(TICKET_BUDGET):
            ticket = await context.tickets.open_ticket(number, subject)
    except Exception as exc:
        _ticket_failure(session, "open a ticket", exc)
        return next_step(node.failed)
    session.emit("ticket", {"id": str(ticket.id), "status": ticket.status, "opened": "1"})
    await session.play(node.prompt)
    await session.call.say_digits(str(ticket.id), "")
    await session.set_variable(TICKET_VARIABLE, str(ticket.id))
    return next_step(node.next)
