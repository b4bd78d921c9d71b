"""Runs an emulated channel through a parsed dialplan, as Asterisk's pbx loop does.

Each priority's data is substituted (``${...}``, ``$[...]``), then the application
runs; 0 goes on to the next priority, anything else (or the channel hanging up)
ends the run. Control flow is the runner's own: Goto, GotoIf, GotoIfTime (on the
channel's clock), ExecIf, Gosub/GosubIf/Return (ARGn and ARGC are Gosub-local,
restored on Return, which sets GOSUB_RETVAL), Hangup, MSet, and AGI() - which
talks FastAGI on the same channel and sets AGISTATUS. Every other application is
looked up in the channel's `AppHandler` mapping; an unknown one is logged as a
warning and hangs the channel up, as in Asterisk.

The run also ends, hanging up, when the next priority does not exist
(autofallthrough) or the extension does not (the ``i`` extension runs if the
context has one). Once the channel is down, the ``h`` extension of the current
context runs if it exists.

A ``GOSUB`` command from the AGI runs the subroutine here, synchronously, until
its Return() (or a hangup / the end of the extension). AGI() inside such a
subroutine is not supported (`DialplanError`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field

from fastagi.testing._channel import Channel, GosubRequest, SubroutineHandler
from fastagi.testing._dialplan import Dialplan, DialplanError, Priority
from fastagi.testing._expr import check_condition, split_args
from fastagi.testing._functions import GosubFrame, gosub_frames, hangup_handlers
from fastagi.testing._result import CallResult, TimelineEvent
from fastagi.testing._timing import TimeSpec

__all__ = ["AgiStarter", "AppRun", "DialplanResult", "DialplanRunner", "DialplanSubroutines"]

AgiStarter = Callable[[Channel, str, int, str, list[str]], Awaitable[CallResult]]
"""Runs one FastAGI session on the channel: (channel, host, port, script, args)."""

_AGI_URL = re.compile(
    r"agi://(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:/\[\]]+))(?::(?P<port>\d+))?(?:/(?P<script>.*))?"
)
_DEFAULT_AGI_PORT = 4573


@dataclass(frozen=True)
class AppRun:
    """One application the dialplan ran: its name, substituted data, where and when."""

    app: str
    data: str
    at: float
    context: str
    exten: str
    priority: int


@dataclass
class DialplanResult:
    """What `AsteriskEmulator.run_dialplan` did.

    ``context``/``exten``/``priority`` are where the run stopped (before the ``h``
    extension, whose applications still appear in ``applications``). ``ended``
    is "hangup" (an application returned non-zero or the channel was hung up),
    "fell-through" (no next priority) or "invalid-extension". ``agi_status`` is
    the last AGISTATUS (None if no AGI ran); ``agi_calls`` the `CallResult` of
    each AGI() in order. ``warnings`` holds what Asterisk would log as warnings.
    ``chan`` is the channel itself, for records kept on it.
    """

    channel: str
    uniqueid: str
    chan: Channel
    applications: list[AppRun] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    agi_status: str | None = None
    agi_calls: list[CallResult] = field(default_factory=list)
    hung_up_by: str | None = None
    context: str = ""
    exten: str = ""
    priority: int = 1
    ended: str = "hangup"
    unknown_applications: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)
    virtual_duration: float = 0.0

    @property
    def app_names(self) -> list[str]:
        """The applications run, by name, in order."""
        return [run.app for run in self.applications]


class DialplanSubroutines(Mapping[str, SubroutineHandler]):
    """The channel's GOSUB targets: explicit handlers first, then every dialplan context."""

    def __init__(self, dialplan: Dialplan, overrides: Mapping[str, SubroutineHandler]) -> None:
        self.dialplan = dialplan
        self.overrides = overrides
        self.handler: SubroutineHandler | None = None

    def __getitem__(self, context: str) -> SubroutineHandler:
        if context in self.overrides:
            return self.overrides[context]
        if context in self.dialplan.contexts and self.handler is not None:
            return self.handler
        raise KeyError(context)

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self.overrides), **dict.fromkeys(self.dialplan.contexts)})

    def __len__(self) -> int:
        return len(set(self.overrides) | set(self.dialplan.contexts))


def parse_agi_url(url: str) -> tuple[str, int, str] | None:
    """``agi://host[:port][/script]`` -> (host, port, script); None if not an agi:// URL."""
    match = _AGI_URL.fullmatch(url.strip())
    if match is None:
        return None
    host = match.group("v6") or match.group("host")
    return host, int(match.group("port") or _DEFAULT_AGI_PORT), match.group("script") or ""


class DialplanRunner:
    """One channel's trip through the dialplan; `run` once."""

    def __init__(
        self, dialplan: Dialplan, channel: Channel, start_agi: AgiStarter, *, max_steps: int
    ) -> None:
        self.plan = dialplan
        self.ch = channel
        self.start_agi = start_agi
        self.max_steps = max_steps
        self.steps = 0
        self.context = channel.context
        self.exten = channel.extension
        self.priority = 1
        self.jumped = False
        self.in_agi = False
        self.result = DialplanResult(channel=channel.name, uniqueid=channel.uniqueid, chan=channel)
        self._control: dict[str, Callable[[str], int]] = {
            "goto": self._goto_app,
            "gotoif": self._gotoif,
            "gotoiftime": self._gotoiftime,
            "execif": self._execif,
            "gosub": self._gosub_app,
            "gosubif": self._gosubif,
            "return": self._return,
            "hangup": self._hangup,
            "mset": self._mset,
            "agi": self._agi_in_subroutine,
        }

    # -- the main run --------------------------------------------------------------------

    async def run(self, context: str, exten: str, priority: int | str = 1) -> DialplanResult:
        """Run from ``context,exten,priority`` (a number or a label) until the channel ends."""
        ch, result = self.ch, self.result
        number = self._priority_of(context, exten, str(priority))
        if number is None:
            raise DialplanError(f"no priority {priority!r} for {exten} in {context}")
        self._place(context, exten, number)
        result.ended = await self._loop()
        result.context, result.exten, result.priority = self.context, self.exten, self.priority
        if not ch.hung_up:
            ch.hangup("dialplan")
        ch.dead = True
        if self.plan.exists(self.context, "h", ch.wall_clock()):
            self._place(self.context, "h", 1)
            await self._loop(in_h=True)
        handlers = hangup_handlers(ch)
        while handlers:  # after `h`, the most recently pushed first
            await self._run_hangup_handler(handlers.pop())
        ch.flush_lost()
        result.variables = dict(ch.variables)
        result.agi_status = ch.variables.get("AGISTATUS")
        result.hung_up_by = ch.hung_up_by
        result.prompts = list(ch.prompts)
        result.timeline = list(ch.timeline)
        result.virtual_duration = ch.now
        return result

    async def _run_hangup_handler(self, spec: str) -> None:
        """CHANNEL(hangup_handler_push): a Gosub run on the dead channel until it returns."""
        label, paren, rest = spec.partition("(")
        args = split_args(rest[: rest.rfind(")")], raw=True) if paren else []
        target = self._target(label)
        if target is None or self.plan.find(*target, self.ch.wall_clock()) is None:
            self._warn(f"hangup handler: non-existent destination {label!r}")
            return
        frame = GosubFrame(None)
        self._push_frame(frame, args)
        self._place(*target)
        await self._loop(in_h=True, until_return_of=frame)

    async def _loop(self, *, in_h: bool = False, until_return_of: GosubFrame | None = None) -> str:
        ch = self.ch
        while True:
            if until_return_of is not None and until_return_of not in gosub_frames(ch):
                return "returned"
            step = self._current(in_h)
            if isinstance(step, str):
                return step
            app, data = self._begin(step)
            ch.start_command()
            name, data = self._unwrap_execif(app, data)
            if name is None:
                code = 0
            elif name == "agi":
                code = await self._agi(data)
            else:
                code = self._execute(name, data)
            ch.finish_command()
            if code != 0 or (ch.hung_up and not in_h):
                return "hangup"
            self._advance()

    # -- positions -----------------------------------------------------------------------

    def _place(self, context: str, exten: str, priority: int) -> None:
        """Move to a position that runs next as it is (not after an application)."""
        self.context, self.exten, self.priority = context, exten, priority
        self.jumped = False

    def _jump(self, context: str, exten: str, priority: int) -> None:
        """An application moves the channel: the position is not advanced after it."""
        self.context, self.exten, self.priority = context, exten, priority
        self.jumped = True

    def _advance(self) -> None:
        if not self.jumped:
            self.priority += 1
        self.jumped = False

    def _current(self, quiet: bool = False) -> Priority | str:
        """The step to run now, or why there is none ("fell-through", "invalid-extension")."""
        self.steps += 1
        if self.steps > self.max_steps:
            raise DialplanError(
                f"more than {self.max_steps} priorities run: a loop that takes no channel time?"
            )
        now = self.ch.wall_clock()
        step = self.plan.find(self.context, self.exten, self.priority, now)
        if step is not None:
            return step
        if self.plan.exists(self.context, self.exten, now):
            if not quiet:
                self._warn(f"Auto fallthrough at {self._where()}: no priority {self.priority}")
            return "fell-through"
        if self.exten not in ("i", "h") and self.plan.exists(self.context, "i", now):
            self._warn(f"sent into invalid extension {self.exten!r} in {self.context!r}: to 'i'")
            self.ch.set_variable("INVALID_EXTEN", self.exten)
            self._place(self.context, "i", 1)
            return self._current(quiet)
        if not quiet:
            self._warn(f"sent into invalid extension {self.exten!r} in context {self.context!r}")
        return "invalid-extension"

    def _begin(self, step: Priority) -> tuple[str, str]:
        """Substitute the step's data, point the channel at it and record it."""
        ch = self.ch
        ch.context, ch.extension, ch.priority = self.context, self.exten, str(self.priority)
        data = ch.substitute(step.data)
        self.result.applications.append(
            AppRun(step.app, data, ch.now, self.context, self.exten, self.priority)
        )
        ch.log("app", f"{step.app}({data})")
        return step.app, data

    def _where(self) -> str:
        return f"{self.context},{self.exten},{self.priority}"

    def _warn(self, message: str) -> None:
        self.result.warnings.append(message)

    def _priority_of(self, context: str, exten: str, text: str) -> int | None:
        """A priority given as a number, ``+N``/``-N`` (relative) or a label."""
        text = text.strip()
        if text[:1] in "+-" and text[1:].isdigit():
            return self.priority + int(text)
        if text.isdigit():
            return int(text) if int(text) > 0 else None
        return self.plan.find_label(context, exten, text, self.ch.wall_clock())

    def _target(self, text: str) -> tuple[str, str, int] | None:
        """``[[context,]exten,]priority`` as Goto and Gosub read it; None if it is invalid."""
        parts = [part.strip() for part in text.split(",")]
        if len(parts) > 3 or not parts[-1]:
            return None
        context = parts[0] if len(parts) == 3 else self.context
        exten = parts[-2] if len(parts) >= 2 else self.exten
        priority = self._priority_of(context, exten, parts[-1])
        return None if priority is None else (context, exten, priority)

    # -- applications --------------------------------------------------------------------

    def _execute(self, name: str, data: str) -> int:
        """Run application ``name`` (lower case) with substituted ``data``."""
        control = self._control.get(name)
        if control is not None:
            return control(data)
        handler = self.ch.find_application(name)
        if handler is None:
            self._warn(f"No application {name!r} for extension ({self._where()})")
            self.result.unknown_applications.append(name)
            return -1
        return handler(self.ch, data)

    def _unwrap_execif(self, app: str, data: str) -> tuple[str | None, str]:
        """Follow ExecIf to the application it runs (None: nothing to run)."""
        name = app.lower()
        while name == "execif":
            chosen = self._execif_choice(data)
            if chosen is None:
                return None, ""
            name, data = chosen
        return name, data

    def _execif_choice(self, data: str) -> tuple[str, str] | None:
        condition, sep, rest = data.partition("?")
        if not sep:
            self._warn("ExecIf needs 'expression?app(args)[:app(args)]'")
            return None
        branches = split_args(rest, ":", raw=True)
        chosen = branches[0] if check_condition(condition) else "".join(branches[1:2])
        if not chosen.strip():
            return None
        name, _, args = chosen.partition("(")
        end = args.rfind(")")
        return name.strip().lower(), args[:end] if end >= 0 else args

    def _execif(self, data: str) -> int:
        chosen = self._execif_choice(data)
        return 0 if chosen is None else self._execute(*chosen)

    def _goto(self, text: str, app: str) -> int:
        target = self._target(text)
        if target is None:
            self._warn(f"{app}: invalid destination {text!r} at {self._where()}")
            return -1
        self._jump(*target)
        return 0

    def _goto_app(self, data: str) -> int:
        return self._goto(data, "Goto")

    def _gotoif(self, data: str) -> int:
        condition, _, branches = data.partition("?")
        yes, _, no = branches.partition(":")
        branch = yes if check_condition(condition) else no
        return self._goto(branch, "GotoIf") if branch.strip() else 0

    def _gotoiftime(self, data: str) -> int:
        spec, _, branches = data.partition("?")
        yes, _, no = branches.partition(":")
        branch = yes if TimeSpec.parse(spec).matches(self.ch.wall_clock()) else no
        return self._goto(branch, "GotoIfTime") if branch.strip() else 0

    def _push_frame(self, frame: GosubFrame, args: list[str]) -> None:
        frames = gosub_frames(self.ch)
        previous = frames[-1].argc if frames else 0
        for number, arg in enumerate(args, start=1):
            frame.set_local(self.ch, f"ARG{number}", arg)
        for number in range(len(args) + 1, previous + 1):
            frame.set_local(self.ch, f"ARG{number}", "")  # hide the caller's extra ARGn
        frame.set_local(self.ch, "ARGC", str(len(args)))
        frame.argc = len(args)
        frames.append(frame)

    def _gosub(self, data: str, app: str) -> int:
        label, paren, rest = data.partition("(")
        args: list[str] = []
        if paren:
            end = rest.rfind(")")
            args = split_args(rest[:end] if end >= 0 else rest, raw=True)
        target = self._target(label)
        if target is None or self.plan.find(*target, self.ch.wall_clock()) is None:
            self._warn(f"{app}: non-existent destination {label!r} at {self._where()}")
            return -1
        self._push_frame(GosubFrame((self.context, self.exten, self.priority + 1)), args)
        self._jump(*target)
        return 0

    def _gosub_app(self, data: str) -> int:
        return self._gosub(data, "Gosub")

    def _gosubif(self, data: str) -> int:
        condition, _, rest = data.partition("?")
        branches = split_args(rest, ":", raw=True)
        branch = branches[0] if check_condition(condition) else "".join(branches[1:2])
        return self._gosub(branch, "GosubIf") if branch.strip() else 0

    def _return(self, data: str) -> int:
        frames = gosub_frames(self.ch)
        if not frames:
            self._warn(f"Return without Gosub at {self._where()}")
            return -1
        frame = frames.pop()
        frame.restore(self.ch)
        self.ch.set_variable("GOSUB_RETVAL", data)
        if frame.return_to is not None:
            self._jump(*frame.return_to)
        return 0

    def _hangup(self, data: str) -> int:
        self.ch.hangup("dialplan")
        return -1

    def _mset(self, data: str) -> int:
        for pair in split_args(data):
            name, sep, value = pair.partition("=")
            if sep and name.strip():
                self.ch.set_variable(name.strip(), value)
        return 0

    # -- AGI -----------------------------------------------------------------------------

    async def _agi(self, data: str) -> int:
        args = split_args(data)
        if not args or not args[0].strip():
            self._warn("AGI requires an argument (the script)")
            return -1
        target = parse_agi_url(args[0])
        if target is None:
            # a local script: the emulator has no file system to run it from
            self._warn(f"AGI {args[0]!r}: only agi://host[:port]/script is emulated")
            self.ch.set_variable("AGISTATUS", "NOTFOUND")
            return 0
        host, port, script = target
        self.in_agi = True
        try:
            call = await self.start_agi(self.ch, host, port, script, args[1:])
        finally:
            self.in_agi = False
        self.result.agi_calls.append(call)
        self.ch.set_variable("AGISTATUS", call.agi_status)
        return -1 if call.agi_status == "HANGUP" else 0

    def _agi_in_subroutine(self, data: str) -> int:
        raise DialplanError(
            f"AGI({data}) at {self._where()}: AGI() inside a Gosub run by the AGI's GOSUB"
            " command (or inside ExecIf there) is not supported by the emulator"
        )

    def agi_gosub(self, ch: Channel, request: GosubRequest) -> bool | None:
        """The AGI's ``GOSUB context exten priority [args]``: run it to its Return()."""
        if not self.in_agi:
            raise DialplanError("GOSUB command outside an AGI() of the dialplan run")
        now = ch.wall_clock()
        priority = self._priority_of(request.context, request.exten, request.priority)
        if priority is None:
            return False
        if self.plan.find(request.context, request.exten, priority, now) is None:
            return False
        frame = GosubFrame(None, agi=True)
        home = (self.context, self.exten, self.priority)
        self._push_frame(frame, list(request.args))
        self._place(request.context, request.exten, priority)
        frames = gosub_frames(ch)
        while frame in frames:
            step = self._current()
            if isinstance(step, str):
                break  # the subroutine ran off its end: Asterisk pops the frame below
            app, data = self._begin(step)
            code = self._execute(app.lower(), data)
            if code != 0 or ch.hung_up:
                break
            self._advance()
        if frame in frames:  # no Return(): pop down to our frame, restoring variables
            while frames:
                popped = frames.pop()
                popped.restore(ch)
                if popped is frame:
                    break
        self._place(*home)
        ch.context, ch.extension, ch.priority = self.context, self.exten, str(self.priority)
        return None
