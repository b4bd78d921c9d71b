"""The callback offer, in memory against the real Redis: what the caller presses, what is filed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastagi.callers import CallerDirectory
from fastagi.callers.profile import CallerProfile
from fastagi.menus import Menu, MenuEngine, MenuSet, Outcome
from fastagi.menus.context import CallContext
from fastagi.menus.scripted import ScriptedCall
from fastagi.storage import open_async_client

MENUS = MenuSet(
    [
        Menu.model_validate(
            {
                "menu": "main",
                "start": "offer",
                "nodes": {
                    "offer": {
                        "type": "callback",
                        "queue": "support",
                        "next": "thanks",
                        "declined": "voicemail",
                    },
                    "thanks": {"type": "hangup", "prompt": "ivr/goodbye"},
                    "voicemail": {"type": "return", "result": "voicemail"},
                },
            }
        )
    ]
)


def _offer(
    redis_url: str, number: str, entries: list[str]
) -> tuple[Outcome, ScriptedCall, list[dict[str, str]]]:
    async def main() -> tuple[Outcome, ScriptedCall, list[dict[str, str]]]:
        client = open_async_client(redis_url, timeout=5.0)
        directory = CallerDirectory(client, prefix=f"test:{uuid.uuid4().hex[:12]}:")
        try:
            call = ScriptedCall(entries, uniqueid="1700.7", statuses={"ivr-callback": "REQUESTED"})
            context = CallContext(profile=CallerProfile(number=number), callbacks=directory)
            outcome = await MenuEngine(MENUS).run(call, "main", context=context)
            return outcome, call, await directory.callback_requests()
        finally:
            await client.aclose()

    return asyncio.run(main())


def _fields(requests: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("id", "requested")} for r in requests]


def test_pressing_1_files_a_callback_to_the_callers_own_number(redis_server_url: str) -> None:
    outcome, call, requests = _offer(redis_server_url, "+79161234567", ["1"])
    assert outcome.kind == "hangup"
    assert _fields(requests) == [
        {"number": "+79161234567", "queue": "support", "reason": "requested", "uniqueid": "1700.7"}
    ]
    assert ("gosub", "ivr-callback", "s", "1", "79161234567", "support") in call.commands
    assert ("say_digits", "79161234567") in call.commands  # read back to the caller


def test_pressing_2_takes_another_number_in_national_form(redis_server_url: str) -> None:
    outcome, _, requests = _offer(redis_server_url, "+79161234567", ["2", "84951234567"])
    assert outcome.kind == "hangup"
    assert [r["number"] for r in requests] == ["+74951234567"]


def test_anonymous_caller_pressing_1_is_asked_for_a_number(redis_server_url: str) -> None:
    _, call, requests = _offer(redis_server_url, "", ["1", "89161112233"])
    assert [r["number"] for r in requests] == ["+79161112233"]
    assert ("get_digits", "ivr/callback-enter-number", "10000", "16") in call.commands


def test_no_choice_or_a_bad_number_files_nothing(redis_server_url: str) -> None:
    for entries in (["-"], ["7"], ["2", "12"], ["2", "-"]):
        outcome, _, requests = _offer(redis_server_url, "+79161234567", entries)
        assert (outcome.kind, outcome.result) == ("return", "voicemail"), entries
        assert requests == []


def test_redis_down_sends_the_caller_the_other_way(redis_server_url: str) -> None:
    async def main() -> Outcome:
        client = open_async_client("redis://127.0.0.1:1/0", timeout=0.2)
        directory = CallerDirectory(client, prefix="test:down:")
        try:
            context = CallContext(profile=CallerProfile(number="+79161234567"), callbacks=directory)
            return await MenuEngine(MENUS).run(ScriptedCall(["1"]), "main", context=context)
        finally:
            await client.aclose()

    outcome = asyncio.run(main())
    assert (outcome.kind, outcome.result) == ("return", "voicemail")
