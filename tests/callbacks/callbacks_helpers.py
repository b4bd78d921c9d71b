"""Helpers shared by the callback tests: a hand-set clock, one test's Redis, a real SMTP server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis import asyncio as aioredis
from smtp_helpers import Mailbox, SmtpServer, start_smtp

from fastagi.callbacks import CallbackRules, CallbackStore
from fastagi.hours import HoursConfig
from fastagi.storage import open_async_client


class Clock:
    """Unix time the test sets by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()


@dataclass
class Env:
    """One test's Redis: clients made here are closed at the end, keys under `prefix` deleted."""

    url: str
    prefix: str
    hours: HoursConfig
    clock: Clock
    clients: list[aioredis.Redis] = field(default_factory=list)

    def client(self) -> aioredis.Redis:
        """A new connection pool (a new process, as far as Redis can tell)."""
        made = open_async_client(self.url, timeout=5.0)
        self.clients.append(made)
        return made

    def store(self, client: aioredis.Redis | None = None, **kwargs: Any) -> CallbackStore:
        kwargs.setdefault("clock", self.clock)
        return CallbackStore.for_rules(
            client or self.client(),
            kwargs.pop("rules", CallbackRules()),
            self.hours,
            prefix=self.prefix,
            **kwargs,
        )


__all__ = ["Clock", "Env", "Mailbox", "SmtpServer", "start_smtp"]
