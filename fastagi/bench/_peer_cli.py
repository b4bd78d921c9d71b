"""Command-line plumbing shared by the peer servers (not by the responders themselves)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

__all__ = ["PeerArgs", "parse_peer_args", "raise_fd_limit", "read_commands", "serve_until_signal"]

#: Listen backlog for every server under test (ours uses 1024 too).
BACKLOG = 1024


class PeerArgs(argparse.Namespace):
    host: str
    port: int
    commands: Path
    script: str


def parse_peer_args(description: str, argv: Sequence[str] | None = None) -> PeerArgs:
    """--host, --port, --commands FILE (one AGI command line per line), --script."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--commands", type=Path, required=True)
    parser.add_argument("--script", default="main", help="agi_network_script to answer")
    return parser.parse_args(argv, namespace=PeerArgs())


def read_commands(path: Path) -> list[str]:
    """The command lines to send, in order, without their newlines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    commands = [line for line in lines if line.strip()]
    if not commands:
        raise SystemExit(f"{path}: no command lines")
    return commands


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
    return soft


async def serve_until_signal(start: Callable[[], Awaitable[asyncio.Server]]) -> None:
    """Start the server, print one `ready` line, serve until SIGTERM or SIGINT."""
    server = await start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    port = server.sockets[0].getsockname()[1]
    print(f"ready 127.0.0.1:{port}", flush=True)
    async with server:
        await stop.wait()
