"""AmiClient against RawAmi, a scripted server over real TCP: what a polite peer never does
(garbage, silence, replies out of order, legacy command output) and the client's edges."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest
from ami_helpers import RawAmi, eventually, reply, run

from fastagi.ami import (
    AmiActionError,
    AmiClient,
    AmiConnectError,
    AmiDisconnected,
    AmiMessage,
    AmiTimeout,
)
from fastagi.ami._retry import Backoff, RepeatLimiter

pytestmark = pytest.mark.system

FAST = {"action_timeout": 1.0, "backoff_initial": 0.05, "backoff_max": 0.2, "ping_interval": 0}


def client(host: str, port: int, **options: object) -> AmiClient:
    return AmiClient(host, port, "ivr", "s3cret", **{**FAST, **options})  # type: ignore[arg-type]


def test_garbage_from_asterisk_is_skipped_and_the_client_keeps_working(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        raw = RawAmi(lambda a: reply(a, "Response: Success", "Message: still here"))
        host, port = await raw.start()
        ami = client(host, port)
        await ami.start(timeout=5)
        seen: list[AmiMessage] = []
        ami.subscribe(seen.append)
        raw.send(
            b"no colon on this line\r\njust noise\r\n\r\n"  # only malformed lines
            b"Event: Odd\r\nbroken line\r\nKey: 1\r\n\r\n"  # one malformed line
            b"Foo: neither response nor event\r\n\r\n"
            b"Event: Huge\r\nData: " + b"x" * 70000 + b"\r\n\r\n"  # oversized
            b"\xff\xfe\x00\r\n\r\n"
            b"Event: Fine\r\nKey: 2\r\n\r\n"
        )
        await eventually(lambda: any(e.name == "Fine" for e in seen), what="the Fine event")
        assert [e.name for e in seen] == ["Odd", "Fine"]
        assert seen[0]["Key"] == "1"
        assert (await ami.action("Check"))["Message"] == "still here"
        assert ami.connected and raw.connections == 1
        await ami.close()
        await raw.stop()

    with caplog.at_level(logging.WARNING, logger="fastagi.ami"):
        run(main())
    assert any("malformed" in r.getMessage() for r in caplog.records)
    assert any("neither a response nor an event" in r.getMessage() for r in caplog.records)


def test_replies_out_of_order_reach_their_own_callers() -> None:
    async def slow_echo(action: AmiMessage) -> bytes:
        await asyncio.sleep(random.uniform(0, 0.05))
        return reply(action, "Response: Success", f"Echo: {action.get('N')}")

    async def main() -> None:
        raw = RawAmi(slow_echo)
        host, port = await raw.start()
        ami = client(host, port)
        await ami.start(timeout=5)
        replies = await asyncio.gather(*(ami.action("Echo", {"N": n}) for n in range(50)))
        assert [r["Echo"] for r in replies] == [str(n) for n in range(50)]
        assert len({r.action_id for r in replies}) == 50
        await ami.close()
        await raw.stop()

    run(main())


def test_unanswered_action_times_out_and_its_late_reply_is_ignored() -> None:
    held: list[AmiMessage] = []

    def hold(action: AmiMessage) -> bytes | None:
        if action.get("Action") == "Slow":
            held.append(action)
            return None
        return reply(action, "Response: Success")

    async def main() -> None:
        raw = RawAmi(hold)
        host, port = await raw.start()
        ami = client(host, port)
        await ami.start(timeout=5)
        with pytest.raises(AmiTimeout, match="Slow"):
            await ami.action("Slow", timeout=0.2)
        raw.send(reply(held[0], "Response: Success", "Message: too late"))
        assert (await ami.action("Fast")).name == "Success"
        assert ami.connected
        await ami.close()
        await raw.stop()

    run(main())


def test_error_response_raises_with_its_message() -> None:
    async def main() -> None:
        raw = RawAmi(lambda a: reply(a, "Response: Error", "Message: No such channel"))
        host, port = await raw.start()
        ami = client(host, port)
        await ami.start(timeout=5)
        with pytest.raises(AmiActionError, match="No such channel") as caught:
            await ami.action("Hangup", {"Channel": "PJSIP/nobody-1"})
        assert caught.value.response is not None
        assert caught.value.response.name == "Error"
        await ami.close()
        await raw.stop()

    run(main())


def test_legacy_command_output_is_read_whole() -> None:
    def command(action: AmiMessage) -> bytes:
        return (
            b"Response: Follows\r\nPrivilege: Command\r\nActionID: %s\r\n"
            b"Channel  Location\r\n\r\n0 active channels\r\n--END COMMAND--\r\n\r\n"
            % (action.action_id or "").encode()
        )

    async def main() -> None:
        raw = RawAmi(command)
        host, port = await raw.start()
        ami = client(host, port)
        await ami.start(timeout=5)
        answer = await ami.action("Command", {"Command": "core show channels"})
        assert answer.output == ["Channel  Location", "", "0 active channels"]
        await ami.close()
        await raw.stop()

    run(main())


def test_old_style_list_ends_at_the_named_complete_event() -> None:
    def status(action: AmiMessage) -> bytes:
        aid = f"ActionID: {action.action_id}\r\n".encode()
        return (
            b"Response: Success\r\n" + aid + b"Message: Channel status will follow\r\n\r\n"
            b"Event: Status\r\nChannel: SIP/1-1\r\n" + aid + b"\r\n"
            b"Event: Status\r\nChannel: SIP/2-2\r\n" + aid + b"\r\n"
            b"Event: StatusComplete\r\n" + aid + b"Items: 2\r\n\r\n"
        )

    async def main() -> None:
        raw = RawAmi(status)
        host, port = await raw.start()
        ami = client(host, port)
        await ami.start(timeout=5)
        response, items = await ami.action_list("Status", complete_event="StatusComplete")
        assert response["Message"] == "Channel status will follow"
        assert [e["Channel"] for e in items] == ["SIP/1-1", "SIP/2-2"]
        # Without complete_event, a reply without `EventList: start` is not a list.
        response, items = await ami.action_list("Status")
        assert items == []
        await ami.close()
        await raw.stop()

    run(main())


def test_action_fields_that_could_inject_are_refused_before_sending() -> None:
    async def main() -> None:
        raw = RawAmi()
        host, port = await raw.start()
        ami = client(host, port)
        await ami.start(timeout=5)
        with pytest.raises(ValueError):
            await ami.action("Setvar", {"Variable": "X", "Value": "1\r\n\r\nAction: Logoff"})
        await ami.action("Ping")
        assert "Logoff" not in raw.names() and "Setvar" not in raw.names()
        await ami.close()
        await raw.stop()

    run(main())


def test_silent_peer_is_detected_by_ping_and_the_client_reconnects() -> None:
    async def main() -> None:
        raw = RawAmi()
        raw.answer_pings = False
        host, port = await raw.start()
        ami = client(host, port, ping_interval=0.1, action_timeout=0.3)
        await ami.start(timeout=5)
        await eventually(lambda: raw.connections >= 2, what="a reconnection")
        raw.answer_pings = True
        await ami.wait_connected(5)
        assert "Ping" in raw.names()
        assert ami.logins >= 2
        await ami.close()
        await raw.stop()

    run(main())


def test_idle_connection_is_pinged_but_a_busy_one_is_not() -> None:
    async def main() -> None:
        raw = RawAmi()
        host, port = await raw.start()
        ami = client(host, port, ping_interval=0.1)
        await ami.start(timeout=5)
        await eventually(lambda: raw.names().count("Ping") >= 2, what="two pings")
        for _ in range(10):  # traffic from Asterisk counts as a sign of life
            raw.actions.clear()
            raw.send(b"Event: Busy\r\n\r\n")
            await asyncio.sleep(0.03)
        assert "Ping" not in raw.names()
        await ami.close()
        await raw.stop()

    run(main())


def test_start_gives_up_after_its_timeout_and_logs_repeats_sparingly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        raw = RawAmi()
        host, port = await raw.start()
        await raw.stop()  # nothing listens there any more
        ami = client(host, port, backoff_initial=0.01, backoff_max=0.02)
        loop = asyncio.get_running_loop()
        began = loop.time()
        with pytest.raises(AmiConnectError, match=f"{port}.*ivr"):
            await ami.start(timeout=0.5)
        assert loop.time() - began < 1.5
        assert not ami.connected
        await ami.close()

    with caplog.at_level(logging.DEBUG, logger="fastagi.ami"):
        run(main())
    failures = [r for r in caplog.records if "cannot connect" in r.getMessage()]
    warnings = [r for r in failures if r.levelno >= logging.WARNING]
    assert len(failures) >= 5
    assert len(warnings) == 1  # the same error again is not logged as a warning for 60 s


def test_action_waits_for_a_reconnection_within_its_timeout() -> None:
    async def main() -> None:
        raw = RawAmi(lambda a: reply(a, "Response: Success"))
        host, port = await raw.start()
        ami = client(host, port)
        await ami.start(timeout=5)
        await raw.stop()
        await eventually(lambda: not ami.connected, what="the loss to be noticed")
        with pytest.raises(AmiDisconnected):
            await ami.action("Lost", timeout=0.2)

        async def come_back() -> None:
            await asyncio.sleep(0.3)
            await raw.start(port)

        back = asyncio.ensure_future(come_back())
        answer = await ami.action("Waited", timeout=3)
        assert answer.name == "Success"
        await back
        await ami.close()
        await raw.stop()

    run(main())


def test_event_callbacks_that_fail_do_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        raw = RawAmi()
        host, port = await raw.start()
        ami = client(host, port)
        await ami.start(timeout=5)
        seen: list[str] = []
        done: list[str] = []

        def broken(event: AmiMessage) -> None:
            raise RuntimeError("callback bug")

        async def later(event: AmiMessage) -> None:
            await asyncio.sleep(0)
            done.append(event.name)
            if event.name == "Two":
                raise RuntimeError("async callback bug")

        ami.subscribe(broken)
        ami.subscribe(later)
        ami.subscribe(lambda e: seen.append(e.name))
        raw.send(b"Event: One\r\n\r\nEvent: Two\r\n\r\nEvent: Three\r\n\r\n")
        await eventually(lambda: len(done) == 3, what="all async callbacks")
        assert seen == ["One", "Two", "Three"]
        assert ami.connected
        await ami.close()
        await raw.stop()

    with caplog.at_level(logging.ERROR, logger="fastagi.ami"):
        run(main())
    assert sum("callback" in r.getMessage() for r in caplog.records) == 4


def test_close_logs_off_and_later_actions_fail() -> None:
    async def main() -> None:
        raw = RawAmi()
        host, port = await raw.start()
        ami = client(host, port)
        async with ami:
            assert ami.connected
        assert raw.names()[-1] == "Logoff"
        assert not ami.connected and ami.state == "closed"
        with pytest.raises(AmiDisconnected):
            await ami.action("Ping")
        with pytest.raises(AmiDisconnected):
            await ami.start()
        await ami.close()  # twice is fine
        await raw.stop()

    run(main())


def test_close_while_reconnecting_stops_the_retries() -> None:
    async def main() -> None:
        raw = RawAmi()
        host, port = await raw.start()
        ami = client(host, port)
        await ami.start(timeout=5)
        await raw.stop()
        await eventually(lambda: ami.state == "connecting", what="the loss")
        waiting = asyncio.ensure_future(ami.action("Ping", timeout=5))
        await asyncio.sleep(0.05)
        await ami.close()
        with pytest.raises(AmiDisconnected):
            await waiting
        assert ami.state == "closed"

    run(main())


# -- pacing -----------------------------------------------------------------------------


def test_backoff_doubles_up_to_its_maximum_with_bounded_jitter() -> None:
    exact = Backoff(0.5, 4.0, jitter=0.0)
    assert [exact.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    exact.reset()
    assert exact.next_delay() == 0.5
    low = Backoff(1.0, 30.0, jitter=0.2, rand=lambda: 0.0)
    high = Backoff(1.0, 30.0, jitter=0.2, rand=lambda: 0.999999)
    assert low.next_delay() == pytest.approx(0.8)
    assert high.next_delay() == pytest.approx(1.2, rel=1e-5)
    capped = Backoff(1.0, 2.0, rand=lambda: 0.999999)
    assert max(capped.next_delay() for _ in range(10)) <= 2.0
    with pytest.raises(ValueError):
        Backoff(0, 1)


def test_repeat_limiter_lets_new_text_through_and_the_same_once_per_period() -> None:
    now = [0.0]
    limiter = RepeatLimiter(60.0, lambda: now[0])
    assert limiter.allow("refused")
    assert not limiter.allow("refused")
    assert limiter.allow("timed out")
    now[0] = 30.0
    assert not limiter.allow("timed out")
    now[0] = 61.0
    assert limiter.allow("timed out")
    assert limiter.take_suppressed() == 2 and limiter.suppressed == 0
