"""`ivr validate` checks the menus' queues, mailboxes, contexts... against asterisk-conf/."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastagi.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("IVR_STATE_DIR", str(tmp_path / "state"))


def _menu(tmp_path: Path, nodes: str) -> Path:
    path = tmp_path / "menus" / "main.yaml"
    path.parent.mkdir()
    body = textwrap.indent(textwrap.dedent(nodes).strip("\n"), "  ")
    path.write_text(f"menu: main\nstart: first\nnodes:\n{body}\n", encoding="utf-8")
    return path


def test_demo_menus_match_the_shipped_asterisk_config() -> None:
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "not defined" not in result.output


def test_a_queue_missing_from_queues_conf_fails_with_file_and_line(tmp_path: Path) -> None:
    menus = _menu(
        tmp_path,
        """
        first:
          type: queue
          queue: suport
          on_timeout: bye
        bye:
          type: hangup
        """,
    )
    result = CliRunner().invoke(main, ["validate", str(menus)])
    assert result.exit_code == 2
    assert f"{menus}:6:12: queue 'suport' is not defined" in result.output
    assert "queue 'suport'" in result.output and "did you mean 'support'" in result.output


def test_every_kind_of_missing_name_is_reported(tmp_path: Path) -> None:
    menus = _menu(
        tmp_path,
        """
        first:
          type: hold
          music_class: jazz
          duration: 10
          next: vm
        vm:
          type: voicemail
          mailbox: "999@default"
          next: out
        out:
          type: transfer
          number: "+74951234567"
          trunk: trunk-other
          next: conf
        conf:
          type: conference
          bridge_profile: huge_bridge
          next: leave
        leave:
          type: return
          result: nowhere
        """,
    )
    result = CliRunner().invoke(main, ["validate", str(menus)])
    assert result.exit_code == 2
    for needle in ("'jazz'", "'999@default'", "'trunk-other'", "'huge_bridge'", "nowhere"):
        assert needle in result.output, needle


def test_dialplan_must_call_the_configured_server(tmp_path: Path) -> None:
    config = tmp_path / "server.yaml"
    config.write_text("port: 4600\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--config", str(config)])
    assert result.exit_code == 2
    assert "asterisk-conf/dialplan/ivr-entry.conf:" in result.output
    assert "points at 127.0.0.1:4573, but the server listens on 127.0.0.1:4600" in result.output
