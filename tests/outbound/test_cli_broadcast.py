"""`ivr broadcast` as an admin runs it, against the AMI peer over TCP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from threaded_ami_peer import peer_in_thread

from fastagi.cli import main
from fastagi.testing import AmiPeer

pytestmark = pytest.mark.system


@pytest.fixture
def peer() -> Iterator[tuple[AmiPeer, int]]:
    """An AMI peer on its own loop in a thread: the CLI runs its own reactor loop."""
    peer = AmiPeer(username="ivr", secret="s3cret", time_scale=0.01)
    peer.page_extensions["office"] = "PJSIP/201&PJSIP/202,inq,20"
    peer.script("office", "answer", talk=30.0)
    peer.script("202", "answer", ring=1.0)
    with peer_in_thread(peer) as port:
        yield peer, port


def _config(tmp_path: Path, port: int) -> Path:
    groups = tmp_path / "broadcast.yaml"
    groups.write_text("groups:\n  office:\n    phones: [PJSIP/201, PJSIP/202]\n")
    settings = tmp_path / "server.yaml"
    settings.write_text(
        f"ami_host: 127.0.0.1\nami_port: {port}\nami_secret: s3cret\nbroadcast_file: {groups}\n"
    )
    return settings


def test_broadcast_pages_the_group_and_lists_who_answered(
    peer: tuple[AmiPeer, int], tmp_path: Path
) -> None:
    _, port = peer
    result = CliRunner().invoke(
        main, ["broadcast", "--config", str(_config(tmp_path, port)), "office", "ivr/fire-alarm",
               "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["phones"] == {"PJSIP/201": "no_answer", "PJSIP/202": "answered"}


def test_an_unknown_group_is_refused_before_calling_asterisk(
    peer: tuple[AmiPeer, int], tmp_path: Path
) -> None:
    amipeer, port = peer
    result = CliRunner().invoke(
        main, ["broadcast", "--config", str(_config(tmp_path, port)), "lobby", "ivr/fire-alarm"]
    )
    assert result.exit_code == 1
    assert "no paging group 'lobby'" in result.output and "office" in result.output
    assert amipeer.actions == []


def test_wrong_credentials_are_a_clear_error(peer: tuple[AmiPeer, int], tmp_path: Path) -> None:
    _, port = peer
    settings = _config(tmp_path, port)
    settings.write_text(settings.read_text().replace("s3cret", "wrong"))
    result = CliRunner().invoke(
        main, ["broadcast", "--config", str(settings), "office", "ivr/fire-alarm"]
    )
    assert result.exit_code == 1
    assert "manager interface" in result.output and "ivr" in result.output
