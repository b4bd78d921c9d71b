"""The alarm system's HTTP trigger over real TCP, paging through the AMI peer."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.defer import maybeDeferred

from fastagi.ami import AmiClient
from fastagi.outbound.broadcast import Broadcaster, parse_broadcast_config
from fastagi.outbound.broadcast_http import BroadcastResource, listen_broadcast_http
from fastagi.server.reactor import run_on_reactor_loop
from fastagi.testing import AmiPeer

pytestmark = pytest.mark.system

TOKEN = "a-long-enough-secret-token"
CONFIG = parse_broadcast_config(
    "ring_timeout: 20\nduration: 30\ngroups:\n  office:\n    phones: [PJSIP/201, PJSIP/202]\n"
)


def _post(url: str, body: bytes, token: str | None, method: str = "POST") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body if method == "POST" else None, method=method)
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _exchange(requests: list[tuple[str, bytes, str | None, str]]) -> tuple[list, AmiPeer]:
    async def main() -> tuple[list, AmiPeer]:
        peer = AmiPeer(time_scale=0.01)
        peer.page_extensions["office"] = "PJSIP/201&PJSIP/202,inq,20"
        peer.script("office", "answer", talk=30.0)
        peer.script("201", "answer", ring=1.0)
        host, port = await peer.start()
        client = AmiClient(host, port, "ivr", "s3cret", ping_interval=0)
        await client.start(timeout=5)
        listening = listen_broadcast_http(Broadcaster(client, CONFIG), TOKEN, "127.0.0.1", 0)
        address = listening.getHost()
        assert isinstance(address, IPv4Address)
        base = f"http://127.0.0.1:{address.port}"
        try:
            answers = [
                await asyncio.to_thread(_post, base + path, body, token, method)
                for path, body, token, method in requests
            ]
        finally:
            await maybeDeferred(listening.stopListening).asFuture(asyncio.get_running_loop())
            await client.close()
            await peer.stop()
        return answers, peer

    return run_on_reactor_loop(main())


GOOD = json.dumps({"group": "office", "alert": "ivr/fire-alarm"}).encode()


def test_an_authorised_post_pages_the_group_and_answers_who_took_it() -> None:
    [(status, report)], peer = _exchange([("/broadcast", GOOD, TOKEN, "POST")])
    assert status == 200
    assert report["phones"] == {"PJSIP/201": "answered", "PJSIP/202": "no_answer"}
    assert report["answered"] == ["PJSIP/201"]
    assert len(peer.actions_named("Originate")) == 1


def test_nothing_rings_without_the_right_token_or_with_a_bad_body() -> None:
    answers, peer = _exchange(
        [
            ("/broadcast", GOOD, None, "POST"),
            ("/broadcast", GOOD, "wrong-token-of-some-length", "POST"),
            ("/broadcast", b"not json", TOKEN, "POST"),
            ("/broadcast", json.dumps({"group": "lobby", "alert": "x"}).encode(), TOKEN, "POST"),
            (
                "/broadcast",
                json.dumps({"group": "office", "alert": "../x"}).encode(),
                TOKEN,
                "POST",
            ),
            ("/broadcast", b"", TOKEN, "GET"),
            ("/other", GOOD, TOKEN, "POST"),
        ]
    )
    assert [status for status, _ in answers] == [401, 401, 400, 400, 400, 405, 404]
    assert "no paging group 'lobby'" in answers[3][1]["error"]
    assert peer.actions_named("Originate") == []


def test_a_short_token_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        BroadcastResource(Broadcaster(None, CONFIG), "short")  # type: ignore[arg-type]
