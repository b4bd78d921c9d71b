"""Simulated calls: the real server on a loopback port, driven by the Asterisk emulator.

`ivr simulate` and `ivr test` both come through here, so what an admin sees
is what the server really does over TCP - no shortcut through the engine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastagi.callers.service import CallerService
from fastagi.config import ServerSettings
from fastagi.events import EventRecorder
from fastagi.hours.business import load_business_hours
from fastagi.menus import MenuSet
from fastagi.menus.scenario_telephony import ScenarioTelephony
from fastagi.menus.session import PromptSource
from fastagi.server.app import start_server
from fastagi.server.factory import STATUS_VARIABLE
from fastagi.testing import (
    AsteriskEmulator,
    CallerScript,
    Dialplan,
    DialScript,
    FaxScript,
    QueueScript,
    TelephonyScript,
    VoicemailScript,
)

__all__ = [
    "ScenarioClock",
    "SimulatedCall",
    "SimulationResult",
    "shipped_dialplan",
    "simulate_calls",
    "telephony_script",
]


class ScenarioClock:
    """The time calls see: a scenario's `at` while its call runs, else the real time."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at if self.at is not None else datetime.now(UTC)


def telephony_script(given: ScenarioTelephony | None) -> TelephonyScript:
    """The emulator's script for a scenario's `telephony` block (none: nobody answers)."""
    if given is None:
        return TelephonyScript()
    # The scenario models use the emulator scripts' field names, so they map one to one.
    queues = {name: QueueScript(**q.model_dump()) for name, q in given.queues.items()}
    dials = {target: DialScript(**d.model_dump()) for target, d in given.dials.items()}
    return TelephonyScript(
        queues=queues,
        dials=dials,
        voicemail=VoicemailScript(status=given.voicemail),
        fax=FaxScript(status=given.fax),
    )


def shipped_dialplan(settings: ServerSettings) -> Dialplan | None:
    """The dialplan of settings.asterisk_dir, whose subroutines the actions run; None if absent."""
    path = settings.asterisk_dir / "extensions.conf"
    return Dialplan.load(path) if path.is_file() else None


@dataclass(frozen=True)
class SimulatedCall:
    """One call to place: which menu, from which number, what the caller does."""

    menu: str
    caller: str = "unknown"
    input: tuple[str, ...] = ()
    node: str | None = None
    hangup_at_command: int | None = None
    #: Silent listening windows after the input runs out before the caller hangs up.
    idle_hangup: int | None = 2
    #: How queues, transfers and voicemail turn out (None: nobody answers anywhere).
    telephony: ScenarioTelephony | None = None
    #: When the call happens (None: now).
    at: datetime | None = None

    def script(self) -> CallerScript:
        return CallerScript.parse(",".join(self.input), idle_hangup=self.idle_hangup)

    @property
    def agi_script(self) -> str:
        """The FastAGI script path: the menu, and the start node as a query parameter."""
        return f"{self.menu}?node={self.node}" if self.node else self.menu


@dataclass(frozen=True)
class SimulationResult:
    """What happened: nodes entered, prompts heard, variables set, the result."""

    menu: str
    caller: str
    uniqueid: str
    path: list[str]
    prompts: list[str]
    variables: dict[str, str]
    result: str
    status: str
    outcome: str
    digits: str
    duration_s: float
    options_taken: list[tuple[str, str, str]] = field(default_factory=list)
    #: AGI commands the server sent on the call.
    commands: int = 0
    #: What the lookup found: number, segment, menu and its layer, new, degraded.
    lookup: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["options_taken"] = ["/".join(item) for item in self.options_taken]
        return data


def _path(recorder: EventRecorder, uniqueid: str, start_menu: str) -> list[str]:
    """Node ids in order; nodes of another menu than the start one as `menu/node`."""
    return [
        event.node if event.menu == start_menu else f"{event.menu}/{event.node}"
        for event in recorder.events(uniqueid, "node")
    ]


def _options_taken(recorder: EventRecorder, uniqueid: str) -> list[tuple[str, str, str]]:
    return [
        (event.menu, event.node, event.data.get("digits", ""))
        for event in recorder.events(uniqueid, "digits")
    ]


def _outcome(recorder: EventRecorder, uniqueid: str) -> tuple[str, str]:
    for event in recorder.events(uniqueid, "outcome"):
        return event.data.get("kind", ""), event.data.get("result", "")
    return "", ""


async def simulate_calls(
    menus: MenuSet,
    calls: Sequence[SimulatedCall],
    *,
    settings: ServerSettings | None = None,
    callers: CallerService | None = None,
    before_call: Callable[[int], Awaitable[None]] | None = None,
    prompts: PromptSource | None = None,
) -> list[SimulationResult]:
    """Place each call against a private server on 127.0.0.1; return what happened.

    With `callers`, each caller is looked up and personalised as `ivr serve`
    would; `before_call(index)` runs before call `index` is placed (to seed data).
    """
    base = settings or ServerSettings()
    private = base.model_copy(update={"host": "127.0.0.1", "port": 0})
    recorder = EventRecorder()
    clock = ScenarioClock()
    server = start_server(
        private,
        menus=menus,
        events=recorder,
        callers=callers,
        hours=load_business_hours(private.hours_file),
        clock=clock,
        prompts=prompts,
    )
    host, port = server.address
    emulator = AsteriskEmulator(dialplan=shipped_dialplan(private))
    results: list[SimulationResult] = []
    try:
        for index, spec in enumerate(calls):
            if before_call is not None:
                await before_call(index)
            clock.at = spec.at
            record = await emulator.place_call(
                host,
                port,
                script=spec.agi_script,
                callerid=spec.caller,
                caller=spec.script(),
                hangup_at_command=spec.hangup_at_command,
                telephony=telephony_script(spec.telephony),
            )
            kind, result = _outcome(recorder, record.uniqueid)
            caller_events = recorder.events(record.uniqueid, "caller")
            results.append(
                SimulationResult(
                    menu=spec.menu,
                    caller=spec.caller,
                    uniqueid=record.uniqueid,
                    path=_path(recorder, record.uniqueid, spec.menu),
                    prompts=list(record.prompts),
                    variables=dict(record.variables),
                    result=result if kind == "return" else kind,
                    status=record.variables.get(STATUS_VARIABLE, ""),
                    outcome=kind,
                    digits=record.digits_consumed,
                    duration_s=round(record.virtual_duration, 3),
                    options_taken=_options_taken(recorder, record.uniqueid),
                    lookup=dict(caller_events[0].data) if caller_events else {},
                    commands=len(record.command_lines),
                )
            )
    finally:
        await server.stop(grace=1.0)
    return results
