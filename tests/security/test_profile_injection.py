"""Hostile profile fields (first_name, manager) on a VIP call over real TCP and Redis.

The directory validates what it is given (`upsert`), and the menus re-check
caller data where it is used (`allowed` on a transfer, TEXT_SAFE for a
spoken name), so fields written straight into Redis - an old import, another
tool, a compromised admin - are checked here too.
"""

from __future__ import annotations

import re
import threading
import wave
from pathlib import Path
from uuid import uuid4

import pytest

from fastagi.callers.fields import InvalidField
from fastagi.callers.keys import Keys
from fastagi.config import ServerSettings
from fastagi.menus import load_menus
from fastagi.personalise import TEXT_SAFE
from fastagi.prompts.catalogue import load_catalogue
from fastagi.prompts.dynamic import DynamicPrompts
from fastagi.prompts.engines import Synthesiser
from fastagi.server.app import caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import AsteriskEmulator, CallerScript, CallResult

REPO = Path(__file__).resolve().parents[2]
NUMBER = "+79164440001"

pytestmark = pytest.mark.system

HOSTILE = [
    '=HYPERLINK("http://x")',
    '100" "EXEC System rm -rf /',
    "100\r\nEXEC System rm -rf /",
    "100&PJSIP/999@evil",
    "100,30,tTwW",
    "../../etc/passwd",
    "{caller.number}",
    "*?[0-9]",
    "Ivan\\\x00\x7f",
    "Ivan; EXEC System",
    "Ж" * 5000,
]


class RecordingEngine:
    """A speech engine that records what it is asked to say (and writes silence)."""

    name = "espeak-ng"
    suffix = ".wav"
    online = False

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def speak(self, text: str, voice: str, target: Path) -> None:
        with self._lock:
            self.calls.append(text)
        with wave.open(str(target), "wb") as out:  # half a second of silence
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(b"\0\0" * 4000)


def test_upsert_refuses_a_hostile_manager() -> None:
    from fastagi.callers.fields import clean_fields

    for value in HOSTILE:
        with pytest.raises(InvalidField):
            clean_fields({"manager": value})


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_profile_fields_reach_no_command(
    redis_server_url: str, tmp_path: Path, value: str
) -> None:
    engine = RecordingEngine()

    async def scenario() -> CallResult:
        prefix = f"t{uuid4().hex[:8]}:"
        settings = ServerSettings(
            port=0,
            redis_prefix=prefix,
            menus_dir=REPO / "ivr_menus",
            segments_file=REPO / "config" / "segments.yaml",
        )
        service = caller_service(settings, redis_url=redis_server_url)
        catalogue = load_catalogue(REPO / "prompts" / "catalogue.yaml")
        dynamic = DynamicPrompts(catalogue, Synthesiser([engine]), tmp_path, budget=2.0)
        server = start_server(
            settings, menus=load_menus(REPO / "ivr_menus"), callers=service, prompts=dynamic
        )
        try:
            await service.directory.upsert(NUMBER, {"tags": "vip"})
            # straight into the hash, past the directory's own validation
            await service.directory.redis.hset(
                Keys(prefix).caller(NUMBER), mapping={"first_name": value, "manager": value}
            )
            host, port = server.address
            return await AsteriskEmulator().place_call(
                host, port, script="main", callerid=NUMBER, caller=CallerScript.parse("1")
            )
        finally:
            await server.stop(grace=1.0)
            await service.drain()
            await service.directory.redis.aclose()
            dynamic.close()

    result = run_on_reactor_loop(scenario())
    assert result.error is None and not result.stuck
    assert result.prompts[1] == "ivr/vip-greeting"  # the VIP menu ran
    if not TEXT_SAFE.fullmatch(value):
        # the generic welcome: the name was never handed to the speech engine
        assert result.prompts[0] == "ivr/vip-welcome"
        assert engine.calls == []
    else:  # "100,30,tTwW" is a harmless name: spoken as text, into a dynamic prompt
        assert result.prompts[0].startswith("ivr/dynamic/")
        assert all(value in text for text in engine.calls)
    gosubs = [c for c in result.commands if c[0] == "GOSUB"]
    transfer = [c for c in gosubs if c[1] == "ivr-transfer"]
    # Either the field was unfit for text (reception, 100, is dialled) or it
    # rendered but failed `allowed` ^[0-9]{3}$ (the transfer is refused):
    # never a dial string outside the pattern.
    for command in transfer:
        assert re.fullmatch(r"PJSIP/[0-9]{3},30,", command[-1]), command
    if not TEXT_SAFE.fullmatch(value):
        assert [c[-1] for c in transfer] == ["PJSIP/100,30,"]
    voicemail = [c for c in gosubs if c[1] == "ivr-voicemail"]
    for command in voicemail:
        assert re.fullmatch(r"[0-9]{3}@default,u", command[-1]), command
    for line in result.command_lines:
        assert "System" not in line and "evil" not in line and "passwd" not in line, line
        assert "\r" not in line and "\x00" not in line
