"""Twisted on the asyncio event loop, so redis.asyncio and Twisted share one loop."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["install_asyncio_reactor", "run_on_reactor_loop"]

T = TypeVar("T")


def install_asyncio_reactor() -> None:
    """Install AsyncioSelectorReactor once; a no-op when it is already installed.

    Must run before anything imports `twisted.internet.reactor`.
    """
    if "twisted.internet.reactor" in sys.modules:
        from twisted.internet import reactor

        if type(reactor).__name__ != "AsyncioSelectorReactor":
            raise RuntimeError(
                f"another Twisted reactor ({type(reactor).__name__}) is already installed"
            )
        return
    from twisted.internet import asyncioreactor

    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    asyncioreactor.install(loop)  # type: ignore[no-untyped-call]


def run_on_reactor_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on the reactor's asyncio loop (not reactor.run()).

    Used by one-shot commands (`ivr simulate`, `ivr test`, `ivr bench`) and the
    tests: Twisted listeners and asyncio clients then share one loop.
    """
    install_asyncio_reactor()
    from twisted.internet import reactor

    loop: asyncio.AbstractEventLoop = reactor._asyncioEventloop  # type: ignore[attr-defined]
    asyncio.set_event_loop(loop)
    return loop.run_until_complete(coro)
