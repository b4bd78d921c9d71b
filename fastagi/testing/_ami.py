"""Asterisk's side of the manager interface (AMI) over real TCP, for tests of AMI clients.

`AmiPeer` listens with ``asyncio.start_server`` (so it runs with or without the
Twisted reactor on the loop) and answers as Asterisk 22's main/manager.c does:
the ``Asterisk Call Manager/11.0.0`` banner; Login (plain ``Secret``, or
``AuthType: MD5`` with ``Key = md5(challenge + secret)`` after a Challenge) with
"Authentication accepted" and the FullyBooted event, or, a second later,
"Authentication failed" and a closed connection; "Permission denied" for any
other action before login (Logoff and Challenge excepted) and after 30 s without
a login the connection is closed (manager.conf authtimeout); Logoff ("Goodbye",
"Thanks for all the fish.", then close); Ping; Events (``EventMask``, and the
Login ``Events`` header); Originate, sync and async (see ``_ami_calls`` for the
calls and their events); CoreShowChannels; Hangup (by name, uniqueid or
``/regex/``); UserEvent; "Invalid/unknown command: X. Use Action: ListCommands
to show available commands." for the rest. Each session handles one action at
a time and holds its events back until the action's response is written, as
Asterisk's session thread does (a synchronous Originate blocks its session).

Not emulated: manager.conf permissions (every user may read and write every
class), event filters, ``allowmultiplelogin=no``, ``SuppressEvents``, AMI over
HTTP and TLS, the dialplan (an Originate's extension exists when Context and
Exten are given, unless ``extensions`` lists the ones that do; priority labels
are refused), and every action not listed above.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import re
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence

from fastagi.testing._ami_calls import (
    CallSimulator,
    DialTarget,
    OriginateOutcome,
    parse_callerid,
    scan_int,
)
from fastagi.testing._ami_events import (
    ALL_EVENTS,
    SYSTEM,
    authority_to_str,
    class_of,
    strings_to_mask,
)
from fastagi.testing._ami_wire import (
    AmiMessage,
    MessageReader,
    ReadMessage,
    ast_true,
    encode,
    format_lines,
    response_lines,
)
from fastagi.testing._expr import split_args

__all__ = ["AMI_VERSION", "AmiPeer"]

AMI_VERSION = "11.0.0"
"""include/asterisk/manager.h AMI_VERSION of Asterisk 22 (the banner's version)."""
MAX_PUBLIC_UNIQUEID = 149
"""channel.h AST_MAX_PUBLIC_UNIQUEID: the longest ChannelId an Originate accepts."""
_BEFORE_LOGIN = frozenset({"login", "logoff", "challenge"})


class _Session:
    """One client connection: reads messages, runs actions, writes responses and events."""

    def __init__(
        self, peer: AmiPeer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.peer = peer
        self.writer = writer
        self.messages = MessageReader(reader)
        self.authenticated = False
        self.username = ""
        self.send_events = ALL_EVENTS
        self.challenge = ""
        self.busy = False
        self.pending: list[bytes] = []
        self.connected_at = time.monotonic()
        self.task: asyncio.Task[None] | None = None

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            with contextlib.suppress(ConnectionError, RuntimeError):
                self.writer.write(data)

    def send(self, lines: Sequence[str]) -> None:
        self.write(format_lines(lines))

    def respond(self, message: AmiMessage, response: str, text: str | None = None) -> None:
        self.send(response_lines(message, response, text))

    def deliver(self, data: bytes) -> None:
        """An event: held back while an action runs (manager.c process_events)."""
        if self.busy:
            self.pending.append(data)
        else:
            self.write(data)

    def abort(self) -> None:
        self.writer.transport.abort()

    async def run(self) -> None:
        self.write(encode(f"Asterisk Call Manager/{self.peer.version}\r\n"))
        try:
            while not self.writer.is_closing():
                item = await self._next()
                if item is None or not await self._handle(item):
                    break
        except ConnectionError:
            pass
        finally:
            self.writer.close()

    async def _next(self) -> ReadMessage | None:
        limit = self.peer.auth_timeout
        if self.authenticated or limit is None:
            return await self.messages.read()
        remaining = limit - (time.monotonic() - self.connected_at)
        try:
            return await asyncio.wait_for(self.messages.read(), max(remaining, 0.0))
        except TimeoutError:
            return None  # "failed to authenticate in N seconds"

    async def _handle(self, item: ReadMessage) -> bool:
        """Run one message (manager.c do_message/process_message); False closes the session."""
        message = item.message
        self.peer.actions.append(message)
        if item.error is not None:
            self.respond(message, "Error", item.error)
            return True
        action = message.action
        if not action:
            self.respond(message, "Error", "Missing action in request")
            return True
        if not self.authenticated and action.lower() not in _BEFORE_LOGIN:
            self.respond(message, "Error", "Permission denied")
            return True
        handler = _HANDLERS.get(action.lower())
        if handler is None:
            text = (
                f"Invalid/unknown command: {action}. "
                "Use Action: ListCommands to show available commands."
            )
            self.respond(message, "Error", text)
            return True
        self.busy = True
        try:
            keep = await handler(self, message)
        finally:
            self.busy = False
            pending, self.pending = self.pending, []
        for data in pending:
            self.write(data)
        return keep


Handler = Callable[[_Session, AmiMessage], Awaitable[bool]]


class AmiPeer(CallSimulator):
    """Plays Asterisk's side of AMI for the clients that connect to it.

    ``username``/``secret`` (and any ``users``) may log in; ``version`` is the
    banner's AMI version. Attributes tests use:

    - ``actions``: every message received, in order (`actions_named` filters);
      ``events``: every event published, whoever received it;
    - ``script(destination, outcome, ring=, talk=)``, ``default_outcome``,
      ``page_extensions``, ``time_scale``: what originated calls do;
    - ``originated`` (`OriginateOutcome` records), ``active_calls`` and
      ``max_active_calls``, ``channels`` (the live channels);
    - ``ignore_pings``, ``auth_failure_delay`` (1 s, as manager.c sleeps),
      ``auth_timeout`` (30 s; None: never), ``extensions``.
    """

    def __init__(
        self,
        username: str = "ivr",
        secret: str = "s3cret",
        *,
        version: str = AMI_VERSION,
        users: Mapping[str, str] | None = None,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__(time_scale=time_scale)
        self.version = version
        self.users: dict[str, str] = {username.lower(): secret}
        self.users.update({name.lower(): value for name, value in (users or {}).items()})
        self.actions: list[AmiMessage] = []
        self.events: list[AmiMessage] = []
        self.ignore_pings = False
        self.auth_failure_delay = 1.0
        self.auth_timeout: float | None = 30.0
        self.extensions: Collection[tuple[str, str]] | None = None
        """(context, exten) pairs that exist; None: any given pair exists."""
        self._server: asyncio.Server | None = None
        self._sessions: set[_Session] = set()
        self._booted = time.monotonic()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on ``host:port`` (0: any free port); returns the address bound."""
        if self._server is not None:
            raise RuntimeError("the AMI peer is already listening")
        self._server = await asyncio.start_server(self._connected, host, port)
        self._booted = time.monotonic()
        address = self._server.sockets[0].getsockname()
        return str(address[0]), int(address[1])

    async def stop(self) -> None:
        """Close the listener and every connection; calls in progress end silently."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        sessions = list(self._sessions)
        for session in sessions:
            session.abort()
        tasks = [session.task for session in sessions if session.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.stop_calls()
        await server.wait_closed()

    @property
    def listening(self) -> bool:
        return self._server is not None

    @property
    def connections(self) -> int:
        """Clients connected now (logged in or not)."""
        return len(self._sessions)

    @property
    def logged_in(self) -> int:
        return sum(1 for session in self._sessions if session.authenticated)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, reader, writer)
        self._sessions.add(session)
        task = asyncio.ensure_future(session.run())
        session.task = task
        try:
            await asyncio.wait({task})
        finally:
            if not task.done():
                task.cancel()
            self._sessions.discard(session)
        if not task.cancelled():
            task.result()  # a bug in an action surfaces in the loop's exception handler

    # -- what tests do ---------------------------------------------------------------------

    def actions_named(self, name: str) -> list[AmiMessage]:
        """The messages received whose Action is ``name`` (any case)."""
        wanted = name.lower()
        return [message for message in self.actions if message.action.lower() == wanted]

    async def wait_for_action(
        self, name: str, *, count: int = 1, timeout: float = 5.0
    ) -> AmiMessage:
        """Wait until ``count`` actions named ``name`` have arrived; returns the last."""
        async with asyncio.timeout(timeout):
            while len(found := self.actions_named(name)) < count:
                await asyncio.sleep(0.005)
        return found[count - 1]

    def emit_event(
        self, name: str, fields: Mapping[str, str], *, category: str | int | None = None
    ) -> None:
        """Send ``Event: name`` and ``fields`` to every logged-in session whose mask takes
        its class (``category``, else the class Asterisk raises the event with)."""
        lines = [f"{key}: {value}" for key, value in fields.items()]
        self._broadcast(name, lines, class_of(name, category))

    def publish(self, event: str, lines: Sequence[str]) -> None:
        self._broadcast(event, lines, class_of(event))

    def _broadcast(self, event: str, lines: Sequence[str], category: int) -> None:
        full = [f"Event: {event}", f"Privilege: {authority_to_str(category)}", *lines]
        self.events.append(AmiMessage(full))
        data = format_lines(full)
        for session in list(self._sessions):
            if session.authenticated and session.send_events & category == category:
                session.deliver(data)

    def send_raw(self, data: bytes) -> None:
        """Write ``data`` as is to every connection (malformed-input tests)."""
        for session in list(self._sessions):
            session.write(data)

    def drop_connections(self) -> None:
        """Reset every client connection at once, as a crashing Asterisk would.

        The listener stays open and calls go on; use `stop` and `start` for a restart.
        """
        for session in list(self._sessions):
            session.abort()

    # -- authentication --------------------------------------------------------------------

    def _authenticate(self, session: _Session, message: AmiMessage) -> bool:
        """manager.c authenticate()."""
        username = message.get("Username")
        secret = self.users.get(username.lower()) if username else None
        if secret is None:
            return False
        if message.get("AuthType").lower() == "md5":
            key = message.get("Key")
            if not key or not session.challenge:
                return False
            expected = hashlib.md5(
                (session.challenge + secret).encode("utf-8", "surrogateescape")
            ).hexdigest()
            if key != expected:
                return False
        elif message.get("Secret") != secret:
            return False
        session.username = username
        mask = strings_to_mask(message.get("Events"))
        if mask >= 0:
            session.send_events = mask
        return True

    def _uptime(self) -> int:
        return int(time.monotonic() - self._booted)


# -- actions -------------------------------------------------------------------------------


async def _login(session: _Session, message: AmiMessage) -> bool:
    if session.authenticated:
        session.respond(message, "Success", "Already authenticated")
        return True
    peer = session.peer
    if not peer._authenticate(session, message):
        await asyncio.sleep(peer.auth_failure_delay)
        session.respond(message, "Error", "Authentication failed")
        return False
    session.authenticated = True
    session.respond(message, "Success", "Authentication accepted")
    if session.send_events & SYSTEM:
        uptime = peer._uptime()
        session.send(
            [
                "Event: FullyBooted",
                f"Privilege: {authority_to_str(SYSTEM)}",
                f"Uptime: {uptime}",
                f"LastReload: {uptime}",
                "Status: Fully Booted",
            ]
        )
    return True


async def _logoff(session: _Session, message: AmiMessage) -> bool:
    session.respond(message, "Goodbye", "Thanks for all the fish.")
    return False


async def _challenge(session: _Session, message: AmiMessage) -> bool:
    if message.get("AuthType").lower() != "md5":
        session.respond(message, "Error", "Must specify AuthType")
        return True
    if not session.challenge:
        # "%ld" of ast_random() into char challenge[10]: at most 9 digits
        session.challenge = str(random.randrange(2**31))[:9]
    session.send(response_lines(message, "Success", more=[f"Challenge: {session.challenge}"]))
    return True


async def _ping(session: _Session, message: AmiMessage) -> bool:
    if session.peer.ignore_pings:
        return True
    now = time.time_ns() // 1000
    stamp = f"Timestamp: {now // 1_000_000}.{now % 1_000_000:06d}"
    session.send(response_lines(message, "Success", more=["Ping: Pong", stamp]))
    return True


async def _events(session: _Session, message: AmiMessage) -> bool:
    mask = strings_to_mask(message.get("EventMask"))
    if mask < 0:
        session.respond(message, "Error", "Invalid event mask")
        return True
    session.send_events = mask
    state = "On" if mask > 0 else "Off"
    session.send(response_lines(message, "Success", more=[f"Events: {state}"]))
    return True


def _variables(message: AmiMessage) -> dict[str, str]:
    """manager.c astman_get_variables: ``Variable: a=1,b=2`` headers; the first wins."""
    found: dict[str, str] = {}
    for header in message.get_all("Variable"):
        for item in split_args(header):
            name, equals, value = item.partition("=")
            if equals and name and name not in found:
                found[name] = value
    return found


def _originate_request(peer: AmiPeer, message: AmiMessage) -> OriginateOutcome | str:
    """manager.c action_originate's checks, in its order: a record, or the error text."""
    channel_id, other_id = message.get("ChannelId"), message.get("OtherChannelId")
    if max(len(channel_id), len(other_id)) > MAX_PUBLIC_UNIQUEID:
        return f"Uniqueid length exceeds maximum of {MAX_PUBLIC_UNIQUEID}"
    channel = message.get("Channel")
    if not channel:
        return "Channel not specified"
    priority = 0
    if message.get("Priority"):
        scanned = scan_int(message.get("Priority"))
        if scanned is None:
            return "Invalid priority"  # a priority label: no dialplan to look it up in
        priority = scanned
    timeout_ms = 30000
    if message.get("Timeout"):
        scanned = scan_int(message.get("Timeout"))
        if scanned is None:
            return "Invalid timeout"
        timeout_ms = scanned
    if DialTarget.parse(channel) is None:
        return "Invalid channel"
    context, exten = message.get("Context"), message.get("Exten")
    if priority and (
        not context
        or not exten
        or (peer.extensions is not None and (context, exten) not in peer.extensions)
    ):
        return "Extension does not exist."
    application = message.get("Application")
    is_async = ast_true(message.get("Async"))
    if not is_async and not application and not priority:
        return "Originate with 'Exten' requires 'Context' and 'Priority'"
    name, number = parse_callerid(message.get("CallerID"))
    return OriginateOutcome(
        action=message,
        channel=channel,
        is_async=is_async,
        action_id=message.action_id,
        context=context,
        exten=exten,
        priority=priority,
        application=application,
        data=message.get("Data"),
        caller_id_num=number,
        caller_id_name=name,
        account=message.get("Account"),
        timeout=timeout_ms / 1000 if timeout_ms > 0 else None,
        variables=_variables(message),
        channel_id=channel_id,
        other_channel_id=other_id,
    )


async def _originate(session: _Session, message: AmiMessage) -> bool:
    record = _originate_request(session.peer, message)
    if isinstance(record, str):
        session.respond(message, "Error", record)
        return True
    if record.is_async:
        session.respond(message, "Success", "Originate successfully queued")
        session.peer.start_originate(record)
        return True
    answered = await session.peer.start_originate(record)
    if answered:
        session.respond(message, "Success", "Originate successfully queued")
    else:
        session.respond(message, "Error", "Originate failed")
    return True


def _complete(message: AmiMessage, event: str, count: int) -> list[str]:
    """manager.c astman_send_list_complete."""
    lines = [f"Event: {event}"]
    if message.action_id:
        lines.append(f"ActionID: {message.action_id}")
    return [*lines, "EventList: Complete", f"ListItems: {count}"]


async def _core_show_channels(session: _Session, message: AmiMessage) -> bool:
    session.send(response_lines(message, "Success", "Channels will follow", listflag="start"))
    ids = [f"ActionID: {message.action_id}"] if message.action_id else []
    channels = list(session.peer.channels.values())
    now = time.monotonic()
    for channel in channels:
        seconds = int(now - channel.created)
        duration = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        session.send(
            [
                "Event: CoreShowChannel",
                *ids,
                *channel.snapshot(),
                f"Application: {channel.application}",
                f"ApplicationData: {channel.data}",
                f"Duration: {duration}",
                "BridgeId: ",
            ]
        )
    session.send(_complete(message, "CoreShowChannelsComplete", len(channels)))
    return True


def _hangup_cause(text: str) -> int:
    """manager.c: a Cause that is not a whole number 0-127 is ignored (0)."""
    match = re.fullmatch(r"\s*([+-]?\d+)", text)
    cause = int(match.group(1)) if match else -1
    return cause if 0 <= cause <= 127 else 0


async def _hangup(session: _Session, message: AmiMessage) -> bool:
    """manager.c ast_manager_hangup_helper."""
    peer = session.peer
    name = message.get("Channel")
    if not name:
        session.respond(message, "Error", "No channel specified")
        return True
    cause = _hangup_cause(message.get("Cause"))
    if not name.startswith("/"):
        channel = peer.find_channel(name)
        if channel is None:
            session.respond(message, "Error", "No such channel")
            return True
        peer.request_hangup(channel, cause)
        session.respond(message, "Success", "Channel Hungup")
        return True
    if len(name) < 3 or not name.endswith("/"):
        session.respond(message, "Error", "Regex format invalid, Channel param should be /regex/")
        return True
    try:
        pattern = re.compile(name[1:-1])
    except re.error:
        session.respond(message, "Error", f"Regex compile failed on: {name}")
        return True
    session.send(
        response_lines(message, "Success", "Channels hung up will follow", listflag="start")
    )
    ids = [f"ActionID: {message.action_id}"] if message.action_id else []
    matched = [c for c in list(peer.channels.values()) if pattern.search(c.name)]
    for channel in matched:
        peer.request_hangup(channel, cause)
        session.send(["Event: ChannelHungup", f"Channel: {channel.name}", *ids])
    session.send(_complete(message, "ChannelsHungupListComplete", len(matched)))
    return True


async def _user_event(session: _Session, message: AmiMessage) -> bool:
    """manager.c action_userevent: every other header line goes into the event as is."""
    body = [
        line for line in message.lines if not line.lower().startswith(("userevent:", "action:"))
    ]
    session.respond(message, "Success", "Event Sent")
    session.peer.publish("UserEvent", [f"UserEvent: {message.get('UserEvent')}", *body])
    return True


_HANDLERS: dict[str, Handler] = {
    "login": _login,
    "logoff": _logoff,
    "challenge": _challenge,
    "ping": _ping,
    "events": _events,
    "originate": _originate,
    "coreshowchannels": _core_show_channels,
    "hangup": _hangup,
    "userevent": _user_event,
}
