"""`ivr serve`: run the server in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from fastagi.config import ServerSettings, is_loopback_host, redacted_url, split_address
from fastagi.logs import configure_logging
from fastagi.server.reactor import install_asyncio_reactor

if TYPE_CHECKING:
    from twisted.internet.interfaces import IListeningPort

    from fastagi.analytics.metrics import Metrics
    from fastagi.outbound.service import OutboundService
    from fastagi.prompts.catalogue import Catalogue
    from fastagi.prompts.dynamic import DynamicPrompts
    from fastagi.server.app import RunningServer

__all__ = ["run_forever"]

log = logging.getLogger(__name__)


def _banner(host: str, port: int, redis_url: str, menus: list[str], prompts: str) -> str:
    return "\n".join(
        [
            f"FastAGI IVR listening on {host}:{port} (menus: {', '.join(menus)})",
            f"Redis: {redacted_url(redis_url)}",
            f"Prompts: {prompts}",
            f"Asterisk dialplan:  same => n,AGI(agi://{host}:{port}/main)",
            "Try a call:  ivr simulate main --caller +79161234567 --digits 2",
            "Reload menus: ivr reload    Stop: Ctrl-C (calls in progress may finish first)",
        ]
    )


def _prepare_prompts(settings: ServerSettings, catalogue: Catalogue | None) -> str:
    """Build what changed in the catalogue (when configured); a line for the banner."""
    from fastagi.prompts.service import build_from_settings, catalogue_path, summary

    if catalogue is None:
        return f"no catalogue at {catalogue_path(settings)}"
    if settings.sounds_dir is None:
        return "sounds_dir not set: prompts are not built"
    if not settings.build_prompts_on_start:
        return f"{settings.sounds_dir} (not built at start: ivr prompts build)"
    result = build_from_settings(settings, catalogue)
    for job, reason in result.failed:
        log.error("prompt %s [%s] not built: %s", job.prompt_id, job.language, reason)
    return f"{summary(result)} -> {settings.sounds_dir}"


def _prepare_catalogue(settings: ServerSettings, dynamic: DynamicPrompts) -> Callable[[], None]:
    """Read the catalogue for a reload (MenuError when it is bad); the commit swaps it in."""
    from fastagi.prompts.service import catalogue_path, load_settings_catalogue

    catalogue = load_settings_catalogue(settings)
    if catalogue is None:
        raise FileNotFoundError(f"the prompt catalogue {catalogue_path(settings)} is gone")
    return partial(dynamic.use, catalogue)


def _start_outbound(settings: ServerSettings, outbound: OutboundService) -> str:
    """Tick callbacks and campaigns from the reactor's start; a line for the banner."""
    from twisted.internet import reactor

    from fastagi.outbound.broadcast import load_broadcast_config

    reactor.callWhenRunning(lambda: asyncio.ensure_future(outbound.start()))
    if outbound.ami is None:
        return "Outbound: no ami_host - lost calls are filed, nothing is dialled"
    line = f"Outbound: AMI {settings.ami_username}@{settings.ami_host}:{settings.ami_port}"
    broadcast = load_broadcast_config(settings.broadcast_file)
    if broadcast.http:
        token = os.environ.get(broadcast.token_env, "")
        try:
            outbound.serve_broadcasts(broadcast.http, token)
            line += f"\nBroadcast trigger: POST http://{broadcast.http}/broadcast"
        except ValueError as exc:
            line += f"\nBroadcast trigger off: {exc} (set {broadcast.token_env})"
    return line


def _url(address: str, listening: IListeningPort) -> str:
    """`http://host:port` of a listener opened on `address` (the real port if it was 0)."""
    from twisted.internet.address import IPv4Address, IPv6Address

    bound = listening.getHost()
    assert isinstance(bound, IPv4Address | IPv6Address)
    return f"http://{address.rpartition(':')[0]}:{bound.port}"


def _serve_sounds(address: str, sounds_dir: Path) -> str:
    from fastagi.prompts.http import listen_sounds_http

    listening = listen_sounds_http(sounds_dir, *split_address(address))
    return f"Prompts over HTTP: {_url(address, listening)}/<language>/<name>.wav"


def _serve_metrics(address: str) -> tuple[Metrics, str]:
    """Open GET /metrics on host:port: the metrics to feed and a line for the banner."""
    from fastagi.analytics.metrics import Metrics

    metrics = Metrics()
    listening = metrics.listen(*split_address(address))
    return metrics, f"Metrics: {_url(address, listening)}/metrics"


def _serve_dashboard(
    settings: ServerSettings, server: RunningServer, redis_url: str
) -> tuple[Callable[[], Awaitable[None]], str]:
    """Open the dashboard on host:port: what closes it and a line for the banner."""
    from fastagi.analytics.dashboard import Dashboard, listen_dashboard
    from fastagi.storage import open_async_client

    address = settings.dashboard_listen or "127.0.0.1:0"
    redis = open_async_client(redis_url, timeout=5.0)
    menus = server.registry
    dashboard = Dashboard(server.status, lambda: menus.current, redis, settings.redis_prefix)
    host, port = split_address(address)
    listening = listen_dashboard(dashboard, host, port, password=settings.dashboard_password)
    if settings.dashboard_password is None and not is_loopback_host(host):
        log.warning("the dashboard on %s has no password: set IVR_DASHBOARD_PASSWORD", address)

    async def close() -> None:
        stopped = listening.stopListening()
        if stopped is not None:
            await stopped.asFuture(asyncio.get_running_loop())
        await redis.aclose()

    locked = " (password required)" if settings.dashboard_password else ""
    return close, f"Dashboard: {_url(address, listening)}/{locked}"


def run_forever(settings: ServerSettings) -> int:
    """Serve until the reactor stops; return the process exit status."""
    configure_logging(settings.log_format, settings.log_level)
    install_asyncio_reactor()
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred
    from twisted.internet.error import CannotListenError

    from fastagi.analytics.pipeline import EventPipeline
    from fastagi.hours.business import load_business_hours
    from fastagi.menus import MenuError
    from fastagi.outbound.service import OutboundService
    from fastagi.prompts.service import dynamic_from_settings, load_settings_catalogue
    from fastagi.server.app import caller_service, install_reload_signal, start_server
    from fastagi.server.heap import settle_heap
    from fastagi.storage import EmbeddedRedisError, redis_url

    try:
        with redis_url(settings.redis_url, settings.state_dir) as url:
            try:
                callers = caller_service(settings, url) if settings.callers else None
                hours = load_business_hours(settings.hours_file)
                catalogue = load_settings_catalogue(settings)
                prompts = _prepare_prompts(settings, catalogue)
                dynamic = dynamic_from_settings(settings, catalogue)
                pipeline = EventPipeline.from_settings(settings, url)
                prompts += "\n" + pipeline.describe()
                metrics = None
                if settings.metrics_listen:
                    metrics, line = _serve_metrics(settings.metrics_listen)
                    prompts += "\n" + line
                server = start_server(
                    settings,
                    control=True,
                    callers=callers,
                    hours=hours,
                    prompts=dynamic,
                    metrics=metrics,
                    events=pipeline.sink,
                )
                reactor.callWhenRunning(pipeline.start)
                close_dashboard = None
                if settings.dashboard_listen:
                    close_dashboard, line = _serve_dashboard(settings, server, url)
                    prompts += "\n" + line
                if settings.prompts_http and settings.sounds_dir is not None:
                    prompts += "\n" + _serve_sounds(settings.prompts_http, settings.sounds_dir)
                outbound = (
                    OutboundService.from_settings(settings, url, events=pipeline.sink)
                    if callers
                    else None
                )
                if outbound is not None:
                    prompts += "\n" + _start_outbound(settings, outbound)
            except MenuError as exc:
                print(
                    "ivr serve: refusing to start, the menus, segment rules, prompt catalogue"
                    f" or outbound settings have errors:\n{exc}",
                    file=sys.stderr,
                )
                return 2
            except CannotListenError as exc:
                print(
                    f"ivr serve: cannot listen on {settings.host}:{settings.port}: {exc}",
                    file=sys.stderr,
                )
                return 1
            if dynamic is not None:
                server.prepare_reload = partial(_prepare_catalogue, settings, dynamic)
            if outbound is not None:
                server.status_sections["outbound"] = outbound.status
            server.after_reload = settle_heap
            install_reload_signal(server)

            def drain() -> Deferred[int]:
                log.info("shutting down: waiting up to %.0f s for calls", settings.shutdown_grace)

                async def stop() -> int:
                    cut = await server.stop()
                    if close_dashboard is not None:
                        await close_dashboard()
                    if outbound is not None:
                        await outbound.stop()
                    if dynamic is not None:
                        dynamic.close()
                    if callers is not None:
                        await callers.drain()  # history writes still in flight
                    await pipeline.stop()  # the last events
                    return cut

                return Deferred.fromFuture(asyncio.ensure_future(stop()))

            reactor.addSystemEventTrigger("before", "shutdown", drain)
            host, port = server.address
            menus = sorted(server.registry.current)
            print(_banner(host, port, url, menus, prompts), flush=True)
            settle_heap()  # start-up's objects live as long as the process
            reactor.run()
    except EmbeddedRedisError as exc:
        print(f"ivr serve: {exc}", file=sys.stderr)
        return 1
    return 0
