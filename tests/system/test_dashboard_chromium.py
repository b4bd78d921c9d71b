"""The dashboard in a real browser: headless Chromium loads the page, its script fills it.

The server runs with seeded events in a real Redis stream
(dashboard_helpers.seed_events); Chromium renders the page with a virtual
time budget, so the script's first poll of /api/summary has filled the page
before the DOM is dumped. The figures must be in the DOM as the page writes
them, the typed number nowhere; a screenshot goes to the test artefacts
(`IVR_TEST_ARTEFACTS`, else the test's tmp_path) for a person to look at.
Chromium: Debian's `chromium` package (.ci/run installs it).
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import socket
import struct
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from dashboard_helpers import (
    EXPECTED,
    EXPECTED_FUNNEL,
    TYPED_NUMBER,
    fetch,
    seconds_text,
    seed_events,
    share_text,
)
from twisted.internet.address import IPv4Address

from fastagi.analytics.dashboard import Dashboard, listen_dashboard
from fastagi.config import ServerSettings
from fastagi.menus import MenuSet, load_menus
from fastagi.server.app import start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import forget_prefix, open_async_client
from fastagi.testing import AsteriskEmulator, CallerScript

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install chromium)"
    ),
]


async def _chromium(profile: Path, url: str, *options: str) -> str:
    """Run headless Chromium on `url` (the server answers on this loop); its stdout."""
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=8000",
        *options,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(90):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


def _text_of(dom: str, element_id: str) -> str:
    """The text of the element with this id (the page's values are plain text)."""
    found = re.search(rf'id="{re.escape(element_id)}"[^>]*>([^<]*)<', dom)
    assert found is not None, f"no element #{element_id} in the page"
    return html.unescape(found.group(1)).strip()


def _funnel(dom: str) -> list[list[str]]:
    """The funnel's rows, each cell's text; the keys as "key×count" items joined by spaces."""
    body = re.search(r'<tbody id="funnel-rows">(.*?)</tbody>', dom, re.S)
    assert body is not None
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        keys = re.findall(r'<span class="(?:key|longer)"[^>]*>(.*?)</span>', cells[-1], re.S)
        cells[-1] = " ".join(keys)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells])
    return rows


def _busiest(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def _artefacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("IVR_TEST_ARTEFACTS") or tmp_path / "artefacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_chromium_renders_todays_figures_the_funnel_and_the_menu(
    redis_server_url: str, tmp_path: Path
) -> None:
    demo: MenuSet = load_menus(REPO / "ivr_menus")
    prefix = f"t{uuid4().hex[:8]}:"
    screenshot = _artefacts(tmp_path) / "dashboard.png"
    screenshot.unlink(missing_ok=True)

    async def scenario() -> tuple[str, dict[str, Any]]:
        redis = open_async_client(redis_server_url, timeout=5.0)
        await seed_events(redis, prefix)
        server = start_server(ServerSettings(port=0), menus=demo)
        dashboard = Dashboard(server.status, lambda: server.registry.current, redis, prefix)
        listening = listen_dashboard(dashboard, "127.0.0.1", 0)
        address = listening.getHost()
        assert isinstance(address, IPv4Address)
        base = f"http://127.0.0.1:{address.port}/"
        try:
            host, port = server.address
            await AsteriskEmulator().place_call(
                host, port, script="main", caller=CallerScript.parse("0")
            )
            dom = await _chromium(tmp_path / "profile", base, "--dump-dom")
            await _chromium(
                tmp_path / "profile",
                base,
                f"--screenshot={screenshot}",
                "--window-size=1280,1600",
            )
            summary = (await fetch(base + "api/summary")).json()
        finally:
            stopped = listening.stopListening()
            if stopped is not None:
                await stopped.asFuture(asyncio.get_running_loop())
            await server.stop(grace=1.0)
            await forget_prefix(redis, prefix)
            await redis.aclose()
        return dom, summary

    dom, summary = run_on_reactor_loop(scenario())
    today = summary["today"]
    print(f"dashboard screenshot: {screenshot}")

    # The script ran and filled the page from /api/summary.
    assert re.search(r'<body[^>]*data-state="ready"', dom), dom[:3000]
    assert 'id="unavailable" hidden' in dom
    assert {
        "l-active_calls": _text_of(dom, "l-active_calls"),
        "l-calls_today": _text_of(dom, "l-calls_today"),
        "l-calls_total": _text_of(dom, "l-calls_total"),
        "l-calls_rejected": _text_of(dom, "l-calls_rejected"),
        "l-menus_version": _text_of(dom, "l-menus_version"),
    } == {
        "l-active_calls": "0",
        "l-calls_today": str(EXPECTED["contacts"]),
        "l-calls_total": "1",
        "l-calls_rejected": "0",
        "l-menus_version": "1",
    }
    assert today["contacts"] == EXPECTED["contacts"]
    shown = {
        "k-contacts": str(today["contacts"]),
        "k-answered": str(today["answered"]),
        "k-answered_share": share_text(round(today["answered"] / today["contacts"], 4)),
        "k-lost": str(today["lost"]),
        "k-lost_share": share_text(today["lost_share"]),
        "k-lost_ivr": str(today["lost_ivr"]),
        "k-lost_queue": str(today["lost_queue"]),
        "k-lost_after_hours": str(today["lost_after_hours"]),
        "k-self_service_rate": share_text(today["self_service_rate"]),
        "k-self_service": str(today["self_service"]),
        "k-handed_off": str(today["handed_off"]),
        "k-wait_avg": seconds_text(today["wait_avg_s"]),
        "k-wait_p90": seconds_text(today["wait_p90_s"]),
        "k-sl_20": share_text(today["service_level"]["20s"]),
        "k-sl_120": share_text(today["service_level"]["120s"]),
        "k-aht": seconds_text(today["aht_s"]),
        "k-cb_requested": str(today["callbacks"]["requested"]),
        "k-cb_attempts": str(today["callbacks"]["attempts"]),
        "k-cb_answered": str(today["callbacks"]["answered"]),
    }
    assert {element: _text_of(dom, element) for element in shown} == shown
    # The figures by hand, as written on the page.
    assert (shown["k-answered_share"], shown["k-lost_share"]) == ("33.3 %", "44.4 %")
    assert (shown["k-wait_avg"], shown["k-wait_p90"], shown["k-aht"]) == (
        "44.0 s",
        "2:10 min",
        "2:10 min",
    )
    assert (shown["k-sl_20"], shown["k-sl_120"]) == ("40.0 %", "60.0 %")
    # The funnel, busiest node first: where, entered, bar, hung up, timeouts, invalid, keys.
    assert _funnel(dom) == [
        [f"{menu} / {node}", str(entered), "", str(hung_up), str(timeouts), str(invalid),
         " ".join([*(f"{key}\u00d7{n}" for key, n in sorted(keys.items(), key=_busiest)),
                   *([f"{longer} longer entry"] if longer else [])])]
        for menu, node, entered, hung_up, timeouts, invalid, keys, longer in EXPECTED_FUNNEL
    ]  # fmt: skip
    assert _funnel(dom)[0][-1] == "2\u00d75 0\u00d71 3\u00d71"  # main/welcome: most pressed first
    assert 'style="width: 100%;"' in dom  # the busiest node's bar
    assert TYPED_NUMBER not in dom
    # The menu picture of main, from this server.
    assert re.search(r'<img id="graph"[^>]*src="graph/main\.svg', dom)
    assert '<option value="main" selected="">main</option>' in dom

    # A real picture: a PNG of the window's size, not a blank page.
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1280, 1600)
    assert len(png) > 50_000, len(png)


def test_chromium_shows_data_unavailable_when_the_stream_cannot_be_read(
    tmp_path: Path,
) -> None:
    demo = load_menus(REPO / "ivr_menus")
    screenshot = _artefacts(tmp_path) / "dashboard-unavailable.png"
    screenshot.unlink(missing_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{sock.getsockname()[1]}"

    async def scenario() -> str:
        redis = open_async_client(dead, timeout=0.5)
        status = {"active_calls": 3, "calls_total": 12, "calls_rejected": 0, "menus_version": 2}
        dashboard = Dashboard(lambda: status, lambda: demo, redis, "x:")
        listening = listen_dashboard(dashboard, "127.0.0.1", 0)
        address = listening.getHost()
        assert isinstance(address, IPv4Address)
        url = f"http://127.0.0.1:{address.port}/"
        try:
            dom = await _chromium(tmp_path / "profile", url, "--dump-dom")
            await _chromium(
                tmp_path / "profile", url, f"--screenshot={screenshot}", "--window-size=1280,900"
            )
            return dom
        finally:
            stopped = listening.stopListening()
            if stopped is not None:
                await stopped.asFuture(asyncio.get_running_loop())
            await redis.aclose()

    dom = run_on_reactor_loop(scenario())
    print(f"dashboard screenshot: {screenshot}")

    assert re.search(r'<body[^>]*data-state="unavailable"', dom), dom[:3000]
    assert _text_of(dom, "unavailable").startswith(
        "Data unavailable: the event stream cannot be read (ConnectionError)."
    )
    assert _text_of(dom, "status") == "data unavailable"
    assert 'id="kpis" class="stale"' in dom
    # The live state still shows; the figures were never known.
    assert (_text_of(dom, "l-active_calls"), _text_of(dom, "l-calls_total")) == ("3", "12")
    assert _text_of(dom, "k-contacts") == "\u2013"
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
