"""Prompts over real TCP: the built demo prompts and dynamic ones, as Asterisk would find them.

The server runs with DynamicPrompts over a copy of the demo sounds (built
with espeak-ng), callers live in a real Redis, and the emulator looks sound
files up in that directory (SoundsDirectory): a prompt the server names but
nobody made is reported missing, and prompts last as long as their WAV files.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
import time
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest

from fastagi.callers.service import CallerService
from fastagi.config import ServerSettings
from fastagi.menus import MenuSet, load_menus
from fastagi.prompts.audio import RATE
from fastagi.prompts.catalogue import Catalogue, load_catalogue
from fastagi.prompts.dynamic import DynamicPrompts
from fastagi.prompts.engines import EspeakNg, SpeechEngine, Synthesiser
from fastagi.server.app import RunningServer, caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import AsteriskEmulator, CallerScript, CallResult, SoundsDirectory

REPO = Path(__file__).resolve().parents[2]
VIP_HELLO_EN = "Welcome back, Ivan. Your personal manager is ready to help you."
VIP_HELLO_RU = "Здравствуйте, Иван! Ваш персональный менеджер готов вам помочь."

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def demo() -> MenuSet:
    return load_menus(REPO / "ivr_menus")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPO / "prompts" / "catalogue.yaml")


@pytest.fixture
def sounds(demo_sounds: Path, tmp_path: Path) -> Path:
    """A private copy of the built demo prompts: dynamic ones are made in it."""
    copy = tmp_path / "sounds"
    shutil.copytree(demo_sounds, copy)
    return copy


class Espeak:
    """espeak-ng, recording what it is asked to say, optionally late by `delay` seconds."""

    name = "espeak-ng"
    suffix = ".wav"
    online = False

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._real = EspeakNg()

    def speak(self, text: str, voice: str, target: Path) -> None:
        with self._lock:
            self.calls.append((text, voice))
        time.sleep(self.delay)
        self._real.speak(text, voice, target)


@dataclass
class Rig:
    server: RunningServer
    service: CallerService
    emulator: AsteriskEmulator
    dynamic: DynamicPrompts
    sounds: SoundsDirectory

    async def call(self, callerid: str, digits: str = "") -> CallResult:
        host, port = self.server.address
        return await self.emulator.place_call(
            host, port, script="main", callerid=callerid, caller=CallerScript.parse(digits)
        )


@contextlib.asynccontextmanager
async def _serving(
    url: str,
    menus: MenuSet,
    catalogue: Catalogue,
    sounds: Path,
    engine: SpeechEngine,
    budget: float = 5.0,
) -> AsyncIterator[Rig]:
    settings = ServerSettings(
        port=0,
        redis_prefix=f"t{uuid4().hex[:8]}:",
        menus_dir=REPO / "ivr_menus",
        segments_file=REPO / "config" / "segments.yaml",
    )
    service = caller_service(settings, url)
    dynamic = DynamicPrompts(catalogue, Synthesiser([engine]), sounds, budget=budget)
    server = start_server(settings, menus=menus, callers=service, prompts=dynamic)
    directory = SoundsDirectory(sounds)
    emulator = AsteriskEmulator(existing_files=directory.exists, prompt_duration=directory.duration)
    try:
        yield Rig(server, service, emulator, dynamic, directory)
    finally:
        await server.stop(grace=1.0)
        await service.drain()
        await service.directory.redis.aclose()
        dynamic.close()


@pytest.fixture
def engine() -> Espeak:
    return Espeak()


def _wav(path: Path) -> tuple[float, int]:
    """(seconds, sample rate) read from the file itself."""
    with wave.open(str(path), "rb") as reader:
        return reader.getnframes() / reader.getframerate(), reader.getframerate()


def _next_event_at(result: CallResult, prompt: str) -> float:
    """Virtual seconds from `prompt` starting to play to the next thing on the channel."""
    times = [event.at for event in result.timeline]
    index = next(
        i for i, e in enumerate(result.timeline) if e.kind == "play" and e.detail == prompt
    )
    return times[index + 1] - times[index]


def _dynamic_files(sounds: Path) -> list[Path]:
    return sorted(p for p in sounds.glob("*/ivr/dynamic/*.wav") if not p.name.startswith("."))


def test_a_demo_call_plays_only_prompts_that_exist_for_as_long_as_they_last(
    redis_server_url: str, demo: MenuSet, catalogue: Catalogue, sounds: Path, engine: Espeak
) -> None:
    async def scenario() -> CallResult:
        async with _serving(redis_server_url, demo, catalogue, sounds, engine) as rig:
            return await rig.call("+79162220001", "2,2")  # support, billing

    result = run_on_reactor_loop(scenario())
    assert result.error is None and not result.stuck
    assert result.variables.get("IVR_RESULT") == "billing"
    assert result.prompts == [
        "ivr/welcome-new", "ivr/main-greeting", "ivr/support-greeting", "ivr/connecting",
    ]  # fmt: skip
    assert result.missing_files == []
    for prompt in result.prompts:
        assert (sounds / "en" / f"{prompt}.wav").is_file()
    # a prompt played without barge-in takes exactly its file's length of channel time
    for prompt in ("ivr/welcome-new", "ivr/connecting"):
        seconds, rate = _wav(sounds / "en" / f"{prompt}.wav")
        assert rate == RATE
        assert seconds > 1.0 and seconds != pytest.approx(3.0, abs=0.05)
        assert _next_event_at(result, prompt) == pytest.approx(seconds, abs=1e-6)
    assert engine.calls == []  # no dynamic prompt on this path
    assert _dynamic_files(sounds) == []


def test_a_vip_caller_is_greeted_by_name(
    redis_server_url: str, demo: MenuSet, catalogue: Catalogue, sounds: Path, engine: Espeak
) -> None:
    async def scenario() -> tuple[CallResult, CallResult, DynamicPrompts]:
        async with _serving(redis_server_url, demo, catalogue, sounds, engine) as rig:
            for number in ("+79161110011", "+79161110012"):
                await rig.service.directory.upsert(number, {"tags": "vip", "first_name": "Ivan"})
            first = await rig.call("+79161110011", "1")
            other_ivan = await rig.call("+79161110012", "1")
            return first, other_ivan, rig.dynamic

    first, other_ivan, dynamic = run_on_reactor_loop(scenario())
    assert first.error is None and first.missing_files == []
    hello = first.prompts[0]
    assert hello.startswith("ivr/dynamic/")
    assert first.prompts[1] == "ivr/vip-greeting"
    assert "ivr/vip-welcome" not in first.prompts
    (made,) = _dynamic_files(sounds)
    assert made == sounds / "en" / f"{hello}.wav"
    seconds, rate = _wav(made)
    assert rate == RATE and seconds > 1.0
    assert _next_event_at(first, hello) == pytest.approx(seconds, abs=1e-6)
    assert engine.calls == [(VIP_HELLO_EN, "en-us")]
    # another caller called Ivan hears the same file, made once
    assert other_ivan.prompts[:2] == [hello, "ivr/vip-greeting"]
    assert other_ivan.missing_files == []
    assert len(engine.calls) == 1
    assert (dynamic.misses, dynamic.hits) == (1, 1)


@pytest.mark.parametrize(
    "fields",
    [
        {"tags": "vip"},
        {"tags": "vip", "first_name": "Ivan" * 22},
        {"tags": "vip", "first_name": "Ivan {caller.manager}"},
    ],
    ids=["no first name", "too long to say", "with braces"],
)
def test_a_vip_without_a_usable_name_hears_the_generic_welcome(
    redis_server_url: str,
    demo: MenuSet,
    catalogue: Catalogue,
    sounds: Path,
    engine: Espeak,
    fields: dict[str, str],
) -> None:
    async def scenario() -> CallResult:
        async with _serving(redis_server_url, demo, catalogue, sounds, engine) as rig:
            await rig.service.directory.upsert("+79161110013", fields)
            return await rig.call("+79161110013", "1")

    result = run_on_reactor_loop(scenario())
    assert result.prompts[:2] == ["ivr/vip-welcome", "ivr/vip-greeting"]
    assert result.missing_files == []
    assert engine.calls == []
    assert _dynamic_files(sounds) == []


def test_a_late_greeting_is_generic_and_the_next_call_hears_it_by_name(
    redis_server_url: str, demo: MenuSet, catalogue: Catalogue, sounds: Path
) -> None:
    slow = Espeak(delay=1.0)

    async def scenario() -> tuple[CallResult, bool, CallResult, DynamicPrompts]:
        async with _serving(redis_server_url, demo, catalogue, sounds, slow, budget=0.2) as rig:
            await rig.service.directory.upsert(
                "+79161110014", {"tags": "vip", "first_name": "Ivan"}
            )
            first = await rig.call("+79161110014", "1")
            deadline = time.monotonic() + 8.0
            while not _dynamic_files(sounds) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            ready = bool(_dynamic_files(sounds))
            later = await rig.call("+79161110014", "1")
            return first, ready, later, rig.dynamic

    first, ready, later, dynamic = run_on_reactor_loop(scenario())
    assert first.prompts[:2] == ["ivr/vip-welcome", "ivr/vip-greeting"]
    assert first.missing_files == []
    # the call waited for the budget, not for the 1 s synthesis
    assert max(first.timings) < 0.8, first.timings
    assert ready, "the synthesis stopped when the first call moved on"
    (made,) = _dynamic_files(sounds)
    assert later.prompts[:2] == [f"ivr/dynamic/{made.stem}", "ivr/vip-greeting"]
    assert later.missing_files == []
    assert slow.calls == [(VIP_HELLO_EN, "en-us")]
    assert (dynamic.late, dynamic.hits) == (1, 1)


def test_a_russian_speaking_vip_is_greeted_in_russian(
    redis_server_url: str, demo: MenuSet, catalogue: Catalogue, sounds: Path, engine: Espeak
) -> None:
    async def scenario() -> CallResult:
        async with _serving(redis_server_url, demo, catalogue, sounds, engine) as rig:
            fields = {"tags": "vip", "first_name": "Иван", "language": "ru"}
            await rig.service.directory.upsert("+79161110015", fields)
            return await rig.call("+79161110015", "1")

    result = run_on_reactor_loop(scenario())
    assert result.error is None
    assert result.language == "ru"
    hello = result.prompts[0]
    assert hello.startswith("ivr/dynamic/")
    assert result.prompts[1] == "ivr/vip-greeting"
    # found by Asterisk in the channel's language: nothing missing
    assert result.missing_files == []
    assert engine.calls == [(VIP_HELLO_RU, "ru")]
    (made,) = _dynamic_files(sounds)
    assert made == sounds / "ru" / f"{hello}.wav"
    assert _wav(made)[1] == RATE
    assert not (sounds / "en" / f"{hello}.wav").exists()
