"""Hot reload while calls keep coming: a broken file changes nothing, a good one takes over."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from fastagi.config import ServerSettings
from fastagi.menus import MenuError
from fastagi.server.app import start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import AsteriskEmulator, CallerScript, CallResult

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.system


def test_reloads_under_load_never_fail_a_call(tmp_path: Path) -> None:
    menus = tmp_path / "menus"
    shutil.copytree(REPO / "ivr_menus", menus, ignore=shutil.ignore_patterns("scenarios"))
    main = menus / "main.yaml"
    good = main.read_text()

    async def scenario() -> tuple[list[tuple[int, CallResult]], str, int, int]:
        server = start_server(ServerSettings(port=0, callers=False, menus_dir=menus))
        host, port = server.address
        emulator = AsteriskEmulator()
        stage = [0]  # 0: original, 1: broken file on disk, 2: good change reloaded
        results: list[tuple[int, CallResult]] = []
        running = True

        async def caller() -> None:
            while running:
                result = await emulator.place_call(
                    host, port, script="main", caller=CallerScript.parse("0")
                )
                results.append((stage[0], result))  # the stage when it ended

        workers = [asyncio.ensure_future(caller()) for _ in range(10)]
        await asyncio.sleep(0.3)
        version = server.registry.version
        settled: list[int] = []  # `ivr serve` settles its heap here
        server.after_reload = lambda: settled.append(server.registry.version)
        main.write_text(good.replace("start: welcome", "start: welcom"))  # a typo
        stage[0] = 1
        try:
            server.reload()
            refused = ""
        except MenuError as exc:
            refused = str(exc)
        kept = server.registry.version
        await asyncio.sleep(0.3)
        main.write_text(good.replace("result: operator", "result: reception"))
        server.reload()
        stage[0] = 2  # calls ending from here may have started on either side
        await asyncio.sleep(0.3)
        running = False
        await asyncio.gather(*workers)
        await server.stop(grace=1.0)
        assert settled == [version + 1]  # after the good reload only
        return results, refused, version, kept

    results, refused, version, kept = run_on_reactor_loop(scenario())
    assert "main.yaml" in refused and "welcom" in refused
    assert kept == version  # the broken file was refused: the running menus stayed
    assert len(results) > 50
    assert {r.variables.get("IVRSTATUS") for _, r in results} == {"SUCCESS"}  # none failed
    # every call that ended before the good reload ran the original menus: the typo
    # never reached a caller
    assert {r.variables["IVR_RESULT"] for stage, r in results if stage < 2} == {"operator"}
    assert any(stage == 1 for stage, _ in results)  # calls went on with the broken file on disk
    # calls placed after the good reload hear the new menus
    assert {r.variables["IVR_RESULT"] for stage, r in results[-10:] if stage == 2} == {"reception"}
