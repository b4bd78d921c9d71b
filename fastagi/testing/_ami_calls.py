"""What the far ends do when the AMI peer originates a call, and the events it causes.

`CallSimulator` holds the scripts (per destination: answer/busy/no_answer/
congestion/failed after ``ring`` s, answered calls last ``talk`` s), the live
channels and the record of every Originate. It plays a call out in wall-clock
time (scaled by ``time_scale``) and publishes the channel events Asterisk would:

- the dialled channel: ``Newchannel`` (state Down, caller ID still unknown, as
  ast_request raises it before pbx.c sets the caller ID), ``DialBegin``,
  ``Newstate`` Ringing when it rings, then ``Newstate`` Up + ``DialEnd``
  ANSWER, or ``DialEnd`` BUSY/CONGESTION/NOANSWER + ``Hangup`` (cause 17/34/19
  from the far end). When the Originate Timeout runs out first, Asterisk's
  dialler hangs the channel up itself: no DialEnd (dial.c handle_timeout_trip)
  and a ``Hangup`` with cause 0. An answered call ends with ``Hangup`` cause 16.
- the OriginateResponse of an async Originate (manager.c fast_originate): on
  failure no channel is returned, so Channel is the requested ``tech/data`` and
  Uniqueid the ChannelId or ``<unknown>``; Reason is pbx.c pbx_dial_reason's
  AST_CONTROL_* value: 4 answered, 5 busy, 8 congestion, 3 no answer (ringing),
  0 failed (the channel could not be created: no channel events at all).
- Page (app_page.c): once the announcer's channel is up, each device of the
  Page() data is dialled with the announcer as the caller (``DialBegin`` with
  both snapshots, DialString the resource); answered phones join
  (``Newstate`` Up, ``DialEnd`` ANSWER) until the announcer's talk time ends,
  others end as above; the Page timeout hangs ringing phones up (cause 0, no
  DialEnd), and so does the end of the page.

Only the originated channel is modelled: a Local channel's ``;2`` half and
bridges are not. The dialplan an answered call runs at the Originate's
``Context``/``Exten`` is up to ``on_answer`` (e.g. `AsteriskEmulator.run_dialplan`
with the Originate's variables); without it, none runs.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

from fastagi.testing._ami_events import cause_text, state_text
from fastagi.testing._ami_wire import AmiMessage
from fastagi.testing._expr import split_args

__all__ = [
    "OUTCOMES",
    "REASONS",
    "CallScript",
    "CallSimulator",
    "DialTarget",
    "LiveChannel",
    "OriginateOutcome",
    "PagedPhone",
    "ScriptedOutcome",
    "parse_callerid",
    "scan_int",
]

ScriptedOutcome = Literal["answer", "busy", "no_answer", "congestion", "failed"]
OUTCOMES: frozenset[str] = frozenset({"answer", "busy", "no_answer", "congestion", "failed"})
REASONS: dict[str, int] = {"answer": 4, "busy": 5, "no_answer": 3, "congestion": 8, "failed": 0}
"""OriginateResponse Reason per outcome: frame.h AST_CONTROL_ANSWER/BUSY/RINGING/CONGESTION, 0."""
_DIAL_STATUS = {"busy": "BUSY", "congestion": "CONGESTION", "no_answer": "NOANSWER"}
_FAR_END_CAUSE = {"busy": 17, "congestion": 34, "no_answer": 19}
NORMAL_CLEARING = 16
STATE_DOWN, STATE_RINGING, STATE_UP = 0, 5, 6
_INT = re.compile(r"\s*([+-]?\d+)")


def scan_int(text: str) -> int | None:
    """``sscanf(text, "%d")``: the leading integer, None if there is none."""
    match = _INT.match(text)
    return int(match.group(1)) if match else None


def _shrink_number(number: str) -> str:
    """callerid.c ast_shrink_phone_number, without the bracket rules."""
    kept = [c for c in number if c not in "()- "]
    return "".join(c for i, c in enumerate(kept) if c != "." or i == len(kept) - 1)


def parse_callerid(text: str) -> tuple[str, str]:
    """callerid.c ast_callerid_parse then ast_shrink_phone_number: ``(name, number)``."""
    text = text.strip().strip('"')
    if "<" in text:
        head, _, tail = text.rpartition("<")
        number = tail.split(">", 1)[0]
        name = head.strip().strip('"').strip()
    else:
        shrunk = _shrink_number(text)
        if shrunk and all(c in "0123456789*#+" for c in shrunk):
            name, number = "", text
        else:
            name, number = text, ""
    return name, _shrink_number(number)


@dataclass(frozen=True)
class CallScript:
    """What one destination does: ``outcome`` after ``ring`` s; answered calls last ``talk`` s.

    For ``no_answer`` a ``ring`` > 0 is when the far end gives up itself (SIP 480:
    DialEnd NOANSWER); 0 means it rings until the Originate (or Page) timeout.
    """

    outcome: ScriptedOutcome
    ring: float = 0.0
    talk: float = 0.0

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {self.outcome!r}")
        for name in ("ring", "talk"):
            value = getattr(self, name)
            if not 0 <= value < float("inf"):
                raise ValueError(f"{name} must be a finite number of seconds >= 0")


@dataclass(frozen=True)
class DialTarget:
    """A dial string (``Local/+7916...@ctx/n``, ``PJSIP/201``, ``PJSIP/+7916@trunk``)."""

    text: str
    tech: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> DialTarget | None:
        tech, slash, resource = text.partition("/")
        return cls(text, tech, resource) if slash else None

    @property
    def is_local(self) -> bool:
        return self.tech.lower() == "local"

    @property
    def address(self) -> str:
        """The resource without a Local channel's ``/options`` or a PJSIP ``/uri``."""
        return self.resource.split("/", 1)[0]

    @property
    def number(self) -> str:
        """The extension or number dialled: before the ``@`` of the address."""
        return self.address.split("@", 1)[0]

    @property
    def candidates(self) -> tuple[str, ...]:
        """Script keys tried in order: the whole dial string, the address, the number,
        and the user part of a PJSIP ``/sip:user@host`` URI."""
        keys = [self.text, self.address, self.number]
        _, slash, uri = self.resource.partition("/")
        if slash and not self.is_local:
            user = uri.split(":", 1)[-1].split("@", 1)[0]
            keys.append(user)
        return tuple(dict.fromkeys(key for key in keys if key))

    def channel_name(self, sequence: int) -> str:
        """The name Asterisk gives the channel: Local adds ``;1``; PJSIP names the endpoint."""
        if self.is_local:
            context, exten = self.location
            return f"Local/{exten}@{context}-{sequence:08x};1"
        endpoint = self.address.rsplit("@", 1)[-1]
        return f"{self.tech}/{endpoint}-{sequence:08x}"

    @property
    def location(self) -> tuple[str, str]:
        """Context and extension of the new channel: a Local channel's own, else the
        endpoint's context (assumed ``default``) and ``s``."""
        if self.is_local:
            exten, _, context = self.address.partition("@")
            return context or "default", exten
        return "default", "s"


@dataclass(eq=False)
class LiveChannel:
    """One emulated channel, for events and CoreShowChannels."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = STATE_DOWN
    caller_num: str = ""
    caller_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    language: str = "en"
    account: str = ""
    application: str = "AppDial"
    data: str = "(Outgoing Line)"
    created: float = field(default_factory=time.monotonic)
    cause: int | None = None
    gone: asyncio.Event = field(default_factory=asyncio.Event)

    def snapshot(self, prefix: str = "") -> list[str]:
        """manager_channels.c ast_manager_build_channel_state_string_prefix."""
        p = prefix
        return [
            f"{p}Channel: {self.name}",
            f"{p}ChannelState: {self.state}",
            f"{p}ChannelStateDesc: {state_text(self.state)}",
            f"{p}CallerIDNum: {self.caller_num or '<unknown>'}",
            f"{p}CallerIDName: {self.caller_name or '<unknown>'}",
            f"{p}ConnectedLineNum: {self.connected_num or '<unknown>'}",
            f"{p}ConnectedLineName: {self.connected_name or '<unknown>'}",
            f"{p}Language: {self.language}",
            f"{p}AccountCode: {self.account}",
            f"{p}Context: {self.context}",
            f"{p}Exten: {self.exten}",
            f"{p}Priority: {self.priority}",
            f"{p}Uniqueid: {self.uniqueid}",
            f"{p}Linkedid: {self.linkedid}",
        ]

    async def wait(self, seconds: float | None) -> bool:
        """Wait ``seconds`` (None: for ever); True if the channel is hung up meanwhile."""
        if self.gone.is_set():
            return True
        if seconds is None:
            await self.gone.wait()
            return True
        if seconds <= 0:
            return False
        try:
            await asyncio.wait_for(self.gone.wait(), seconds)
        except TimeoutError:
            return False
        return True


@dataclass
class PagedPhone:
    """One device of a Page: ``outcome`` None while it rings; ``joined`` if it answered."""

    device: str
    outcome: ScriptedOutcome | None = None
    channel: str | None = None
    uniqueid: str | None = None
    answered: float | None = None

    @property
    def joined(self) -> bool:
        return self.outcome == "answer"


@dataclass
class OriginateOutcome:
    """One Originate action and what became of it.

    ``outcome``/``reason`` are set when dialling ends (None while the far end
    rings, or if the peer was stopped first); ``channel_name``/``uniqueid`` once
    the channel answered. ``timeout`` is in seconds (None: no limit). Times are
    ``time.monotonic()`` values. ``paged`` lists the phones of a Page.
    """

    action: AmiMessage
    channel: str
    is_async: bool
    action_id: str = ""
    context: str = ""
    exten: str = ""
    priority: int = 0
    application: str = ""
    data: str = ""
    caller_id_num: str = ""
    caller_id_name: str = ""
    account: str = ""
    timeout: float | None = 30.0
    variables: dict[str, str] = field(default_factory=dict)
    channel_id: str = ""
    other_channel_id: str = ""
    destination: str = ""
    outcome: ScriptedOutcome | None = None
    reason: int | None = None
    channel_name: str | None = None
    uniqueid: str | None = None
    started: float = field(default_factory=time.monotonic)
    answered: float | None = None
    ended: float | None = None
    paged: list[PagedPhone] = field(default_factory=list)
    dialplan: object = None
    """What ``on_answer`` returned for this call (e.g. a `DialplanResult`)."""

    @property
    def in_progress(self) -> bool:
        return self.ended is None

    @property
    def joined(self) -> list[str]:
        """The paged devices that answered."""
        return [phone.device for phone in self.paged if phone.joined]


@dataclass
class _Leg:
    phone: PagedPhone
    channel: LiveChannel
    script: CallScript


class CallSimulator:
    """Scripts, live channels and the originate engine; subclasses deliver events."""

    def __init__(self, *, time_scale: float = 1.0) -> None:
        self.scripts: dict[str, CallScript] = {}
        self.page_extensions: dict[str, str] = {}
        """Destination -> Page() data run when a Local channel to it answers, as the
        dialplan ``exten => 700,1,Page(PJSIP/201&PJSIP/202,i,30)`` would."""
        self.channels: dict[str, LiveChannel] = {}
        self.originated: list[OriginateOutcome] = []
        self.active_calls = 0
        """Originates dialling or talking now."""
        self.max_active_calls = 0
        """The most originates ever in progress at once."""
        self.time_scale = time_scale
        """Multiplies ring, talk and the Originate/Page timeouts (0.001: 30 s last 30 ms)."""
        self.on_answer: Callable[[OriginateOutcome], Awaitable[object]] | None = None
        """Runs the dialplan of an answered Originate to ``Context``/``Exten`` (not an
        ``Application``): started as the call answers, alongside its talk time, and
        awaited before the ``Hangup`` (Asterisk runs the dialplan, ``h`` included,
        before the channel goes). Its result lands in ``OriginateOutcome.dialplan``."""
        self._default: ScriptedOutcome = "no_answer"
        self._epoch = int(time.time())
        self._uniqueids = itertools.count(1)
        self._sequence = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    # -- scripting -------------------------------------------------------------------------

    @property
    def default_outcome(self) -> ScriptedOutcome:
        """What unscripted destinations do (default ``no_answer``: ring until the timeout)."""
        return self._default

    @default_outcome.setter
    def default_outcome(self, outcome: ScriptedOutcome) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")
        self._default = outcome

    def script(
        self, destination: str, outcome: ScriptedOutcome, *, ring: float = 0.0, talk: float = 0.0
    ) -> None:
        """Script a destination: a number or extension (``+79161234567``, ``201``), an
        address (``201@trunk``) or a whole dial string (``PJSIP/201``)."""
        self.scripts[destination] = CallScript(outcome, ring, talk)

    def script_for(self, target: DialTarget) -> tuple[str, CallScript]:
        """The matching script key (or the number dialled) and its script."""
        for key in target.candidates:
            if key in self.scripts:
                return key, self.scripts[key]
        return target.number, CallScript(self._default)

    # -- events ----------------------------------------------------------------------------

    def publish(self, event: str, lines: Sequence[str]) -> None:
        """Deliver an event; the AMI peer sends it to the sessions that want it."""
        raise NotImplementedError

    def _new_channel(
        self,
        target: DialTarget,
        *,
        uniqueid: str = "",
        linkedid: str = "",
        caller: tuple[str, str] = ("", ""),
        account: str = "",
    ) -> LiveChannel:
        context, exten = target.location
        uniqueid = uniqueid or f"{self._epoch}.{next(self._uniqueids)}"
        channel = LiveChannel(
            name=target.channel_name(next(self._sequence)),
            uniqueid=uniqueid,
            linkedid=linkedid or uniqueid,
            context=context,
            exten=exten,
            account=account,
        )
        self.channels[channel.name] = channel
        self.publish("Newchannel", channel.snapshot())
        # pbx.c / dial.c set the caller ID after the channel exists (no NewCallerid here)
        name, number = caller
        channel.caller_name = channel.connected_name = name
        channel.caller_num = channel.connected_num = number
        return channel

    def _set_state(self, channel: LiveChannel, state: int) -> None:
        if not channel.gone.is_set() and channel.state != state:
            channel.state = state
            self.publish("Newstate", channel.snapshot())

    def _dial_begin(
        self, channel: LiveChannel, dialstring: str, caller: LiveChannel | None
    ) -> None:
        source = caller.snapshot() if caller is not None else []
        self.publish("DialBegin", [*source, *channel.snapshot("Dest"), f"DialString: {dialstring}"])

    def _dial_end(self, channel: LiveChannel, status: str) -> None:
        self.publish("DialEnd", [*channel.snapshot("Dest"), f"DialStatus: {status}"])

    def hangup(self, channel: LiveChannel, cause: int) -> None:
        """Hang a channel up now: the ``Hangup`` event, and it leaves the channel list."""
        if channel.gone.is_set():
            return
        channel.cause = cause
        self.publish(
            "Hangup", [*channel.snapshot(), f"Cause: {cause}", f"Cause-txt: {cause_text(cause)}"]
        )
        self.channels.pop(channel.name, None)
        channel.gone.set()

    def request_hangup(self, channel: LiveChannel, cause: int) -> None:
        """A Hangup action: ``SoftHangupRequest`` then ``Hangup`` (cause 16 unless given)."""
        self.publish("SoftHangupRequest", [*channel.snapshot(), f"Cause: {cause}"])
        self.hangup(channel, cause or NORMAL_CLEARING)

    def find_channel(self, name: str) -> LiveChannel | None:
        """channel.c ast_channel_get_by_name: by name (any case), else by uniqueid."""
        lowered = name.lower()
        for channel in self.channels.values():
            if channel.name.lower() == lowered:
                return channel
        return next((c for c in self.channels.values() if c.uniqueid == name), None)

    # -- originate -------------------------------------------------------------------------

    def start_originate(self, record: OriginateOutcome) -> asyncio.Future[bool]:
        """Dial ``record.channel`` in the background; the future says whether it answered."""
        loop = asyncio.get_running_loop()
        dialled: asyncio.Future[bool] = loop.create_future()
        self.originated.append(record)
        task = loop.create_task(self._run_call(record, dialled))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return dialled

    async def stop_calls(self) -> None:
        """Cancel every call in progress (the records keep what had happened)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in self.channels.values():
            channel.gone.set()
        self.channels.clear()

    async def _run_call(self, record: OriginateOutcome, dialled: asyncio.Future[bool]) -> None:
        self.active_calls += 1
        self.max_active_calls = max(self.max_active_calls, self.active_calls)
        try:
            await self._call(record, dialled)
        finally:
            self.active_calls -= 1
            if record.ended is None:
                record.ended = time.monotonic()
            if not dialled.done():
                dialled.set_result(False)

    def _seconds(self, value: float | None) -> float | None:
        return None if value is None else value * self.time_scale

    def _finish(self, record: OriginateOutcome, outcome: ScriptedOutcome) -> None:
        record.outcome = outcome
        record.reason = REASONS[outcome]

    async def _call(self, record: OriginateOutcome, dialled: asyncio.Future[bool]) -> None:
        target = DialTarget.parse(record.channel)
        assert target is not None  # the action checked for the '/'
        record.destination, script = self.script_for(target)
        if script.outcome == "failed":
            self._finish(record, "failed")
            self._failed(record, dialled)
            return
        channel = self._new_channel(
            target,
            uniqueid=record.channel_id,
            caller=(record.caller_id_name, record.caller_id_num),
            account=record.account,
        )
        self._dial_begin(channel, target.resource, None)
        outcome, timed_out = await self._ring(channel, script, self._seconds(record.timeout))
        if outcome is None:  # hung up by a Hangup action while ringing
            self._finish(record, "failed")
            self._failed(record, dialled)
            return
        if outcome != "answer":
            self._finish(record, outcome)
            if timed_out:
                self.hangup(channel, 0)
            else:
                self._dial_end(channel, _DIAL_STATUS[outcome])
                self.hangup(channel, _FAR_END_CAUSE[outcome])
            self._failed(record, dialled)
            return
        self._set_state(channel, STATE_UP)
        self._dial_end(channel, "ANSWER")
        if record.application:
            channel.application, channel.data = record.application, record.data
        elif record.priority > 0:
            channel.context, channel.exten = record.context, record.exten
            channel.priority = record.priority
            channel.application, channel.data = "", ""
        record.answered = time.monotonic()
        record.channel_name, record.uniqueid = channel.name, channel.uniqueid
        self._finish(record, "answer")
        dialled.set_result(True)
        self._originate_response(record, channel)
        running = self._run_dialplan(record)
        page = self._page_data(record, target)
        talk = self._seconds(script.talk)
        if page is not None:
            await self._page(record, channel, page, talk or 0.0)
        else:
            await channel.wait(talk)
        error = None
        if running is not None:
            try:
                await running
            except Exception as exc:  # the call still ends; the error then surfaces
                error = exc
        self.hangup(channel, NORMAL_CLEARING)
        record.ended = time.monotonic()
        if error is not None:
            raise error

    def _run_dialplan(self, record: OriginateOutcome) -> asyncio.Task[None] | None:
        """Start ``on_answer`` for an Originate to a context (`stop_calls` cancels it too)."""
        hook = self.on_answer
        if hook is None or record.application or record.priority <= 0:
            return None

        async def run() -> None:
            record.dialplan = await hook(record)

        running = asyncio.get_running_loop().create_task(run())
        self._tasks.add(running)
        running.add_done_callback(self._tasks.discard)
        return running

    async def _ring(
        self, channel: LiveChannel, script: CallScript, timeout: float | None
    ) -> tuple[ScriptedOutcome | None, bool]:
        """Ring until the scripted outcome or the timeout: (outcome, timed out);
        outcome None if the channel was hung up meanwhile."""
        ring = self._seconds(script.ring) or 0.0
        if script.outcome == "no_answer" or ring > 0:
            self._set_state(channel, STATE_RINGING)
        wait: float | None = ring if ring > 0 or script.outcome != "no_answer" else None
        timed_out = timeout is not None and (wait is None or wait >= timeout)
        if timed_out:
            wait = timeout
        if await channel.wait(wait):
            return None, False
        return ("no_answer" if timed_out else script.outcome), timed_out

    def _failed(self, record: OriginateOutcome, dialled: asyncio.Future[bool]) -> None:
        record.ended = time.monotonic()
        dialled.set_result(False)
        self._originate_response(record, None)

    def _originate_response(self, record: OriginateOutcome, channel: LiveChannel | None) -> None:
        """manager.c fast_originate's OriginateResponse (async Originate only)."""
        if not record.is_async:
            return
        lines = [f"ActionID: {record.action_id}"] if record.action_id else []
        lines += [
            f"Response: {'Success' if channel is not None else 'Failure'}",
            f"Channel: {channel.name if channel is not None else record.channel}",
        ]
        if record.application:
            lines += [f"Application: {record.application}", f"Data: {record.data}"]
        else:
            lines += [f"Context: {record.context}", f"Exten: {record.exten}"]
        uniqueid = channel.uniqueid if channel is not None else record.channel_id or "<unknown>"
        lines += [
            f"Reason: {record.reason}",
            f"Uniqueid: {uniqueid}",
            f"CallerIDNum: {record.caller_id_num or '<unknown>'}",
            f"CallerIDName: {record.caller_id_name or '<unknown>'}",
        ]
        self.publish("OriginateResponse", lines)

    # -- Page ------------------------------------------------------------------------------

    def _page_data(self, record: OriginateOutcome, target: DialTarget) -> str | None:
        if record.application.lower() == "page":
            return record.data
        if target.is_local:
            for key in target.candidates:
                if key in self.page_extensions:
                    return self.page_extensions[key]
        return None

    async def _page(
        self, record: OriginateOutcome, announcer: LiveChannel, data: str, talk: float
    ) -> None:
        """app_page.c page_exec: dial every device; those that answer join until the
        announcer's talk time ends."""
        args = split_args(data) or [""]
        devices = [device for device in args[0].split("&") if device]
        seconds = scan_int(args[2]) if len(args) > 2 else None
        page_timeout = self._seconds(seconds) if seconds and seconds > 0 else None
        legs: list[_Leg] = []
        for device in devices:
            phone = PagedPhone(device)
            record.paged.append(phone)
            target = DialTarget.parse(device)
            _, script = self.script_for(target) if target else ("", CallScript("failed"))
            if target is None or script.outcome == "failed":
                phone.outcome = "failed"  # "Incomplete destination" or no channel
                continue
            channel = self._new_channel(
                target,
                linkedid=announcer.linkedid,
                caller=(announcer.caller_name, announcer.caller_num),
                account=announcer.account,
            )
            phone.channel, phone.uniqueid = channel.name, channel.uniqueid
            self._dial_begin(channel, target.resource, announcer)
            legs.append(_Leg(phone, channel, script))
        timeline: list[tuple[float, int, str]] = []
        for index, leg in enumerate(legs):
            ring = self._seconds(leg.script.ring) or 0.0
            if leg.script.outcome == "no_answer" or ring > 0:
                self._set_state(leg.channel, STATE_RINGING)
            at: float | None = ring if ring > 0 or leg.script.outcome != "no_answer" else None
            kind: str = leg.script.outcome
            if page_timeout is not None and (at is None or at >= page_timeout):
                at, kind = page_timeout, "timeout"
            if at is not None:
                timeline.append((at, index, kind))
        started = time.monotonic()
        for at, index, step in sorted(timeline):
            if at > talk:
                break
            if await announcer.wait(at - (time.monotonic() - started)):
                break
            self._page_step(legs[index], step)
        await announcer.wait(talk - (time.monotonic() - started))
        for leg in legs:
            if leg.phone.outcome is None:
                leg.phone.outcome = "no_answer"
            self.hangup(leg.channel, NORMAL_CLEARING if leg.phone.joined else 0)

    def _page_step(self, leg: _Leg, kind: str) -> None:
        channel, phone = leg.channel, leg.phone
        if channel.gone.is_set():
            phone.outcome = phone.outcome or "no_answer"
            return
        if kind == "answer":
            self._set_state(channel, STATE_UP)
            self._dial_end(channel, "ANSWER")
            channel.application, channel.data = "ConfBridge", ""
            phone.outcome, phone.answered = "answer", time.monotonic()
        elif kind == "timeout":
            phone.outcome = "no_answer"
            self.hangup(channel, 0)
        else:
            phone.outcome = cast(ScriptedOutcome, kind)
            self._dial_end(channel, _DIAL_STATUS[kind])
            self.hangup(channel, _FAR_END_CAUSE[kind])
