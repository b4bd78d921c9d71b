"""`ivr simulate --callbacks`: the rules rehearsed on a lost call, and no real callback filed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import uuid4

import pytest
from click.testing import CliRunner

from fastagi.cli import main
from fastagi.storage import open_async_client

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.system


def _settings(tmp_path: Path, redis_url: str, connect: str) -> tuple[Path, str]:
    prefix = f"t{uuid4().hex[:8]}:"
    callbacks = tmp_path / "callbacks.yaml"
    callbacks.write_text((REPO / "config" / "callbacks.yaml").read_text().replace(
        "connect: agent_first", f"connect: {connect}"
    ))  # fmt: skip
    path = tmp_path / "server.yaml"
    path.write_text(
        f"redis_url: {redis_url}\nredis_prefix: '{prefix}'\nmenus_dir: {REPO / 'ivr_menus'}\n"
        f"hours_file: {REPO / 'config' / 'hours.yaml'}\ncallbacks_file: {callbacks}\n"
        f"segments_file: {REPO / 'config' / 'segments.yaml'}\nsounds_dir: null\n"
        f"asterisk_dir: {REPO / 'asterisk-conf'}\nprompts_dir: {REPO / 'prompts'}\n"
    )
    return path, prefix


def _keys(redis_url: str, prefix: str) -> list[str]:
    async def scan() -> list[str]:
        client = open_async_client(redis_url, timeout=5.0)
        try:
            found = [key async for key in client.scan_iter(match=f"{prefix}*")]
            return sorted(k.decode() if isinstance(k, bytes) else k for k in found)
        finally:
            await client.aclose()

    return asyncio.run(scan())


@pytest.mark.parametrize("connect", ["agent_first", "client_first"])
def test_a_lost_call_is_rehearsed_and_nothing_real_is_filed(
    tmp_path: Path, redis_server_url: str, connect: str
) -> None:
    config, prefix = _settings(tmp_path, redis_server_url, connect)
    result = CliRunner().invoke(
        main,
        ["simulate", "main", "--config", str(config), "--caller", "+79165550901",
         "--digits", "2,1", "--callbacks", "no_answer,busy,answer", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = json.loads(result.output)["callbacks"]
    attempts = [line.split(": ", 1)[1] for line in lines if " attempt " in line]
    assert attempts == ["no_answer", "busy", "answered"]
    assert lines[-1].endswith("request closed: answered")
    # the scratch keys are gone and the real intake never saw the call
    keys = _keys(redis_server_url, prefix)
    assert not any("simulate-" in key for key in keys)
    assert f"{prefix}callbacks" not in keys


def test_a_bad_outcome_is_refused(tmp_path: Path, redis_server_url: str) -> None:
    config, _ = _settings(tmp_path, redis_server_url, "agent_first")
    result = CliRunner().invoke(
        main, ["simulate", "main", "--config", str(config), "--callbacks", "maybe"]
    )
    assert result.exit_code == 2
    assert "--callbacks" in result.output
