"""The floor: a FastAGI responder on bare asyncio streams, no framework at all.

It reads the environment block up to the blank line, sends each command line
in order, reads each reply line (skipping GOSUB's interim ``100`` lines and
an unsolicited ``HANGUP``), and closes. No parsing beyond that, no routing,
no timers: what is left is Python's and asyncio's own cost for this work.

    python -m fastagi.bench.bare_peer --port 4600 --commands commands.txt
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence

from fastagi.bench._peer_cli import (
    BACKLOG,
    parse_peer_args,
    raise_fd_limit,
    read_commands,
    serve_until_signal,
)

__all__ = ["main", "respond"]


async def respond(
    commands: Sequence[bytes], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer one call: env block, then each command and its final reply; then close."""
    try:
        await reader.readuntil(b"\n\n")
        for command in commands:
            writer.write(command)
            while True:
                line = await reader.readline()
                if not line:
                    return  # the peer went away
                if not line.startswith((b"100 ", b"HANGUP")):
                    break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_peer_args("Bare asyncio-streams FastAGI responder (bench floor).", argv)
    commands = [line.encode() + b"\n" for line in read_commands(args.commands)]
    raise_fd_limit()
    handler = functools.partial(respond, commands)
    asyncio.run(
        serve_until_signal(
            lambda: asyncio.start_server(handler, args.host, args.port, backlog=BACKLOG)
        )
    )


if __name__ == "__main__":
    main()
