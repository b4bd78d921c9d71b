"""`ivr campaign ...` against a real Redis server, through click's CliRunner."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from fastagi.campaigns import CampaignStore
from fastagi.cli_callers import callers
from fastagi.cli_campaign import campaign
from fastagi.storage import open_async_client

REPO = Path(__file__).resolve().parents[2]
DEMO = "ivr_menus/campaign-demo.csv"


@pytest.fixture(autouse=True)
def prefix(monkeypatch: pytest.MonkeyPatch, redis_server_url: str) -> str:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("REDIS_URL", redis_server_url)
    name = f"t{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("IVR_REDIS_PREFIX", name)
    return name


def ivr(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(campaign, list(args))
    return result.exit_code, result.output


def test_load_reports_the_bad_row_and_the_blacklisted_caller() -> None:
    seeded = CliRunner().invoke(callers, ["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    code, out = ivr("load", DEMO)
    assert code == 1, out
    assert f"{DEMO}:9: skipped: number: not a phone number: '+7 916 12-34'" in out
    assert (
        f"{DEMO}:6: warning: +79161000005 is in segment 'blacklisted' (tag 'blacklist' present):"
        " it will not be called (status dnc)"
    ) in out
    assert "campaign campaign-demo created: added 8, already loaded 0, skipped 1 bad" in out

    code, out = ivr("load", DEMO)
    assert "campaign campaign-demo updated: added 0, already loaded 8" in out
    code, out = ivr("load", DEMO, "--name", "demo-again", "--timezone", "Europe/Berlin")
    assert "campaign demo-again created: added 8" in out


def test_load_refuses_a_bad_name_a_bad_zone_and_a_file_without_numbers(tmp_path: Path) -> None:
    code, out = ivr("load", DEMO, "--name", "Not Valid")
    assert code == 1 and "campaign name 'Not Valid'" in out
    code, out = ivr("load", DEMO, "--timezone", "Mars/Olympus")
    assert code == 2 and "unknown time zone" in out
    bad = tmp_path / "calls.csv"
    bad.write_text("phone\n+79161234567\n")
    code, out = ivr("load", str(bad))
    assert code == 1 and f"{bad}:1: no 'number' column" in out
    assert ivr("list")[1].strip() == "no campaigns"


def test_status_shows_progress_overall_and_by_priority(redis_server_url: str, prefix: str) -> None:
    ivr("load", DEMO)

    async def dial() -> None:
        client = open_async_client(redis_server_url, timeout=5.0)
        try:
            store = CampaignStore(client, prefix)
            now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
            taken = await store.next_due(now, 3, zone=ZoneInfo("Europe/Moscow"))
            assert [e.line for e in taken] == [2, 3, 6]
            first, second, _in_progress = taken
            await store.finish(first.id, "answered", now)
            await store.finish(second.id, "busy", now)
        finally:
            await client.aclose()

    asyncio.run(dial())
    code, out = ivr("status", "campaign-demo")
    assert code == 0, out
    lines = [line.split() for line in out.splitlines()]
    assert lines[0][:3] == ["campaign", "campaign-demo", "(running):"]
    head = out.splitlines()[1]
    assert head.split() == [
        "priority", "total", "done", "pending", "in", "progress", "failed", "expired", "dnc"
    ]  # fmt: skip
    table = {row[0]: row[1:] for row in lines[2:7]}
    assert table["10"] == ["2", "1", "1", "0", "0", "0", "0"]  # answered; busy, retry later
    assert table["5"] == ["2", "0", "2", "0", "0", "0", "0"]  # the two events wait
    assert table["0"] == ["3", "0", "2", "1", "0", "0", "0"]  # one in progress
    assert table["-1"] == ["1", "0", "1", "0", "0", "0", "0"]
    assert table["all"] == ["8", "1", "6", "1", "0", "0", "0"]
    assert "of the pending: 2 wait for their event window, 1 for a retry" in out

    code, out = ivr("status")
    assert code == 0 and out.startswith("campaign campaign-demo (running)")
    code, out = ivr("status", "nonesuch")
    assert code == 1 and "no campaign 'nonesuch'" in out


def test_pause_resume_and_list() -> None:
    ivr("load", DEMO)
    ivr("load", DEMO, "--name", "second")
    code, out = ivr("pause", "campaign-demo")
    assert (code, out.strip()) == (0, "campaign campaign-demo paused")
    code, out = ivr("list")
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["name", "state", "done", "pending", "total", "created", "file"]
    assert [row[:5] for row in rows[1:]] == [
        ["campaign-demo", "paused", "0", "8", "8"],
        ["second", "running", "0", "8", "8"],
    ]
    assert rows[1][6] == DEMO
    code, out = ivr("resume", "campaign-demo")
    assert (code, out.strip()) == (0, "campaign campaign-demo running")
    assert "(running)" in ivr("status", "campaign-demo")[1]
    code, out = ivr("pause", "nonesuch")
    assert code == 1 and "no campaign 'nonesuch'" in out


def test_an_unreachable_redis_is_an_error_message(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    result = CliRunner().invoke(campaign, ["list"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: Redis: ") and "Traceback" not in result.output
