"""The AMI peer's `on_answer`: the dialplan an answered Originate runs at Context/Exten."""

from __future__ import annotations

import asyncio

from fastagi.testing import AmiMessage, AmiPeer, OriginateOutcome


def _originate(channel: str = "Local/+7916@ivr-out-client", **kw: object) -> OriginateOutcome:
    kw.setdefault("context", "ivr-out-queue")
    kw.setdefault("exten", "s")
    kw.setdefault("priority", 1)
    return OriginateOutcome(
        action=AmiMessage(["Action: Originate"]), channel=channel, is_async=True,
        timeout=30.0, variables={"IVR_ID": "cb-7"}, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _event_names(peer: AmiPeer) -> list[str]:
    return [event.get("Event") for event in peer.events]


def test_an_answered_call_runs_the_hook_before_it_hangs_up() -> None:
    seen: list[tuple[str, dict[str, str], bool]] = []

    async def main() -> tuple[AmiPeer, OriginateOutcome]:
        peer = AmiPeer(time_scale=0.001)
        peer.script("+7916", "answer", ring=1.0, talk=1.0)  # 1 ms each

        async def dialplan(record: OriginateOutcome) -> str:
            await asyncio.sleep(0.05)  # longer than the talk time
            up = record.channel_name in peer.channels
            seen.append((record.context, dict(record.variables), up))
            return "ran"

        peer.on_answer = dialplan
        record = _originate()
        assert await peer.start_originate(record) is True
        while record.in_progress:
            await asyncio.sleep(0.005)
        return peer, record

    peer, record = asyncio.run(main())
    # called once, with the Originate's context and variables, while the channel was up
    assert seen == [("ivr-out-queue", {"IVR_ID": "cb-7"}, True)]
    assert record.dialplan == "ran"
    names = _event_names(peer)
    assert names.index("OriginateResponse") < names.index("Hangup")
    assert peer.channels == {}


def test_no_hook_for_unanswered_calls_or_application_originates() -> None:
    calls: list[OriginateOutcome] = []

    async def main() -> list[OriginateOutcome]:
        peer = AmiPeer(time_scale=0.001)
        peer.script("+7916", "busy", ring=1.0)
        peer.script("support", "answer", talk=1.0)

        async def dialplan(record: OriginateOutcome) -> None:
            calls.append(record)

        peer.on_answer = dialplan
        records = [
            _originate(),  # busy: no dialplan runs
            _originate(
                "Local/support@ivr-page",
                context="",
                exten="",
                priority=0,
                application="Wait",
                data="5",
            ),
        ]
        for record in records:
            await peer.start_originate(record)
        while any(r.in_progress for r in records):
            await asyncio.sleep(0.005)
        return records

    busy, waited = asyncio.run(main())
    assert (busy.outcome, waited.outcome) == ("busy", "answer")
    assert calls == []
    assert busy.dialplan is None and waited.dialplan is None


def test_a_failing_hook_still_ends_the_call() -> None:
    async def main() -> tuple[AmiPeer, OriginateOutcome, BaseException | None]:
        peer = AmiPeer(time_scale=0.001)
        peer.script("+7916", "answer", talk=1.0)

        async def dialplan(record: OriginateOutcome) -> None:
            raise RuntimeError("the dialplan broke")

        peer.on_answer = dialplan
        record = _originate()
        peer.start_originate(record)
        [task] = list(peer._tasks)  # the call's own task (the dialplan's starts on answer)
        error = None
        try:
            await task
        except RuntimeError as exc:
            error = exc
        return peer, record, error

    peer, record, error = asyncio.run(main())
    assert str(error) == "the dialplan broke"  # surfaces from the call's task
    assert not record.in_progress and peer.channels == {}
    assert "Hangup" in _event_names(peer)
