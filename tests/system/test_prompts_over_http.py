"""A remote Asterisk playing prompts over HTTP: the server names URLs, the endpoint serves them.

The server runs with `sounds_url` pointing at its own prompts endpoint
(real TCP for both FastAGI and HTTP); the emulator resolves the URLs the
server sends against the sounds directory, and the test fetches every URL
played over HTTP, as Asterisk's media cache would, and compares the bytes.
"""

from __future__ import annotations

import asyncio
import shutil
import urllib.request
from pathlib import Path
from uuid import uuid4

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.defer import maybeDeferred

from fastagi.config import ServerSettings
from fastagi.menus import load_menus
from fastagi.prompts.catalogue import load_catalogue
from fastagi.prompts.http import listen_sounds_http
from fastagi.prompts.service import dynamic_from_settings
from fastagi.server.app import caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import AsteriskEmulator, CallerScript, CallResult, SoundsDirectory

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.system


def _fetch(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.headers["Content-Type"], response.read()


def test_prompts_are_played_as_urls_that_the_endpoint_serves(
    redis_server_url: str, demo_sounds: Path, tmp_path: Path
) -> None:
    sounds = tmp_path / "sounds"
    shutil.copytree(demo_sounds, sounds)
    catalogue = load_catalogue(REPO / "prompts" / "catalogue.yaml")

    async def scenario() -> tuple[CallResult, str, list[tuple[str, bytes]]]:
        http = listen_sounds_http(sounds, "127.0.0.1", 0)
        address = http.getHost()
        assert isinstance(address, IPv4Address)
        base = f"http://127.0.0.1:{address.port}"
        settings = ServerSettings(
            port=0,
            redis_prefix=f"t{uuid4().hex[:8]}:",
            sounds_dir=sounds,
            sounds_url=base,
            tts_engine="espeak-ng",
            segments_file=REPO / "config" / "segments.yaml",
        )
        prompts = dynamic_from_settings(settings, catalogue)
        assert prompts is not None
        service = caller_service(settings, redis_server_url)
        await service.directory.upsert("+79161234567", {"first_name": "Ivan", "tags": "vip"})
        server = start_server(
            settings, menus=load_menus(REPO / "ivr_menus"), callers=service, prompts=prompts
        )
        directory = SoundsDirectory(sounds, base_url=base)
        emulator = AsteriskEmulator(
            existing_files=directory.exists, prompt_duration=directory.duration
        )
        host, port = server.address
        try:
            result = await emulator.place_call(
                host, port, script="main", callerid="+79161234567",
                caller=CallerScript.parse("2"),
            )  # fmt: skip
            # Asterisk fetches in its own thread; here a worker thread does.
            fetched = [await asyncio.to_thread(_fetch, url) for url in result.prompts]
        finally:
            await server.stop(grace=1.0)
            await service.drain()
            await service.directory.redis.aclose()
            prompts.close()
            await maybeDeferred(http.stopListening).asFuture(asyncio.get_running_loop())
        return result, base, fetched

    result, base, fetched = run_on_reactor_loop(scenario())
    assert result.error is None and not result.stuck
    assert result.missing_files == []
    # the VIP greeting by name, then the VIP menu, then the queue's prompt: all URLs
    assert len(result.prompts) >= 3
    assert result.prompts[0].startswith(f"{base}/en/ivr/dynamic/")
    assert result.prompts[1] == f"{base}/en/ivr/vip-greeting.wav"
    for url, (content_type, body) in zip(result.prompts, fetched, strict=True):
        assert url.endswith(".wav")
        assert content_type == "audio/wav"
        local = sounds / url.removeprefix(f"{base}/")
        assert body == local.read_bytes()
