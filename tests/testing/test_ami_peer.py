"""System tests: the AMI peer (Asterisk's side of the manager interface) over real TCP.

The client here is a few lines of raw asyncio streams, on purpose: these tests
pin the bytes the peer writes, not what an AMI library makes of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable

import pytest

from fastagi.testing import AMI_VERSION, AmiPeer, ScriptedOutcome
from fastagi.testing._ami_events import authority_to_str, strings_to_mask
from fastagi.testing._ami_wire import AmiMessage

pytestmark = pytest.mark.system

READ_TIMEOUT = 3.0
Fields = dict[str, str]


def fields(lines: list[str]) -> Fields:
    """The first value of each key of a message."""
    out: Fields = {}
    for line in lines:
        key, _, value = line.partition(": ")
        out.setdefault(key, value)
    return out


class Client:
    """A bare AMI client: write lines, read CRLF-framed messages."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.banner = b""
        self.seen: list[list[str]] = []

    @classmethod
    async def open(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        client.banner = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
        return client

    def send(self, *lines: str) -> None:
        self.writer.write(("".join(f"{line}\r\n" for line in lines) + "\r\n").encode())

    async def read(self, timeout: float = READ_TIMEOUT) -> list[str]:
        """One message; EOFError when the peer closes."""
        lines: list[str] = []
        while True:
            raw = await asyncio.wait_for(self.reader.readline(), timeout)
            if not raw:
                raise EOFError
            assert raw.endswith(b"\r\n"), raw
            line = raw[:-2].decode("utf-8", "surrogateescape")
            if not line:
                self.seen.append(lines)
                return lines
            lines.append(line)

    async def response(self) -> Fields:
        while not (lines := await self.read())[0].startswith("Response:"):
            pass
        return fields(lines)

    async def event(self, name: str) -> Fields:
        while (found := fields(await self.read())).get("Event") != name:
            pass
        return found

    async def until_closed(self) -> bool:
        try:
            while await asyncio.wait_for(self.reader.read(4096), READ_TIMEOUT):
                pass
        except ConnectionError:
            pass
        self.writer.close()
        return True

    async def quiet(self, seconds: float = 0.2) -> bool:
        """True if nothing arrives for ``seconds``."""
        try:
            await asyncio.wait_for(self.reader.readline(), seconds)
        except TimeoutError:
            return True
        return False

    async def login(self, *extra: str, secret: str = "s3cret") -> Fields:
        self.send("Action: Login", "Username: ivr", f"Secret: {secret}", *extra)
        response = await self.response()
        if response.get("Message") == "Authentication accepted" and "Events: off" not in extra:
            assert fields(await self.read())["Event"] == "FullyBooted"
        return response

    def close(self) -> None:
        self.writer.close()


Scenario = Callable[[AmiPeer, int], Awaitable[None]]


def run(scenario: Scenario, peer: AmiPeer | None = None) -> AmiPeer:
    """Start a peer on a free port, run ``scenario(peer, port)``, stop the peer."""
    peer = peer or AmiPeer()
    peer.auth_failure_delay = 0.0

    async def main() -> None:
        _, port = await peer.start()
        try:
            await asyncio.wait_for(scenario(peer, port), 20)
        finally:
            await peer.stop()

    asyncio.run(main())
    return peer


def originate(*lines: str, action_id: str = "o1") -> tuple[str, ...]:
    return ("Action: Originate", *lines, f"ActionID: {action_id}")


# -- connect and log in ---------------------------------------------------------------------


def test_banner_is_asterisk_22s_call_manager_line() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        assert client.banner == b"Asterisk Call Manager/11.0.0\r\n"
        assert AMI_VERSION == "11.0.0"
        client.close()

    run(scenario)


def test_banner_version_is_configurable() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        assert client.banner == b"Asterisk Call Manager/9.0.0\r\n"
        client.close()

    run(scenario, AmiPeer(version="9.0.0"))


def test_plain_login_is_accepted_then_fully_booted() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        client.send("Action: Login", "Username: IVR", "Secret: s3cret", "ActionID: l-1")
        assert await client.read() == [
            "Response: Success",
            "ActionID: l-1",
            "Message: Authentication accepted",
        ]
        booted = await client.read()
        assert booted[:2] == ["Event: FullyBooted", "Privilege: system,all"]
        assert re.fullmatch(r"Uptime: \d+", booted[2])
        assert re.fullmatch(r"LastReload: \d+", booted[3])
        assert booted[4:] == ["Status: Fully Booted"]
        assert peer.logged_in == 1
        client.close()

    run(scenario)


def test_extra_users_may_log_in() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        client.send("Action: Login", "Username: monitor", "Secret: m0n", "Events: off")
        assert (await client.response())["Message"] == "Authentication accepted"
        client.close()

    run(scenario, AmiPeer(users={"monitor": "m0n"}))


def test_login_with_events_off_sends_no_fully_booted() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login("Events: off")
        assert await client.quiet()
        client.close()

    run(scenario)


def test_md5_login_with_the_challenge() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        client.send("Action: Challenge", "AuthType: MD5", "ActionID: c")
        lines = await client.read()
        assert lines[:2] == ["Response: Success", "ActionID: c"]
        challenge = fields(lines)["Challenge"]
        assert re.fullmatch(r"\d{1,9}", challenge)
        key = hashlib.md5((challenge + "s3cret").encode()).hexdigest()
        client.send("Action: Login", "AuthType: md5", "Username: ivr", f"Key: {key}")
        assert (await client.response())["Message"] == "Authentication accepted"
        client.close()

    run(scenario)


def test_md5_login_with_a_wrong_key_fails() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        client.send("Action: Challenge", "AuthType: MD5")
        challenge = (await client.response())["Challenge"]
        key = hashlib.md5((challenge + "wrong").encode()).hexdigest()
        client.send("Action: Login", "AuthType: MD5", "Username: ivr", f"Key: {key}")
        assert (await client.response())["Message"] == "Authentication failed"
        assert await client.until_closed()

    run(scenario)


def test_challenge_without_md5_is_refused() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        client.send("Action: Challenge", "AuthType: plain")
        assert (await client.response()) == {
            "Response": "Error",
            "Message": "Must specify AuthType",
        }
        client.close()

    run(scenario)


@pytest.mark.parametrize(("user", "secret"), [("ivr", "wrong"), ("nobody", "s3cret"), ("", "")])
def test_bad_credentials_fail_and_close(user: str, secret: str) -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        client.send("Action: Login", f"Username: {user}", f"Secret: {secret}", "ActionID: 7")
        assert await client.read() == [
            "Response: Error",
            "ActionID: 7",
            "Message: Authentication failed",
        ]
        assert await client.until_closed()
        assert peer.logged_in == 0

    run(scenario)


def test_actions_before_login_are_denied_and_the_session_stays_open() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        client.send("Action: Ping", "ActionID: early")
        assert await client.read() == [
            "Response: Error",
            "ActionID: early",
            "Message: Permission denied",
        ]
        assert (await client.login())["Message"] == "Authentication accepted"
        client.close()

    run(scenario)


def test_login_twice_is_already_authenticated() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send("Action: Login", "Username: ivr", "Secret: s3cret")
        assert (await client.response())["Message"] == "Already authenticated"
        client.close()

    run(scenario)


def test_unauthenticated_connection_is_closed_after_the_auth_timeout() -> None:
    peer = AmiPeer()
    peer.auth_timeout = 0.2

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        assert await client.until_closed()

    run(scenario, peer)


def test_logoff_says_goodbye_and_closes() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send("Action: Logoff", "ActionID: bye")
        assert await client.read() == [
            "Response: Goodbye",
            "ActionID: bye",
            "Message: Thanks for all the fish.",
        ]
        assert await client.until_closed()

    run(scenario)


# -- Ping, Events, unknown actions ----------------------------------------------------------


def test_ping_pongs_with_a_microsecond_timestamp() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send("Action: ping", "ActionID: p1")
        lines = await client.read()
        assert lines[:3] == ["Response: Success", "ActionID: p1", "Ping: Pong"]
        assert re.fullmatch(r"Timestamp: \d{10,}\.\d{6}", lines[3])
        client.close()

    run(scenario)


def test_ignore_pings_leaves_pings_unanswered() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        peer.ignore_pings = True
        client.send("Action: Ping")
        assert await client.quiet()
        peer.ignore_pings = False
        client.send("Action: Ping")
        assert (await client.response())["Ping"] == "Pong"
        assert len(peer.actions_named("PING")) == 2
        client.close()

    run(scenario)


def test_events_action_switches_events_off_for_that_session_only() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        quiet, loud = await Client.open(port), await Client.open(port)
        await quiet.login()
        await loud.login()
        quiet.send("Action: Events", "EventMask: off", "ActionID: e")
        assert await quiet.read() == ["Response: Success", "ActionID: e", "Events: Off"]
        peer.emit_event("Newchannel", {"Channel": "PJSIP/201-00000001"})
        assert await loud.read() == [
            "Event: Newchannel",
            "Privilege: call,all",
            "Channel: PJSIP/201-00000001",
        ]
        assert await quiet.quiet()
        quiet.send("Action: Events", "EventMask: on")
        assert (await quiet.response())["Events"] == "On"
        peer.emit_event("Newchannel", {"Channel": "PJSIP/202-00000002"})
        assert (await quiet.event("Newchannel"))["Channel"] == "PJSIP/202-00000002"
        quiet.close()
        loud.close()

    run(scenario)


def test_event_classes_follow_the_session_mask() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        client.send("Action: Login", "Username: ivr", "Secret: s3cret", "Events: call")
        assert (await client.response())["Message"] == "Authentication accepted"
        peer.emit_event("UserEvent", {"UserEvent": "skipped"})  # class user
        peer.emit_event("FullyBooted", {"Status": "Fully Booted"})  # class system
        peer.emit_event("Hangup", {"Channel": "PJSIP/201-00000001"})  # class call
        assert (await client.read())[0] == "Event: Hangup"
        client.send("Action: Events", "EventMask: user,system")
        assert (await client.response())["Events"] == "On"
        peer.emit_event("UserEvent", {"UserEvent": "now"}, category="user")
        assert fields(await client.read())["Privilege"] == "user,all"
        client.send("Action: Events", "EventMask:")
        assert (await client.response())["Message"] == "Invalid event mask"
        client.close()

    run(scenario)


def test_event_masks_as_manager_c_reads_them() -> None:
    assert strings_to_mask("") == -1
    assert strings_to_mask("off") == 0
    assert strings_to_mask("bogus") == 0
    assert strings_to_mask("1") == 1  # numeric: system only
    assert strings_to_mask("call,user") == (1 << 1) | (1 << 6)
    assert strings_to_mask("on") & (1 << 6)
    assert authority_to_str(1 << 1) == "call,all"
    assert authority_to_str(0) == "<none>"


def test_unknown_and_missing_actions() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send("Action: Frobnicate", "ActionID: f")
        assert await client.read() == [
            "Response: Error",
            "ActionID: f",
            "Message: Invalid/unknown command: Frobnicate. "
            "Use Action: ListCommands to show available commands.",
        ]
        client.send("ActionID: none")
        assert await client.read() == [
            "Response: Error",
            "ActionID: none",
            "Message: Missing action in request",
        ]
        client.close()

    run(scenario)


# -- Originate ------------------------------------------------------------------------------


def test_async_originate_answered() -> None:
    peer = AmiPeer()
    peer.script("+79161234567", "answer", ring=0.05, talk=0.1)

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send(
            *originate(
                "Channel: Local/+79161234567@ivr-callback-out",
                "Context: ivr-callback",
                "Exten: s",
                "Priority: 1",
                'CallerID: "Clinic" <+74950000000>',
                "Variable: CALLBACK_ID=42,ATTEMPT=1",
                "Async: true",
                action_id="cb-42",
            )
        )
        assert await client.read() == [
            "Response: Success",
            "ActionID: cb-42",
            "Message: Originate successfully queued",
        ]
        newchannel = fields(await client.read())
        assert newchannel["Event"] == "Newchannel"
        name = newchannel["Channel"]
        assert re.fullmatch(r"Local/\+79161234567@ivr-callback-out-[0-9a-f]{8};1", name)
        assert (newchannel["ChannelStateDesc"], newchannel["CallerIDNum"]) == ("Down", "<unknown>")
        begin = fields(await client.read())
        assert (begin["Event"], begin["DestChannel"]) == ("DialBegin", name)
        assert begin["DialString"] == "+79161234567@ivr-callback-out"
        assert "Channel" not in begin  # an originate has no calling channel
        ringing = fields(await client.read())
        assert (ringing["Event"], ringing["ChannelStateDesc"]) == ("Newstate", "Ringing")
        up = fields(await client.read())
        assert (up["Event"], up["ChannelState"], up["CallerIDNum"]) == (
            "Newstate",
            "6",
            "+74950000000",
        )
        end = fields(await client.read())
        assert (end["Event"], end["DialStatus"]) == ("DialEnd", "ANSWER")
        response = await client.read()
        assert response == [
            "Event: OriginateResponse",
            "Privilege: call,all",
            "ActionID: cb-42",
            "Response: Success",
            f"Channel: {name}",
            "Context: ivr-callback",
            "Exten: s",
            "Reason: 4",
            f"Uniqueid: {newchannel['Uniqueid']}",
            "CallerIDNum: +74950000000",
            "CallerIDName: Clinic",
        ]
        hangup = await client.event("Hangup")
        assert (hangup["Cause"], hangup["Cause-txt"]) == ("16", "Normal Clearing")
        assert (hangup["Context"], hangup["Exten"]) == ("ivr-callback", "s")
        record = peer.originated[0]
        assert (record.outcome, record.reason, record.destination) == ("answer", 4, "+79161234567")
        assert record.variables == {"CALLBACK_ID": "42", "ATTEMPT": "1"}
        assert record.channel_name == name and not record.in_progress
        client.close()

    run(scenario, peer)


@pytest.mark.parametrize(
    ("outcome", "reason", "dial_status", "cause"),
    [("busy", "5", "BUSY", "17"), ("congestion", "8", "CONGESTION", "34")],
)
def test_async_originate_refused_by_the_far_end(
    outcome: ScriptedOutcome, reason: str, dial_status: str, cause: str
) -> None:
    peer = AmiPeer()
    peer.script("PJSIP/201", outcome, ring=0.02)

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send(
            *originate("Channel: PJSIP/201", "Application: Playback", "Data: hello", "Async: 1")
        )
        assert (await client.response())["Message"] == "Originate successfully queued"
        assert (await client.event("DialEnd"))["DialStatus"] == dial_status
        assert (await client.event("Hangup"))["Cause"] == cause
        response = await client.event("OriginateResponse")
        assert response == {
            "Event": "OriginateResponse",
            "Privilege": "call,all",
            "ActionID": "o1",
            "Response": "Failure",
            "Channel": "PJSIP/201",  # no channel comes back: the requested one
            "Application": "Playback",
            "Data": "hello",
            "Reason": reason,
            "Uniqueid": "<unknown>",
            "CallerIDNum": "<unknown>",
            "CallerIDName": "<unknown>",
        }
        assert peer.originated[0].outcome == outcome
        client.close()

    run(scenario, peer)


def test_async_originate_unanswered_until_the_timeout() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send(
            *originate(
                "Channel: Local/+79160000000@ivr-callback-out",
                "Context: ivr-callback",
                "Exten: s",
                "Priority: 1",
                "Timeout: 100",
                "ChannelId: cb-7-1",
                "Async: yes",
            )
        )
        assert (await client.response())["Response"] == "Success"
        newchannel = await client.event("Newchannel")
        assert newchannel["Uniqueid"] == "cb-7-1"
        seen: list[str] = []
        while (event := fields(await client.read()))["Event"] != "OriginateResponse":
            seen.append(event["Event"])
            if event["Event"] == "Hangup":
                assert event["Cause"] == "0"  # dial.c hangs up on its own timeout
        assert seen == ["DialBegin", "Newstate", "Hangup"]  # no DialEnd on a timeout
        assert (event["Response"], event["Reason"], event["Uniqueid"]) == ("Failure", "3", "cb-7-1")
        assert peer.originated[0].outcome == "no_answer"
        client.close()

    run(scenario)


def test_far_end_giving_up_is_a_noanswer_dial_end() -> None:
    peer = AmiPeer()
    peer.script("201", "no_answer", ring=0.02)

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send(*originate("Channel: PJSIP/201", "Application: Wait", "Data: 1", "Async: true"))
        assert (await client.event("DialEnd"))["DialStatus"] == "NOANSWER"
        assert (await client.event("Hangup"))["Cause"] == "19"
        assert (await client.event("OriginateResponse"))["Reason"] == "3"
        client.close()

    run(scenario, peer)


def test_failed_originate_has_reason_0_and_no_channel() -> None:
    peer = AmiPeer()
    peer.default_outcome = "failed"

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send(*originate("Channel: PJSIP/999", "Application: Wait", "Data: 1", "Async: true"))
        await client.response()
        response = fields(await client.read())  # nothing came before it
        assert (response["Event"], response["Reason"]) == ("OriginateResponse", "0")
        assert not [e for e in peer.events if e.event == "Newchannel"]
        client.close()

    run(scenario, peer)


def test_sync_originate_answers_when_the_call_is_answered() -> None:
    peer = AmiPeer()
    peer.script("201", "answer", ring=0.1, talk=0.05)
    peer.script("202", "busy")

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        started = asyncio.get_running_loop().time()
        client.send(*originate("Channel: PJSIP/201", "Context: ivr", "Exten: s", "Priority: 1"))
        first = await client.read()
        assert asyncio.get_running_loop().time() - started >= 0.09
        assert first == [
            "Response: Success",
            "ActionID: o1",
            "Message: Originate successfully queued",
        ]
        # the session's events waited for the response; no OriginateResponse for a sync one
        assert fields(await client.read())["Event"] == "Newchannel"
        await client.event("Hangup")
        client.send(
            *originate("Channel: PJSIP/202", "Application: Wait", "Data: 1", action_id="o2")
        )
        assert await client.response() == {
            "Response": "Error",
            "ActionID": "o2",
            "Message": "Originate failed",
        }
        assert not [e for e in peer.events if e.event == "OriginateResponse"]
        assert [r.outcome for r in peer.originated] == ["answer", "busy"]
        client.close()

    run(scenario, peer)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((), "Channel not specified"),
        (("Channel: PJSIP/201", "Priority: start"), "Invalid priority"),
        (("Channel: PJSIP/201", "Timeout: soon"), "Invalid timeout"),
        (("Channel: 201",), "Invalid channel"),
        (("Channel: PJSIP/201", "Priority: 1"), "Extension does not exist."),
        (("Channel: PJSIP/201",), "Originate with 'Exten' requires 'Context' and 'Priority'"),
        (
            ("Channel: PJSIP/201", f"ChannelId: {'x' * 150}"),
            "Uniqueid length exceeds maximum of 149",
        ),
    ],
)
def test_originate_errors(lines: tuple[str, ...], message: str) -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send(*originate(*lines))
        assert await client.response() == {
            "Response": "Error",
            "ActionID": "o1",
            "Message": message,
        }
        assert not peer.originated
        client.close()

    run(scenario)


def test_concurrent_originates_are_counted() -> None:
    peer = AmiPeer()
    for number in ("101", "102", "103"):
        peer.script(number, "answer", talk=0.5)

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login("Events: off")
        for number in ("101", "102", "103"):
            client.send(
                *originate(f"Channel: PJSIP/{number}", "Application: Wait", "Data: 1", "Async: on")
            )
            await client.response()
        await asyncio.sleep(0.05)
        assert peer.active_calls == 3
        while peer.active_calls:
            await asyncio.sleep(0.02)
        assert peer.max_active_calls == 3
        assert [r.outcome for r in peer.originated] == ["answer"] * 3
        client.close()

    run(scenario, peer)


def test_time_scale_shortens_the_default_timeout() -> None:
    peer = AmiPeer(time_scale=0.001)  # 30 s of ringing last 30 ms

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send(*originate("Channel: PJSIP/201", "Application: Wait", "Data: 1", "Async: 1"))
        assert (await client.event("OriginateResponse"))["Reason"] == "3"
        client.close()

    run(scenario, peer)


# -- CoreShowChannels, Hangup, UserEvent ----------------------------------------------------


def test_core_show_channels_lists_active_calls() -> None:
    peer = AmiPeer()
    peer.script("201", "answer", talk=5)
    peer.script("202", "answer", talk=5)

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login("Events: off")
        client.send("Action: CoreShowChannels", "ActionID: empty")
        assert await client.read() == [
            "Response: Success",
            "ActionID: empty",
            "EventList: start",
            "Message: Channels will follow",
        ]
        assert await client.read() == [
            "Event: CoreShowChannelsComplete",
            "ActionID: empty",
            "EventList: Complete",
            "ListItems: 0",
        ]
        for number in ("201", "202"):
            client.send(
                *originate(f"Channel: PJSIP/{number}", "Application: Playback", "Data: tt-monkeys")
            )
            assert (await client.response())["Response"] == "Success"
        client.send("Action: CoreShowChannels", "ActionID: two")
        assert (await client.read())[2] == "EventList: start"
        items = [fields(await client.read()) for _ in range(2)]
        assert [item["Event"] for item in items] == ["CoreShowChannel"] * 2
        assert [item["ActionID"] for item in items] == ["two", "two"]
        assert [item["Channel"][:10] for item in items] == ["PJSIP/201-", "PJSIP/202-"]
        assert items[0]["Application"] == "Playback" and items[0]["ApplicationData"] == "tt-monkeys"
        assert items[0]["Duration"] == "00:00:00" and items[0]["ChannelStateDesc"] == "Up"
        complete = fields(await client.read())
        assert (complete["Event"], complete["ListItems"], complete["EventList"]) == (
            "CoreShowChannelsComplete",
            "2",
            "Complete",
        )
        client.close()

    run(scenario, peer)


def test_hangup_action_ends_a_call() -> None:
    peer = AmiPeer()
    peer.script("201", "answer", talk=30)

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send(*originate("Channel: PJSIP/201", "Application: Wait", "Data: 30"))
        await client.response()
        name = peer.originated[0].channel_name
        assert name is not None
        client.send("Action: Hangup", f"Channel: {name.upper()}", "Cause: 21", "ActionID: h")
        assert await client.response() == {
            "Response": "Success",
            "ActionID": "h",
            "Message": "Channel Hungup",
        }
        assert (await client.event("SoftHangupRequest"))["Cause"] == "21"
        hangup = await client.event("Hangup")
        assert (hangup["Cause"], hangup["Cause-txt"]) == ("21", "Call Rejected")
        client.send("Action: Hangup", f"Channel: {name}")
        assert (await client.response())["Message"] == "No such channel"
        client.send("Action: Hangup")
        assert (await client.response())["Message"] == "No channel specified"
        assert peer.active_calls == 0
        client.close()

    run(scenario, peer)


def test_hangup_by_regex_lists_the_channels() -> None:
    peer = AmiPeer()
    peer.script("201", "answer", talk=30)

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login("Events: off")
        client.send(*originate("Channel: PJSIP/201", "Application: Wait", "Data: 30"))
        await client.response()
        client.send("Action: Hangup", "Channel: /^PJSIP/20/", "ActionID: r")
        assert (await client.read())[2:] == [
            "EventList: start",
            "Message: Channels hung up will follow",
        ]
        hung = await client.read()
        assert hung[0] == "Event: ChannelHungup" and hung[2] == "ActionID: r"
        assert (await client.read())[-1] == "ListItems: 1"
        client.close()

    run(scenario, peer)


def test_user_event_is_acknowledged_and_re_emitted() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send("Action: UserEvent", "UserEvent: CallbackDone", "Number: 201", "ActionID: u")
        assert await client.read() == ["Response: Success", "ActionID: u", "Message: Event Sent"]
        assert await client.read() == [
            "Event: UserEvent",
            "Privilege: user,all",
            "UserEvent: CallbackDone",
            "Number: 201",
            "ActionID: u",
        ]
        client.close()

    run(scenario)


# -- Page -----------------------------------------------------------------------------------


def test_page_reports_which_phones_joined() -> None:
    peer = AmiPeer()
    peer.script("100", "answer", talk=0.3)  # the announcer
    peer.script("201", "answer", ring=0.05)
    peer.script("202", "busy")
    peer.script("203", "no_answer")
    peer.script("204", "failed")

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        data = "PJSIP/201&PJSIP/202&PJSIP/203&PJSIP/204,i,1"
        client.send(
            *originate("Channel: PJSIP/100", "Application: Page", f"Data: {data}", "Async: true")
        )
        assert (await client.response())["Response"] == "Success"
        assert (await client.event("OriginateResponse"))["Reason"] == "4"
        ends: dict[str, str] = {}
        begins: list[Fields] = []
        while len(ends) < 2:
            event = fields(await client.read())
            if event["Event"] == "DialBegin":
                begins.append(event)
            if event["Event"] == "DialEnd":
                ends[event["DestChannel"].split("-")[0]] = event["DialStatus"]
        assert ends == {"PJSIP/202": "BUSY", "PJSIP/201": "ANSWER"}
        assert [b["DestChannel"].split("-")[0] for b in begins] == [
            "PJSIP/201",
            "PJSIP/202",
            "PJSIP/203",
        ]
        assert {b["Channel"].split("-")[0] for b in begins} == {"PJSIP/100"}  # the announcer
        assert begins[0]["DialString"] == "201"
        assert begins[0]["DestLinkedid"] == begins[0]["Linkedid"]
        while (await client.event("Hangup"))["Channel"].split("-")[0] != "PJSIP/100":
            pass
        record = peer.originated[0]
        assert record.joined == ["PJSIP/201"]
        assert [(p.device, p.outcome) for p in record.paged] == [
            ("PJSIP/201", "answer"),
            ("PJSIP/202", "busy"),
            ("PJSIP/203", "no_answer"),
            ("PJSIP/204", "failed"),
        ]
        assert peer.channels == {}
        client.close()

    run(scenario, peer)


def test_page_timeout_hangs_up_ringing_phones() -> None:
    peer = AmiPeer(time_scale=0.05)  # Page timeout 2 s -> 0.1 s
    peer.script("100", "answer", talk=10)
    peer.script("201", "no_answer")

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login("Events: off")
        client.send(*originate("Channel: PJSIP/100", "Application: Page", "Data: PJSIP/201,q,2"))
        assert (await client.response())["Response"] == "Success"
        while not peer.originated[0].paged or peer.originated[0].paged[0].outcome is None:
            await asyncio.sleep(0.02)
        assert peer.originated[0].paged[0].outcome == "no_answer"
        phone_hangups = [e for e in peer.events if e.event == "Hangup"]
        assert [e.get("Cause") for e in phone_hangups] == ["0"]
        assert peer.originated[0].in_progress  # the announcer talks on
        client.close()

    run(scenario, peer)


def test_local_channel_to_a_paging_extension_pages_its_phones() -> None:
    peer = AmiPeer()
    peer.page_extensions["700"] = "PJSIP/201&PJSIP/202"
    peer.script("700", "answer", talk=0.2)
    peer.script("201", "answer")
    peer.script("202", "answer")

    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login("Events: off")
        client.send(
            *originate("Channel: Local/700@paging", "Application: Playback", "Data: notice")
        )
        assert (await client.response())["Response"] == "Success"
        while peer.originated[0].in_progress:
            await asyncio.sleep(0.02)
        assert peer.originated[0].joined == ["PJSIP/201", "PJSIP/202"]
        client.close()

    run(scenario, peer)


# -- connections ----------------------------------------------------------------------------


def test_drop_connections_resets_clients_and_keeps_listening() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        first = await Client.open(port)
        await first.login()
        peer.drop_connections()
        assert await first.until_closed()
        second = await Client.open(port)
        assert (await second.login())["Response"] == "Success"
        assert peer.connections == 1
        second.close()

    run(scenario)


def test_restart_on_the_same_port() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        await peer.stop()
        assert await client.until_closed()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
        assert await peer.start(port=port) == ("127.0.0.1", port)
        again = await Client.open(port)
        assert (await again.login())["Response"] == "Success"
        again.close()

    run(scenario)


def test_start_twice_is_refused() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        with pytest.raises(RuntimeError):
            await peer.start()

    run(scenario)


def test_client_leaving_mid_originate_harms_nobody() -> None:
    peer = AmiPeer()
    peer.script("201", "answer", ring=0.1, talk=0.05)

    async def scenario(peer: AmiPeer, port: int) -> None:
        leaving = await Client.open(port)
        await leaving.login()
        leaving.send(*originate("Channel: PJSIP/201", "Application: Wait", "Data: 1"))
        leaving.writer.transport.abort()
        while peer.originated == [] or peer.originated[0].in_progress:
            await asyncio.sleep(0.02)
        assert peer.originated[0].outcome == "answer"
        staying = await Client.open(port)
        await staying.login()
        staying.send("Action: Ping")
        assert (await staying.response())["Ping"] == "Pong"
        staying.close()

    run(scenario, peer)


# -- malformed input ------------------------------------------------------------------------


def test_lines_without_colon_are_ignored() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send("garbage without a colon", "Action: Ping", "ActionID : not-an-id")
        assert (await client.read())[:2] == ["Response: Success", "Ping: Pong"]
        assert peer.actions[-1].lines[0] == "garbage without a colon"
        client.close()

    run(scenario)


def test_bare_lf_line_endings_are_accepted() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        client.writer.write(b"Action: Login\nUsername: ivr\nSecret: s3cret\nEvents: off\n\n")
        assert (await client.response())["Message"] == "Authentication accepted"
        client.close()

    run(scenario)


def test_an_overlong_line_fails_the_message_not_the_session() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send("ActionID: long", "Action: Ping", "Data: " + "x" * 3000)
        assert await client.read() == [
            "Response: Error",
            "ActionID: long",
            "Message: Failed to parse message: line too long",
        ]
        client.send("Action: Ping", "Data: " + "y" * 1010)  # 1016 bytes + CRLF still fit
        assert (await client.response())["Ping"] == "Pong"
        client.close()

    run(scenario)


def test_too_many_lines_fail_the_message() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.send("Action: Ping", *[f"X-{n}: {n}" for n in range(130)])
        expected = "Too many lines in message or allocation failure"
        assert (await client.response())["Message"] == expected
        assert len(peer.actions[-1].lines) == 128
        client.send("Action: Ping")
        assert (await client.response())["Ping"] == "Pong"
        client.close()

    run(scenario)


def test_non_utf8_bytes_are_echoed_byte_for_byte() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        await client.login()
        client.writer.write(b"Action: Ping\r\nActionID: \xff\xfe-id\r\n\r\n")
        assert (
            await asyncio.wait_for(client.reader.readline(), READ_TIMEOUT)
            == b"Response: Success\r\n"
        )
        assert (
            await asyncio.wait_for(client.reader.readline(), READ_TIMEOUT)
            == b"ActionID: \xff\xfe-id\r\n"
        )
        client.close()

    run(scenario)


def test_send_raw_reaches_every_connection() -> None:
    async def scenario(peer: AmiPeer, port: int) -> None:
        client = await Client.open(port)
        peer.send_raw(b"Event: Broken\r\nno colon here\r\n\r\n")
        assert await client.read() == ["Event: Broken", "no colon here"]
        client.close()

    run(scenario)


def test_message_lookup_is_case_insensitive_and_first_match() -> None:
    message = AmiMessage(["action: Originate", "VARIABLE: a=1", "Variable:b=2", "junk"])
    assert message.action == "Originate"
    assert message.get("variable") == "a=1"
    assert message.get_all("Variable") == ["a=1", "b=2"]
    assert message.pairs == [("action", "Originate"), ("VARIABLE", "a=1"), ("Variable", "b=2")]
    assert "Junk" not in message and message.get("missing", "-") == "-"
