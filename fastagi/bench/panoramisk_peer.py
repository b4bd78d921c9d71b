"""A minimal FastAGI application written with panoramisk (asyncio), as its docs show it.

One route (the scenario's script path) sends the given command lines in order
with `Request.send_command`, awaiting each reply, and returns; panoramisk then
closes the socket. panoramisk is used unchanged: `Application.handler` behind
`asyncio.start_server`.

    python -m fastagi.bench.panoramisk_peer --port 4601 --commands commands.txt
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from fastagi.bench._peer_cli import (
    BACKLOG,
    parse_peer_args,
    raise_fd_limit,
    read_commands,
    serve_until_signal,
)

__all__ = ["build_application", "main"]


def build_application(script: str, commands: Sequence[str]) -> Any:
    """A panoramisk `Application` whose one route sends `commands` and returns.

    Must be called with the event loop running (panoramisk takes it then).
    """
    from panoramisk.fast_agi import Application

    async def route(request: Any) -> None:
        for command in commands:
            await request.send_command(command)

    app = Application(loop=asyncio.get_running_loop())
    app.add_route(script, route)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_peer_args("Minimal panoramisk FastAGI application (bench peer).", argv)
    commands = read_commands(args.commands)
    raise_fd_limit()
    # panoramisk logs every request at INFO; keep the default WARNING threshold as
    # an application would in production, so logging costs the same as ours.
    logging.basicConfig(level=logging.WARNING)

    async def start() -> asyncio.Server:
        app = build_application(args.script, commands)
        return await asyncio.start_server(app.handler, args.host, args.port, backlog=BACKLOG)

    asyncio.run(serve_until_signal(start))


if __name__ == "__main__":
    main()
