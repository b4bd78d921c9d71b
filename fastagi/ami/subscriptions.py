"""Who wants which AMI events: subscriptions filtered by event name and field values."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastagi.ami.message import AmiMessage

__all__ = ["EventCallback", "Subscribers"]

log = logging.getLogger("fastagi.ami")

EventCallback = Callable[[AmiMessage], object]


class _Subscription:
    __slots__ = ("active", "callback", "events", "match")

    def __init__(
        self,
        callback: EventCallback,
        events: Iterable[str] | None,
        match: Mapping[str, str] | None,
    ) -> None:
        self.callback = callback
        if isinstance(events, str):  # events="Hangup": one name, not its letters
            events = [events]
        self.events = None if events is None else frozenset(e.lower() for e in events)
        self.match = tuple((match or {}).items())
        self.active = True

    def wants(self, event: AmiMessage) -> bool:
        if self.events is not None and event.name.lower() not in self.events:
            return False
        return all(event.get(key) == value for key, value in self.match)


class Subscribers:
    """The subscriptions of one client; `dispatch` hands an event to those that want it.

    A callback that raises is logged and stays subscribed: one bad handler
    must not starve the others, nor break the connection that delivers them.
    A callback returning an awaitable gets it run as a task (failures logged).
    """

    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []
        self._tasks: set[asyncio.Future[Any]] = set()  # held so they are not collected

    def __len__(self) -> int:
        return len(self._subscriptions)

    def add(
        self,
        callback: EventCallback,
        events: Iterable[str] | None = None,
        match: Mapping[str, str] | None = None,
    ) -> Callable[[], None]:
        """Subscribe; returns the function that unsubscribes (idempotent)."""
        subscription = _Subscription(callback, events, match)
        self._subscriptions.append(subscription)

        def unsubscribe() -> None:
            subscription.active = False
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

        return unsubscribe

    def dispatch(self, event: AmiMessage) -> None:
        # A snapshot: callbacks may subscribe or unsubscribe while we iterate.
        for subscription in tuple(self._subscriptions):
            if not subscription.active or not subscription.wants(event):
                continue
            try:
                result = subscription.callback(event)
            except Exception:
                log.exception("AMI event callback %r failed on %s", subscription.callback, event)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("AMI event callback task failed", exc_info=task.exception())
