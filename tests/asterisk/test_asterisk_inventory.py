"""load_inventory over a small PBX: every kind found, missing files, unreadable files."""

from __future__ import annotations

from pathlib import Path

from asterisk_helpers import WriteFile

from fastagi.asterisk.inventory import load_inventory


def test_every_kind_is_found(sample_dir: Path) -> None:
    inv = load_inventory(sample_dir)
    assert inv.problems == []
    assert inv.missing == set() and inv.unreadable == set()

    assert sorted(inv.queues) == ["sales", "support"]  # the (!) template is not a queue
    support, sales = inv.queues["support"], inv.queues["sales"]
    assert (support.strategy, support.musicclass) == ("ringall", "default")
    assert support.members == ("PJSIP/201", "PJSIP/202")
    assert (sales.strategy, sales.musicclass, sales.members) == ("leastrecent", "jazz", ())
    assert support.source.line == 8

    assert sorted(inv.mailboxes) == ["1000@default", "1001@default", "2000@sales"]
    assert inv.mailboxes["1000@default"].email == "reception@example.com"
    assert inv.mailboxes["1001@default"].email is None
    assert inv.mailboxes["2000@sales"].address == "2000@sales"

    assert sorted(inv.moh_classes) == ["default", "jazz"]
    assert inv.moh_classes["jazz"].directory == "moh/jazz"

    plan = inv.dialplan
    assert sorted(plan.contexts) == ["internal", "ivr-entry", "ivr-fax", "ivr-queue"]
    assert plan.globals == {"IVR_AGI": "agi://127.0.0.1:4573"}
    entry = plan.contexts["ivr-entry"]
    assert entry.source.file == str(sample_dir / "dialplan/ivr.conf")
    assert entry.extensions["_X."].labels == {"fallback": 4, "route": 5}
    assert [t.address for t in plan.agi_targets] == ["agi://127.0.0.1:4573/main"]

    assert sorted(inv.endpoints) == ["201", "202", "trunk-main"]
    assert inv.endpoints["201"].context == "internal"  # from the template
    assert sorted(inv.trunks) == ["trunk-main"]
    assert inv.endpoints["trunk-main"].context == "ivr-entry"

    assert list(inv.bridge_profiles) == ["team_bridge"]
    assert list(inv.user_profiles) == ["team_user"]
    assert list(inv.confbridge_menus) == ["team_menu"]

    ivr, monitor = inv.manager_users["ivr"], inv.manager_users["monitor"]
    assert ivr.placeholder_secret and ivr.has_secret
    assert not monitor.placeholder_secret and monitor.has_secret
    assert sorted(inv.manager_users) == ["ivr", "monitor"]


def test_trunk_found_by_registration_or_fixed_contact(write: WriteFile, tmp_path: Path) -> None:
    write(
        "c/pjsip.conf",
        """
        [by-registration]
        type=endpoint
        [reg]
        type=registration
        line=yes
        endpoint=by-registration
        [by-contact]
        type=endpoint
        aors=by-contact-aor
        [by-contact-aor]
        type=aor
        contact=sip:198.51.100.7
        [phone]
        type=endpoint
        aors=phone
        [phone]
        type=aor
        max_contacts=2
        """,
    )
    inv = load_inventory(tmp_path / "c")
    assert sorted(inv.endpoints) == ["by-contact", "by-registration", "phone"]
    assert sorted(inv.trunks) == ["by-contact", "by-registration"]


def test_missing_files_are_noted_not_reported(write: WriteFile, tmp_path: Path) -> None:
    write("c/queues.conf", "[support]\n")
    inv = load_inventory(tmp_path / "c")
    assert inv.problems == []
    assert inv.missing == {"dialplan", "voicemail", "moh", "pjsip", "confbridge", "manager"}
    assert list(inv.queues) == ["support"]


def test_missing_directory_is_one_problem(tmp_path: Path) -> None:
    inv = load_inventory(tmp_path / "nowhere")
    assert [str(p) for p in inv.problems] == [
        f"{tmp_path / 'nowhere'}: Asterisk config directory not found"
    ]


def test_unreadable_files_become_problems_with_file_and_line(
    write: WriteFile, tmp_path: Path
) -> None:
    write("c/queues.conf", "[support]\nstrategy ringall\n")
    write("c/extensions.conf", '[a]\nexten => s,1,NoOp()\n#include "dialplan/x.conf"\n')
    write("c/dialplan/x.conf", "[b]\nexten => s,q,NoOp()\n")
    write("c/musiconhold.conf", "[default]\nmode=files\n")
    write("c/pjsip.conf", "[ep](nope)\n")
    inv = load_inventory(tmp_path / "c")
    assert inv.unreadable == {"queues", "pjsip"}
    assert inv.queues == {}
    assert list(inv.moh_classes) == ["default"]  # the other files still count
    rendered = sorted(str(p) for p in inv.problems)
    assert rendered == sorted(
        [
            f"{tmp_path}/c/queues.conf:2: Item must be in name = value pairs: 'strategy ringall'",
            f"{tmp_path}/c/dialplan/x.conf:2: bad priority 'q' in context [b]",
            f"{tmp_path}/c/pjsip.conf:1: [ep] inherits from 'nope', not defined above it",
        ]
    )
    assert all(p.is_error for p in inv.problems)
