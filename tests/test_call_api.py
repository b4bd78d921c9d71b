"""The Call API's own rules: typed results, the EXEC allowlist, no argument injection."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from fastagi.agi import Environment, InvalidCommandError, Reply, UsageError, parse_reply_line
from fastagi.call import Call, ExecNotAllowed, PlaybackFailed


class ScriptedChannel:
    """Answers each command with the next canned reply line; records what was sent."""

    def __init__(self, *lines: str) -> None:
        self.replies = [parse_reply_line(line) for line in lines]
        self.sent: list[tuple[str, tuple[str, ...]]] = []

    async def send_command(
        self, name: str, args: Sequence[str], *, after_hangup: bool = False
    ) -> Reply:
        self.sent.append((name, tuple(args)))
        return self.replies.pop(0)


def make_call(*lines: str, allow: frozenset[str] | None = None) -> tuple[Call, ScriptedChannel]:
    channel = ScriptedChannel(*lines)
    env = Environment({"uniqueid": "1.1", "language": "ru"})
    if allow is None:
        return Call(env, channel), channel
    return Call(env, channel, exec_allowlist=allow), channel


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_typed_results() -> None:
    call, _ = make_call(
        f"200 result={ord('5')} endpos=8000",
        "200 result=12 (timeout)",
        "200 result=0",
        "200 result=1 (Ivanov (VIP))",
        "200 result=0",
    )
    play = run(call.play("ivr/hello", "0123456789"))
    assert (play.digit, play.endpos) == ("5", 8000)  # type: ignore[attr-defined]
    digits = run(call.get_digits("ivr/menu", timeout_ms=5000, max_digits=4))
    assert (digits.digits, digits.timed_out) == ("12", True)  # type: ignore[attr-defined]
    assert run(call.wait_for_digit(2000)) is None
    assert run(call.get_variable("CALLERID(name)")) == "Ivanov (VIP)"
    assert run(call.get_variable("UNSET")) is None
    assert call.language == "ru"


def test_missing_prompt_raises_playback_failed() -> None:
    call, _ = make_call("200 result=-1 endpos=0")
    with pytest.raises(PlaybackFailed):
        run(call.play("ivr/nope"))


def test_refusals_raise_from_the_error_table() -> None:
    call, _ = make_call("510 Invalid or unknown command")
    with pytest.raises(InvalidCommandError):
        run(call.command("BOGUS"))
    call, _ = make_call("520 Invalid command syntax.  Proper usage not available.")
    with pytest.raises(UsageError):
        run(call.command("STREAM FILE"))


def test_exec_only_runs_allowlisted_applications() -> None:
    call, channel = make_call("200 result=0")
    with pytest.raises(ExecNotAllowed):
        run(call.exec("System", "rm -rf /"))
    assert channel.sent == [], "a refused EXEC must not reach Asterisk"
    assert run(call.exec("Playback", "ivr/hello")) == 0
    assert channel.sent == [("EXEC", ("Playback", "ivr/hello"))]


def test_exec_and_gosub_refuse_values_that_would_split_into_more_arguments() -> None:
    call, channel = make_call("200 result=0", "200 result=0")
    with pytest.raises(ValueError, match="comma"):
        run(call.exec("Playback", "ivr/hello,skip"))
    with pytest.raises(ValueError, match="comma"):
        run(call.gosub("ivr-queue", "s", "1", "support,extra"))
    assert channel.sent == []
    run(call.gosub("ivr-queue", "s", "1", "support", "120"))
    assert channel.sent == [("GOSUB", ("ivr-queue", "s", "1", "support,120"))]
