"""The live dashboard over real TCP: a running server, events in a real Redis stream, HTTP.

The events are written by a `StreamSink` as the server writes them
(dashboard_helpers.seed_events: nine calls of today with known outcomes, one
of yesterday); `/api/summary` must answer what `compute_report` makes of
today's events, and the hand-worked figures. Then the page, the menu
pictures, the errors and the headers; and `ivr serve` opening the dashboard
its banner names.
"""

from __future__ import annotations

import asyncio
import base64
import re
import signal
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from dashboard_helpers import (
    EXPECTED,
    EXPECTED_FUNNEL,
    TYPED_NUMBER,
    Reply,
    fetch,
    local_midnight,
    seed_events,
)
from serve_helpers import start_serve
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IListeningPort

from fastagi.analytics.dashboard import Dashboard, listen_dashboard, public_figures
from fastagi.analytics.kpis import compute_report
from fastagi.analytics.stream import read_events
from fastagi.config import ServerSettings
from fastagi.menus import MenuSet, load_menus
from fastagi.server.app import RunningServer, start_server
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.storage import forget_prefix, open_async_client
from fastagi.testing import AsteriskEmulator, CallerScript

REPO = Path(__file__).resolve().parents[2]
CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline';"
    " img-src 'self' data:"
)

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def demo() -> MenuSet:
    return load_menus(REPO / "ivr_menus")


def _serve(dashboard: Dashboard, password: str | None = None) -> tuple[IListeningPort, str]:
    listening = listen_dashboard(dashboard, "127.0.0.1", 0, password=password)
    address = listening.getHost()
    assert isinstance(address, IPv4Address)
    return listening, f"http://127.0.0.1:{address.port}"


async def _stop(listening: IListeningPort) -> None:
    stopped = listening.stopListening()
    if stopped is not None:
        await stopped.asFuture(asyncio.get_running_loop())


async def _wait_for(check: Callable[[], bool], limit: float = 5.0) -> None:
    async with asyncio.timeout(limit):
        while not check():
            await asyncio.sleep(0.01)


def _funnel_rows(today: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (n["menu"], n["node"], n["entered"], n["hung_up"], n["timeouts"], n["invalid"],
         n["digits"], n["longer_entries"])
        for n in today["funnel"]
    ]  # fmt: skip


def _hardened(reply: Reply) -> bool:
    return (
        reply.headers.get("content-security-policy") == CSP
        and reply.headers.get("x-content-type-options") == "nosniff"
    )


def test_summary_is_the_report_of_todays_events_and_the_live_state(
    redis_server_url: str, demo: MenuSet
) -> None:
    prefix = f"t{uuid4().hex[:8]}:"

    async def scenario() -> tuple[list[Reply], Reply, Any, int, RunningServer]:
        redis = open_async_client(redis_server_url, timeout=5.0)
        await seed_events(redis, prefix)
        server = start_server(ServerSettings(port=0), menus=demo)
        # A long cache: every request of this test is served from one read.
        dashboard = Dashboard(
            server.status, lambda: server.registry.current, redis, prefix, cache_seconds=60
        )
        listening, base = _serve(dashboard)
        host, port = server.address
        try:
            slow = asyncio.ensure_future(
                AsteriskEmulator().place_call(
                    host, port, script="main", caller=CallerScript.parse("0"), reply_delay=0.05
                )
            )
            await _wait_for(lambda: server.factory.active_calls == 1)
            during = await asyncio.gather(*(fetch(base + "/api/summary") for _ in range(5)))
            await slow
            after = await fetch(base + "/api/summary")
            stored = await read_events(redis, prefix, local_midnight(), datetime.now().astimezone())
        finally:
            await _stop(listening)
            await server.stop(grace=1.0)
            await forget_prefix(redis, prefix)
            await redis.aclose()
        return during, after, stored, dashboard.reads, server

    during, after, stored, reads, server = run_on_reactor_loop(scenario())

    for reply in [*during, after]:
        assert reply.status == 200
        assert reply.headers["content-type"] == "application/json"
        assert reply.headers["cache-control"] == "no-store"
        assert _hardened(reply)
        assert TYPED_NUMBER.encode() not in reply.body  # what a caller typed is not shown
    assert reads == 1  # six requests, five of them at once: the stream was read once
    summary = during[0].json()
    assert all(reply.json() == summary for reply in during)
    # Today's figures: compute_report over the events read back, the funnel's typed
    # number folded into a count; and the same figures worked out by hand.
    today = summary["today"]
    assert today == public_figures(compute_report(stored.events).as_dict())
    assert {key: today[key] for key in EXPECTED} == EXPECTED
    assert _funnel_rows(today) == EXPECTED_FUNNEL
    assert summary["since"] == local_midnight().isoformat(timespec="seconds")
    assert datetime.fromisoformat(summary["generated_at"]) >= local_midnight()
    # The live state is the server's now (not cached), without its address or outbound.
    menus = {"menus": sorted(demo), "menus_digest": demo.version}
    assert summary["live"] == {
        "active_calls": 1,
        "calls_total": 1,
        "calls_rejected": 0,
        "menus_version": 1,
        "draining": False,
        **menus,
    }
    assert after.json()["live"] == {**summary["live"], "active_calls": 0}
    assert after.json()["today"] == today
    assert server.factory.calls_total == 1


def test_the_page_the_menu_pictures_and_everything_else(demo: MenuSet) -> None:
    async def scenario() -> dict[tuple[str, str], Reply]:
        dashboard = Dashboard(lambda: {"active_calls": 0}, lambda: demo, redis=None)
        listening, base = _serve(dashboard)
        asked = [
            ("GET", "/"),
            ("HEAD", "/"),
            ("GET", "/graph/main.svg"),
            ("HEAD", "/graph/vip.svg"),
            ("GET", "/graph/nope.svg"),
            ("GET", "/graph/MAIN.svg"),
            ("GET", "/graph/main"),
            ("GET", "/graph/main.svg/x"),
            ("GET", "/graph/../x"),
            ("GET", "/graph/..%2Fmain.svg"),
            ("GET", "/graph/%2E%2E/main.svg"),
            ("GET", "/graph/"),
            ("GET", "/graph"),
            ("GET", "/api"),
            ("GET", "/api/summary/x"),
            ("GET", "/index.html"),
            ("GET", "//"),
            ("POST", "/"),
            ("POST", "/api/summary"),
            ("PUT", "/graph/main.svg"),
            ("DELETE", "/"),
            ("POST", "/nope"),
        ]
        try:
            replies = await asyncio.gather(*(fetch(base + path, method) for method, path in asked))
        finally:
            await _stop(listening)
        return dict(zip(asked, replies, strict=True))

    replies = run_on_reactor_loop(scenario())

    assert {key: r.status for key, r in replies.items()} == {
        ("GET", "/"): 200,
        ("HEAD", "/"): 200,
        ("GET", "/graph/main.svg"): 200,
        ("HEAD", "/graph/vip.svg"): 200,
        **{
            ("GET", path): 404
            for path in [
                "/graph/nope.svg",
                "/graph/MAIN.svg",
                "/graph/main",
                "/graph/main.svg/x",
                "/graph/../x",
                "/graph/..%2Fmain.svg",
                "/graph/%2E%2E/main.svg",
                "/graph/",
                "/graph",
                "/api",
                "/api/summary/x",
                "/index.html",
                "//",
            ]
        },
        ("POST", "/"): 405,
        ("POST", "/api/summary"): 405,
        ("PUT", "/graph/main.svg"): 405,
        ("DELETE", "/"): 405,
        ("POST", "/nope"): 404,
    }
    assert all(_hardened(reply) for reply in replies.values())
    assert replies[("POST", "/")].headers["allow"] == "GET, HEAD"

    page = replies[("GET", "/")]
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert replies[("HEAD", "/")].body == b""
    assert replies[("HEAD", "/")].headers["content-length"] == page.headers["content-length"]
    text = page.body.decode()
    # Nothing from elsewhere: no absolute or protocol-relative URL anywhere.
    assert "http://" not in text and "https://" not in text
    references = re.findall(r"""\b(?:src|href|action)\s*=\s*["']?([^"'\s>]*)""", text)
    assert references, "the page references its own graph"
    assert all(
        not ref.startswith("//") and ":" not in ref.replace("data:,", "") for ref in references
    )
    assert not re.search(r"@import|url\(", text)
    # Data goes in as text: the script never sets innerHTML or writes markup.
    assert "innerHTML" not in text and "document.write" not in text and "outerHTML" not in text
    # Every menu in the selector, main chosen; its picture below.
    assert re.findall(r'<option value="([^"]+)"', text) == sorted(demo)
    assert '<option value="main" selected>' in text
    assert 'src="graph/main.svg"' in text

    svg = replies[("GET", "/graph/main.svg")]
    assert svg.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert svg.body.lstrip().startswith(b"<svg") and svg.body.rstrip().endswith(b"</svg>")
    assert b"welcome" in svg.body
    assert replies[("GET", "/graph/nope.svg")].body == b"not found\n"


def test_an_unreadable_stream_is_a_503_with_the_live_state(demo: MenuSet) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{sock.getsockname()[1]}"

    async def scenario() -> tuple[Reply, Reply, int]:
        redis = open_async_client(dead, timeout=0.5)
        status = {"active_calls": 2, "calls_total": 7, "listen": "10.0.0.1:4573"}
        dashboard = Dashboard(lambda: status, lambda: demo, redis, "x:", cache_seconds=60)
        listening, base = _serve(dashboard)
        try:
            first = await fetch(base + "/api/summary")
            second = await fetch(base + "/api/summary")  # the failure is cached too
        finally:
            await _stop(listening)
            await redis.aclose()
        return first, second, dashboard.reads

    first, second, reads = run_on_reactor_loop(scenario())

    assert (first.status, first.headers["content-type"]) == (503, "application/json")
    assert first.headers["cache-control"] == "no-store" and _hardened(first)
    assert first.json() == {
        "error": "the event stream cannot be read (ConnectionError)",
        "live": {
            "active_calls": 2,
            "calls_total": 7,
            "menus": sorted(demo),
            "menus_digest": demo.version,
        },
    }
    assert second.json() == first.json()
    assert reads == 1


def test_today_starts_at_midnight_in_the_clocks_zone(demo: MenuSet) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    moment = datetime(2026, 3, 29, 10, 0, tzinfo=berlin)  # summer time began at 02:00
    dashboard = Dashboard(lambda: {}, lambda: demo, None, clock=lambda: moment)
    midnight = dashboard.midnight(dashboard.now())
    assert midnight == datetime(2026, 3, 29, 0, 0, tzinfo=berlin)
    assert midnight.utcoffset() == timedelta(hours=1)  # winter time at midnight
    system = Dashboard(lambda: {}, lambda: demo, None)
    assert system.midnight(system.now()) == local_midnight()


def test_public_figures_fold_entries_longer_than_a_key() -> None:
    figures = {
        "contacts": 1,
        "funnel": [{"menu": "m", "node": "n", "digits": {"1": 2, "#": 1, "205": 1, "8916": 3}}],
    }
    assert public_figures(figures) == {
        "contacts": 1,
        "funnel": [{"menu": "m", "node": "n", "digits": {"1": 2, "#": 1}, "longer_entries": 4}],
    }


PASSWORD = "correct horse battery staple"


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_a_dashboard_with_a_password_shows_nothing_without_it(demo: MenuSet) -> None:
    paths = ("/", "/api/summary", "/graph/main.svg", "/nope")
    refused_headers = [
        {},
        _basic("admin", "wrong password, long enough"),
        _basic("admin", PASSWORD[:-1]),
        {"Authorization": f"Bearer {PASSWORD}"},
        {"Authorization": "Basic !!!not base64!!!"},
    ]

    async def scenario() -> tuple[list[Reply], list[Reply]]:
        status = {"active_calls": 1, "calls_total": 3}
        dashboard = Dashboard(lambda: status, lambda: demo, None, "x:", cache_seconds=60)
        listening, base = _serve(dashboard, password=PASSWORD)
        try:
            refused = [
                await fetch(base + path, headers=headers)
                for path in paths
                for headers in refused_headers
            ]
            allowed = [
                await fetch(base + path, headers=_basic(user, PASSWORD))
                for path, user in (("/", "admin"), ("/graph/main.svg", ""))
            ]
        finally:
            await _stop(listening)
        return refused, allowed

    refused, allowed = run_on_reactor_loop(scenario())

    for reply in refused:
        assert reply.status == 401
        assert reply.headers["www-authenticate"].startswith('Basic realm="IVR dashboard"')
        assert reply.body == b"the dashboard password is required\n"
    assert [reply.status for reply in allowed] == [200, 200]
    assert b"<title>IVR dashboard</title>" in allowed[0].body


def test_a_short_dashboard_password_is_refused(demo: MenuSet) -> None:
    dashboard = Dashboard(lambda: {}, lambda: demo, None, "x:")
    with pytest.raises(ValueError, match="at least 16 characters"):
        listen_dashboard(dashboard, "127.0.0.1", 0, password="short")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ivr_serve_opens_the_dashboard_named_in_its_banner(
    redis_server_url: str, tmp_path: Path
) -> None:
    port, dashboard_port = _free_port(), _free_port()
    prefix = f"t{uuid4().hex[:8]}:"
    config = tmp_path / "server.yaml"
    config.write_text(
        f"port: {port}\n"
        f"state_dir: {tmp_path / 'state'}\n"
        f"redis_url: {redis_server_url}\n"
        f'redis_prefix: "{prefix}"\n'
        "sounds_dir: null\n"
    )
    process, banner = start_serve(config, {"IVR_DASHBOARD_LISTEN": f"127.0.0.1:{dashboard_port}"})
    try:
        base = f"http://127.0.0.1:{dashboard_port}"
        assert f"Dashboard: {base}/\n" in banner, banner
        call = asyncio.run(
            AsteriskEmulator().place_call(
                "127.0.0.1", port, callerid="+79165550106", caller=CallerScript.parse("0")
            )
        )
        assert call.variables["IVRSTATUS"] == "SUCCESS"

        async def read() -> tuple[Reply, Reply]:
            # The server writes the call's events in the background: ask until they are in.
            async with asyncio.timeout(10):
                while True:
                    summary = await fetch(base + "/api/summary")
                    if summary.status == 200 and summary.json()["today"]["contacts"] == 1:
                        return await fetch(base + "/"), summary
                    await asyncio.sleep(0.5)

        page, summary = asyncio.run(read())
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)

        async def forget() -> None:
            redis = open_async_client(redis_server_url)
            await forget_prefix(redis, prefix)
            await redis.aclose()

        asyncio.run(forget())
    assert page.status == 200 and b"<title>IVR dashboard</title>" in page.body
    live = summary.json()["live"]
    assert (live["calls_total"], live["active_calls"], live["menus_version"]) == (1, 0, 1)
    assert "+79165550106" not in summary.body.decode()
