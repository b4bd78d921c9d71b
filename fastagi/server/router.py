"""Routing by FastAGI script path: the first route that accepts the path handles the call."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from fastagi.call import Call

__all__ = ["CallStatus", "Handler", "PatternRoute", "Route", "Router"]


class CallStatus:
    """Values of the IVRSTATUS channel variable the dialplan branches on."""

    SUCCESS = "SUCCESS"  # the script finished; IVR_RESULT says what next
    HANGUP = "HANGUP"  # the caller hung up
    FAILED = "FAILED"  # the script failed: the dialplan fallback takes the call
    BUSY = "BUSY"  # over the call limit or shutting down: fallback
    NOTFOUND = "NOTFOUND"  # no route for the script path: fallback


Handler = Callable[[Call], Awaitable[str]]
"""Runs a call; returns a CallStatus value. May raise CallHangup."""


class Route(Protocol):
    def match(self, script: str) -> Handler | None:
        """The handler for this script path, or None to let the next route try."""


@dataclass(frozen=True)
class PatternRoute:
    """Routes script paths that fully match a regular expression to one handler."""

    pattern: re.Pattern[str]
    handler: Handler

    def match(self, script: str) -> Handler | None:
        return self.handler if self.pattern.fullmatch(script) else None


class Router:
    """A first-match list of routes."""

    def __init__(self) -> None:
        self._routes: list[tuple[Route, bool]] = []

    def add(self, route: Route, *, counted: bool = True) -> None:
        """Add a route; `counted=False` for the dialplan's own reports (outbound/result,
        fax/result): they are no new call, so they raise no call_start/call_end events."""
        self._routes.append((route, counted))

    def add_pattern(self, pattern: str, handler: Handler) -> None:
        self.add(PatternRoute(re.compile(pattern), handler))

    def resolve(self, script: str) -> Handler | None:
        found = self.lookup(script)
        return None if found is None else found[0]

    def lookup(self, script: str) -> tuple[Handler, bool] | None:
        """The handler for `script` and whether its calls are counted as calls."""
        for route, counted in self._routes:
            handler = route.match(script)
            if handler is not None:
                return handler, counted
        return None
