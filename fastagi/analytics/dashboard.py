"""The live dashboard: one page with the centre's state, today's KPIs, the IVR funnel and
the menus as pictures, served by the server itself with twisted.web.

    dashboard = Dashboard(server.status, lambda: server.registry.current, redis, "ivr:")
    port = listen_dashboard(dashboard, "127.0.0.1", 8080)

What is served (docs/dashboard.md):

    GET /                    the page: one HTML document, its CSS and JS inline
    GET /api/summary         {"live": ..., "today": ..., "since": ..., "generated_at": ...}
    GET /graph/<menu>.svg    the menu drawn by fastagi.menus.drawing

Anything else is a 404, any method but GET and HEAD a 405. With a password
(`dashboard_password`) every request needs it by HTTP Basic authentication
(any user name; compared in constant time), else 401. The page loads
nothing from elsewhere (it works with no internet) and its script puts data
into the page as text only.

`today` is `compute_report(...).as_dict()` of the events from local midnight
to now, with one change: the funnel shows single keys only; longer entries
(an extension dialled directly, digits typed at a transfer) are counted, not
shown, so nothing a caller typed reaches the page. It is computed once for
every viewer at most every 2 s (longer when a busy day takes longer to
compute): the stream is read on the event loop, its entries decoded and
counted in a worker thread, so the calls in progress do not wait for it.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, cast

from twisted.internet.interfaces import IListeningPort, IReactorTCP
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from fastagi.analytics.kpis import compute_report
from fastagi.analytics.stream import decode_entries, read_entries
from fastagi.menus.drawing import menu_svg
from fastagi.menus.model import MenuSet
from fastagi.web import MIN_SECRET_LENGTH, SharedSecret, WebRequest

__all__ = [
    "CACHE_SECONDS",
    "CONTENT_SECURITY_POLICY",
    "LIVE_KEYS",
    "MIN_PASSWORD_LENGTH",
    "Dashboard",
    "DashboardUnavailable",
    "dashboard_resource",
    "listen_dashboard",
    "public_figures",
]

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY: Final = (
    b"default-src 'self'; style-src 'self' 'unsafe-inline';"
    b" script-src 'self' 'unsafe-inline'; img-src 'self' data:"
)
#: Today's figures are computed at most this often, whoever asks.
CACHE_SECONDS: Final = 2.0
#: After a computation that took t seconds the next waits at least 4 t (at most a
#: fifth of a CPU for a day too big to count in half a second).
_BACKOFF: Final = 4.0
#: Reading the day's stream entries must end within this many seconds.
READ_BUDGET: Final = 10.0
#: What of the server's status the page shows (not the listening address,
#: nor the outbound section with its AMI account and errors).
LIVE_KEYS: Final = ("active_calls", "calls_total", "calls_rejected", "menus_version", "draining")
#: A menu's picture: /graph/<menu>.svg, the name as fastagi.menus.target allows it.
_GRAPH_FILE: Final = re.compile(r"([a-z0-9_-]{1,64})\.svg")
_METHODS: Final = (b"GET", b"HEAD")
_TEXT: Final = b"text/plain; charset=utf-8"
_JSON: Final = b"application/json"


class DashboardUnavailable(Exception):
    """Today's figures cannot be read now; the message says why, for the page."""


def public_figures(figures: Mapping[str, Any]) -> dict[str, Any]:
    """`Report.as_dict()` as the dashboard shows it: in the funnel, each node's
    `digits` keeps the single keys pressed; longer entries are only counted,
    in `longer_entries`, so no number a caller typed is shown."""
    funnel = []
    for node in figures.get("funnel", ()):
        digits = node.get("digits", {})
        funnel.append(
            {
                **node,
                "digits": {key: n for key, n in digits.items() if len(key) == 1},
                "longer_entries": sum(n for key, n in digits.items() if len(key) != 1),
            }
        )
    return {**figures, "funnel": funnel}


def _figures(entries: list[tuple[Any, Any]]) -> dict[str, Any]:
    """Decode and count (in a worker thread): the public figures of these stream entries."""
    found = decode_entries(entries)
    report = compute_report(found.events, skipped_events=found.skipped)
    return public_figures(report.as_dict())


class Dashboard:
    """What the dashboard shows, from the running server and the event stream.

    `server_status` is `RunningServer.status`; `menus` returns the MenuSet calls
    use now (`registry.current`); `redis` a redis.asyncio client of the
    dashboard's own; `clock` (tests) returns the time now, with its zone: "today"
    starts at midnight in that zone. Without it the server's local time is used.
    """

    def __init__(
        self,
        server_status: Callable[[], Mapping[str, Any]],
        menus: Callable[[], MenuSet],
        redis: Any,
        prefix: str = "ivr:",
        *,
        clock: Callable[[], datetime] | None = None,
        cache_seconds: float = CACHE_SECONDS,
        read_budget: float = READ_BUDGET,
    ) -> None:
        self._server_status = server_status
        self._menus = menus
        self.redis = redis
        self.prefix = prefix
        self._clock = clock
        self.cache_seconds = cache_seconds
        self.read_budget = read_budget
        #: Today's figures (a dict), or why they could not be read (a str).
        self._cached: dict[str, Any] | str | None = None
        self._fresh_until = 0.0
        self._refreshing: asyncio.Future[None] | None = None
        self._drawings: dict[tuple[str, str], bytes] = {}
        #: How many times the stream was read (tests: the cache works).
        self.reads = 0

    # -- the figures ----------------------------------------------------------------

    def now(self) -> datetime:
        if self._clock is None:
            return datetime.now().astimezone()
        now = self._clock()
        return now if now.tzinfo is not None else now.astimezone()

    def midnight(self, now: datetime) -> datetime:
        """The start of `now`'s day in its zone (the server's local zone by default)."""
        day = datetime.combine(now.date(), datetime.min.time())
        if self._clock is None:
            return day.astimezone()  # the system's zone, its DST offset of that midnight
        return day.replace(tzinfo=now.tzinfo)

    def live(self) -> dict[str, Any]:
        """The server's state now (never cached): calls, menus."""
        status = self._server_status()
        live = {key: status[key] for key in LIVE_KEYS if key in status}
        menus = self._menus()
        live["menus"] = sorted(menus)
        live["menus_digest"] = menus.version
        return live

    async def today(self) -> dict[str, Any]:
        """{"today": figures, "since": midnight, "generated_at": when}, at most
        `cache_seconds` old; DashboardUnavailable when the stream cannot be read."""
        if self._cached is None or time.monotonic() >= self._fresh_until:
            if self._refreshing is None:
                self._refreshing = asyncio.ensure_future(self._refresh())
            await asyncio.shield(self._refreshing)
        cached = self._cached
        if not isinstance(cached, dict):
            raise DashboardUnavailable(cached or "not read yet")
        return cached

    async def _refresh(self) -> None:
        started = time.monotonic()
        pause = self.cache_seconds
        try:
            self._cached = await self._compute()
            pause = max(pause, _BACKOFF * (time.monotonic() - started))
        except Exception as exc:  # Redis down or slow: the page says so, and asks again later
            log.warning("dashboard: cannot read the events: %s: %s", type(exc).__name__, exc)
            self._cached = _unavailable(exc, self.read_budget)
        finally:
            self._fresh_until = time.monotonic() + pause
            self._refreshing = None

    async def _compute(self) -> dict[str, Any]:
        now = self.now()
        since = self.midnight(now)
        self.reads += 1
        async with asyncio.timeout(self.read_budget):
            entries = await read_entries(self.redis, self.prefix, since, now)
        figures = await asyncio.to_thread(_figures, entries)
        return {
            "today": figures,
            "since": since.isoformat(timespec="seconds"),
            "generated_at": now.isoformat(timespec="seconds"),
        }

    async def summary(self) -> dict[str, Any]:
        """What /api/summary answers: the live state and today's figures."""
        today = await self.today()
        return {"live": self.live(), **today}

    # -- the pictures and the page --------------------------------------------------------

    def graph(self, name: str) -> bytes | None:
        """Menu `name` as an SVG document; None for a name that is no menu's."""
        if _GRAPH_FILE.fullmatch(f"{name}.svg") is None:
            return None
        menus = self._menus()
        if name not in menus:
            return None
        key = (menus.version, name)
        drawing = self._drawings.get(key)
        if drawing is None:
            if len(self._drawings) >= 256:
                self._drawings.clear()  # old menu versions
            drawing = self._drawings[key] = menu_svg(menus, name).encode("utf-8")
        return drawing

    def page(self) -> bytes:
        """The HTML page, with the menus of now in its selector."""
        names = sorted(self._menus())
        first = "main" if "main" in names else (names[0] if names else "")
        options = "".join(
            f'<option value="{html.escape(name)}"{" selected" if name == first else ""}>'
            f"{html.escape(name)}</option>"
            for name in names
        )
        graph = f"graph/{html.escape(first)}.svg" if first else ""
        return (
            _PAGE.replace("<!--MENU-OPTIONS-->", options)
            .replace("<!--GRAPH-SRC-->", graph)
            .encode("utf-8")
        )

    def resource(self) -> Resource:
        return dashboard_resource(self)


def _unavailable(exc: Exception, budget: float) -> str:
    """For the page: what went wrong, without the details the log has (addresses)."""
    if isinstance(exc, TimeoutError):
        return f"the event stream did not answer within {budget:g} s"
    return f"the event stream cannot be read ({type(exc).__name__})"


# -- twisted.web ----------------------------------------------------------------------


def _send(
    request: WebRequest, code: int, content_type: bytes, body: bytes, *, cache: bytes
) -> None:
    """Answer with the headers every response has (HEAD: Twisted drops the body)."""
    request.setResponseCode(code)
    request.setHeader(b"content-type", content_type)
    request.setHeader(b"content-length", b"%d" % len(body))
    request.setHeader(b"content-security-policy", CONTENT_SECURITY_POLICY)
    request.setHeader(b"x-content-type-options", b"nosniff")
    request.setHeader(b"x-frame-options", b"DENY")
    request.setHeader(b"referrer-policy", b"no-referrer")
    request.setHeader(b"cache-control", cache)
    request.write(body)
    request.finish()


def _not_found(request: WebRequest) -> int:
    _send(request, 404, _TEXT, b"not found\n", cache=b"no-store")
    return NOT_DONE_YET


class _NotFound(Resource):
    """Whatever is not served: 404, whatever the method."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def render(self, twisted_request: IRequest) -> bytes | int:
        return _not_found(cast(WebRequest, twisted_request))


class _Leaf(Resource):
    """A resource with nothing below it, for GET and HEAD only."""

    isLeaf = True

    def render(self, twisted_request: IRequest) -> bytes | int:
        request = cast(WebRequest, twisted_request)
        postpath: list[bytes] = getattr(twisted_request, "postpath", [])
        if postpath:
            return _not_found(request)
        if request.method not in _METHODS:
            request.setHeader(b"allow", b"GET, HEAD")
            _send(request, 405, _TEXT, b"method not allowed\n", cache=b"no-store")
            return NOT_DONE_YET
        return self.get(request)

    def get(self, request: WebRequest) -> int:
        raise NotImplementedError


class _Branch(Resource):
    """A resource with children; itself and unknown children are 404s."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def getChild(self, path: bytes, request: IRequest) -> Resource:
        return _NotFound()

    def render(self, twisted_request: IRequest) -> bytes | int:
        return _not_found(cast(WebRequest, twisted_request))


class _Page(_Leaf):
    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.dashboard = dashboard

    def get(self, request: WebRequest) -> int:
        body = self.dashboard.page()
        _send(request, 200, b"text/html; charset=utf-8", body, cache=b"no-cache")
        return NOT_DONE_YET


class _Summary(_Leaf):
    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.dashboard = dashboard
        self._running: set[asyncio.Future[None]] = set()

    def get(self, request: WebRequest) -> int:
        task = asyncio.ensure_future(self._answer(request))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return NOT_DONE_YET

    async def _answer(self, request: WebRequest) -> None:
        code, payload = 200, {}
        try:
            payload = await self.dashboard.summary()
        except Exception as exc:
            if not isinstance(exc, DashboardUnavailable):
                log.exception("dashboard: the summary failed")
            code, payload = 503, {"error": str(exc) or type(exc).__name__}
            try:
                payload["live"] = self.dashboard.live()
            except Exception:  # no menus loaded: the error is enough
                log.exception("dashboard: the live state failed")
        if request.finished or getattr(request, "_disconnected", False):
            return  # the viewer went away
        body = _json_bytes(payload)
        _send(request, code, _JSON, body, cache=b"no-store")


def _json_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Graphs(_Branch):
    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__()
        self.dashboard = dashboard

    def getChild(self, path: bytes, request: IRequest) -> Resource:
        match = _GRAPH_FILE.fullmatch(path.decode("utf-8", "replace"))
        drawing = self.dashboard.graph(match.group(1)) if match is not None else None
        return _NotFound() if drawing is None else _Svg(drawing)


class _Svg(_Leaf):
    def __init__(self, drawing: bytes) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.drawing = drawing

    def get(self, request: WebRequest) -> int:
        _send(request, 200, b"image/svg+xml; charset=utf-8", self.drawing, cache=b"no-cache")
        return NOT_DONE_YET


def dashboard_resource(dashboard: Dashboard) -> Resource:
    """The resource tree: / , /api/summary, /graph/<menu>.svg; 404 elsewhere."""
    root = _Branch()
    root.putChild(b"", _Page(dashboard))
    api = _Branch()
    api.putChild(b"summary", _Summary(dashboard))
    root.putChild(b"api", api)
    root.putChild(b"graph", _Graphs(dashboard))
    return root


MIN_PASSWORD_LENGTH: Final = MIN_SECRET_LENGTH


class _PasswordRequired(Resource):
    """Every path below needs the password by HTTP Basic authentication, or gets a 401."""

    def __init__(self, inner: Resource, password: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._inner = inner
        self._password = SharedSecret(password, "the dashboard password")

    def _allowed(self, request: IRequest) -> bool:
        return self._password.presented_by(cast(WebRequest, request), "basic")

    def getChildWithDefault(self, path: bytes, request: IRequest) -> Resource:
        if not self._allowed(request):
            return _Unauthorised()
        return cast(Resource, self._inner.getChildWithDefault(path, request))  # type: ignore[no-untyped-call]

    def render(self, twisted_request: IRequest) -> bytes | int:
        if not self._allowed(twisted_request):
            return _Unauthorised().render(twisted_request)
        return cast("bytes | int", self._inner.render(twisted_request))  # type: ignore[no-untyped-call]


class _Unauthorised(Resource):
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def render(self, twisted_request: IRequest) -> bytes | int:
        request = cast(WebRequest, twisted_request)
        request.setHeader(b"www-authenticate", b'Basic realm="IVR dashboard", charset="UTF-8"')
        _send(request, 401, _TEXT, b"the dashboard password is required\n", cache=b"no-store")
        return NOT_DONE_YET


def listen_dashboard(
    dashboard: Dashboard,
    host: str,
    port: int,
    reactor: IReactorTCP | None = None,
    *,
    password: str | None = None,
) -> IListeningPort:
    """Serve the dashboard on host:port (port 0: any free one, see ``getHost()``).

    With `password`, every request must carry it (HTTP Basic, any user name).
    """
    if reactor is None:
        from twisted.internet import reactor as installed

        reactor = cast(IReactorTCP, installed)
    root = dashboard.resource()
    if password is not None:
        root = _PasswordRequired(root, password)
    site = Site(root, parsePOSTFormSubmission=False)  # type: ignore[no-untyped-call]
    site.displayTracebacks = False
    # Site is a ServerFactory; Twisted's annotation wants its protocol's generic parameter.
    return reactor.listenTCP(port, site, interface=host)  # type: ignore[arg-type]


# -- the page ----------------------------------------------------------------------------
# One document, nothing fetched from elsewhere. The script writes data with
# textContent only: menu and node names come from the menu files, but the
# page must stay safe whatever the figures hold.

_PAGE: Final = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>IVR dashboard</title>
<style>
:root {
  --ink: #1c2430; --muted: #5d6b7e; --line: #dde3ea; --card: #ffffff; --page: #f1f4f8;
  --head: #14213d; --accent: #2f6fdb; --good: #1f8a4c; --bad: #c8372d; --warn: #b86e00;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--page); color: var(--ink);
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans",
    sans-serif;
}
.num, .value, td.n { font-variant-numeric: tabular-nums; }
header {
  background: var(--head); color: #fff; padding: 14px 24px 12px;
  display: flex; flex-wrap: wrap; align-items: center; gap: 10px 28px;
}
header h1 { font-size: 20px; margin: 0; font-weight: 600; letter-spacing: .2px; }
header h1 small { font-weight: 400; color: #aab6cc; font-size: 14px; margin-left: 6px; }
.live { display: flex; flex-wrap: wrap; gap: 10px; }
.pill {
  background: rgba(255,255,255,.08); border: 1px solid rgba(255,255,255,.14);
  border-radius: 8px; padding: 5px 12px; min-width: 96px;
}
.pill .label { display: block; font-size: 11px; text-transform: uppercase;
  letter-spacing: .6px; color: #aab6cc; }
.pill .value { font-size: 20px; font-weight: 650; }
.pill.hot .value { color: #7ee2a8; }
#status-line { margin-left: auto; font-size: 13px; color: #c8d2e3; }
body.draining #l-draining { display: inline; }
#l-draining { display: none; color: #ffcf70; font-weight: 600; margin-left: 8px; }
main { padding: 18px 24px 32px; max-width: 1400px; margin: 0 auto; }
#unavailable {
  background: #fdecea; border: 1px solid #f3b9b3; color: #8a1f17; border-radius: 8px;
  padding: 10px 14px; margin-bottom: 14px; font-weight: 600;
}
h2 { font-size: 16px; margin: 4px 0 10px; }
h2 small { font-weight: 400; color: var(--muted); font-size: 13px; margin-left: 6px; }
section { margin-bottom: 22px; }
.stale { opacity: .45; }
.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 14px;
}
.card h3 { margin: 0 0 4px; font-size: 12px; text-transform: uppercase; letter-spacing: .6px;
  color: var(--muted); font-weight: 600; }
.card .big { font-size: 30px; font-weight: 700; line-height: 1.15; }
.card .big small { font-size: 15px; font-weight: 500; color: var(--muted); margin-left: 6px; }
.card .pair { display: flex; gap: 18px; }
.card .pair > div { flex: 1; }
.card .pair .big { font-size: 24px; }
.card .sub { color: var(--muted); font-size: 13px; margin-top: 4px; }
.card .sub b { color: var(--ink); font-weight: 600; }
.card.good .big { color: var(--good); }
.card.bad .big { color: var(--bad); }
.card .tag { font-size: 12px; color: var(--muted); }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 4px 0; overflow: hidden; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 6px 12px; text-align: left; border-bottom: 1px solid var(--line); }
tbody tr:last-child td { border-bottom: 0; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .5px; color: var(--muted);
  font-weight: 600; }
th.n, td.n { text-align: right; }
td.where { white-space: nowrap; }
td.where .menu { color: var(--muted); }
td.keys { color: var(--muted); font-size: 13px; }
td.keys .key { display: inline-block; margin: 1px 10px 1px 0; white-space: nowrap; }
td.keys kbd { display: inline-block; min-width: 20px; padding: 0 5px; margin-right: 3px;
  border: 1px solid #c9d2de; border-bottom-width: 2px; border-radius: 4px; background: #f7f9fc;
  color: var(--ink); font: 600 12px/18px ui-monospace, "DejaVu Sans Mono", monospace;
  text-align: center; }
td.keys .longer { font-style: italic; }
td.barcell { width: 28%; }
.bar { height: 10px; background: #edf1f6; border-radius: 5px; overflow: hidden; }
.bar .fill { display: block; height: 100%; background: var(--accent); border-radius: 5px;
  position: relative; overflow: hidden; }
.bar .lost { display: block; height: 100%; background: var(--bad); float: right; }
td.empty { color: var(--muted); text-align: center; padding: 18px; }
.graph-head { display: flex; align-items: center; gap: 12px; margin-bottom: 10px; }
.graph-head h2 { margin: 0; }
select { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px;
  background: #fff; }
.graph-head a { font-size: 13px; color: var(--accent); }
.graph { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 12px; overflow: auto; max-height: 900px; text-align: center; }
.graph img { max-width: 100%; height: auto; cursor: zoom-in; }
.graph.zoomed { text-align: left; }
.graph.zoomed img { max-width: none; cursor: zoom-out; }
.graph-head .hint { font-size: 13px; color: var(--muted); }
.legend { font-size: 12px; color: var(--muted); margin-top: 6px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin: 0 4px 0 10px; vertical-align: -1px; }
.legend i.entered { background: var(--accent); }
.legend i.hung-up { background: var(--bad); }
@media (max-width: 1000px) { .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
</style>
</head>
<body data-state="loading">
<header>
  <h1>Contact centre <small>live</small></h1>
  <div class="live">
    <div class="pill hot"><span class="label">Active calls</span>
      <span class="value" id="l-active_calls">&ndash;</span></div>
    <div class="pill"><span class="label">Calls today</span>
      <span class="value" id="l-calls_today">&ndash;</span></div>
    <div class="pill"><span class="label">Since start</span>
      <span class="value" id="l-calls_total">&ndash;</span></div>
    <div class="pill"><span class="label">Rejected</span>
      <span class="value" id="l-calls_rejected">&ndash;</span></div>
    <div class="pill"><span class="label">Menus version</span>
      <span class="value" id="l-menus_version">&ndash;</span></div>
  </div>
  <div id="status-line"><span id="status">Loading&hellip;</span>
    <span id="l-draining">draining: new calls are refused</span></div>
</header>
<main>
  <noscript><div id="noscript">The figures are filled in by the page's script:
    enable JavaScript for this page.</div></noscript>
  <div id="unavailable" hidden>Data unavailable</div>
  <section id="kpis">
    <h2>Today <small id="since"></small></h2>
    <div class="cards">
      <div class="card"><h3>Contacts</h3>
        <div class="big" id="k-contacts">&ndash;</div>
        <div class="sub">calls that reached the menus</div></div>
      <div class="card good"><h3>Answered</h3>
        <div class="big"><span id="k-answered">&ndash;</span>
          <small id="k-answered_share"></small></div>
        <div class="sub">by an agent (queue or transfer)</div></div>
      <div class="card bad"><h3>Lost</h3>
        <div class="big"><span id="k-lost">&ndash;</span>
          <small id="k-lost_share"></small></div>
        <div class="sub">in IVR <b id="k-lost_ivr">&ndash;</b> &middot;
          in queue <b id="k-lost_queue">&ndash;</b> &middot;
          after hours <b id="k-lost_after_hours">&ndash;</b></div></div>
      <div class="card"><h3>Self-service</h3>
        <div class="big"><span id="k-self_service_rate">&ndash;</span></div>
        <div class="sub">ended by the menus <b id="k-self_service">&ndash;</b> &middot;
          handed off <b id="k-handed_off">&ndash;</b></div></div>
      <div class="card"><h3>Queue wait</h3>
        <div class="pair">
          <div><div class="tag">average</div><div class="big" id="k-wait_avg">&ndash;</div></div>
          <div><div class="tag">90th percentile</div>
            <div class="big" id="k-wait_p90">&ndash;</div></div>
        </div></div>
      <div class="card"><h3>Service level</h3>
        <div class="pair">
          <div><div class="tag">within 20 s</div><div class="big" id="k-sl_20">&ndash;</div></div>
          <div><div class="tag">within 120 s</div>
            <div class="big" id="k-sl_120">&ndash;</div></div>
        </div></div>
      <div class="card"><h3>Average handling time</h3>
        <div class="big" id="k-aht">&ndash;</div>
        <div class="sub">talk and wrap-up of answered calls</div></div>
      <div class="card"><h3>Callbacks</h3>
        <div class="pair">
          <div><div class="tag">asked for</div>
            <div class="big" id="k-cb_requested">&ndash;</div></div>
          <div><div class="tag">attempted</div>
            <div class="big" id="k-cb_attempts">&ndash;</div></div>
          <div><div class="tag">answered</div>
            <div class="big" id="k-cb_answered">&ndash;</div></div>
        </div></div>
    </div>
  </section>
  <section id="funnel">
    <h2>IVR funnel <small>callers at each node today, busiest first</small></h2>
    <div class="panel">
      <table>
        <thead><tr>
          <th>Node</th><th class="n">Entered</th><th></th><th class="n">Hung up</th>
          <th class="n">Timeouts</th><th class="n">Invalid</th><th>Keys pressed</th>
        </tr></thead>
        <tbody id="funnel-rows"><tr><td class="empty" colspan="7">&hellip;</td></tr></tbody>
      </table>
    </div>
    <div class="legend"><i class="entered"></i>entered (against the busiest node)
      <i class="hung-up"></i>of them, hung up there</div>
  </section>
  <section id="menus">
    <div class="graph-head">
      <h2>Menus</h2>
      <select id="menu-select" aria-label="Menu"><!--MENU-OPTIONS--></select>
      <a id="graph-link" href="<!--GRAPH-SRC-->">open the SVG</a>
      <span class="hint">click the picture for its full size</span>
    </div>
    <div class="graph" id="graph-box"><img id="graph" alt="The selected menu as a graph"
      src="<!--GRAPH-SRC-->"></div>
  </section>
</main>
<script>
"use strict";
(function () {
  var POLL_MS = 5000;
  var DASH = "\\u2013";
  var shownMenus = null;
  var shownVersion = null;

  function byId(id) { return document.getElementById(id); }
  function put(id, text) {
    var element = byId(id);
    if (element) { element.textContent = text; }
  }
  function none(value) { return value === null || value === undefined; }
  function num(value) { return none(value) ? DASH : String(value); }
  function pct(share) { return none(share) ? DASH : (share * 100).toFixed(1) + " %"; }
  function secs(value) {
    if (none(value)) { return DASH; }
    if (value < 60) { return value.toFixed(1) + " s"; }
    var total = Math.round(value);
    var rest = total % 60;
    return Math.floor(total / 60) + ":" + (rest < 10 ? "0" : "") + rest + " min";
  }
  function share(part, whole) { return whole ? Math.round(part / whole * 10000) / 10000 : null; }
  function compare(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  function fillLive(live) {
    put("l-active_calls", num(live.active_calls));
    put("l-calls_total", num(live.calls_total));
    put("l-calls_rejected", num(live.calls_rejected));
    put("l-menus_version", num(live.menus_version));
    var version = byId("l-menus_version");
    if (version) { version.title = "menus digest " + String(live.menus_digest || ""); }
    document.body.classList.toggle("draining", Boolean(live.draining));
    if (Array.isArray(live.menus)) { fillMenus(live.menus.map(String), live.menus_version); }
  }

  function fillToday(data) {
    var t = data.today;
    var sl = t.service_level || {};
    var cb = t.callbacks || {};
    put("l-calls_today", num(t.contacts));
    put("since", "since " + String(data.since || "").slice(11, 16) + ", updated " +
      String(data.generated_at || "").slice(11, 19));
    put("k-contacts", num(t.contacts));
    put("k-answered", num(t.answered));
    put("k-answered_share", pct(share(t.answered, t.contacts)));
    put("k-lost", num(t.lost));
    put("k-lost_share", pct(t.lost_share));
    put("k-lost_ivr", num(t.lost_ivr));
    put("k-lost_queue", num(t.lost_queue));
    put("k-lost_after_hours", num(t.lost_after_hours));
    put("k-self_service_rate", pct(t.self_service_rate));
    put("k-self_service", num(t.self_service));
    put("k-handed_off", num(t.handed_off));
    put("k-wait_avg", secs(t.wait_avg_s));
    put("k-wait_p90", secs(t.wait_p90_s));
    put("k-sl_20", pct(sl["20s"]));
    put("k-sl_120", pct(sl["120s"]));
    put("k-aht", secs(t.aht_s));
    put("k-cb_requested", num(cb.requested));
    put("k-cb_attempts", num(cb.attempts));
    put("k-cb_answered", num(cb.answered));
    fillFunnel(Array.isArray(t.funnel) ? t.funnel : []);
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function fillKeys(td, node) {
    var digits = node.digits || {};
    Object.keys(digits).sort(function (a, b) {
      return (digits[b] - digits[a]) || compare(a, b);
    }).forEach(function (key) {
      var chip = document.createElement("span");
      chip.className = "key";
      var cap = document.createElement("kbd");
      cap.textContent = key;
      chip.appendChild(cap);
      chip.appendChild(document.createTextNode("\\u00d7" + num(digits[key])));
      td.appendChild(chip);
    });
    var longer = node.longer_entries || 0;
    if (longer) {
      var note = document.createElement("span");
      note.className = "longer";
      note.title = "entries of more than one key are counted, not shown";
      note.textContent = longer + (longer === 1 ? " longer entry" : " longer entries");
      td.appendChild(note);
    }
  }

  function fillFunnel(rows) {
    var body = byId("funnel-rows");
    rows = rows.slice().sort(function (a, b) {
      return (b.entered - a.entered) || compare(a.menu, b.menu) || compare(a.node, b.node);
    });
    var most = rows.reduce(function (m, r) { return Math.max(m, r.entered || 0); }, 0);
    var fresh = document.createDocumentFragment();
    rows.forEach(function (node) {
      var row = document.createElement("tr");
      var where = cell(row, "", "where");
      var menu = document.createElement("span");
      menu.className = "menu";
      menu.textContent = String(node.menu) + " / ";
      where.appendChild(menu);
      where.appendChild(document.createTextNode(String(node.node)));
      cell(row, num(node.entered), "n");
      var barCell = cell(row, "", "barcell");
      var bar = document.createElement("div");
      bar.className = "bar";
      var fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = (most ? (node.entered || 0) / most * 100 : 0) + "%";
      var lost = document.createElement("span");
      lost.className = "lost";
      lost.style.width = (node.entered ? (node.hung_up || 0) / node.entered * 100 : 0) + "%";
      fill.appendChild(lost);
      bar.appendChild(fill);
      barCell.appendChild(bar);
      cell(row, num(node.hung_up), "n");
      cell(row, num(node.timeouts), "n");
      cell(row, num(node.invalid), "n");
      fillKeys(cell(row, "", "keys"), node);
      fresh.appendChild(row);
    });
    if (!rows.length) {
      var empty = document.createElement("tr");
      cell(empty, "No calls in the menus yet today.", "empty").colSpan = 7;
      fresh.appendChild(empty);
    }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    body.appendChild(fresh);
  }

  function graphUrl(name) {
    var url = "graph/" + encodeURIComponent(name) + ".svg";
    return shownVersion === null ? url : url + "?v=" + encodeURIComponent(String(shownVersion));
  }

  function showGraph() {
    var select = byId("menu-select");
    var image = byId("graph");
    if (!select.value) { image.removeAttribute("src"); return; }
    image.src = graphUrl(select.value);
    byId("graph-link").href = image.src;
  }

  function fillMenus(names, version) {
    var select = byId("menu-select");
    var key = names.join("\\n");
    if (shownMenus === null) {
      shownMenus = Array.prototype.map.call(select.options, function (o) {
        return o.value;
      }).join("\\n");
    }
    var changed = false;
    if (key !== shownMenus) {
      var keep = select.value;
      while (select.firstChild) { select.removeChild(select.firstChild); }
      names.forEach(function (name) {
        var option = document.createElement("option");
        option.value = name;
        option.textContent = name;
        select.appendChild(option);
      });
      if (names.indexOf(keep) >= 0) { select.value = keep; }
      shownMenus = key;
      changed = true;
    }
    if (version !== shownVersion) {
      changed = changed || shownVersion !== null;
      shownVersion = version;
    }
    if (changed) { showGraph(); }
  }

  function ready(data) {
    byId("unavailable").hidden = true;
    byId("kpis").classList.remove("stale");
    byId("funnel").classList.remove("stale");
    put("status", "Live \\u00b7 " + String(data.generated_at || "").slice(11, 19));
    document.body.setAttribute("data-state", "ready");
  }

  function unavailable(reason) {
    var banner = byId("unavailable");
    banner.textContent = "Data unavailable: " + String(reason || "unknown error") +
      ". Trying again every " + POLL_MS / 1000 + " s.";
    banner.hidden = false;
    byId("kpis").classList.add("stale");
    byId("funnel").classList.add("stale");
    put("status", "data unavailable");
    document.body.setAttribute("data-state", "unavailable");
  }

  function poll() {
    fetch("api/summary", {cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) {
        return response.json().then(function (data) {
          return {ok: response.ok, data: data};
        }, function () {
          return {ok: false, data: {error: "HTTP " + response.status}};
        });
      })
      .then(function (answer) {
        var data = answer.data || {};
        if (data.live) { fillLive(data.live); }
        if (answer.ok) {
          fillToday(data);
          ready(data);
        } else {
          unavailable(data.error);
        }
      })
      .catch(function () { unavailable("no answer from the server"); })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  byId("menu-select").addEventListener("change", showGraph);
  byId("graph").addEventListener("click", function () {
    byId("graph-box").classList.toggle("zoomed");
  });
  poll();
})();
</script>
</body>
</html>
"""
