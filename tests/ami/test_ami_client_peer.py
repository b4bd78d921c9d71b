"""AmiClient against fastagi.testing.AmiPeer (Asterisk's side of AMI) over real TCP:
login, ActionID correlation, errors, lists, events, keepalive and reconnection."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ami_helpers import eventually, run

from fastagi.ami import (
    AmiActionError,
    AmiAuthError,
    AmiClient,
    AmiDisconnected,
    AmiMessage,
)
from fastagi.testing import AMI_VERSION, AmiPeer

pytestmark = pytest.mark.system

USER, SECRET = "ivr", "s3cret"
FAST: dict[str, Any] = {
    "action_timeout": 2.0,
    "backoff_initial": 0.05,
    "backoff_max": 0.2,
    "ping_interval": 0,
}


def new_peer() -> AmiPeer:
    peer = AmiPeer(username=USER, secret=SECRET)
    peer.auth_failure_delay = 0.05  # manager.c sleeps 1 s; the tests need not
    return peer


@contextlib.asynccontextmanager
async def rig(**options: Any) -> AsyncIterator[tuple[AmiPeer, AmiClient]]:
    """A started peer and a client logged in to it; both closed at the end."""
    peer = new_peer()
    host, port = await peer.start()
    ami = AmiClient(host, port, USER, SECRET, **{**FAST, **options})
    try:
        await ami.start(timeout=5)
        yield peer, ami
    finally:
        await ami.close()
        await peer.stop()


# -- login ----------------------------------------------------------------------------------


def test_md5_login_sends_the_challenge_digest_never_the_secret() -> None:
    async def main() -> None:
        async with rig(auth="md5") as (peer, ami):
            assert ami.connected and ami.logins == 1
            assert ami.ami_version == AMI_VERSION
            challenge, login = peer.actions[:2]
            assert challenge.action == "Challenge" and challenge.get("AuthType") == "MD5"
            assert login.action == "Login" and login.get("AuthType") == "MD5"
            assert login.get("Username") == USER and "Secret" not in login
            assert login.get("Events") == "on"
            assert peer.logged_in == 1
            # The challenge is the peer's; the key must be md5(challenge + secret).
            assert len(login.get("Key")) == 32 and login.get("Key") != SECRET

    run(main())


def test_md5_key_is_the_hex_digest_of_challenge_then_secret() -> None:
    async def main() -> None:
        peer = new_peer()
        host, port = await peer.start()
        ami = AmiClient(host, port, USER, SECRET, **FAST)
        seen: list[str] = []
        ami.subscribe(lambda e: seen.append(e.name))
        await ami.start(timeout=5)
        login = peer.actions_named("Login")[0]
        # The peer accepted it, and its challenge is on the session: recompute from the wire.
        session_challenge = next(iter(peer._sessions)).challenge
        expected = hashlib.md5((session_challenge + SECRET).encode()).hexdigest()
        assert login.get("Key") == expected
        await eventually(lambda: "FullyBooted" in seen, what="FullyBooted after login")
        await ami.close()
        await peer.stop()

    run(main())


def test_plain_login_sends_username_and_secret_and_the_events_asked() -> None:
    async def main() -> None:
        async with rig(auth="plain", events=["call", "user"]) as (peer, ami):
            assert ami.connected
            assert [a.action for a in peer.actions] == ["Login"]
            login = peer.actions[0]
            assert (login.get("Username"), login.get("Secret")) == (USER, SECRET)
            assert login.get("Events") == "call,user"
            seen: list[str] = []
            ami.subscribe(lambda e: seen.append(e.name))
            peer.emit_event("Reload", {"Module": "manager"})  # class system: not asked for
            peer.emit_event("Hangup", {"Channel": "PJSIP/201-1", "Cause": "16"})
            await eventually(lambda: "Hangup" in seen, what="the Hangup event")
            assert seen == ["Hangup"]

    run(main())


@pytest.mark.parametrize("auth", ["md5", "plain"])
def test_wrong_secret_fails_at_once_and_is_not_retried(auth: str) -> None:
    async def main() -> None:
        peer = new_peer()
        host, port = await peer.start()
        ami = AmiClient(host, port, USER, "wrong", auth=auth, **FAST)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        began = loop.time()
        with pytest.raises(AmiAuthError) as caught:
            await ami.start(timeout=10)
        assert loop.time() - began < 1.0
        text = str(caught.value)
        assert "'ivr'" in text and f"{host}:{port}" in text and "Authentication failed" in text
        await asyncio.sleep(0.5)  # ten backoff periods: no second attempt
        assert len(peer.actions_named("Login")) == 1
        assert ami.state == "failed" and not ami.connected
        with pytest.raises(AmiAuthError):
            await ami.wait_connected(1)
        with pytest.raises(AmiDisconnected) as lost:
            await ami.action("Ping")
        assert isinstance(lost.value.__cause__, AmiAuthError)
        await ami.close()
        await peer.stop()

    run(main())


def test_unknown_user_is_an_auth_error_too() -> None:
    async def main() -> None:
        peer = new_peer()
        host, port = await peer.start()
        ami = AmiClient(host, port, "nobody", SECRET, **FAST)
        with pytest.raises(AmiAuthError, match="'nobody'"):
            await ami.start(timeout=10)
        await ami.close()
        await peer.stop()

    run(main())


# -- actions --------------------------------------------------------------------------------


def test_fifty_concurrent_actions_each_get_their_own_reply() -> None:
    async def main() -> None:
        async with rig() as (peer, ami):
            events: list[AmiMessage] = []
            ami.subscribe(events.append, events=["UserEvent"])

            async def one(n: int) -> str:
                if n % 2:
                    try:
                        await ami.action("Hangup", {"Channel": f"PJSIP/ghost-{n}"})
                    except AmiActionError as exc:
                        assert exc.response is not None
                        return f"{n}:{exc.message}"
                    return f"{n}:no error?"
                reply = await ami.action("UserEvent", {"UserEvent": f"Tick{n}", "N": n})
                return f"{n}:{reply['Message']}"

            results = await asyncio.gather(*(one(n) for n in range(50)))
            assert results == [
                f"{n}:No such channel" if n % 2 else f"{n}:Event Sent" for n in range(50)
            ]
            sent = peer.actions[-50:]
            assert len({a.action_id for a in sent}) == 50
            await eventually(lambda: len(events) == 25, what="the 25 user events")
            assert sorted(int(e["N"]) for e in events) == list(range(0, 50, 2))

    run(main())


def test_error_response_raises_action_error_with_asterisks_message() -> None:
    async def main() -> None:
        async with rig() as (_peer, ami):
            with pytest.raises(AmiActionError, match="Invalid/unknown command: Bogus") as caught:
                await ami.action("Bogus")
            assert caught.value.response is not None
            assert caught.value.response.get("Response") == "Error"
            assert caught.value.action == "Bogus"
            assert caught.value.message.startswith("Invalid/unknown command: Bogus.")
            with pytest.raises(AmiActionError, match="Channel not specified"):
                await ami.action("Originate", {"Context": "ivr-callback"})
            assert ami.connected  # an error is an answer, not a broken connection

    run(main())


def test_async_originate_then_its_originate_response_event_by_action_id() -> None:
    async def main() -> None:
        async with rig() as (peer, ami):
            peer.script("201", "answer", talk=5)
            outcomes: asyncio.Queue[AmiMessage] = asyncio.Queue()
            # Subscribe before sending: the event may come in the reply's own packet.
            action_id = ami.new_action_id()
            ami.subscribe(
                outcomes.put_nowait, events=["OriginateResponse"], match={"ActionID": action_id}
            )
            reply = await ami.action(
                "Originate",
                {
                    "Channel": "PJSIP/201",
                    "Context": "ivr-callback",
                    "Exten": "s",
                    "Priority": 1,
                    "Async": "true",
                    "Variable": ["IVR_TICKET=42", "IVR_LANG=ru"],
                },
                action_id=action_id,
            )
            assert reply["Message"] == "Originate successfully queued"
            assert reply.action_id == action_id
            outcome = await asyncio.wait_for(outcomes.get(), 5)
            assert outcome.kind == "event" and outcome["Response"] == "Success"
            assert peer.originated[0].variables == {"IVR_TICKET": "42", "IVR_LANG": "ru"}

    run(main())


def test_core_show_channels_as_a_list_action() -> None:
    async def main() -> None:
        async with rig() as (peer, ami):
            response, channels = await ami.action_list("CoreShowChannels")
            assert response["EventList"] == "start" and channels == []
            for ext in ("201", "202", "203"):
                peer.script(ext, "answer", talk=10)
                await ami.action(
                    "Originate",
                    {"Channel": f"PJSIP/{ext}", "Application": "Wait", "Data": "10"},
                )  # synchronous: the reply comes once the phone answers
            seen: list[str] = []
            ami.subscribe(lambda e: seen.append(e.name))
            response, channels = await ami.action_list("CoreShowChannels")
            assert response["Message"] == "Channels will follow"
            assert [c.name for c in channels] == ["CoreShowChannel"] * 3
            assert sorted(c["Channel"].split("-")[0] for c in channels) == [
                "PJSIP/201",
                "PJSIP/202",
                "PJSIP/203",
            ]
            assert all(c.action_id == response.action_id for c in channels)
            assert "CoreShowChannel" not in seen  # list items are replies, not broadcasts
            assert "CoreShowChannelsComplete" not in seen
            # Hangup by /regex/ answers with a list too; a bad regex with an error.
            response, hung = await ami.action_list("Hangup", {"Channel": "/^PJSIP/20[12]-/"})
            assert response["Message"] == "Channels hung up will follow"
            assert sorted(e["Channel"].split("-")[0] for e in hung) == ["PJSIP/201", "PJSIP/202"]
            with pytest.raises(AmiActionError, match="Regex compile failed"):
                await ami.action_list("Hangup", {"Channel": "/[/"})

    run(main())


# -- events ---------------------------------------------------------------------------------


def test_subscriptions_filter_by_name_and_fields_and_can_be_cancelled() -> None:
    async def main() -> None:
        async with rig() as (peer, ami):
            everything: list[str] = []
            hangups: list[str] = []
            vip: list[str] = []
            ami.subscribe(lambda e: everything.append(e.name))
            stop_hangups = ami.subscribe(lambda e: hangups.append(e["Channel"]), events=["hangup"])
            ami.subscribe(
                lambda e: vip.append(e["UserEvent"]),
                events=["UserEvent"],
                match={"Segment": "vip", "Lang": "ru"},
            )
            peer.emit_event("Hangup", {"Channel": "PJSIP/201-1", "Cause": "16"})
            peer.emit_event("UserEvent", {"UserEvent": "A", "Segment": "vip", "Lang": "ru"})
            peer.emit_event("UserEvent", {"UserEvent": "B", "Segment": "vip", "Lang": "en"})
            peer.emit_event("UserEvent", {"UserEvent": "C", "Segment": "std", "Lang": "ru"})
            peer.emit_event("Newchannel", {"Channel": "PJSIP/202-2"})
            await eventually(lambda: len(everything) >= 5, what="five events")
            stop_hangups()
            stop_hangups()  # twice is harmless
            peer.emit_event("Hangup", {"Channel": "PJSIP/202-2", "Cause": "16"})
            await eventually(lambda: everything.count("Hangup") == 2, what="the second hangup")
            assert hangups == ["PJSIP/201-1"]
            assert vip == ["A"]

    run(main())


def test_malformed_lines_from_the_peer_do_not_break_the_client() -> None:
    async def main() -> None:
        async with rig() as (peer, ami):
            seen: list[AmiMessage] = []
            ami.subscribe(seen.append, events=["Hangup"])
            peer.send_raw(b"garbage without colon\r\n\r\nEvent: Hangup\r\nnoise\r\n")
            peer.send_raw(b"Channel: PJSIP/201-1\r\n\r\n" + b"z" * 20000 + b"\r\n\r\n")
            peer.emit_event("Hangup", {"Channel": "PJSIP/202-2"})
            await eventually(lambda: len(seen) == 2, what="both hangups")
            assert [e["Channel"] for e in seen] == ["PJSIP/201-1", "PJSIP/202-2"]
            assert seen[0].malformed == ("noise",)
            assert (await ami.action("Ping"))["Ping"] == "Pong"
            assert ami.logins == 1

    run(main())


# -- keepalive and reconnection ----------------------------------------------------------------


def test_idle_client_pings_and_the_peer_records_it() -> None:
    async def main() -> None:
        async with rig(ping_interval=0.1) as (peer, ami):
            await peer.wait_for_action("Ping", count=3, timeout=5)
            assert ami.connected and ami.logins == 1

    run(main())


def test_peer_that_stops_answering_pings_is_dropped_and_reconnected() -> None:
    async def main() -> None:
        async with rig(ping_interval=0.1, action_timeout=0.3) as (peer, ami):
            peer.ignore_pings = True
            await eventually(lambda: len(peer.actions_named("Login")) >= 2, what="a new login")
            peer.ignore_pings = False
            await ami.wait_connected(5)
            assert (await ami.action("Ping"))["Ping"] == "Pong"
            assert ami.logins >= 2

    run(main())


def test_dropped_connection_fails_the_pending_action_then_reconnects() -> None:
    async def main() -> None:
        async with rig() as (peer, ami):
            peer.script("201", "answer", ring=5)  # a synchronous Originate waits for it
            waiting = asyncio.ensure_future(
                ami.action(
                    "Originate",
                    {"Channel": "PJSIP/201", "Application": "Wait", "Data": "1"},
                    timeout=10,
                )
            )
            await peer.wait_for_action("Originate")
            peer.drop_connections()
            with pytest.raises(AmiDisconnected):
                await asyncio.wait_for(waiting, 2)
            await ami.wait_connected(5)
            assert ami.logins == 2
            assert (await ami.action("Ping"))["Ping"] == "Pong"

    run(main())


def test_action_during_the_drop_waits_for_the_reconnection() -> None:
    async def main() -> None:
        async with rig(backoff_initial=0.2, backoff_max=0.2) as (peer, ami):
            peer.drop_connections()
            await eventually(lambda: not ami.connected, what="the drop to be seen")
            reply = await ami.action("Ping", timeout=3)
            assert reply["Ping"] == "Pong" and ami.logins == 2

    run(main())


def test_asterisk_down_for_a_while_then_back_on_the_same_port(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        peer = new_peer()
        host, port = await peer.start()
        ami = AmiClient(host, port, USER, SECRET, **FAST)
        await ami.start(timeout=5)
        await peer.stop()
        await eventually(lambda: not ami.connected, what="the loss")
        await asyncio.sleep(0.5)  # several refused attempts, with backoff
        assert not ami.connected and ami.state == "connecting"
        with pytest.raises(AmiDisconnected):
            await ami.action("Ping", timeout=0.1)
        await peer.start(port=port)
        await ami.wait_connected(5)
        assert (await ami.action("Ping"))["Ping"] == "Pong"
        assert ami.logins == 2
        await ami.close()
        assert peer.actions_named("Logoff")
        await peer.stop()

    with caplog.at_level(logging.DEBUG, logger="fastagi.ami"):
        run(main())
    messages = [r.getMessage() for r in caplog.records]
    assert sum("cannot connect" in m for m in messages) >= 2
    assert any("logged in again" in m and "failed attempt" in m for m in messages)
