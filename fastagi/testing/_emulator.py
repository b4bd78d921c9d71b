"""Asterisk's side of FastAGI over real TCP: connect, send the environment, answer commands.

One call is one coroutine on the running event loop (no threads); commands are
answered at once in wall-clock time while the channel's own time is virtual
(see `Channel`), so thousands of concurrent calls stay cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

from fastagi.testing._apps import default_applications
from fastagi.testing._caller import CallerScript
from fastagi.testing._channel import AppHandler, Channel, SubroutineHandler
from fastagi.testing._commands import default_commands
from fastagi.testing._dialplan import Dialplan, DialplanError
from fastagi.testing._parse import parse_args
from fastagi.testing._pbx import DialplanResult, DialplanRunner, DialplanSubroutines
from fastagi.testing._result import CallResult
from fastagi.testing._table import CommandTable, Status
from fastagi.testing._telephony import TelephonyScript

__all__ = ["AsteriskEmulator"]

_NOTHING: Mapping[str, str] = MappingProxyType({})
_UNKNOWN = "510 Invalid or unknown command\n"
_DEAD = "511 Command Not Permitted on a dead channel or intercept routine\n"
_NO_USAGE = "520 Invalid command syntax.  Proper usage not available.\n"
_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})
_FALSE = frozenset({"no", "false", "n", "f", "0", "off"})
_READ_SIZE = 65536
_WRITE_HIGH_WATER = 65536


def _three_seconds(name: str) -> float:
    return 3.0


def _file_lookup(
    existing: Collection[str] | Callable[[str, str], bool] | None,
) -> Callable[[str, str], bool]:
    if existing is None:
        return lambda name, language: True
    if callable(existing):
        return existing
    known = frozenset(existing)
    return lambda name, language: name in known or f"{language}/{name}" in known


def _usage_block(usage: str) -> str:
    if not usage:
        return _NO_USAGE
    head = "520-Invalid command syntax.  Proper usage follows:\n"
    return f"{head}{usage}\n520 End of proper usage.\n"


class AsteriskEmulator:
    """Plays Asterisk's part of FastAGI against a server, one `place_call` per call.

    Options shared by all calls:

    - ``prompt_duration(name)``: seconds a sound file lasts (default 3.0); SAY
      commands play pseudo-files such as ``say-digits:123``;
    - ``existing_files``: the sound files that exist (a name, or
      ``<language>/<name>``), or a ``(name, language) -> bool`` callable;
      None (default) means every file exists;
    - ``applications`` / ``subroutines``: EXEC applications and GOSUB
      subroutines (by context), added over the defaults;
    - ``commands``: a whole command table, default `default_commands()`;
    - ``wall_limit``: real seconds after which a call is abandoned and
      reported ``stuck`` (default 30; None: no limit);
    - ``telephony``: what the far ends do in Queue(), Dial(), VoiceMail(), ...
      for every call (`TelephonyScript`; default: queues never answer,
      dial targets are unavailable); ``place_call`` may replace it per call;
    - ``max_duration``: virtual seconds after which the caller gives up and
      hangs up (default 3600);
    - ``line_limit``: Asterisk's command buffer (2048 bytes: a longer line is
      cut after 2047 bytes and its rest read as the next command);
    - ``dialplan``: a parsed `Dialplan` for `run_dialplan`; ``globals``
      overrides its ``[globals]`` (global variables are shared by all calls
      of the emulator, ``place_call`` ones included, as in Asterisk).
    """

    def __init__(
        self,
        *,
        prompt_duration: Callable[[str], float] = _three_seconds,
        existing_files: Collection[str] | Callable[[str, str], bool] | None = None,
        applications: Mapping[str, AppHandler] | None = None,
        subroutines: Mapping[str, SubroutineHandler] | None = None,
        commands: CommandTable | None = None,
        wall_limit: float | None = 30.0,
        max_duration: float = 3600.0,
        telephony: TelephonyScript | None = None,
        line_limit: int = 2048,
        connect_timeout: float = 2.0,
        version: str = "22.1.0",
        channel_prefix: str = "PJSIP/trunk",
        dialplan: Dialplan | None = None,
        globals: Mapping[str, str] | None = None,
    ) -> None:
        if line_limit < 2:
            raise ValueError("line_limit must be at least 2")
        if not 0 < max_duration < math.inf:
            raise ValueError("max_duration must be a positive number of seconds")
        self.prompt_duration = prompt_duration
        self.file_exists = _file_lookup(existing_files)
        self.applications: dict[str, AppHandler] = default_applications()
        self.applications.update({k.lower(): v for k, v in (applications or {}).items()})
        self.subroutines: dict[str, SubroutineHandler] = dict(subroutines or {})
        self.commands = commands if commands is not None else default_commands()
        self.wall_limit = wall_limit
        self.max_duration = max_duration
        self.telephony = telephony if telephony is not None else TelephonyScript()
        self.line_limit = line_limit
        self.connect_timeout = connect_timeout
        self.version = version
        self.channel_prefix = channel_prefix
        self.database: dict[tuple[str, str], str] = {}
        """AstDB shared by all calls of this emulator (DATABASE GET/PUT/DEL/DELTREE)."""
        self._epoch = int(time.time())
        self._counter = itertools.count(1)
        self.dialplan = dialplan
        self.globals: dict[str, str] = {**(dialplan.globals if dialplan else {}), **(globals or {})}
        """Global variables (``[globals]`` plus overrides), shared by every call."""

    def build_env(
        self,
        host: str,
        port: int,
        *,
        script: str,
        uniqueid: str,
        channel: str,
        callerid: str,
        calleridname: str,
        args: Sequence[str],
        overrides: Mapping[str, str],
        threadid: int,
    ) -> dict[str, str]:
        """The environment block, in Asterisk's order, with ``overrides`` applied.

        An override replaces a variable in place (``agi_`` may be left out of
        its name); an unknown one is appended at the end.
        """
        script = script.removeprefix("/")
        address = f"[{host}]" if ":" in host else host
        request = f"agi://{address}:{port}" + (f"/{script}" if script else "")
        anonymous = callerid in ("", "unknown") and calleridname in ("", "unknown")
        env: dict[str, str] = {"agi_network": "yes"}
        if script:
            env["agi_network_script"] = script
        env.update(
            {
                "agi_request": request,
                "agi_channel": channel,
                "agi_language": "en",
                "agi_type": self.channel_prefix.partition("/")[0],
                "agi_uniqueid": uniqueid,
                "agi_version": self.version,
                "agi_callerid": callerid or "unknown",
                "agi_calleridname": calleridname or "unknown",
                "agi_callingpres": "67" if anonymous else "0",
                "agi_callingani2": "0",
                "agi_callington": "0",
                "agi_callingtns": "0",
                "agi_dnid": "unknown",
                "agi_rdnis": "unknown",
                "agi_context": "ivr",
                "agi_extension": "s",
                "agi_priority": "1",
                "agi_enhanced": "0.0",
                "agi_accountcode": "",
                "agi_threadid": str(threadid),
            }
        )
        for number, arg in enumerate(args, start=1):
            env[f"agi_arg_{number}"] = arg
        for key, value in overrides.items():
            env[key if key.startswith("agi_") else f"agi_{key}"] = value
        return env

    async def place_call(
        self,
        host: str,
        port: int,
        *,
        script: str = "main",
        callerid: str = "unknown",
        calleridname: str = "unknown",
        caller: CallerScript | None = None,
        args: Sequence[str] = (),
        env_overrides: Mapping[str, str] = _NOTHING,
        channel_variables: Mapping[str, str] = _NOTHING,
        hangup_at_command: int | None = None,
        reply_delay: float = 0.0,
        wall_limit: float | None = None,
        applications: Mapping[str, AppHandler] | None = None,
        subroutines: Mapping[str, SubroutineHandler] | None = None,
        telephony: TelephonyScript | None = None,
    ) -> CallResult:
        """Run one call against the FastAGI server at ``host:port`` until it ends.

        The call ends when the server closes the socket (Asterisk never does
        while the AGI runs, not even after a hangup), when it sends a line
        Asterisk takes as the end of the script (starting with "failure" or
        NUL), or after ``wall_limit`` real seconds (``stuck``). The caller
        follows ``caller`` (default: silent); ``hangup_at_command=N`` makes it
        hang up during the N-th command (1-based); ``reply_delay`` real
        seconds pass before each reply. Channel time only moves while
        commands run: a server that sends nothing is never hung up on.
        ``telephony`` replaces the emulator's `TelephonyScript` for this call.

        ``channel_variables`` are set before the AGI starts; as in Asterisk,
        ``AGISIGHUP=no`` suppresses the ``HANGUP`` notices and
        ``AGIEXITONHANGUP=yes`` ends the AGI (Asterisk closes the socket)
        right after the channel is hung up.

        Returns the `CallResult`; connection errors are reported in it
        (agi_status "FAILURE"), not raised. Exceptions from handlers
        (applications, subroutines, commands) propagate.
        """
        number, uniqueid, name = self._next_identity()
        env = self.build_env(
            host,
            port,
            script=script,
            uniqueid=uniqueid,
            channel=name,
            callerid=callerid,
            calleridname=calleridname,
            args=args,
            overrides=env_overrides,
            threadid=139_800_000_000_000 + number,
        )
        channel, dialplan_subs = self._new_channel(
            name, uniqueid, env, channel_variables, caller, applications, subroutines, telephony
        )
        if dialplan_subs is not None and self.dialplan is not None:
            runner = DialplanRunner(self.dialplan, channel, _no_nested_agi, max_steps=10_000)
            runner.in_agi = True  # the call is one AGI session from start to end
            dialplan_subs.handler = runner.agi_gosub
        return await self._run_agi(
            channel, host, port, env, hangup_at_command, reply_delay, wall_limit
        )

    def _next_identity(self) -> tuple[int, str, str]:
        """A new call's number, uniqueid and channel name."""
        number = next(self._counter)
        return number, f"{self._epoch}.{number}", f"{self.channel_prefix}-{number:08x}"

    def _new_channel(
        self,
        name: str,
        uniqueid: str,
        env: Mapping[str, str],
        variables: Mapping[str, str],
        caller: CallerScript | None,
        applications: Mapping[str, AppHandler] | None,
        subroutines: Mapping[str, SubroutineHandler] | None,
        telephony: TelephonyScript | None,
    ) -> tuple[Channel, DialplanSubroutines | None]:
        """A channel with this call's additions over the emulator's applications,
        subroutines and telephony; with a dialplan, GOSUB runs its contexts (the
        returned `DialplanSubroutines` still needs its runner)."""
        apps = self.applications
        if applications:
            apps = {**apps, **{k.lower(): v for k, v in applications.items()}}
        subs: Mapping[str, SubroutineHandler] = (
            {**self.subroutines, **subroutines} if subroutines else self.subroutines
        )
        dialplan_subs = None
        if self.dialplan is not None:
            subs = dialplan_subs = DialplanSubroutines(self.dialplan, dict(subs))
        channel = Channel(
            name=name,
            uniqueid=uniqueid,
            env=env,
            variables=variables,
            caller=caller if caller is not None else CallerScript(),
            prompt_duration=self.prompt_duration,
            file_exists=self.file_exists,
            applications=apps,
            subroutines=subs,
            database=self.database,
            max_duration=self.max_duration,
            telephony=telephony if telephony is not None else self.telephony,
        )
        channel.globals = self.globals
        return channel, dialplan_subs

    async def _run_agi(
        self,
        channel: Channel,
        host: str,
        port: int,
        env: dict[str, str],
        hangup_at_command: int | None = None,
        reply_delay: float = 0.0,
        wall_limit: float | None = None,
    ) -> CallResult:
        """One FastAGI session on ``channel``: place_call's, or an AGI() of the dialplan."""
        result = CallResult(uniqueid=channel.uniqueid, channel=channel.name, env=env)
        session = _Session(self, channel, result, hangup_at_command, reply_delay)
        limit = self.wall_limit if wall_limit is None else wall_limit
        await session.run(host, port, limit)
        return result

    async def run_dialplan(
        self,
        context: str,
        exten: str,
        *,
        priority: int | str = 1,
        callerid: str = "unknown",
        calleridname: str = "unknown",
        caller: CallerScript | None = None,
        now: datetime | None = None,
        channel_variables: Mapping[str, str] = _NOTHING,
        applications: Mapping[str, AppHandler] | None = None,
        subroutines: Mapping[str, SubroutineHandler] | None = None,
        telephony: TelephonyScript | None = None,
        max_steps: int = 10_000,
        reply_delay: float = 0.0,
    ) -> DialplanResult:
        """Run a new channel through the emulator's dialplan from ``context,exten,priority``.

        ``now`` is the wall-clock time of the call's start (default: now; a naive
        value is local time): GotoIfTime, timed includes, ``${EPOCH}`` and
        STRFTIME read the channel's clock, which starts there and moves with
        virtual time. Each ``AGI(agi://host:port/script,args)`` connects to that
        FastAGI server as `place_call` does, on the same channel; its GOSUB
        commands run the dialplan's subroutines. ``applications`` /
        ``subroutines`` / ``telephony`` are added over the emulator's for this
        call; a subroutine handler replaces the dialplan context of that name.
        More than ``max_steps`` priorities raises `DialplanError` (a loop that
        takes no channel time would never end). ``reply_delay`` real seconds pass
        before each reply of every AGI() (as in `place_call`), so that calls
        last long enough in wall-clock time to be in progress when something
        happens to their server. See `DialplanResult`.
        """
        if self.dialplan is None:
            raise ValueError("run_dialplan needs AsteriskEmulator(dialplan=...)")
        number, uniqueid, name = self._next_identity()
        env = {
            "agi_callerid": callerid,
            "agi_calleridname": calleridname,
            "agi_context": context,
            "agi_extension": exten,
        }
        channel, subs = self._new_channel(
            name, uniqueid, env, channel_variables, caller, applications, subroutines, telephony
        )
        assert subs is not None  # the emulator has a dialplan
        start = now or datetime.now()
        # the zone of ``now`` plays the system time zone of the emulated Asterisk
        channel.clock_start = start if start.tzinfo is not None else start.astimezone()

        async def start_agi(
            ch: Channel, host: str, port: int, script: str, args: list[str]
        ) -> CallResult:
            agi_env = self.build_env(
                host,
                port,
                script=script,
                uniqueid=ch.uniqueid,
                channel=ch.name,
                callerid=ch.caller_number,
                calleridname=ch.caller_name,
                args=args,
                overrides={
                    "language": ch.language,
                    "context": ch.context,
                    "extension": ch.extension,
                    "priority": ch.priority,
                },
                threadid=139_800_000_000_000 + number,
            )
            return await self._run_agi(ch, host, port, agi_env, reply_delay=reply_delay)

        runner = DialplanRunner(self.dialplan, channel, start_agi, max_steps=max_steps)
        subs.handler = runner.agi_gosub
        return await runner.run(context, exten, priority)


async def _no_nested_agi(
    ch: Channel, host: str, port: int, script: str, args: list[str]
) -> CallResult:
    raise DialplanError("AGI() inside a subroutine started by the AGI's GOSUB is not supported")


class _Session:
    """One call's connection: reads command lines, runs them, writes replies."""

    def __init__(
        self,
        emulator: AsteriskEmulator,
        channel: Channel,
        result: CallResult,
        hangup_at_command: int | None,
        reply_delay: float,
    ) -> None:
        self.emulator = emulator
        self.table = emulator.commands
        self.channel = channel
        self.result = result
        self.hangup_at_command = hangup_at_command
        self.reply_delay = reply_delay
        self.status = "SUCCESS"
        self.count = 0
        self.buffer = bytearray()
        self.eof = False
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.started = time.perf_counter()
        self.sent_at = self.started
        # read once at the start, as run_agi does
        self.send_sighup = channel.variables.get("AGISIGHUP", "").lower() not in _FALSE
        self.exit_on_hangup = channel.variables.get("AGIEXITONHANGUP", "").lower() in _TRUE
        self.ended = False

    async def run(self, host: str, port: int, limit: float | None) -> None:
        result = self.result
        try:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), self.emulator.connect_timeout
                )
                self.reader, self.writer = reader, writer
                env = "".join(f"{key}: {value}\n" for key, value in result.env.items()) + "\n"
                writer.write(env.encode("utf-8", "surrogateescape"))
                await writer.drain()
            except (OSError, TimeoutError) as exc:
                self.status = "FAILURE"
                result.error = f"{type(exc).__name__}: {exc}"
                return
            self.sent_at = time.perf_counter()
            try:
                async with asyncio.timeout(limit):
                    await self._converse()
                if self.send_sighup:
                    self._write_quietly(b"HANGUP\n")  # said as the AGI ends; not recorded
            except TimeoutError:
                result.stuck = True
        finally:
            await self._close()
            self._finish()

    async def _converse(self) -> None:
        ch = self.channel
        while True:
            raw = await self._read_line()
            if raw is None:
                self.result.server_closed = True
                self.result.closed_at = ch.now
                self.result.close_wall_time = time.perf_counter() - self.started
                return
            self.result.timings.append(time.perf_counter() - self.sent_at)
            line = raw.split(b"\0", 1)[0]
            if not line:
                return  # res_agi takes an empty C string as the end of the script
            if line[:7].lower() == b"failure":
                self._record(line.rstrip(b"\n"))
                self.status = "FAILURE"
                return
            reply = self._handle(line[:-1] if line.endswith(b"\n") else line)
            if self.reply_delay > 0:
                await asyncio.sleep(self.reply_delay)
            await self._write(reply)
            if self.ended:
                return

    def _record(self, line: bytes) -> list[str]:
        text = line.decode("utf-8", "surrogateescape")
        argv = parse_args(text)
        self.result.command_lines.append(text)
        self.result.commands.append(argv)
        return argv

    def _handle(self, line: bytes) -> str:
        """Run one command line on the channel; return everything to write back."""
        ch = self.channel
        argv = self._record(line)
        self.count += 1
        if ch.dead:
            self.result.commands_after_hangup += 1
        else:
            ch.start_command()
            if self.count == self.hangup_at_command:
                ch.schedule_caller_hangup(ch.now)
        command = self.table.find(argv)
        if command is None:
            text = _UNKNOWN
        elif ch.dead and not command.dead_ok:
            text = _DEAD
        else:
            outcome = command.handler(ch, argv)
            text = outcome.text
            if outcome.status == Status.SHOWUSAGE:
                text += _usage_block(command.usage)
            elif outcome.status == Status.FAILURE and (ch.dead or not ch.hung_up):
                self.status = "FAILURE"
        ch.finish_command()
        if ch.hung_up and not ch.dead:
            ch.dead = True
            self.result.hangup_at = ch.now
            if self.status == "SUCCESS":
                self.status = "HANGUP"
            if self.send_sighup:
                text += "HANGUP\n"
            self.ended = self.exit_on_hangup
        return text

    async def _read_line(self) -> bytes | None:
        """The next line as res_agi's fgets loop reads it: at most line_limit - 1 bytes."""
        buffer = self.buffer
        most = self.emulator.line_limit - 1
        while True:
            end = buffer.find(b"\n", 0, most)
            if end >= 0:
                line = bytes(buffer[: end + 1])
                del buffer[: end + 1]
                return line
            if len(buffer) >= most or (self.eof and buffer):
                line = bytes(buffer[:most])
                del buffer[:most]
                return line
            if self.eof or self.reader is None:
                return None
            try:
                chunk = await self.reader.read(_READ_SIZE)
            except ConnectionError:
                chunk = b""
            if chunk:
                buffer += chunk
            else:
                self.eof = True

    async def _write(self, text: str) -> None:
        writer = self.writer
        if writer is None or writer.is_closing():
            return
        writer.write(text.encode("utf-8", "surrogateescape"))
        self.result.replies.extend(text[:-1].split("\n") if text.endswith("\n") else [text])
        if writer.transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        self.sent_at = time.perf_counter()

    def _write_quietly(self, data: bytes) -> None:
        writer = self.writer
        if writer is not None and not writer.is_closing():
            with contextlib.suppress(Exception):
                writer.write(data)

    async def _close(self) -> None:
        writer = self.writer
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    def _finish(self) -> None:
        ch, result = self.channel, self.result
        ch.flush_lost()
        result.agi_status = self.status
        result.hung_up_by = ch.hung_up_by
        result.virtual_duration = ch.now
        result.prompts = ch.prompts
        result.missing_files = ch.missing_files
        result.recordings = ch.recordings
        result.telephony = ch.telephony_log
        result.language = ch.language
        result.digits_consumed = "".join(ch.digits_consumed)
        result.digits_lost = "".join(ch.digits_lost)
        result.timeline = ch.timeline
        result.variables = {**ch.variables, "AGISTATUS": self.status}
        result.wall_duration = time.perf_counter() - self.started
