"""`AmiClient`: one logged-in AMI connection that keeps itself alive.

A background task owns the connection: connect over Twisted, log in (MD5
challenge or plain secret), ping when idle, and on any loss fail the waiting
actions and reconnect with exponential backoff. Callers only `await action()`
(correlated by ActionID) and `subscribe()` to events. A refused login stops
the task for good: retrying a wrong secret would only fill Asterisk's
security log (and each refusal costs a second there: action_login sleeps).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import itertools
import logging
import secrets
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, connectProtocol
from twisted.python.failure import Failure

from fastagi.ami._retry import Backoff, RepeatLimiter
from fastagi.ami.errors import (
    AmiActionError,
    AmiAuthError,
    AmiConnectError,
    AmiDisconnected,
    AmiError,
    AmiTimeout,
)
from fastagi.ami.message import AmiMessage, FieldValue, encode_action
from fastagi.ami.protocol import AmiProtocol
from fastagi.ami.subscriptions import EventCallback, Subscribers

__all__ = ["AmiClient"]

log = logging.getLogger("fastagi.ami")

State = Literal["idle", "connecting", "connected", "failed", "closed"]

_LOG_REPEAT_EVERY = 60.0  # s between two identical connection-error lines
_LOGOFF_TIMEOUT = 2.0


class _Pending:
    """An action sent on `protocol` whose reply (or list) is awaited."""

    __slots__ = ("complete_event", "future", "is_list", "items", "name", "protocol", "response")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        name: str,
        protocol: AmiProtocol,
        *,
        is_list: bool = False,
        complete_event: str | None = None,
    ) -> None:
        self.future: asyncio.Future[AmiMessage] = loop.create_future()
        self.name = name
        self.protocol = protocol
        self.is_list = is_list
        self.complete_event = complete_event.lower() if complete_event else None
        self.response: AmiMessage | None = None
        self.items: list[AmiMessage] = []

    def finish(self, message: AmiMessage) -> None:
        if not self.future.done():
            self.future.set_result(message)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class AmiClient:
    """A self-healing AMI client for one Asterisk (one ``manager.conf`` user).

    Use ``await start()`` then ``action()``/``action_list()``/``subscribe()``,
    and ``await close()`` at the end (or ``async with AmiClient(...)``).
    `events` is what Login's ``Events:`` asks for: "on", "off" or event
    classes ("call", "agent"...). `ping_interval` 0 turns the keepalive off.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        auth: Literal["md5", "plain"] = "md5",
        events: str | Sequence[str] = "on",
        ping_interval: float = 20.0,
        action_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        reactor: Any = None,
    ) -> None:
        if auth not in ("md5", "plain"):
            raise ValueError(f"auth must be 'md5' or 'plain', not {auth!r}")
        if action_timeout <= 0:
            raise ValueError("action_timeout must be positive")
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self.auth = auth
        self.events = events if isinstance(events, str) else ",".join(events)
        self.ping_interval = ping_interval
        self.action_timeout = action_timeout
        self._backoff = Backoff(backoff_initial, backoff_max)
        self._reactor = reactor
        # Refuse credentials that could inject headers now, not at each login.
        encode_action("Login", {"Username": username, "Secret": secret, "Events": self.events}, "-")

        self.banner: str | None = None  # "Asterisk Call Manager/9.0.0" of the last connection
        self.logins = 0  # successful logins so far (the first one and each reconnection)
        self._state: State = "idle"
        self._failure: AmiError | None = None  # why the client stopped for good
        self._last_error = "none yet"
        self._protocol: AmiProtocol | None = None  # logged in
        self._live: AmiProtocol | None = None  # any open connection, logged in or not
        self._runner: asyncio.Task[None] | None = None
        self._pending: dict[str, _Pending] = {}
        self._subscribers = Subscribers()
        self._waiters: set[asyncio.Future[None]] = set()
        self._ids = itertools.count(1)
        self._id_prefix = f"fastagi-{secrets.token_hex(4)}"
        self._malformed_log: RepeatLimiter | None = None

    # -- state ---------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Logged in over a live connection."""
        return self._state == "connected" and self._protocol is not None

    @property
    def state(self) -> State:
        return self._state

    @property
    def ami_version(self) -> str | None:
        """The AMI version from the banner ("9.0.0"), None before the first connection."""
        if self.banner is None:
            return None
        return self.banner.partition("/")[2].strip() or None

    def _set_state(self, state: State) -> None:
        self._state = state
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    @property
    def last_error(self) -> str:
        """Why the last connection or login failed ("none" once logged in)."""
        return self._last_error

    # -- life cycle ----------------------------------------------------------------

    async def start(self, timeout: float | None = None) -> None:
        """Connect and log in; return once logged in.

        Connection errors (refused, reset, no reply) are retried with
        exponential backoff and jitter, for ever or until `timeout` seconds,
        then `AmiConnectError`. A refused login is not retried: it raises
        `AmiAuthError` at once, naming the user and the host.
        """
        if self._state == "closed":
            raise AmiDisconnected("the AMI client is closed")
        if self._runner is None or self._runner.done():
            self._failure = None
            self._backoff.reset()
            self._set_state("connecting")
            self._runner = asyncio.get_running_loop().create_task(self._run())
            self._runner.add_done_callback(self._runner_done)
        try:
            await self.wait_connected(timeout)
        except AmiTimeout:
            await self._stop_runner()
            self._set_state("idle")
            raise AmiConnectError(
                f"could not log in to AMI at {self.host}:{self.port} as {self.username!r} "
                f"within {timeout} s (last error: {self._last_error})"
            ) from None

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Return once logged in; `AmiTimeout` after `timeout` s.

        Raises `AmiAuthError` if the client stopped on a refused login, and
        `AmiDisconnected` if it is closed or was never started.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if self._state == "connected":
                return
            if self._state == "failed":
                if isinstance(self._failure, AmiAuthError):
                    raise AmiAuthError(str(self._failure))  # a fresh one per caller
                raise AmiDisconnected(f"the AMI client has stopped: {self._failure}")
            if self._state == "closed":
                raise AmiDisconnected("the AMI client is closed")
            if self._state == "idle":
                raise AmiDisconnected("the AMI client is not started")
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise AmiTimeout(
                    f"not logged in to AMI at {self.host}:{self.port} within {timeout} s"
                )
            waiter = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait({waiter}, timeout=remaining)
            finally:
                self._waiters.discard(waiter)

    async def close(self) -> None:
        """Log off if connected, stop reconnecting, fail what still waits."""
        if self._state == "closed":
            return
        protocol = self._protocol
        if protocol is not None and self._state == "connected":
            self._state = "closed"  # from here a lost connection is expected
            try:
                await self._send(protocol, "Logoff", {}, min(self.action_timeout, _LOGOFF_TIMEOUT))
            except AmiError as exc:
                log.debug("AMI Logoff not answered: %s", exc)
        self._set_state("closed")
        await self._stop_runner()
        self._fail_pending(None, AmiDisconnected("the AMI client was closed"))

    async def __aenter__(self) -> AmiClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _runner_done(self, runner: asyncio.Task[None]) -> None:
        if not runner.cancelled() and runner.exception() is not None:
            # Only a bug gets here; say so loudly rather than hang every caller.
            log.error("the AMI connection task died", exc_info=runner.exception())
            self._failure = AmiError(f"the AMI connection task died: {runner.exception()!r}")
            self._set_state("failed")

    async def _stop_runner(self) -> None:
        """Stop the connection task, then close its connection (and wait until it is)."""
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done():
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        live = self._live
        if live is None or live.lost.done():
            return
        live.close()  # after a Logoff Asterisk closes first; this covers the rest
        try:
            await asyncio.wait_for(asyncio.shield(live.lost), _LOGOFF_TIMEOUT)
        except TimeoutError:
            live.abort()
            await asyncio.wait({live.lost}, timeout=_LOGOFF_TIMEOUT)

    # -- actions ------------------------------------------------------------------

    async def action(
        self,
        name: str,
        fields: Mapping[str, FieldValue] | None = None,
        *,
        timeout: float | None = None,
        action_id: str | None = None,
    ) -> AmiMessage:
        """Send one action and return its response.

        `fields` maps AMI keys to values; a list value repeats the key
        (``{"Variable": ["A=1", "B=2"]}``). The client sets ActionID: pass
        `action_id` (from `new_action_id()`) only to subscribe to the events
        that will carry it before they can arrive (an async Originate's
        OriginateResponse). Raises `AmiActionError` on ``Response: Error``,
        `AmiTimeout` without an answer in `timeout` s (default
        `action_timeout`), and `AmiDisconnected` if the connection drops
        meanwhile or is not back within `timeout` s. ValueError for fields
        that could inject headers.
        """
        timeout = self.action_timeout if timeout is None else timeout
        action_id, data = self._encode(name, fields, action_id)
        protocol = await self._ready(timeout)
        pending = await self._send_encoded(protocol, name, action_id, data, timeout)
        return pending.future.result()

    async def action_list(
        self,
        name: str,
        fields: Mapping[str, FieldValue] | None = None,
        *,
        timeout: float | None = None,
        complete_event: str | None = None,
    ) -> tuple[AmiMessage, list[AmiMessage]]:
        """Send a list action; return its response and the list's events.

        Asterisk answers ``Response: Success`` with ``EventList: start``, then
        events with the same ActionID, then one with ``EventList: Complete``
        (e.g. CoreShowChannels: CoreShowChannel..., CoreShowChannelsComplete).
        The events returned exclude that final one. For old actions without
        EventList headers, `complete_event` names the final event instead. A
        response without ``EventList: start`` returns ``(response, [])``.
        `timeout` bounds the whole list. These events do not reach subscribers.
        """
        timeout = self.action_timeout if timeout is None else timeout
        action_id, data = self._encode(name, fields)
        protocol = await self._ready(timeout)
        pending = await self._send_encoded(
            protocol, name, action_id, data, timeout, is_list=True, complete_event=complete_event
        )
        response = pending.response or pending.future.result()
        return response, pending.items

    def new_action_id(self) -> str:
        """A fresh ActionID, unique for this client (a random prefix and a counter)."""
        return f"{self._id_prefix}-{next(self._ids)}"

    def _encode(
        self, name: str, fields: Mapping[str, FieldValue] | None, action_id: str | None = None
    ) -> tuple[str, bytes]:
        if action_id is None:
            action_id = self.new_action_id()
        elif action_id in self._pending:
            raise ValueError(f"ActionID {action_id!r} is already waiting for its reply")
        return action_id, encode_action(name, fields or {}, action_id)

    async def _ready(self, timeout: float) -> AmiProtocol:
        """The logged-in connection, waiting up to `timeout` s for a reconnection."""
        if not self.connected:
            try:
                await self.wait_connected(timeout)
            except AmiTimeout:
                raise AmiDisconnected(
                    f"not connected to AMI at {self.host}:{self.port} "
                    f"(not back within {timeout} s; last error: {self._last_error})"
                ) from None
            except AmiAuthError as exc:
                raise AmiDisconnected(f"the AMI client has stopped: {exc}") from exc
        assert self._protocol is not None
        return self._protocol

    async def _send(
        self, protocol: AmiProtocol, name: str, fields: Mapping[str, FieldValue], timeout: float
    ) -> AmiMessage:
        action_id, data = self._encode(name, fields)
        pending = await self._send_encoded(protocol, name, action_id, data, timeout)
        return pending.future.result()

    async def _send_encoded(
        self,
        protocol: AmiProtocol,
        name: str,
        action_id: str,
        data: bytes,
        timeout: float,
        *,
        is_list: bool = False,
        complete_event: str | None = None,
    ) -> _Pending:
        loop = asyncio.get_running_loop()
        pending = _Pending(loop, name, protocol, is_list=is_list, complete_event=complete_event)
        self._pending[action_id] = pending
        try:
            try:
                protocol.send(data)
            except ConnectionError:
                raise AmiDisconnected(
                    f"AMI connection to {self.host}:{self.port} closed before {name} was sent"
                ) from None
            done, _ = await asyncio.wait({pending.future}, timeout=timeout)
            if not done:
                raise AmiTimeout(
                    f"no answer to {name} (ActionID {action_id}) from AMI at "
                    f"{self.host}:{self.port} within {timeout} s"
                )
            pending.future.result()  # raises what the reply (or the loss) set
            return pending
        finally:
            self._pending.pop(action_id, None)
            if not pending.future.done():
                pending.future.cancel()

    def _fail_pending(self, protocol: AmiProtocol | None, error: AmiError) -> None:
        """Fail the actions sent on `protocol` (all of them if None)."""
        for pending in list(self._pending.values()):
            if protocol is None or pending.protocol is protocol:
                pending.fail(error)

    # -- events -----------------------------------------------------------------------

    def subscribe(
        self,
        callback: EventCallback,
        *,
        events: Iterable[str] | None = None,
        match: Mapping[str, str] | None = None,
    ) -> Callable[[], None]:
        """Call `callback(event)` for each event named in `events` (None: all)
        whose fields equal all of `match`; returns the function that unsubscribes.

        Names and keys are compared case-insensitively, values exactly. A
        callback that raises is logged and stays subscribed; one that returns
        an awaitable gets it run as a task (its failure is logged too).
        """
        return self._subscribers.add(callback, events, match)

    # -- messages from the connection -------------------------------------------------------

    def _message_received(self, protocol: AmiProtocol, message: AmiMessage) -> None:
        kind = message.kind
        if kind == "event":
            self._event_received(message)
        elif kind == "response":
            self._response_received(message)
        else:
            log.warning(
                "AMI message from %s:%s is neither a response nor an event, skipped: %r",
                self.host,
                self.port,
                message,
            )

    def _response_received(self, response: AmiMessage) -> None:
        action_id = response.action_id
        pending = self._pending.get(action_id) if action_id is not None else None
        if pending is None or pending.future.done():
            log.debug("AMI response for no waiting action, ignored: %r", response)
            return
        if response.name.lower() == "error":
            message = response.get("Message") or "error (no Message)"
            pending.fail(AmiActionError(message, response, pending.name))
        elif not pending.is_list:
            pending.finish(response)
        else:
            pending.response = response
            is_list = (response.get("EventList") or "").lower() == "start"
            if not is_list and pending.complete_event is None:
                pending.finish(response)  # not a list after all: nothing follows

    def _event_received(self, event: AmiMessage) -> None:
        action_id = event.action_id
        if action_id is not None:
            pending = self._pending.get(action_id)
            if (
                pending is not None
                and pending.is_list
                and pending.response is not None
                and not pending.future.done()
            ):
                self._list_event(pending, event)
                return
        self._subscribers.dispatch(event)

    def _list_event(self, pending: _Pending, event: AmiMessage) -> None:
        marker = (event.get("EventList") or "").lower()
        if marker == "complete" or event.name.lower() == pending.complete_event:
            count = event.get("ListItems")
            if count is not None and count.isdigit() and int(count) != len(pending.items):
                log.warning(
                    "AMI %s list: %s announced %s items, %d received",
                    pending.name,
                    event.name,
                    count,
                    len(pending.items),
                )
            pending.finish(event)
        elif marker == "cancelled":
            pending.fail(AmiActionError("Asterisk cancelled the list", event, pending.name))
        else:
            pending.items.append(event)

    def _malformed(self, protocol: AmiProtocol, lines: int, oversized: int) -> None:
        if self._malformed_log is None:
            loop = asyncio.get_running_loop()
            self._malformed_log = RepeatLimiter(_LOG_REPEAT_EVERY, loop.time)
        text = f"AMI at {self.host}:{self.port} sent malformed data, skipped"
        if self._malformed_log.allow(text):
            held = self._malformed_log.take_suppressed()
            log.warning(
                "%s: %d malformed line(s), %d oversized message(s)%s",
                text,
                lines,
                oversized,
                f" ({held} similar reports held back)" if held else "",
            )

    def _connection_lost(self, protocol: AmiProtocol, reason: Failure | None) -> None:
        self._fail_pending(
            protocol,
            AmiDisconnected(f"lost the AMI connection to {self.host}:{self.port}"),
        )
        if protocol is self._protocol:
            self._protocol = None
            if self._state == "connected":
                self._set_state("connecting")

    # -- the connection task ---------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        limiter = RepeatLimiter(_LOG_REPEAT_EVERY, loop.time)
        failures = 0  # attempts failed since the last login
        while True:
            try:
                protocol = await self._connect(loop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self._retry_later("cannot connect to", exc, limiter)
                await asyncio.sleep(self._backoff.next_delay())
                continue
            try:
                await self._login(protocol)
            except AmiAuthError as exc:
                log.error("%s; not retrying", exc)
                protocol.abort()
                self._failure = exc
                self._last_error = str(exc)
                self._set_state("failed")
                return
            except Exception as exc:  # AmiTimeout, AmiDisconnected, or a bug: try again later
                failures += 1
                protocol.abort()
                if not isinstance(exc, AmiError):
                    log.exception("unexpected error while logging in to AMI")
                self._retry_later("cannot log in to", exc, limiter)
                await asyncio.sleep(self._backoff.next_delay())
                continue
            await self._serve(protocol, limiter, failures)
            failures = 0
            if self._state == "closed":
                return
            await asyncio.sleep(self._backoff.next_delay())

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> AmiProtocol:
        reactor = self._reactor
        if reactor is None:
            from twisted.internet import reactor
        address = await self._resolve(loop)
        endpoint_type = TCP6ClientEndpoint if ":" in address else TCP4ClientEndpoint
        endpoint = endpoint_type(reactor, address, self.port, timeout=self.action_timeout)
        protocol = AmiProtocol(loop, self._message_received, self._malformed, self._connection_lost)
        connecting = connectProtocol(endpoint, protocol)  # type: ignore[no-untyped-call]
        await connecting.asFuture(loop)
        self._live = protocol
        return protocol

    async def _resolve(self, loop: asyncio.AbstractEventLoop) -> str:
        try:
            return str(ipaddress.ip_address(self.host))
        except ValueError:
            pass
        infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        if not infos:
            raise OSError(f"no address for {self.host!r}")
        return str(infos[0][4][0])

    async def _login(self, protocol: AmiProtocol) -> None:
        fields: dict[str, FieldValue]
        try:
            if self.auth == "md5":
                reply = await self._send(
                    protocol, "Challenge", {"AuthType": "MD5"}, self.action_timeout
                )
                challenge = reply.get("Challenge")
                if not challenge:
                    raise AmiActionError("the reply has no Challenge field", reply, "Challenge")
                # manager.c authenticate(): Key = hex MD5 of challenge then secret.
                digest = hashlib.md5(usedforsecurity=False)
                digest.update(challenge.encode("utf-8") + self._secret.encode("utf-8"))
                fields = {"AuthType": "MD5", "Username": self.username, "Key": digest.hexdigest()}
            else:
                fields = {"Username": self.username, "Secret": self._secret}
            fields["Events"] = self.events
            await self._send(protocol, "Login", fields, self.action_timeout)
        except AmiActionError as exc:
            raise AmiAuthError(
                f"Asterisk at {self.host}:{self.port} refused the AMI login of user "
                f"{self.username!r} ({self.auth} auth): {exc.message}"
            ) from None
        self.banner = protocol.parser.banner

    async def _serve(self, protocol: AmiProtocol, limiter: RepeatLimiter, failures: int) -> None:
        """Be logged in over `protocol` until it is lost."""
        self._backoff.reset()
        limiter.reset()
        again = " again" if self.logins else ""
        self.logins += 1
        self._protocol = protocol
        self._last_error = "none"
        self._set_state("connected")
        log.info(
            "logged in%s to AMI at %s:%s as %r (%s)%s",
            again,
            self.host,
            self.port,
            self.username,
            self.banner or "no banner",
            f" after {failures} failed attempt(s)" if failures else "",
        )
        keepalive = asyncio.get_running_loop().create_task(self._keepalive(protocol))
        try:
            reason = await asyncio.shield(protocol.lost)
        finally:
            keepalive.cancel()
        if self._state == "closed":
            return
        why = reason.getErrorMessage() if reason is not None else "closed"
        self._last_error = f"connection lost: {why}"
        log.warning(
            "lost the AMI connection to %s:%s (%s); reconnecting", self.host, self.port, why
        )

    async def _keepalive(self, protocol: AmiProtocol) -> None:
        """Ping when nothing came for `ping_interval` s; no answer drops the connection."""
        if self.ping_interval <= 0:
            return
        loop = asyncio.get_running_loop()
        while protocol.connected:
            idle = loop.time() - protocol.last_received
            if idle < self.ping_interval:
                await asyncio.sleep(self.ping_interval - idle)
                continue
            try:
                await self._send(protocol, "Ping", {}, self.action_timeout)
            except AmiTimeout:
                log.warning(
                    "no answer to Ping from AMI at %s:%s within %s s; reconnecting",
                    self.host,
                    self.port,
                    self.action_timeout,
                )
                protocol.abort()
                return
            except AmiActionError:
                pass  # an error reply still proves the link works
            except AmiDisconnected:
                return

    def _retry_later(self, doing: str, exc: BaseException, limiter: RepeatLimiter) -> None:
        text = f"{doing} AMI at {self.host}:{self.port}: {exc or type(exc).__name__}"
        self._last_error = str(exc) or type(exc).__name__
        if limiter.allow(text):
            held = limiter.take_suppressed()
            more = f" ({held} more such failures not logged)" if held else ""
            log.warning("%s; retrying with backoff%s", text, more)
        else:
            log.debug("%s; retrying with backoff", text)
