"""Helpers shared by the menu tests (imported by bare name, like tests/agi/agi_helpers)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["WriteFile", "run"]

T = TypeVar("T")

#: The `write` fixture: write("main.yaml", text) -> path.
WriteFile = Callable[[str, str], Path]


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a private event loop (the reactor's loop is left alone)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()
