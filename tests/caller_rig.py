"""A running server with a caller service on a real Redis, for the personalised-call tests.

async with serving(url, demo) as rig:
    result = await rig.call("+79161110006", "1")
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

from fastagi.callers.service import CallerService
from fastagi.config import ServerSettings
from fastagi.events import EventRecorder
from fastagi.menus import MenuSet
from fastagi.server.app import RunningServer, caller_service, start_server
from fastagi.testing import AsteriskEmulator, CallerScript, CallResult

REPO = Path(__file__).resolve().parents[1]


def rig_settings() -> ServerSettings:
    return ServerSettings(
        port=0,
        redis_prefix=f"t{uuid4().hex[:8]}:",
        menus_dir=REPO / "ivr_menus",
        segments_file=REPO / "config" / "segments.yaml",
    )


@dataclass
class Rig:
    """A running server with its caller service, and one emulator (unique call ids) for it."""

    server: RunningServer
    service: CallerService
    emulator: AsteriskEmulator

    async def call(self, callerid: str, digits: str = "") -> CallResult:
        host, port = self.server.address
        return await self.emulator.place_call(
            host, port, script="main", callerid=callerid, caller=CallerScript.parse(digits)
        )


@contextlib.asynccontextmanager
async def serving(
    url: str, menus: MenuSet, events: EventRecorder | None = None
) -> AsyncIterator[Rig]:
    """A server with its own key prefix on `url`; stopped, drained and closed on exit."""
    settings = rig_settings()
    service = caller_service(settings, url)
    server = start_server(settings, menus=menus, events=events, callers=service)
    try:
        yield Rig(server, service, AsteriskEmulator())
    finally:
        await server.stop(grace=1.0)
        await service.drain()
        await service.directory.redis.aclose()
