"""Assembling a running server: menus, router, listener, control socket, signals, drain."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort

from fastagi.callbacks.keys import CallbackKeys
from fastagi.callers.service import CallerService
from fastagi.config import ServerSettings
from fastagi.events import EventSink, TeeSink
from fastagi.menus import MenuRegistry, MenuSet, load_menus
from fastagi.menus.context import BusinessHours
from fastagi.menus.session import PromptSource
from fastagi.server.control import ControlFactory, control_socket_path
from fastagi.server.factory import FastAGIFactory
from fastagi.server.fax_route import FaxResultRoute
from fastagi.server.menu_route import MenuRoute
from fastagi.server.router import Router
from fastagi.server.transport import EagerPort

if TYPE_CHECKING:
    from fastagi.analytics.metrics import Metrics
    from fastagi.callbacks.rules import CallbackRules
    from fastagi.callbacks.store import CallbackStore

__all__ = ["RunningServer", "start_server"]

log = logging.getLogger(__name__)


@dataclass
class RunningServer:
    """A listening server and what it owns; `stop()` drains and closes it."""

    settings: ServerSettings
    factory: FastAGIFactory
    registry: MenuRegistry
    port: IListeningPort
    control_port: IListeningPort | None = None
    #: Reads what else a reload takes (the prompt catalogue): raises on a bad
    #: file, else returns the function that puts it in place.
    prepare_reload: Callable[[], Callable[[], None]] | None = None
    #: Called after a reload or rollback put other menus in place (`ivr serve`
    #: settles its heap: fastagi.server.heap).
    after_reload: Callable[[], None] | None = None
    #: More for `ivr status` (the outbound calls), by section name.
    status_sections: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)
    #: The Prometheus metrics fed by this server (closed by `stop`).
    metrics: Metrics | None = None

    @property
    def address(self) -> tuple[str, int]:
        host = self.port.getHost()
        return host.host, host.port  # type: ignore[attr-defined]

    def reload(self) -> dict[str, Any]:
        """Load and validate the menus and catalogue again; on any error keep the running ones."""
        commit = self.prepare_reload() if self.prepare_reload is not None else None
        menus = self.registry.reload(lambda: load_menus(self.settings.menus_dir))
        if commit is not None:
            commit()
        if self.after_reload is not None:
            self.after_reload()
        log.info("menus reloaded: version %d, %d menus", self.registry.version, len(menus))
        return {"ok": True, "version": self.registry.version, "menus": sorted(menus)}

    def rollback(self) -> dict[str, Any]:
        menus = self.registry.rollback()
        if self.after_reload is not None:
            self.after_reload()
        log.info("menus rolled back: version %d", self.registry.version)
        return {"ok": True, "version": self.registry.version, "menus": sorted(menus)}

    def status(self) -> dict[str, Any]:
        return {
            "ok": True,
            "listen": "{}:{}".format(*self.address),
            "active_calls": self.factory.active_calls,
            "calls_total": self.factory.calls_total,
            "calls_rejected": self.factory.calls_rejected,
            "menus_version": self.registry.version,
            "draining": self.factory.draining,
            **{name: section() for name, section in self.status_sections.items()},
        }

    async def stop(self, grace: float | None = None) -> int:
        """Stop listening, let calls finish up to `grace` s, close the rest; return cut calls."""
        listening = self.port.stopListening()
        if self.control_port is not None:
            self.control_port.stopListening()
        cut = await self.factory.drain(self.settings.shutdown_grace if grace is None else grace)
        if isinstance(listening, Deferred):
            await listening.asFuture(asyncio.get_running_loop())
        if self.metrics is not None:
            await self.metrics.close()
        return cut


def start_server(
    settings: ServerSettings,
    *,
    menus: MenuSet | None = None,
    events: EventSink | None = None,
    control: bool = False,
    callers: CallerService | None = None,
    hours: BusinessHours | None = None,
    clock: Callable[[], datetime] | None = None,
    prompts: PromptSource | None = None,
    metrics: Metrics | None = None,
) -> RunningServer:
    """Listen for FastAGI on settings.host:port (port 0 picks a free one).

    Menus are loaded from settings.menus_dir unless given; a MenuError
    propagates so `ivr serve` refuses to start on bad menus. With `callers`,
    every call is looked up and personalised; `hours` answers the menus'
    `hours` nodes; `clock` (tests, scenarios) replaces the real time calls
    see; `prompts` makes the catalogue's personalised prompts and locates files;
    `metrics` gets the events, command and lookup timings, the call counts and
    (with `callers`) the open callback requests; serving them is up to the
    caller (`Metrics.listen`). Needs the asyncio reactor.
    """
    from twisted.internet import reactor

    registry = MenuRegistry()
    registry.reload(lambda: menus if menus is not None else load_menus(settings.menus_dir))
    # One tee for the whole server: each kind's takers are worked out once.
    sink = TeeSink(*(s for s in (events, metrics) if s is not None))
    if metrics is not None and callers is not None:
        callers.lookup_timer = metrics.observe_lookup
    router = Router()
    # The fax result runs on the menu call's own channel (a hangup handler): not a new call.
    router.add(FaxResultRoute(sink, callers), counted=False)
    if callers is not None:  # the outbound calls' own reports (dialplan/ivr-outbound.conf)
        from fastagi.outbound.results import OutboundResultRoute, OutboundResults

        results = OutboundResults(callers.directory.redis, settings.redis_prefix)
        router.add(OutboundResultRoute(results), counted=False)
    router.add(MenuRoute(registry, sink, callers, hours, clock, prompts))
    factory = FastAGIFactory(
        settings,
        router,
        clock=reactor,
        events=sink,
        command_timer=None if metrics is None else metrics.observe_command,
    )
    port = EagerPort(settings.port, factory, backlog=1024, interface=settings.host, reactor=reactor)
    port.startListening()
    server = RunningServer(settings, factory, registry, port, metrics=metrics)
    if metrics is not None:
        metrics.watch_factory(factory)
        if callers is not None:
            open_requests = CallbackKeys(settings.redis_prefix).open()
            metrics.watch_callbacks(callers.directory.redis, open_requests)
    if control:
        server.control_port = _listen_control(server)
    return server


def caller_service(settings: ServerSettings, redis_url: str) -> CallerService:
    """The caller lookup for a server: the directory on `redis_url` and the segment rules.

    Raises MenuError (file:line) when the segment rules file is invalid.
    """
    from fastagi.callers import CallerDirectory
    from fastagi.callers.segments import SegmentRules
    from fastagi.storage import open_async_client

    rules = SegmentRules.load_or_default(settings.segments_file)
    client = open_async_client(redis_url, timeout=settings.lookup_budget)
    region = rules.default_region or settings.default_region
    directory = CallerDirectory(
        client, prefix=settings.redis_prefix, region=region, budget=settings.lookup_budget
    )
    store, callback_rules = _lost_call_store(settings, client, region)
    return CallerService(directory, rules, lost_calls=store, callback_rules=callback_rules)


def _lost_call_store(
    settings: ServerSettings, client: Any, region: str
) -> tuple[CallbackStore | None, CallbackRules | None]:
    """Where lost calls are filed: needs the business hours (the centre's time zone).

    Raises MenuError (file:line) when callbacks.yaml or hours.yaml is invalid.
    """
    from fastagi.callbacks.rules import CallbackRules, load_callback_rules
    from fastagi.callbacks.store import CallbackStore
    from fastagi.hours.loader import load_hours

    if not settings.hours_file.is_file():
        log.warning("no %s: lost calls are not filed for callbacks", settings.hours_file)
        return None, None
    hours = load_hours(settings.hours_file)
    rules = (
        load_callback_rules(settings.callbacks_file, hours=hours)
        if settings.callbacks_file.is_file()
        else CallbackRules()
    )
    store = CallbackStore.for_rules(
        client, rules, hours, prefix=settings.redis_prefix, region=region
    )
    return store, rules


def _listen_control(server: RunningServer) -> IListeningPort:
    from twisted.internet import reactor

    settings = server.settings
    path = control_socket_path(settings.state_dir, server.address[1])
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)
    commands: dict[str, Callable[[], dict[str, Any]]] = {
        "reload": server.reload,
        "rollback": server.rollback,
        "status": server.status,
    }
    return reactor.listenUNIX(str(path), ControlFactory(commands), mode=0o600)  # type: ignore[attr-defined,no-any-return]


def install_reload_signal(server: RunningServer) -> None:
    """SIGHUP reloads the menus, like `ivr reload`; a failure is logged, never fatal."""
    from twisted.internet import reactor

    def reload_safely() -> None:
        try:
            server.reload()
        except Exception as exc:
            log.error("reload failed, keeping the running menus: %s", exc)

    signal.signal(signal.SIGHUP, lambda *_: reactor.callFromThread(reload_safely))  # type: ignore[attr-defined]
