"""Fixtures for the callback tests: a real Redis under a fresh prefix, a real SMTP server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from callbacks_helpers import Clock, Env

from fastagi.hours import HoursConfig, load_hours
from fastagi.storage import forget_prefix, open_async_client

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
MOSCOW_HOURS = REPO / "config" / "hours.yaml"


@pytest.fixture(scope="session")
def office_hours() -> HoursConfig:
    """The shipped calendars: `office` (Moscow, Mon-Fri 09-18, Sat 10-14) is the default."""
    return load_hours(MOSCOW_HOURS)


@pytest.fixture
def run(redis_server_url: str, office_hours: HoursConfig) -> Callable[..., Any]:
    """`run(body)`: `await body(env)` on a fresh event loop; cleans the prefix afterwards."""

    def runner(body: Callable[[Env], Awaitable[T]]) -> T:
        env = Env(
            url=redis_server_url,
            prefix=f"test:{uuid.uuid4().hex[:12]}:",
            hours=office_hours,
            clock=Clock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC)),  # Monday 10:00 in Moscow
        )

        async def main() -> T:
            try:
                return await body(env)
            finally:
                cleaner = open_async_client(redis_server_url, timeout=5.0)
                try:
                    await forget_prefix(cleaner, env.prefix)
                finally:
                    await cleaner.aclose()
                for made in env.clients:
                    await made.aclose()

        return asyncio.run(main())

    return runner
