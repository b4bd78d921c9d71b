"""`ivr serve`: run the server in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import sys

from fastagi.config import ServerSettings
from fastagi.logs import configure_logging
from fastagi.server.reactor import install_asyncio_reactor

__all__ = ["run_forever"]

log = logging.getLogger(__name__)


def _banner(host: str, port: int, redis_url: str, menus: list[str]) -> str:
    return "\n".join(
        [
            f"FastAGI IVR listening on {host}:{port} (menus: {', '.join(menus)})",
            f"Redis: {redis_url}",
            f"Asterisk dialplan:  same => n,AGI(agi://{host}:{port}/main)",
            "Try a call:  ivr simulate main --caller +79161234567 --digits 2",
            "Reload menus: ivr reload    Stop: Ctrl-C (calls in progress may finish first)",
        ]
    )


def run_forever(settings: ServerSettings) -> int:
    """Serve until the reactor stops; return the process exit status."""
    configure_logging(settings.log_format, settings.log_level)
    install_asyncio_reactor()
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred
    from twisted.internet.error import CannotListenError

    from fastagi.hours.business import load_business_hours
    from fastagi.menus import MenuError
    from fastagi.server.app import caller_service, install_reload_signal, start_server
    from fastagi.storage import EmbeddedRedisError, redis_url

    try:
        with redis_url(settings.redis_url, settings.state_dir) as url:
            try:
                callers = caller_service(settings, url) if settings.callers else None
                hours = load_business_hours(settings.hours_file)
                server = start_server(settings, control=True, callers=callers, hours=hours)
            except MenuError as exc:
                print(
                    f"ivr serve: refusing to start, the menus or segment rules have errors:\n{exc}",
                    file=sys.stderr,
                )
                return 2
            except CannotListenError as exc:
                print(
                    f"ivr serve: cannot listen on {settings.host}:{settings.port}: {exc}",
                    file=sys.stderr,
                )
                return 1
            install_reload_signal(server)

            def drain() -> Deferred[int]:
                log.info("shutting down: waiting up to %.0f s for calls", settings.shutdown_grace)

                async def stop() -> int:
                    cut = await server.stop()
                    if callers is not None:
                        await callers.drain()  # history writes still in flight
                    return cut

                return Deferred.fromFuture(asyncio.ensure_future(stop()))

            reactor.addSystemEventTrigger("before", "shutdown", drain)
            host, port = server.address
            print(_banner(host, port, url, sorted(server.registry.current)), flush=True)
            reactor.run()
    except EmbeddedRedisError as exc:
        print(f"ivr serve: {exc}", file=sys.stderr)
        return 1
    return 0
