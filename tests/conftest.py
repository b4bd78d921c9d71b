"""Shared fixtures: the asyncio reactor, a real private Redis server, settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastagi.server.reactor import install_asyncio_reactor

# Twisted must run on the asyncio loop before anything imports the reactor.
install_asyncio_reactor()

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server for the session: REDIS_URL if set, else a private one."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from fastagi.storage import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("redis-state"))
    url = server.acquire()
    try:
        yield url
    finally:
        server.release()
