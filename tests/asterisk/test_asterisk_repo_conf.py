"""The shipped asterisk-conf/ (with dialplan/ through its symlink) reads cleanly."""

from __future__ import annotations

from pathlib import Path

from fastagi.asterisk.checks import check_agi_address
from fastagi.asterisk.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]
ACTION_CONTEXTS = [
    "ivr-queue",
    "ivr-transfer",
    "ivr-voicemail",
    "ivr-hold",
    "ivr-record",
    "ivr-callback",
    "ivr-conference",
    "ivr-fax",
]


def test_repo_asterisk_conf() -> None:
    inv = load_inventory(REPO / "asterisk-conf")
    assert [str(p) for p in inv.problems] == []
    assert inv.missing == set()
    assert "trunk-main" in inv.trunks  # the provider trunk of the contract
    assert {"support", "sales", "billing", "operator"} <= set(inv.queues)
    contexts = inv.dialplan.contexts
    for name in ["ivr-entry", *ACTION_CONTEXTS]:
        assert name in contexts, name
    for name in ACTION_CONTEXTS:
        assert contexts[name].extensions["s"].has_priority("1"), name
    # The subroutines come from dialplan/ through the asterisk-conf/dialplan symlink.
    assert Path(contexts["ivr-queue"].source.file).name == "ivr-actions.conf"
    assert inv.dialplan.find_extensions("ivr-entry", "5551234")
    # Every AGI() reaches the server at config/server.yaml's address.
    assert inv.dialplan.agi_targets
    assert check_agi_address(inv, "127.0.0.1", 4573) == []
