"""The FastAGI factory: admission (allowlist, call limit), call lifecycle, drain."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import ServerFactory
from twisted.internet.task import LoopingCall

from fastagi.agi import AGIError, CallHangup, CommandTimeout, Environment
from fastagi.call import DEFAULT_EXEC_ALLOWLIST, Call
from fastagi.config import ServerSettings
from fastagi.events import EventSink, as_tee
from fastagi.logs import BurstWarning
from fastagi.server.protocol import FastAGIProtocol
from fastagi.server.router import CallStatus, Handler, Router

__all__ = ["STATUS_VARIABLE", "FastAGIFactory"]

log = logging.getLogger(__name__)

#: The channel variable that tells the dialplan how the AGI ended.
STATUS_VARIABLE = "IVRSTATUS"

#: Seconds between deadline checks: a timeout fires up to this much late.
DEADLINE_TICK = 1.0

#: Over-limit connections still get a polite BUSY answer, up to this many extra.
_REJECT_HEADROOM = 256


class FastAGIFactory(ServerFactory):
    """Builds one FastAGIProtocol per connection and runs its call."""

    def __init__(
        self,
        settings: ServerSettings,
        router: Router,
        *,
        clock: IReactorTime,
        events: EventSink | None = None,
        command_timer: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.router = router
        self.clock = clock
        self.events = as_tee(events)
        #: Called with each AGI command's round trip in seconds (metrics); None: not timed.
        self.command_timer = command_timer
        self.connections: set[FastAGIProtocol] = set()
        self.draining = False
        self.calls_total = 0
        self.active_calls = 0
        self.calls_rejected = 0
        self._allowed = [ipaddress.ip_network(p, strict=False) for p in settings.allowed_peers]
        self._exec_allowlist = (
            frozenset(settings.exec_allowlist)
            if settings.exec_allowlist is not None
            else DEFAULT_EXEC_ALLOWLIST
        )
        self._idle: asyncio.Event | None = None
        self._ticker = LoopingCall(self._check_deadlines)
        self._ticker.clock = clock
        # During a spike thousands of calls a second are refused: one line per burst.
        self._refusal_warning = BurstWarning(log, clock=clock.seconds)
        self._flood_warning = BurstWarning(log, clock=clock.seconds)

    def _check_deadlines(self) -> None:
        now = self.clock.seconds()
        for protocol in list(self.connections):
            protocol.check_deadlines(now)

    # -- admission -------------------------------------------------------------

    def _peer_allowed(self, addr: IAddress) -> bool:
        if not self._allowed:
            return True
        host = getattr(addr, "host", None)
        if host is None:
            return False
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in network for network in self._allowed)

    def buildProtocol(self, addr: IAddress) -> FastAGIProtocol | None:  # type: ignore[override]
        if not self._peer_allowed(addr):
            log.warning("refused FastAGI connection from %s: not in allowed_peers", addr)
            return None
        if len(self.connections) >= self.settings.max_calls + _REJECT_HEADROOM:
            self._flood_warning.warn(
                "refused FastAGI connection from %s: far over the call limit", addr
            )
            return None
        protocol = FastAGIProtocol(self, self.clock)
        self.connections.add(protocol)
        if not self._ticker.running:
            self._ticker.start(DEADLINE_TICK, now=False)
        return protocol

    # -- call lifecycle ----------------------------------------------------------

    async def run_call(self, protocol: FastAGIProtocol, env: Environment) -> None:
        """Run the script for one call and tell the dialplan how it ended."""
        call = Call(env, protocol, exec_allowlist=self._exec_allowlist)
        started = time.monotonic()
        self.active_calls += 1
        try:
            # not counted: the dialplan's own reports (Router.add counted=False)
            status, counted = await self._status_of(call, protocol, env)
        finally:
            self.active_calls -= 1
        if protocol.connected and not protocol.hung_up:
            # AGIError: the caller left as we finished, nothing left to tell.
            with contextlib.suppress(AGIError):
                await call.set_variable(STATUS_VARIABLE, status)
        if counted:
            seconds = f"{time.monotonic() - started:.3f}"
            self._emit(env, "call_end", status=status, seconds=seconds)
        protocol.close()

    async def _status_of(
        self, call: Call, protocol: FastAGIProtocol, env: Environment
    ) -> tuple[str, bool]:
        """The call's IVRSTATUS, and whether it counts as a call (events, calls_total)."""
        if self.draining or self.active_calls > self.settings.max_calls:
            self.calls_rejected += 1
            self._refusal_warning.warn(
                "rejected call: %s",
                "shutting down" if self.draining else "call limit reached",
                extra={"uniqueid": env.uniqueid},
            )
            return CallStatus.BUSY, True
        found = self.router.lookup(env.script)
        if found is None:
            log.warning("no route for script %r", env.script, extra={"uniqueid": env.uniqueid})
            return CallStatus.NOTFOUND, True
        handler, counted = found
        if counted:
            self.calls_total += 1
            self._emit(env, "call_start", script=env.script, callerid=env.callerid)
        return await self._run_handler(handler, call, env), counted

    async def _run_handler(self, handler: Handler, call: Call, env: Environment) -> str:
        try:
            return await handler(call)
        except CallHangup:
            return CallStatus.HANGUP
        except CommandTimeout:
            return CallStatus.FAILED
        except asyncio.CancelledError:
            return CallStatus.FAILED
        except Exception:
            log.exception("script %r failed", env.script, extra={"uniqueid": env.uniqueid})
            return CallStatus.FAILED

    def _emit(self, env: Environment, kind: str, **data: Any) -> None:
        self.events.record(env.uniqueid, kind, "", "", data)

    def call_ended(self, protocol: FastAGIProtocol) -> None:
        self.connections.discard(protocol)
        if not self.connections and self._ticker.running:
            self._ticker.stop()
        if self._idle is not None and not self.connections:
            self._idle.set()

    # -- graceful shutdown ---------------------------------------------------------

    async def drain(self, grace: float) -> int:
        """Refuse new calls, wait up to `grace` s for calls to finish; return how many were cut."""
        self.draining = True
        if self.connections:
            self._idle = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout=grace)
        remaining = list(self.connections)
        for protocol in remaining:
            # Closing without a SUCCESS status sends the call down the dialplan fallback.
            protocol.close()
        return len(remaining)
