"""Outbound pacing (concurrency and calls per second) and the Originate request/answer."""

from __future__ import annotations

import asyncio

import pytest

from fastagi.outbound.originate import OriginateRequest, dial_outcome
from fastagi.outbound.pacing import CallPacer


class FakeTime:
    """A clock that sleeping moves forward: spacing is checked without waiting."""

    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def test_calls_start_no_faster_than_the_rate() -> None:
    time = FakeTime()
    pacer = CallPacer(10, 2.0, clock=time.clock, sleep=time.sleep)
    starts: list[float] = []

    async def call() -> None:
        async with pacer.slot():
            starts.append(time.now)

    async def main() -> None:
        await asyncio.gather(*(call() for _ in range(5)))

    asyncio.run(main())
    assert starts == [100.0, 100.5, 101.0, 101.5, 102.0]


def test_no_more_calls_at_once_than_the_limit() -> None:
    time = FakeTime()
    pacer = CallPacer(3, 1000.0, clock=time.clock, sleep=time.sleep)
    peak = 0

    async def call() -> None:
        nonlocal peak
        async with pacer.slot():
            peak = max(peak, pacer.active)
            await asyncio.sleep(0.01)

    async def main() -> None:
        await asyncio.gather(*(call() for _ in range(12)))

    asyncio.run(main())
    assert peak == 3
    assert pacer.active == 0 and pacer.started == 12


def test_a_call_that_fails_gives_its_line_back() -> None:
    pacer = CallPacer(1, 1000.0)

    async def main() -> None:
        with pytest.raises(RuntimeError):
            async with pacer.slot():
                raise RuntimeError("the AMI went away")
        async with asyncio.timeout(1):
            async with pacer.slot():
                pass

    asyncio.run(main())
    assert pacer.active == 0


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        CallPacer(0, 1.0)
    with pytest.raises(ValueError):
        CallPacer(1, 0.0)


def test_originate_fields_are_async_and_name_the_channel() -> None:
    request = OriginateRequest(
        channel="Local/+79161234567@ivr-callback-client",
        context="ivr-callback-connect",
        exten="support",
        caller_id='"Demo Telecom" <+74950000000>',
        timeout=25,
        variables={"IVR_CALLBACK": "17", "IVR_QUEUE": "support"},
    )
    fields = request.fields()
    assert fields["Async"] == "true"
    assert fields["Timeout"] == "25000"
    assert fields["ChannelId"] == request.channel_id and len(request.channel_id) == 32
    assert fields["Variable"] == ["IVR_CALLBACK=17", "IVR_QUEUE=support"]
    assert OriginateRequest("a", "b", "c").channel_id != OriginateRequest("a", "b", "c").channel_id


def test_a_line_break_cannot_smuggle_an_action_into_originate() -> None:
    request = OriginateRequest("Local/1@x", "ctx", "s", variables={"A": "1\r\nAction: Hangup"})
    with pytest.raises(ValueError, match="line break"):
        request.fields()


@pytest.mark.parametrize(
    ("reason", "response", "outcome"),
    [
        ("4", "Success", "answered"),
        ("5", "Failure", "busy"),
        ("3", "Failure", "no_answer"),
        ("1", "Failure", "no_answer"),
        ("8", "Failure", "failed"),
        ("0", "Failure", "failed"),
        (None, None, "failed"),
        ("42", "Failure", "failed"),
    ],
)
def test_originate_response_reasons(reason: str | None, response: str | None, outcome: str) -> None:
    assert dial_outcome(reason, response) == outcome
