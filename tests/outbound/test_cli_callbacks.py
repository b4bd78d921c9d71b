"""`ivr callbacks list|retry|cancel` against a real Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from click.testing import CliRunner

from fastagi.callbacks import CallbackRules, CallbackStore
from fastagi.callbacks.lost import CallFacts
from fastagi.cli import main
from fastagi.hours.loader import load_hours
from fastagi.storage import forget_prefix, open_async_client

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.system


@pytest.fixture
def config(tmp_path: Path, redis_server_url: str) -> Iterator[Path]:
    prefix = f"t{uuid4().hex[:8]}:"
    path = tmp_path / "server.yaml"
    path.write_text(
        f"redis_url: {redis_server_url}\nredis_prefix: '{prefix}'\n"
        f"hours_file: {REPO / 'config' / 'hours.yaml'}\n"
        f"callbacks_file: {REPO / 'config' / 'callbacks.yaml'}\n"
    )

    async def file_lost_calls() -> None:
        client = open_async_client(redis_server_url, timeout=5.0)
        store = CallbackStore.for_rules(
            client, CallbackRules(), load_hours(REPO / "config" / "hours.yaml"), prefix=prefix
        )
        at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
        for number in ("+79165550501", "+79165550502"):
            facts = CallFacts(number, "caller_hangup", at, queue_outcome="abandoned")
            await store.add_lost_call(facts)
        await client.aclose()

    asyncio.run(file_lost_calls())
    yield path

    async def clean() -> None:
        client = open_async_client(redis_server_url, timeout=5.0)
        await forget_prefix(client, prefix)
        await client.aclose()

    asyncio.run(clean())


def _list(config: Path) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["callbacks", "list", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_list_shows_the_lost_calls_waiting_to_be_called_back(config: Path) -> None:
    rows = _list(config)
    assert sorted(row["number"] for row in rows) == ["+79165550501", "+79165550502"]
    assert {row["status"] for row in rows} == {"open"}
    assert all(row["reasons"] == ["queue_abandon"] for row in rows)
    table = CliRunner().invoke(main, ["callbacks", "list", "--config", str(config)])
    assert "+79165550501" in table.output and "2 request(s)" in table.output


def test_cancel_closes_and_retry_reopens(config: Path) -> None:
    first = next(r for r in _list(config) if r["number"] == "+79165550501")
    request_id = str(first["id"])
    cancelled = CliRunner().invoke(
        main, ["callbacks", "cancel", "--config", str(config), request_id]
    )
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    again = CliRunner().invoke(main, ["callbacks", "cancel", "--config", str(config), request_id])
    assert "closed already" in again.output
    row = next(r for r in _list(config) if r["id"] == first["id"])
    assert (row["status"], row["closed"]) == ("closed", "cancelled")

    retried = CliRunner().invoke(main, ["callbacks", "retry", "--config", str(config), request_id])
    assert retried.exit_code == 0 and "open again" in retried.output
    row = next(r for r in _list(config) if r["id"] == first["id"])
    assert row["status"] == "open"


def test_an_unknown_request_is_a_clear_error(config: Path) -> None:
    result = CliRunner().invoke(main, ["callbacks", "retry", "--config", str(config), "99999"])
    assert result.exit_code == 1
    assert "99999" in result.output
