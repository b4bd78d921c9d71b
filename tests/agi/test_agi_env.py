"""The agi_* environment block, line by line and as a whole."""

from __future__ import annotations

import pytest
from agi_helpers import drain, events_every_way
from hypothesis import given
from hypothesis import strategies as st

from fastagi.agi import AGIConnection, Environment, ProtocolError, State, parse_env_line

# What Asterisk 20 writes for AGI(agi://127.0.0.1:4573/main?lang=ru&x=1,first arg,):
# launch_netscript() sends agi_network and agi_network_script, then setup_env()
# the rest in this order, then an empty line.
ASTERISK_20_ENV = (
    b"agi_network: yes\n"
    b"agi_network_script: main?lang=ru&x=1\n"
    b"agi_request: agi://127.0.0.1:4573/main?lang=ru&x=1\n"
    b"agi_channel: PJSIP/trunk-00000007\n"
    b"agi_language: ru\n"
    b"agi_type: PJSIP\n"
    b"agi_uniqueid: 1716212345.17\n"
    b"agi_version: 20.9.3\n"
    b"agi_callerid: unknown\n"
    b"agi_calleridname: unknown\n"
    b"agi_callingpres: 67\n"
    b"agi_callingani2: 0\n"
    b"agi_callington: 0\n"
    b"agi_callingtns: 0\n"
    b"agi_dnid: 4951234567\n"
    b"agi_rdnis: unknown\n"
    b"agi_context: from-trunk\n"
    b"agi_extension: 4951234567\n"
    b"agi_priority: 2\n"
    b"agi_enhanced: 0.0\n"
    b"agi_accountcode: \n"
    b"agi_threadid: 139872385525440\n"
    b"agi_arg_1: first arg\n"
    b"agi_arg_2: \n"
    b"\n"
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("agi_channel: PJSIP/alice-00000001", ("channel", "PJSIP/alice-00000001")),
        ("agi_dnid: ", ("dnid", "")),
        ("agi_dnid:", ("dnid", "")),
        ("agi_calleridname: Doe: John", ("calleridname", "Doe: John")),
        ("agi_calleridname:  two spaces", ("calleridname", " two spaces")),
        ("agi_arg_1: a=b&c", ("arg_1", "a=b&c")),
        ("agi_network_script: main?lang=ru", ("network_script", "main?lang=ru")),
    ],
)
def test_env_line(line: str, expected: tuple[str, str]) -> None:
    assert parse_env_line(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "",
        "Smith",
        "HANGUP",
        "agi_",
        "agi_: x",
        "agi_name",
        "agi_name:x",
        "agi name: x",
        "AGI_name: x",
        "agi_na-me: x",
        "200 result=0",
        " agi_x: y",
    ],
)
def test_malformed_env_line(line: str) -> None:
    assert parse_env_line(line) is None


@given(st.text())
def test_env_line_never_raises(line: str) -> None:
    parsed = parse_env_line(line)
    if parsed is not None:
        name, value = parsed
        assert line in (f"agi_{name}: {value}", f"agi_{name}:")


def test_asterisk_20_block() -> None:
    (env,) = events_every_way(AGIConnection, ASTERISK_20_ENV)
    assert isinstance(env, Environment)
    assert env.malformed_lines == ()
    assert env.get("network") == "yes"
    assert env.network_script == "main?lang=ru&x=1"
    assert env.script == "main"
    assert dict(env.query) == {"lang": "ru", "x": "1"}
    assert env.args == ("first arg", "")
    assert env.callerid == "unknown"
    assert env.calleridname == "unknown"
    assert env.uniqueid == "1716212345.17"
    assert env.channel == "PJSIP/trunk-00000007"
    assert env.language == "ru"
    assert env.get("accountcode") == ""
    assert env.get("dnid") == "4951234567"
    assert len(env.variables) == 24


def test_state_after_env_is_idle() -> None:
    conn = AGIConnection()
    conn.receive_data(ASTERISK_20_ENV)
    assert conn.state is State.READING_ENV  # nothing parsed until next_event
    drain(conn)
    assert conn.state is State.IDLE


def test_caller_name_with_newline_is_kept_as_malformed_not_a_command() -> None:
    block = ASTERISK_20_ENV.replace(
        b"agi_calleridname: unknown\n", b"agi_calleridname: Ivan\nPetrov\n"
    )
    (env,) = events_every_way(AGIConnection, block)
    assert isinstance(env, Environment)
    assert env.calleridname == "Ivan"
    assert env.malformed_lines == ("Petrov",)
    assert env.get("callingpres") == "67"  # the lines after it still parse


def test_injected_env_line_does_not_override_real_values() -> None:
    # A caller name crafted to look like later env lines: Asterisk never
    # repeats a name, so the first value stands and the repeat is kept aside.
    block = ASTERISK_20_ENV.replace(
        b"agi_calleridname: unknown\n",
        b"agi_calleridname: x\nagi_callerid: 74950000001\nagi_network_script: admin\n",
    )
    (env,) = events_every_way(AGIConnection, block)
    assert isinstance(env, Environment)
    assert env.callerid == "unknown"
    assert env.script == "main"
    assert env.malformed_lines == ("agi_callerid: 74950000001", "agi_network_script: admin")


def test_hangup_line_inside_env_is_malformed_env() -> None:
    (env,) = events_every_way(AGIConnection, b"agi_network: yes\nHANGUP\n\n")
    assert isinstance(env, Environment)
    assert env.malformed_lines == ("HANGUP",)


def test_crlf_line_ends() -> None:
    (env,) = events_every_way(AGIConnection, b"agi_network: yes\r\nagi_dnid: 100\r\n\r\n")
    assert isinstance(env, Environment)
    assert dict(env.variables) == {"network": "yes", "dnid": "100"}


def test_invalid_utf8_is_replaced() -> None:
    (env,) = events_every_way(AGIConnection, b"agi_calleridname: \xff\xfeBob\n\n")
    assert isinstance(env, Environment)
    assert env.calleridname == "\ufffd\ufffdBob"


def test_too_many_env_lines() -> None:
    conn = AGIConnection(max_env_lines=3)
    conn.receive_data(b"agi_a: 1\nagi_b: 2\nagi_c: 3\nagi_d: 4\n\n")
    with pytest.raises(ProtocolError):
        conn.next_event()
    assert conn.state is State.ERROR


def test_env_at_the_line_limit_is_accepted() -> None:
    conn = AGIConnection(max_env_lines=3)
    conn.receive_data(b"agi_a: 1\nagi_b: 2\nagi_c: 3\n\n")
    (env,) = drain(conn)
    assert isinstance(env, Environment)
