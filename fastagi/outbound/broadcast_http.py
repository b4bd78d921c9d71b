"""The HTTP trigger of emergency broadcasts, for alarm systems.

    POST /broadcast
    Authorization: Bearer <token>
    Content-Type: application/json

    {"group": "office", "alert": "ivr/fire-alarm"}

answers 200 with the report (`BroadcastReport.as_dict`) once the page has
ended, 400 for a bad body or an unknown group, 401 without the right token
(compared in constant time), 405 for other methods, 404 elsewhere. The token
comes from an environment variable, never from a file in the repository;
without one (or with one under 16 characters) the endpoint is not started.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Final, Protocol, cast

from twisted.internet.interfaces import IListeningPort, IReactorTCP
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from fastagi.outbound.broadcast import BroadcastReport
from fastagi.web import MIN_SECRET_LENGTH, SharedSecret, WebRequest

__all__ = ["MIN_TOKEN_LENGTH", "BroadcastResource", "listen_broadcast_http"]

log = logging.getLogger("fastagi.outbound")

MIN_TOKEN_LENGTH: Final = MIN_SECRET_LENGTH
MAX_BODY: Final = 4096


class Broadcasts(Protocol):
    async def broadcast(self, group: str, alert: str) -> BroadcastReport: ...


class BroadcastResource(Resource):
    """`/broadcast`: one page per authorised POST."""

    isLeaf = True

    def __init__(self, broadcaster: Broadcasts, token: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._token = SharedSecret(token, "the broadcast token")
        self._broadcaster = broadcaster
        self._running: set[asyncio.Future[None]] = set()

    def render(self, twisted_request: IRequest) -> bytes | int:
        request = cast(WebRequest, twisted_request)
        if request.path != b"/broadcast":
            return _json(request, 404, {"error": "not found"})
        if request.method != b"POST":
            request.setHeader(b"allow", b"POST")
            return _json(request, 405, {"error": "POST only"})
        if not self._token.presented_by(request, "bearer"):
            request.setHeader(b"www-authenticate", b'Bearer realm="ivr-broadcast"')
            return _json(request, 401, {"error": "a valid bearer token is required"})
        body = _body(request)
        if isinstance(body, str):
            return _json(request, 400, {"error": body})
        group, alert = body
        task = asyncio.ensure_future(self._page(request, group, alert))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return NOT_DONE_YET

    async def _page(self, request: WebRequest, group: str, alert: str) -> None:
        try:
            report = await self._broadcaster.broadcast(group, alert)
        except (KeyError, ValueError) as exc:
            _finish(request, 400, {"error": str(exc).strip("'\"")})
            return
        except Exception as exc:  # the alarm system must get an answer, whatever broke
            log.exception("broadcast to %s failed", group)
            _finish(request, 500, {"error": f"{type(exc).__name__}: {exc}"})
            return
        log.warning(
            "broadcast %s to %s: %d of %d phones answered", alert, group,
            len(report.answered), len(report.phones),
        )  # fmt: skip
        _finish(request, 200, report.as_dict())


def _body(request: WebRequest) -> tuple[str, str] | str:
    """(group, alert) from the JSON body, or what is wrong with it."""
    content = request.content
    raw = content.read(MAX_BODY + 1) if content is not None else b""
    if len(raw) > MAX_BODY:
        return f"the body is over {MAX_BODY} bytes"
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return 'the body must be JSON: {"group": "...", "alert": "..."}'
    if not isinstance(data, dict):
        return 'the body must be a JSON object: {"group": "...", "alert": "..."}'
    group, alert = data.get("group"), data.get("alert")
    if not isinstance(group, str) or not isinstance(alert, str):
        return "group and alert must both be strings"
    return group, alert


def _json(request: WebRequest, status: int, payload: dict[str, object]) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return json.dumps(payload).encode("utf-8")


def _finish(request: WebRequest, status: int, payload: dict[str, object]) -> None:
    if request.finished or getattr(request, "_disconnected", False):
        return  # the client gave up; the page happened anyway and is logged
    request.write(_json(request, status, payload))
    request.finish()


def listen_broadcast_http(
    broadcaster: Broadcasts, token: str, host: str, port: int, reactor: IReactorTCP | None = None
) -> IListeningPort:
    """Serve the trigger on host:port (port 0: any free one)."""
    if reactor is None:
        from twisted.internet import reactor as installed

        reactor = cast(IReactorTCP, installed)
    site = Site(BroadcastResource(broadcaster, token))  # type: ignore[no-untyped-call]
    site.displayTracebacks = False
    return reactor.listenTCP(port, site, interface=host)  # type: ignore[arg-type]
