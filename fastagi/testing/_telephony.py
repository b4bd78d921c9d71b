"""Scripted outcomes for the telephony applications, and the records they leave.

A test says what the far end does - the queue answers after 12 s, ``PJSIP/201`` is
busy, the caller leaves a 20 s message - with a `TelephonyScript`; the emulated
applications (Queue, Dial, VoiceMail, ...) play it out on the channel's virtual
clock, set the channel variables Asterisk sets, and append one record per run to
the call's `TelephonyLog` (copied to the `CallResult`). Times in records are
virtual seconds from the start of the call.

This module holds values only; the applications live in ``_telephony_apps``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, TypeVar

__all__ = [
    "ConferenceRecord",
    "ConferenceScript",
    "DialRecord",
    "DialScript",
    "FaxRecord",
    "FaxScript",
    "MixMonitorRecord",
    "OriginateRecord",
    "QueueEvent",
    "QueueLogEntry",
    "QueueScript",
    "TelephonyLog",
    "TelephonyScript",
    "UserEventRecord",
    "VoicemailRecord",
    "VoicemailScript",
]

JOIN_REFUSALS = frozenset({"FULL", "JOINEMPTY", "JOINUNAVAIL"})
"""QUEUESTATUS values for a caller who never enters the queue."""
LEAVE_STATUSES = frozenset({"LEAVEEMPTY", "LEAVEUNAVAIL"})
"""QUEUESTATUS values for a caller pushed out of the queue after a while."""

DialStatus = Literal["ANSWER", "BUSY", "NOANSWER", "CHANUNAVAIL", "CONGESTION"]
VoicemailStatus = Literal["SUCCESS", "USEREXIT", "FAILED"]
FaxStatus = Literal["SUCCESS", "FAILED"]
ConferenceResult = Literal["HANGUP", "KICKED", "ENDMARKED", "DTMF", "TIMEOUT", "FAILED"]

_DIAL_STATUSES = frozenset({"ANSWER", "BUSY", "NOANSWER", "CHANUNAVAIL", "CONGESTION"})
_CONFERENCE_RESULTS = frozenset({"HANGUP", "KICKED", "ENDMARKED", "DTMF", "TIMEOUT", "FAILED"})


def _check_seconds(owner: str, **values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not (value >= 0 and math.isfinite(value)):
            raise ValueError(f"{owner}.{name} must be a finite number of seconds >= 0")


# -- scripts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueScript:
    """What happens to a caller in one queue (the default: nobody ever answers).

    Checked in this order: a ``status`` in FULL/JOINEMPTY/JOINUNAVAIL refuses the
    caller at once; otherwise the earliest of these ends the wait - an agent
    answers after ``answer_after`` s, the caller hangs up after
    ``caller_hangup_after`` s, the queue empties (``status`` LEAVEEMPTY or
    LEAVEUNAVAIL) after ``status_after`` s, the Queue() timeout argument runs out
    (TIMEOUT). An answered call lasts ``talk`` s and is ended by ``hangup_by``.

    ``waiting`` (callers ahead) and ``holdtime`` (average hold, s) are what
    QUEUE_WAITING_COUNT() and QUEUE_VARIABLES() report; ``agent`` names the
    member in the queue log.
    """

    answer_after: float | None = None
    talk: float = 60.0
    hangup_by: Literal["agent", "caller"] = "agent"
    caller_hangup_after: float | None = None
    status: str | None = None
    status_after: float = 0.0
    waiting: int = 0
    holdtime: int = 0
    agent: str = "PJSIP/agent"

    def __post_init__(self) -> None:
        _check_seconds(
            "QueueScript",
            answer_after=self.answer_after,
            talk=self.talk,
            caller_hangup_after=self.caller_hangup_after,
            status_after=self.status_after,
        )
        if self.status is not None and self.status not in JOIN_REFUSALS | LEAVE_STATUSES:
            raise ValueError(f"QueueScript.status cannot be forced to {self.status!r}")
        if self.hangup_by not in ("agent", "caller"):
            raise ValueError("QueueScript.hangup_by must be 'agent' or 'caller'")
        if self.waiting < 0 or self.holdtime < 0:
            raise ValueError("QueueScript.waiting and holdtime must be >= 0")

    @classmethod
    def answered(
        cls,
        after: float,
        *,
        talk: float = 60.0,
        hangup_by: Literal["agent", "caller"] = "agent",
        waiting: int = 0,
        holdtime: int = 0,
    ) -> QueueScript:
        """An agent answers ``after`` s of waiting; the call lasts ``talk`` s."""
        return cls(
            answer_after=after, talk=talk, hangup_by=hangup_by, waiting=waiting, holdtime=holdtime
        )

    @classmethod
    def no_answer(cls, *, waiting: int = 0, holdtime: int = 0) -> QueueScript:
        """Nobody answers: the Queue() timeout (or the caller's patience) ends the wait."""
        return cls(waiting=waiting, holdtime=holdtime)

    @classmethod
    def abandoned(cls, after: float, *, waiting: int = 0, holdtime: int = 0) -> QueueScript:
        """The caller hangs up after ``after`` s of waiting."""
        return cls(caller_hangup_after=after, waiting=waiting, holdtime=holdtime)

    @classmethod
    def forced(
        cls, status: str, *, after: float = 0.0, waiting: int = 0, holdtime: int = 0
    ) -> QueueScript:
        """QUEUESTATUS ``status``: FULL/JOINEMPTY/JOINUNAVAIL at once, LEAVEEMPTY/LEAVEUNAVAIL
        after ``after`` s of waiting."""
        return cls(status=status, status_after=after, waiting=waiting, holdtime=holdtime)


@dataclass(frozen=True)
class DialScript:
    """How one Dial() target behaves.

    ANSWER: answers after ``after`` s of ringing, talks ``talk`` s, and
    ``hangup_by`` ends the call. BUSY / CONGESTION: signalled after ``after`` s.
    NOANSWER: rings until the Dial() timeout. CHANUNAVAIL: fails at once.
    """

    status: DialStatus = "ANSWER"
    after: float = 5.0
    talk: float = 60.0
    hangup_by: Literal["callee", "caller"] = "callee"

    def __post_init__(self) -> None:
        if self.status not in _DIAL_STATUSES:
            raise ValueError(f"DialScript.status cannot be {self.status!r}")
        if self.hangup_by not in ("callee", "caller"):
            raise ValueError("DialScript.hangup_by must be 'callee' or 'caller'")
        _check_seconds("DialScript", after=self.after, talk=self.talk)

    @classmethod
    def answer(
        cls,
        after: float = 5.0,
        *,
        talk: float = 60.0,
        hangup_by: Literal["callee", "caller"] = "callee",
    ) -> DialScript:
        """Answers after ``after`` s of ringing; the call lasts ``talk`` s."""
        return cls("ANSWER", after, talk, hangup_by)

    @classmethod
    def busy(cls, after: float = 2.0) -> DialScript:
        """Busy after ``after`` s."""
        return cls("BUSY", after)

    @classmethod
    def no_answer(cls) -> DialScript:
        """Rings until the Dial() timeout."""
        return cls("NOANSWER")

    @classmethod
    def unavailable(cls) -> DialScript:
        """The channel cannot be created (unregistered endpoint, trunk down)."""
        return cls("CHANUNAVAIL", 0.0)

    @classmethod
    def congestion(cls, after: float = 1.0) -> DialScript:
        """The network is congested after ``after`` s."""
        return cls("CONGESTION", after)


@dataclass(frozen=True)
class VoicemailScript:
    """What the caller does in VoiceMail() (the default: a 10 s message, then hangs up).

    SUCCESS: the greeting plays ``greeting`` s, the caller speaks ``message`` s,
    then hangs up (``caller_hangs_up``) or presses ``key`` (# ends a recording).
    USEREXIT: the caller presses ``key`` (0 or *) after ``greeting`` s.
    FAILED: the caller hangs up after ``greeting`` s, before the beep
    (``caller_hangs_up``), or the mailbox is unusable and VoiceMail() fails at once.
    """

    status: VoicemailStatus = "SUCCESS"
    greeting: float = 5.0
    message: float = 10.0
    caller_hangs_up: bool = True
    key: str = "#"

    def __post_init__(self) -> None:
        if self.status not in ("SUCCESS", "USEREXIT", "FAILED"):
            raise ValueError(f"VoicemailScript.status cannot be {self.status!r}")
        _check_seconds("VoicemailScript", greeting=self.greeting, message=self.message)

    @classmethod
    def leaves_message(
        cls, seconds: float = 10.0, *, greeting: float = 5.0, hangs_up: bool = True
    ) -> VoicemailScript:
        """A ``seconds`` long message, ended by hanging up (or by # if not ``hangs_up``)."""
        return cls("SUCCESS", greeting, seconds, hangs_up, "#")

    @classmethod
    def hangs_up_in_greeting(cls, after: float = 2.0) -> VoicemailScript:
        """The caller hangs up ``after`` s into the greeting: nothing is recorded."""
        return cls("FAILED", after, 0.0, True)

    @classmethod
    def exits(cls, key: str = "0", *, after: float = 2.0) -> VoicemailScript:
        """The caller presses ``key`` (0: operator, *: the 'a' extension) during the greeting."""
        return cls("USEREXIT", after, 0.0, False, key)

    @classmethod
    def fails(cls) -> VoicemailScript:
        """The mailbox cannot take a message: VMSTATUS=FAILED at once."""
        return cls("FAILED", 0.0, 0.0, False)


@dataclass(frozen=True)
class FaxScript:
    """What ReceiveFax() receives (the default: one page in 30 s, the line stays up)."""

    status: FaxStatus = "SUCCESS"
    pages: int = 1
    duration: float = 30.0
    error: str = ""
    """FAXERROR; empty means NO_ERROR on success and UNKNOWN on failure."""
    remote_station: str = ""
    caller_hangs_up: bool = False
    """The sending machine hangs up when it is done (then ReceiveFax returns -1)."""

    def __post_init__(self) -> None:
        if self.status not in ("SUCCESS", "FAILED"):
            raise ValueError(f"FaxScript.status cannot be {self.status!r}")
        if self.pages < 0:
            raise ValueError("FaxScript.pages must be >= 0")
        _check_seconds("FaxScript", duration=self.duration)

    @property
    def fax_error(self) -> str:
        """The FAXERROR value."""
        return self.error or ("NO_ERROR" if self.status == "SUCCESS" else "UNKNOWN")


@dataclass(frozen=True)
class ConferenceScript:
    """How the caller leaves a ConfBridge() (the default: hangs up after 60 s)."""

    result: ConferenceResult = "HANGUP"
    after: float = 60.0

    def __post_init__(self) -> None:
        if self.result not in _CONFERENCE_RESULTS:
            raise ValueError(f"ConferenceScript.result cannot be {self.result!r}")
        _check_seconds("ConferenceScript", after=self.after)


_NO_ANSWER = QueueScript()
_V = TypeVar("_V")


def _frozen(mapping: Mapping[str, _V], *, fold: bool = False) -> Mapping[str, _V]:
    return MappingProxyType({(k.lower() if fold else k): v for k, v in mapping.items()})


@dataclass(frozen=True)
class TelephonyScript:
    """Everything the far ends of one call do, by queue name and by dial target.

    ``queues``: by queue name (case-insensitive, as Asterisk's queues are);
    an unscripted queue is ``default_queue`` (nobody answers).
    ``dials``: by Dial() target exactly as written (``PJSIP/201``,
    ``PJSIP/+79161234567@trunk-main``); an unscripted target is CHANUNAVAIL.
    Originate() uses the same targets. ``conferences``: by room, else ``conference``.
    """

    queues: Mapping[str, QueueScript] = field(default_factory=dict)
    dials: Mapping[str, DialScript] = field(default_factory=dict)
    voicemail: VoicemailScript = VoicemailScript()
    fax: FaxScript = FaxScript()
    conference: ConferenceScript = ConferenceScript()
    conferences: Mapping[str, ConferenceScript] = field(default_factory=dict)
    default_queue: QueueScript = _NO_ANSWER

    def __post_init__(self) -> None:
        # read-only copies, so a script stays a value once built
        object.__setattr__(self, "queues", _frozen(self.queues, fold=True))
        object.__setattr__(self, "dials", _frozen(self.dials))
        object.__setattr__(self, "conferences", _frozen(self.conferences))

    def queue(self, name: str) -> QueueScript:
        """The script for queue ``name``."""
        return self.queues.get(name.lower(), self.default_queue)

    def dial(self, target: str) -> DialScript | None:
        """The script for Dial() target ``target``, None if unknown."""
        return self.dials.get(target)

    def room(self, name: str) -> ConferenceScript:
        """The script for conference room ``name``."""
        return self.conferences.get(name, self.conference)


# -- records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEvent:
    """One queue_log line: ``event`` (ENTERQUEUE, CONNECT, ...) by ``agent`` ("NONE" for the
    caller's own events) with its pipe-separated ``data`` fields, at ``at``."""

    at: float
    event: str
    agent: str
    data: tuple[str, ...]


@dataclass(frozen=True)
class QueueLogEntry:
    """One Queue() run.

    ``outcome`` is the last queue_log event: COMPLETEAGENT or COMPLETECALLER
    (answered), ABANDON, EXITWITHTIMEOUT, EXITEMPTY; a refused join has no events
    and the refusal (FULL, JOINEMPTY, JOINUNAVAIL) as outcome. ``status`` is
    QUEUESTATUS as set (None: left unset, as after a hangup). ``wait`` is
    ``left_at - joined_at`` for an unanswered call and the hold time for an
    answered one; ``talk`` is the answered call's length.
    """

    queue: str
    priority: int
    music_class: str
    options: str
    timeout: int | None
    position: int
    joined_at: float
    left_at: float
    wait: float
    talk: float
    outcome: str
    status: str | None
    events: tuple[QueueEvent, ...]

    @property
    def answered(self) -> bool:
        """True if an agent took the call."""
        return self.outcome in ("COMPLETEAGENT", "COMPLETECALLER")


@dataclass(frozen=True)
class DialRecord:
    """One Dial() run: ``status`` is DIALSTATUS; ``ring`` is the seconds before the answer
    (or before giving up), ``talk`` the answered call's length."""

    targets: tuple[str, ...]
    timeout: float | None
    options: str
    started_at: float
    ended_at: float
    status: str
    answered_by: str | None
    ring: float
    talk: float


@dataclass(frozen=True)
class VoicemailRecord:
    """One VoiceMail() run: ``message`` is the recorded length (0: nothing recorded);
    ``status`` is VMSTATUS."""

    mailbox: str
    options: str
    started_at: float
    ended_at: float
    message: float
    status: str


@dataclass(frozen=True)
class MixMonitorRecord:
    """A MixMonitor() recording: ``file`` as given, ``path`` where Asterisk writes it;
    ``stopped_at`` is None if it ran until the call ended."""

    file: str
    path: str
    options: str
    started_at: float
    stopped_at: float | None = None


@dataclass(frozen=True)
class ConferenceRecord:
    """One ConfBridge() stay: ``result`` is CONFBRIDGE_RESULT."""

    room: str
    bridge_profile: str
    user_profile: str
    menu: str
    joined_at: float
    left_at: float
    result: str


@dataclass(frozen=True)
class FaxRecord:
    """One ReceiveFax() run (FAXSTATUS, FAXPAGES, FAXERROR)."""

    file: str
    started_at: float
    ended_at: float
    status: str
    pages: int
    error: str


@dataclass(frozen=True)
class OriginateRecord:
    """One Originate(): ``status`` is ORIGINATE_STATUS; ``target_status`` what the
    dialled end did (its DialScript status, CHANUNAVAIL if unknown)."""

    tech_data: str
    kind: str
    args: tuple[str, ...]
    timeout: float
    options: str
    at: float
    status: str
    target_status: str


@dataclass(frozen=True)
class UserEventRecord:
    """One UserEvent(): its name and the ``Key: value`` fields of its body, in order."""

    at: float
    name: str
    fields: Mapping[str, str]


@dataclass
class TelephonyLog:
    """What the telephony applications did during one call, in order, per application."""

    queue_log: list[QueueLogEntry] = field(default_factory=list)
    dials: list[DialRecord] = field(default_factory=list)
    voicemails: list[VoicemailRecord] = field(default_factory=list)
    mix_monitors: list[MixMonitorRecord] = field(default_factory=list)
    conferences: list[ConferenceRecord] = field(default_factory=list)
    faxes: list[FaxRecord] = field(default_factory=list)
    originates: list[OriginateRecord] = field(default_factory=list)
    user_events: list[UserEventRecord] = field(default_factory=list)
