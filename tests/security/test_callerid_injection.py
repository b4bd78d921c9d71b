"""Hostile caller IDs and caller names over real TCP: real server, real Redis, demo menus.

Whatever `agi_callerid` / `agi_calleridname` hold, every command the server
sends is one line with a known verb and no caller text, only the demo's
prompts are played, every Redis key follows the E.164 scheme, and the call
ends normally. Values with a newline are what a hostile peer (or a caller
name Asterisk writes raw) produces: extra env lines, which must neither end
the block early nor override a real variable.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest

from fastagi.callers.service import CallerService
from fastagi.config import ServerSettings
from fastagi.menus import load_menus
from fastagi.server.app import RunningServer, caller_service, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import AsteriskEmulator, CallResult

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.system

#: Every command verb the demo menus send (the whole line must start with one).
VERBS = re.compile(
    r"(STREAM FILE|GET DATA|WAIT FOR DIGIT|SET VARIABLE|GOSUB|SAY DIGITS|SAY NUMBER"
    r"|SAY ALPHA|CONTROL STREAM FILE|HANGUP|ANSWER|VERBOSE|GET VARIABLE|GET FULL VARIABLE"
    r"|CHANNEL STATUS|SET MUSIC|RECORD FILE|DATABASE GET|DATABASE PUT)( \"[^\n\r]*)?"
)
#: A demo prompt: a folder and a name, nothing else (no "..", no caller text).
PROMPT = re.compile(r"ivr/[a-z0-9-]{1,64}")

HOSTILE = [
    '"quoted" \\back\\slash\\ and; semi;colons',
    "\r\nEXEC System rm -rf /",
    "\nHANGUP",
    "Ünïcødé ☎ 電話 \u202etxt.exe \x7f",
    "A" * 10_000,
    "{caller.manager}{caller.number}{segment}",
    "../../../../etc/passwd",
    "*?[a-z]*",
]
# Caller-ID-shaped attacks: nearly numbers, globs, numbers with a payload.
HOSTILE_NUMBERS = [
    *HOSTILE,
    "+7916*",
    "+7916111000?",
    "+79161110003; EXEC System x",
    "+79161110004\r\nEXEC System rm -rf /",  # a real number, then a broken line
    "../+79161110003",
    "+79161110003 OR 1=1",
]
#: Substrings of the payloads that must never reach a command line.
MARKERS = ("System", "rm -rf", "passwd", "..", "{caller", "*?", "AAAAAAAA", "☎", "back\\")


def key_patterns(prefix: str) -> list[re.Pattern[str]]:
    """Every key the caller directory may create (docs/redis.md), under `prefix`."""
    p = re.escape(prefix)
    e164 = r"\+[1-9][0-9]{1,14}"
    return [
        re.compile(rf"{p}caller:{e164}(:calls|:history|:tickets)?"),
        re.compile(rf"{p}ticket:([1-9][0-9]{{0,17}}|seq)"),
        re.compile(rf"{p}callbacks"),
    ]


@dataclass
class Rig:
    server: RunningServer
    service: CallerService
    emulator: AsteriskEmulator
    prefix: str

    async def call(self, callerid: str, calleridname: str = "unknown") -> CallResult:
        host, port = self.server.address
        return await self.emulator.place_call(
            host, port, script="main", callerid=callerid, calleridname=calleridname
        )

    async def keys(self) -> list[str]:
        redis = self.service.directory.redis
        await self.service.drain()  # the history writes of finished calls
        return sorted([str(k) async for k in redis.scan_iter(match=f"{self.prefix}*")])


@contextlib.asynccontextmanager
async def serving(url: str) -> AsyncIterator[Rig]:
    prefix = f"t{uuid4().hex[:8]}:"
    settings = ServerSettings(
        port=0,
        redis_prefix=prefix,
        menus_dir=REPO / "ivr_menus",
        segments_file=REPO / "config" / "segments.yaml",
        max_line_length=16_384,  # let the 10 kB values through to the application
    )
    service = caller_service(settings, url)
    server = start_server(settings, menus=load_menus(REPO / "ivr_menus"), callers=service)
    try:
        yield Rig(server, service, AsteriskEmulator(), prefix)
    finally:
        await server.stop(grace=1.0)
        await service.drain()
        await service.directory.redis.aclose()


def assert_harmless(result: CallResult) -> None:
    """One known verb per line, no payload in any line, demo prompts only, a normal end."""
    assert not result.stuck and result.error is None, result.error
    assert result.server_closed
    assert result.agi_status in ("SUCCESS", "HANGUP"), result.agi_status
    assert result.command_lines, "the call ran no menu"
    assert len(result.command_lines) == len(result.commands)
    for line in result.command_lines:
        assert VERBS.fullmatch(line), line
        for marker in MARKERS:
            assert marker not in line, (marker, line)
    assert not [line for line in result.command_lines if line.startswith("EXEC")]
    for prompt in result.prompts:
        assert PROMPT.fullmatch(prompt), prompt
    assert result.variables.get("IVRSTATUS", "SUCCESS") in ("SUCCESS", "HANGUP")


def assert_keys_in_scheme(keys: list[str], prefix: str) -> None:
    patterns = key_patterns(prefix)
    outside = [k for k in keys if not any(p.fullmatch(k) for p in patterns)]
    assert outside == []


def caller_numbers(keys: list[str], prefix: str) -> set[str]:
    head = f"{prefix}caller:"
    return {k[len(head) :].split(":")[0] for k in keys if k.startswith(head)}


def test_hostile_caller_ids_are_withheld_callers_and_create_no_key(
    redis_server_url: str,
) -> None:
    async def scenario() -> tuple[list[CallResult], list[str], str]:
        async with serving(redis_server_url) as rig:
            results = [await rig.call(callerid) for callerid in HOSTILE_NUMBERS]
            return results, await rig.keys(), rig.prefix

    results, keys, prefix = run_on_reactor_loop(scenario())
    for callerid, result in zip(HOSTILE_NUMBERS, results, strict=True):
        try:
            assert_harmless(result)
        except AssertionError as exc:
            raise AssertionError(f"callerid {callerid[:60]!r}: {exc}") from exc
        # the withheld-caller path: the generic welcome, never a returning caller's
        assert result.prompts[0] == "ivr/welcome-new" or "main-greeting" in result.prompts[0]
    assert_keys_in_scheme(keys, prefix)
    # Only the CRLF case names a real number on its own line (the payload is a
    # separate, malformed env line): every other value is a withheld caller.
    assert caller_numbers(keys, prefix) == {"+79161110004"}


def test_hostile_caller_names_reach_no_command_and_no_key(redis_server_url: str) -> None:
    numbers = [f"+7916222{index:04d}" for index in range(len(HOSTILE))]

    async def scenario() -> tuple[list[CallResult], list[str], str]:
        async with serving(redis_server_url) as rig:
            results = [
                await rig.call(number, name) for number, name in zip(numbers, HOSTILE, strict=True)
            ]
            return results, await rig.keys(), rig.prefix

    results, keys, prefix = run_on_reactor_loop(scenario())
    for name, result in zip(HOSTILE, results, strict=True):
        try:
            assert_harmless(result)
        except AssertionError as exc:
            raise AssertionError(f"calleridname {name[:60]!r}: {exc}") from exc
    assert_keys_in_scheme(keys, prefix)
    assert caller_numbers(keys, prefix) == set(numbers)


@pytest.mark.parametrize(
    ("callerid", "name", "stored"),
    [
        # a duplicated key: the first value stands, the injected number is ignored
        ("+79163330001", "x\nagi_callerid: +79163330002", {"+79163330001"}),
        ("unknown", "x\nagi_callerid: +79163330003\nagi_network_script: vip", set()),
        # lines without a colon, an empty name, a lone CR, a blank-looking line
        ("+79163330004", "x\nno colon at all\nagi_: y\nagi_x\r\n \n\t", {"+79163330004"}),
    ],
    ids=["duplicated key", "injected number and script", "malformed lines"],
)
def test_extra_env_lines_from_a_hostile_peer_change_nothing(
    redis_server_url: str, callerid: str, name: str, stored: set[str]
) -> None:
    async def scenario() -> tuple[CallResult, list[str], str]:
        async with serving(redis_server_url) as rig:
            result = await rig.call(callerid, name)
            return result, await rig.keys(), rig.prefix

    result, keys, prefix = run_on_reactor_loop(scenario())
    assert_harmless(result)
    assert "vip" not in " ".join(result.prompts)  # the injected script was not run
    assert_keys_in_scheme(keys, prefix)
    assert caller_numbers(keys, prefix) == stored
