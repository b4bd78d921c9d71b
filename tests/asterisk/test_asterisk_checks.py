"""check_references, check_agi_address, check_manager_secret, validate_asterisk."""

from __future__ import annotations

from pathlib import Path

import pytest
from asterisk_helpers import WriteFile

from fastagi.asterisk.checks import (
    AsteriskReference,
    ReferenceKind,
    check_agi_address,
    check_manager_secret,
    check_references,
    validate_asterisk,
)
from fastagi.asterisk.inventory import Inventory, load_inventory
from fastagi.menus.problems import Problem


@pytest.fixture
def inv(sample_dir: Path) -> Inventory:
    return load_inventory(sample_dir)


def _check(inv: Inventory, kind: ReferenceKind, name: str) -> list[Problem]:
    return check_references(inv, [AsteriskReference(kind, name, "ivr_menus/main.yaml:42")])


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("queue", "support"),
        ("queue", "sales"),
        ("mailbox", "1000@default"),
        ("mailbox", "1001"),  # VoiceMail's default context
        ("mailbox", "2000@sales"),
        ("moh", "jazz"),
        ("moh", ""),  # optional and left empty: nothing to check
        ("context", "ivr-queue"),
        ("context", "ivr-queue,s"),
        ("context", "ivr-queue,s,1"),
        ("context", "ivr-entry,5551234,route"),  # matched by _X.
        ("context", "ivr-entry,_X.,fallback"),
        ("context", "ivr-entry,fax,1"),
        ("context", "internal,205,2"),
        ("context", "${TARGET}"),  # decided at call time
        ("context", "ivr-entry,${EXTEN},route"),  # the context is still checked
        ("trunk", "trunk-main"),
        ("endpoint", "201"),
        ("bridge_profile", "team_bridge"),
        ("bridge_profile", "default_bridge"),  # ConfBridge's built-in
        ("user_profile", "team_user"),
        ("user_profile", "default_user"),
        ("confbridge_menu", "team_menu"),
    ],
)
def test_defined_names_have_no_problem(inv: Inventory, kind: ReferenceKind, name: str) -> None:
    assert _check(inv, kind, name) == []


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        (
            "queue",
            "suport",
            "queue 'suport' is not defined in {dir}/queues.conf (did you mean 'support'?)",
        ),
        (
            "queue",
            "vip",
            "queue 'vip' is not defined in {dir}/queues.conf (defined: sales, support)",
        ),
        (
            "mailbox",
            "1000@defualt",
            "mailbox '1000@defualt' is not defined in {dir}/voicemail.conf"
            " (did you mean '1000@default'?)",
        ),
        (
            "mailbox",
            "2000",
            "mailbox '2000@default' is not defined in {dir}/voicemail.conf"
            " (did you mean '2000@sales'?)",
        ),
        (
            "mailbox",
            "1000@sales",
            "mailbox '1000@sales' is not defined in {dir}/voicemail.conf"
            " (did you mean '1000@default'?)",
        ),
        (
            "moh",
            "jaz",
            "music on hold class 'jaz' is not defined in {dir}/musiconhold.conf"
            " (did you mean 'jazz'?)",
        ),
        (
            "context",
            "ivr-queu",
            "dialplan context 'ivr-queu' is not defined in {dir}/extensions.conf or the files"
            " it includes (did you mean 'ivr-queue'?)",
        ),
        (
            "context",
            "ivr-queue,t,1",
            "dialplan context 'ivr-queue' has no extension matching 't' (defined: s)",
        ),
        (
            "context",
            "ivr-entry,fax,2",
            "extension 'fax' in dialplan context 'ivr-entry' has no priority '2' (priorities 1-1)",
        ),
        (
            "context",
            "ivr-entry,123,rout",
            "extension '123' in dialplan context 'ivr-entry' has no priority 'rout'"
            " (did you mean 'route'?)",
        ),
        (
            "context",
            "ivr-entry,123,9",
            "extension '123' in dialplan context 'ivr-entry' has no priority '9'"
            " (priorities 1-5, labels: fallback, route)",
        ),
        (
            "context",
            "internal,2001",
            "dialplan context 'internal' has no extension matching '2001' (defined: _2XX)",
        ),
        (
            "context",
            "ivr-results,${IVR_RESULT},1",
            "dialplan context 'ivr-results' is not defined in {dir}/extensions.conf or the"
            " files it includes (did you mean 'ivr-entry'?)",
        ),
        (
            "context",
            "a,b,c,d",
            "dialplan target 'a,b,c,d' is not context[,extension[,priority]]",
        ),
        (
            "trunk",
            "trunk-mian",
            "PJSIP trunk 'trunk-mian' is not defined in {dir}/pjsip.conf"
            " (did you mean 'trunk-main'?)",
        ),
        (
            "endpoint",
            "203",
            "PJSIP endpoint '203' is not defined in {dir}/pjsip.conf (did you mean '202'?)",
        ),
        (
            "bridge_profile",
            "team_user",
            "ConfBridge bridge profile 'team_user' is not defined in {dir}/confbridge.conf"
            " ('team_user' is a ConfBridge user profile, not a ConfBridge bridge profile)",
        ),
        (
            "user_profile",
            "team_usr",
            "ConfBridge user profile 'team_usr' is not defined in {dir}/confbridge.conf"
            " (did you mean 'team_user'?)",
        ),
        (
            "confbridge_menu",
            "default_menu",
            "ConfBridge menu 'default_menu' is not defined in {dir}/confbridge.conf"
            " (defined: team_menu)",
        ),
    ],
)
def test_missing_names_are_reported_at_the_menu_line(
    inv: Inventory, sample_dir: Path, kind: ReferenceKind, name: str, message: str
) -> None:
    [problem] = _check(inv, kind, name)
    assert (problem.file, problem.line, problem.column) == ("ivr_menus/main.yaml", 42, None)
    assert problem.is_error and problem.code == "asterisk-missing"
    assert str(problem) == "ivr_menus/main.yaml:42: " + message.format(dir=sample_dir)


def test_where_with_column_or_without_line(inv: Inventory) -> None:
    refs = [
        AsteriskReference("queue", "x", "menus/a.yaml:3:7"),
        AsteriskReference("queue", "x", "config/server.yaml"),
    ]
    first, second = check_references(inv, refs)
    assert (first.file, first.line, first.column) == ("menus/a.yaml", 3, 7)
    assert (second.file, second.line) == ("config/server.yaml", None)


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown Asterisk reference kind 'queues'"):
        AsteriskReference("queues", "x", "a.yaml:1")  # type: ignore[arg-type]


def test_missing_and_unreadable_files(write: WriteFile, tmp_path: Path) -> None:
    write("c/queues.conf", "[support]\nbroken\n")
    inv = load_inventory(tmp_path / "c")
    refs = [
        AsteriskReference("queue", "support", "m.yaml:1"),  # queues.conf already reported
        AsteriskReference("moh", "jazz", "m.yaml:2"),
    ]
    assert [str(p) for p in check_references(inv, refs)] == [
        f"m.yaml:2: music on hold class 'jazz' cannot be defined:"
        f" {tmp_path}/c/musiconhold.conf not found"
    ]


def test_agi_address_matches_the_server(inv: Inventory) -> None:
    assert check_agi_address(inv, "127.0.0.1", 4573) == []
    assert check_agi_address(inv, "localhost", 4573) == []  # both loopback
    assert check_agi_address(inv, "0.0.0.0", 4573) == []  # listens everywhere


def test_agi_address_on_another_port_or_host(inv: Inventory, sample_dir: Path) -> None:
    [problem] = check_agi_address(inv, "127.0.0.1", 4574)
    assert problem.is_error and problem.code == "asterisk-agi"
    assert (problem.file, problem.line) == (str(sample_dir / "dialplan/ivr.conf"), 4)
    assert problem.message == (
        "AGI address 'agi://127.0.0.1:4573/main' in [ivr-entry] _X. points at"
        " 127.0.0.1:4573, but the server listens on 127.0.0.1:4574"
    )
    assert problem.hint == f"set by IVR_AGI in [globals] at {sample_dir}/extensions.conf:5"
    [problem] = check_agi_address(inv, "10.1.2.3", 4573)
    assert "points at 127.0.0.1:4573, but the server listens on 10.1.2.3:4573" in problem.message


def test_agi_addresses_that_cannot_reach_the_server(write: WriteFile, tmp_path: Path) -> None:
    write(
        "c/extensions.conf",
        """
        [globals]
        IVR_AGI=agi://10.0.0.9
        [ctx]
        exten => s,1,AGI(${IVR_AGI}/main)
         same => n,AGI(agi://10.0.0.9:4573/x)
         same => n,AGI(${WHO}/x)
         same => n,AGI(local.sh)
         same => n,AGI(hagi://example.com/x)
         same => n,AGI(agi://:4573/x)
         same => n,AGI(agi://10.0.0.9:99999/x)
         same => n,AGI(${IVR_AGI}/${IVR_MENU})
        """,
    )
    problems = check_agi_address(load_inventory(tmp_path / "c"), "10.0.0.9", 4573)
    assert [(p.line, p.severity, p.message.split(" in [ctx] s ")[1]) for p in problems] == [
        (6, "warning", "uses a variable that is not in [globals]: cannot check it"),
        (7, "warning", "is a local script, not agi://10.0.0.9:4573"),
        (8, "warning", "is an SRV lookup (hagi://), not agi://10.0.0.9:4573"),
        (9, "error", "has no host"),
        (10, "error", "is not a valid agi:// URL (Port out of range 0-65535)"),
    ]  # lines 4-5: the default port 4573 applies when none is written; line 11: a menu
    # chosen at run time is fine, the address is what must reach the server


def test_agi_addresses_of_two_servers(write: WriteFile, tmp_path: Path) -> None:
    """IVR_AGI2 names a second server: either server may be the one validating."""
    dialplan = """
        [globals]
        IVR_AGI=agi://10.0.0.2:4573
        IVR_AGI2={second}
        [ivr-entry]
        exten => _X.,1,AGI(${{IVR_AGI}}/main)
         same => n,GotoIf($["${{IVR_AGI2}}" = ""]?done)
         same => n,AGI(${{IVR_AGI2}}/main)
         same => n(done),Hangup()
        [ivr-out]
        exten => s,1,AGI(${{IVR_AGI}}/appointment)
        """
    write("c/extensions.conf", dialplan.format(second=""))
    one = load_inventory(tmp_path / "c")
    # empty: one server, and the AGI() of the second never runs
    assert check_agi_address(one, "10.0.0.2", 4573) == []
    wrong = check_agi_address(one, "10.0.0.3", 4573)
    assert [(p.line, "points at 10.0.0.2:4573" in p.message) for p in wrong] == [
        (5, True),
        (10, True),
    ]
    write("c/extensions.conf", dialplan.format(second="").replace("IVR_AGI2=\n", ""))
    assert check_agi_address(load_inventory(tmp_path / "c"), "10.0.0.2", 4573) == []  # not set
    write("c/extensions.conf", dialplan.format(second="agi://10.0.0.3"))
    two = load_inventory(tmp_path / "c")
    assert check_agi_address(two, "10.0.0.2", 4573) == []
    assert check_agi_address(two, "10.0.0.3", 4573) == []  # the default port
    assert check_agi_address(two, "0.0.0.0", 4573) == []
    # a server that is neither of the two is still told where the dialplan points
    problems = check_agi_address(two, "10.0.0.4", 4573)
    assert [(p.line, p.is_error, p.message.split(" points at ")[1]) for p in problems] == [
        (5, True, "10.0.0.2:4573, but the server listens on 10.0.0.4:4573"),
        (7, True, "10.0.0.3:4573, but the server listens on 10.0.0.4:4573"),
        (10, True, "10.0.0.2:4573, but the server listens on 10.0.0.4:4573"),
    ]
    assert problems[1].hint.startswith("set by IVR_AGI2 in [globals] at ")


def test_no_dialplan_or_no_agi_call(write: WriteFile, tmp_path: Path) -> None:
    write("c/queues.conf", "[q]\n")
    [problem] = check_agi_address(load_inventory(tmp_path / "c"), "127.0.0.1", 4573)
    assert (
        str(problem) == f"{tmp_path}/c/extensions.conf: not found: the dialplan that calls"
        " the FastAGI server is needed"
    )
    write("c/extensions.conf", "[ctx]\nexten => s,1,Answer()\n")
    [problem] = check_agi_address(load_inventory(tmp_path / "c"), "127.0.0.1", 4573)
    assert problem.severity == "warning" and "no AGI() call" in problem.message
    write("c/extensions.conf", "[ctx]\nexten => s,x,Answer()\n")
    assert check_agi_address(load_inventory(tmp_path / "c"), "127.0.0.1", 4573) == [
        Problem(
            f"{tmp_path}/c/extensions.conf",
            None,
            None,
            "",
            "the dialplan has no AGI() call: calls never reach the FastAGI server",
            severity="warning",
            code="asterisk-agi",
        )
    ]


def test_manager_secret(inv: Inventory, sample_dir: Path, write: WriteFile) -> None:
    [dev] = check_manager_secret(inv, production=False)
    assert dev.severity == "warning" and dev.code == "asterisk-secret"
    assert (dev.file, dev.line) == (str(sample_dir / "manager.conf"), 5)
    assert dev.message == "AMI user 'ivr' still has the placeholder secret 'CHANGE_ME'"
    [prod] = check_manager_secret(inv, production=True)
    assert prod.is_error
    write("asterisk-conf/manager.conf", "[general]\nenabled=yes\n[nosecret]\nread=all\n")
    [none] = check_manager_secret(load_inventory(sample_dir), production=True)
    assert none.severity == "warning"
    assert none.message == "AMI user 'nosecret' has no secret, so it cannot log in"


def test_validate_asterisk_collects_everything(sample_dir: Path, write: WriteFile) -> None:
    refs = [
        AsteriskReference("queue", "support", "ivr_menus/main.yaml:10"),
        AsteriskReference("queue", "billing", "ivr_menus/main.yaml:12"),
        AsteriskReference("context", "ivr-fax,s,1", "ivr_menus/main.yaml:20"),
    ]
    problems = validate_asterisk(sample_dir, refs, "127.0.0.1", 4573)
    assert [(p.file, p.line, p.code, p.severity) for p in problems] == [
        ("ivr_menus/main.yaml", 12, "asterisk-missing", "error"),
        (str(sample_dir / "manager.conf"), 5, "asterisk-secret", "warning"),
    ]
    assert [
        p.code for p in validate_asterisk(str(sample_dir), refs, "127.0.0.1", 5000, production=True)
    ] == ["asterisk-missing", "asterisk-agi", "asterisk-secret"]
    write("asterisk-conf/musiconhold.conf", "[default]\nmode files\n")
    problems = validate_asterisk(sample_dir, [], "127.0.0.1", 4573)
    assert str(problems[0]) == (
        f"{sample_dir}/musiconhold.conf:2: Item must be in name = value pairs: 'mode files'"
    )


def test_validate_asterisk_without_the_directory(tmp_path: Path) -> None:
    refs = [AsteriskReference("queue", "support", "m.yaml:1")]
    assert [str(p) for p in validate_asterisk(tmp_path / "none", refs, "127.0.0.1", 4573)] == [
        f"{tmp_path / 'none'}: Asterisk config directory not found"
    ]
