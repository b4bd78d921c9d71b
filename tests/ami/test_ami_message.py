"""The AMI codec: AmiMessage lookups, encode_action's refusals, AmiParser on Asterisk's framing."""

from __future__ import annotations

import pytest

from fastagi.ami import AmiMessage, AmiParser, encode_action

BANNER = b"Asterisk Call Manager/9.0.0\r\n"


def parse(data: bytes, **options: int) -> tuple[list[AmiMessage], AmiParser]:
    parser = AmiParser(**options)  # type: ignore[arg-type]
    return parser.feed(data), parser


# -- AmiMessage ------------------------------------------------------------------------


def test_message_keys_are_case_insensitive_and_keep_order() -> None:
    pairs = [("Event", "Hangup"), ("Channel", "PJSIP/100-1"), ("ChanVariable", "A=1")]
    message = AmiMessage([*pairs, ("chanvariable", "B=2")])
    assert message.get("CHANNEL") == "PJSIP/100-1"
    assert message["event"] == "Hangup"
    assert "channel" in message and "Cause" not in message
    assert message.get("Cause") is None and message.get("Cause", "16") == "16"
    assert message.get_all("ChanVariable") == ["A=1", "B=2"]
    assert message.get_all("nothing") == []
    assert message.as_dict() == {"Event": "Hangup", "Channel": "PJSIP/100-1", "ChanVariable": "A=1"}
    assert [k for k, _ in message.items()] == ["Event", "Channel", "ChanVariable", "chanvariable"]
    assert list(message) == ["Event", "Channel", "ChanVariable"]
    assert len(message) == 4
    with pytest.raises(KeyError):
        message["Cause"]


def test_message_kind_name_and_action_id() -> None:
    response = AmiMessage({"Response": "Error", "ActionID": "x-1", "Message": "No such channel"})
    assert (response.kind, response.name, response.action_id) == ("response", "Error", "x-1")
    event = AmiMessage({"Event": "FullyBooted", "Status": "Fully Booted"})
    assert (event.kind, event.name, event.action_id) == ("event", "FullyBooted", None)
    unknown = AmiMessage({"Foo": "bar"})
    assert (unknown.kind, unknown.name) == ("unknown", "")


def test_originate_response_event_is_an_event_despite_its_response_field() -> None:
    # OriginateResponse carries `Response: Success|Failure` after its Event line.
    event = AmiMessage({"Event": "OriginateResponse", "ActionID": "x-7", "Response": "Failure"})
    assert event.kind == "event" and event.name == "OriginateResponse"


def test_messages_compare_by_value_and_are_hashable() -> None:
    a = AmiMessage({"Event": "X", "A": "1"})
    assert a == AmiMessage([("Event", "X"), ("A", "1")])
    assert a != AmiMessage([("A", "1"), ("Event", "X")])
    assert len({a, AmiMessage({"Event": "X", "A": "1"})}) == 1
    assert "Event='X'" in repr(a)


# -- encode_action ---------------------------------------------------------------------------


def test_encode_action_puts_action_and_id_first_and_repeats_list_values() -> None:
    data = encode_action(
        "Originate",
        {"Channel": "PJSIP/100", "Variable": ["A=1", "B=2"], "Timeout": 30000},
        "ivr-1",
    )
    assert data == (
        b"Action: Originate\r\nActionID: ivr-1\r\nChannel: PJSIP/100\r\n"
        b"Variable: A=1\r\nVariable: B=2\r\nTimeout: 30000\r\n\r\n"
    )


def test_encode_action_with_no_fields_and_unicode() -> None:
    assert encode_action("Ping", {}, "1") == b"Action: Ping\r\nActionID: 1\r\n\r\n"
    data = encode_action("Setvar", {"Variable": "NAME", "Value": "Иван"}, "2")
    assert "Value: Иван\r\n".encode() in data


@pytest.mark.parametrize(
    ("name", "fields", "action_id"),
    [
        ("Ping", {"Channel": "x\r\nAction: Hangup"}, "1"),
        ("Ping", {"Channel": "x\nAction: Hangup"}, "1"),
        ("Ping", {"Channel": "x\r"}, "1"),
        ("Ping", {"Variable": ["A=1", "B=2\r\n\r\nAction: Logoff"]}, "1"),
        ("Ping", {"Bad Key": "x"}, "1"),
        ("Ping", {"Bad:Key": "x"}, "1"),
        ("Ping", {"Bad\nKey": "x"}, "1"),
        ("Ping", {"": "x"}, "1"),
        ("Ping\r\nAction: Logoff", {}, "1"),
        ("Ping", {}, "1\r\nAction: Logoff"),
        ("Ping", {}, ""),
        ("Ping", {"ActionID": "mine"}, "1"),
        ("Ping", {"action": "Logoff"}, "1"),
    ],
)
def test_encode_action_refuses_what_could_inject(
    name: str, fields: dict[str, str], action_id: str
) -> None:
    with pytest.raises(ValueError):
        encode_action(name, fields, action_id)


def test_encode_action_refuses_other_value_types() -> None:
    with pytest.raises(TypeError):
        encode_action("Ping", {"X": None}, "1")  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        encode_action("Ping", {"X": [1.5]}, "1")  # type: ignore[list-item]


# -- AmiParser: framing ------------------------------------------------------------------------


def test_banner_then_response_and_event() -> None:
    messages, parser = parse(
        BANNER + b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"
        b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
    )
    assert parser.banner == "Asterisk Call Manager/9.0.0"
    assert parser.version == "9.0.0"
    assert [m.name for m in messages] == ["Success", "FullyBooted"]
    assert messages[0]["Message"] == "Authentication accepted"


def test_no_banner_when_not_expected_or_not_sent() -> None:
    messages, parser = parse(b"Event: X\r\n\r\n", expect_banner=False)
    assert [m.name for m in messages] == ["X"] and parser.banner is None
    messages, parser = parse(b"Event: Y\r\n\r\n")  # expected, but the first line is a field
    assert [m.name for m in messages] == ["Y"] and parser.version is None


def test_bare_newlines_and_stray_empty_lines() -> None:
    messages, _ = parse(BANNER + b"\r\n\nEvent: A\nKey: 1\n\n\r\nEvent: B\r\n\r\n")
    assert [(m.name, m.get("Key")) for m in messages] == [("A", "1"), ("B", None)]


def test_values_keep_colons_and_spaces_and_empty_values() -> None:
    messages, _ = parse(
        BANNER + b"Event: Newchannel\r\nChannel: PJSIP/a:b-1\r\nCallerIDName: \r\n"
        b"Uniqueid:\r\nData: x:  y \r\n\r\n"
    )
    (event,) = messages
    assert event["Channel"] == "PJSIP/a:b-1"
    assert event["CallerIDName"] == "" and event["Uniqueid"] == ""
    assert event["Data"] == "x:  y "


def test_a_message_incomplete_until_its_empty_line() -> None:
    parser = AmiParser()
    assert parser.feed(BANNER + b"Event: A\r\nKey: 1\r\n") == []
    assert [m.name for m in parser.feed(b"\r\n")] == ["A"]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    messages, _ = parse(BANNER + b"Event: A\r\nCallerIDName: \xff\xfeBob\r\n\r\n")
    assert messages[0]["CallerIDName"] == "\ufffd\ufffdBob"


# -- malformed and oversized -----------------------------------------------------------------------


def test_malformed_lines_are_counted_and_kept_aside() -> None:
    messages, parser = parse(
        BANNER + b"Event: A\r\nthis is not a header\r\nKey: 1\r\n\r\nEvent: B\r\n\r\n"
    )
    assert [m.name for m in messages] == ["A", "B"]
    assert messages[0].malformed == ("this is not a header",)
    assert messages[0]["Key"] == "1"
    assert parser.malformed_lines == 1


def test_a_message_of_only_malformed_lines_is_dropped() -> None:
    messages, parser = parse(BANNER + b"garbage\r\nmore garbage\r\n\r\nEvent: B\r\n\r\n")
    assert [m.name for m in messages] == ["B"]
    assert parser.malformed_lines == 2


def test_overlong_line_discards_its_message_only() -> None:
    long_value = b"x" * 200
    messages, parser = parse(
        BANNER + b"Event: A\r\nData: " + long_value + b"\r\nKey: 1\r\n\r\nEvent: B\r\n\r\n",
        max_line_length=100,
    )
    assert [m.name for m in messages] == ["B"]
    assert parser.oversized_messages == 1


def test_overlong_line_in_small_chunks_is_dropped_without_buffering_it() -> None:
    parser = AmiParser(max_line_length=100)
    parser.feed(BANNER + b"Event: A\r\nData: ")
    for _ in range(50):
        assert parser.feed(b"y" * 100) == []
    assert len(parser._buffer) <= 100  # the overlong line is not kept in memory
    messages = parser.feed(b"\r\n\r\nEvent: B\r\n\r\n")
    assert [m.name for m in messages] == ["B"]
    assert parser.oversized_messages == 1


def test_oversized_message_is_discarded_and_parsing_resumes() -> None:
    many = b"".join(b"Key%d: value\r\n" % i for i in range(100))
    messages, parser = parse(
        BANNER + b"Event: Big\r\n" + many + b"\r\nEvent: Small\r\n\r\n", max_message_size=500
    )
    assert [m.name for m in messages] == ["Small"]
    assert parser.oversized_messages == 1


# -- command output ------------------------------------------------------------------------


def test_legacy_command_output_keeps_empty_lines_until_end_marker() -> None:
    messages, _ = parse(
        BANNER + b"Response: Follows\r\nPrivilege: Command\r\nActionID: 5\r\n"
        b"Channel              Location\r\n\r\nSIP/100: up\r\n0 active channels\n"
        b"--END COMMAND--\r\n\r\nEvent: After\r\n\r\n"
    )
    reply, after = messages
    assert reply.kind == "response" and reply.name == "Follows"
    assert reply.action_id == "5"
    assert reply.output == ["Channel              Location", "", "SIP/100: up", "0 active channels"]
    assert after.name == "After"


def test_legacy_command_output_without_final_newline_runs_into_the_marker() -> None:
    messages, _ = parse(
        BANNER + b"Response: Follows\r\nPrivilege: Command\r\nActionID: 6\r\n"
        b"Asterisk 20.5.0 built--END COMMAND--\r\n\r\n"
    )
    assert messages[0].output == ["Asterisk 20.5.0 built"]


def test_legacy_command_with_empty_output() -> None:
    messages, _ = parse(
        BANNER + b"Response: Follows\r\nPrivilege: Command\r\n--END COMMAND--\r\n\r\n"
    )
    assert messages[0].output == []


def test_follows_that_is_not_a_command_ends_at_its_empty_line() -> None:
    messages, _ = parse(BANNER + b"Response: Follows\r\nActionID: 7\r\n\r\nEvent: Next\r\n\r\n")
    assert [m.name for m in messages] == ["Follows", "Next"]


def test_modern_command_output_lines() -> None:
    messages, parser = parse(
        BANNER + b"Response: Success\r\nActionID: 8\r\nMessage: Command output follows\r\n"
        b"Output: Name/username   Host\r\nOutput: 100/100  127.0.0.1\r\n\r\n"
    )
    assert messages[0].output == ["Name/username   Host", "100/100  127.0.0.1"]
    assert parser.malformed_lines == 0


def test_follows_with_output_prefix_on_first_line_only() -> None:
    # Seen from some versions: only the first output line carries `Output: `.
    messages, parser = parse(
        BANNER + b"Response: Follows\r\nMessage: Command output follows\r\n"
        b"Output: Name/username  Host\r\n8888/8888  (Unspecified)\r\n\r\nEvent: Next\r\n\r\n"
    )
    assert messages[0].output == ["Name/username  Host", "8888/8888  (Unspecified)"]
    assert messages[1].name == "Next"
    assert parser.malformed_lines == 0
