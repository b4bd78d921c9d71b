"""Emergency broadcast against the AMI peer: every phone paged at once, who took it."""

from __future__ import annotations

import pytest

from fastagi.ami import AmiClient
from fastagi.menus import MenuError
from fastagi.outbound.broadcast import Broadcaster, BroadcastReport, parse_broadcast_config
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import AmiPeer

pytestmark = pytest.mark.system

CONFIG = """
ring_timeout: 20
duration: 30
groups:
  office:
    description: Every office phone
    phones: [PJSIP/201, PJSIP/202, PJSIP/203, PJSIP/204]
"""


def _page(scripts: dict[str, str]) -> tuple[BroadcastReport, AmiPeer]:
    config = parse_broadcast_config(CONFIG)

    async def main() -> tuple[BroadcastReport, AmiPeer]:
        peer = AmiPeer(time_scale=0.01)
        # What the dialplan's Page() gets from the variables (dialplan/ivr-outbound.conf)
        phones = "&".join(config.groups["office"].phones)
        peer.page_extensions["office"] = f"{phones},A(ivr/fire-alarm)inq,20"
        peer.script("office", "answer", talk=30.0)
        for phone, outcome in scripts.items():
            peer.script(phone, outcome, ring=1.0)  # type: ignore[arg-type]
        host, port = await peer.start()
        client = AmiClient(host, port, "ivr", "s3cret", ping_interval=0)
        await client.start(timeout=5)
        try:
            return await Broadcaster(client, config).broadcast("office", "ivr/fire-alarm"), peer
        finally:
            await client.close()
            await peer.stop()

    return run_on_reactor_loop(main())


def test_the_report_says_which_phones_took_the_page() -> None:
    report, peer = _page({"201": "answer", "202": "answer", "203": "busy", "204": "no_answer"})
    assert report.error == ""
    assert report.phones == {
        "PJSIP/201": "answered",
        "PJSIP/202": "answered",
        "PJSIP/203": "busy",
        "PJSIP/204": "no_answer",
    }
    assert report.answered == ["PJSIP/201", "PJSIP/202"]
    [originate] = peer.actions_named("Originate")
    assert originate.get("Channel") == "Local/office@ivr-page"
    variables = originate.get_all("Variable")
    assert "IVR_PAGE_PHONES=PJSIP/201&PJSIP/202&PJSIP/203&PJSIP/204" in variables
    assert "IVR_PAGE_ALERT=ivr/fire-alarm" in variables
    # one Originate pages them all at once: every phone was dialled by the same page
    assert [phone.device for phone in peer.originated[0].paged] == [
        "PJSIP/201", "PJSIP/202", "PJSIP/203", "PJSIP/204",
    ]  # fmt: skip


def test_unknown_group_and_bad_alert_are_refused_before_anything_rings() -> None:
    config = parse_broadcast_config(CONFIG)
    broadcaster = Broadcaster(None, config)  # type: ignore[arg-type]  # never reached

    async def main() -> None:
        with pytest.raises(KeyError, match=r"no paging group 'lobby'.*office"):
            await broadcaster.broadcast("lobby", "ivr/fire-alarm")
        with pytest.raises(ValueError, match="not a sound file name"):
            await broadcaster.broadcast("office", "../../etc/passwd")

    run_on_reactor_loop(main())


def test_a_bad_group_in_the_config_is_reported_with_its_line() -> None:
    with pytest.raises(MenuError) as caught:
        parse_broadcast_config("groups:\n  office:\n    phones: [PJSIP/201, 'rm -rf']\n")
    assert "broadcast.yaml:3" in str(caught.value)
