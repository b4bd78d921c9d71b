"""What one emulated call did, as the test or the simulator sees it afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from fastagi.testing._telephony import TelephonyLog

__all__ = ["CallResult", "TimelineEvent"]


class TimelineEvent(NamedTuple):
    """Something that happened on the channel, at a virtual time in seconds from the start.

    ``kind`` is one of: play, missing, say, dtmf, dtmf-lost, exec, gosub, record,
    music, set, verbose, hangup; and for the telephony applications: queue,
    dial, voicemail, mixmonitor, conference, fax, originate, userevent; and
    app, an application run by the dialplan (`AsteriskEmulator.run_dialplan`).
    """

    at: float
    kind: str
    detail: str


@dataclass
class CallResult:
    """The record of one call placed by `AsteriskEmulator.place_call`.

    ``agi_status`` mirrors the AGISTATUS channel variable Asterisk sets when
    the AGI ends: "SUCCESS" (the server closed the socket while the channel
    was up), "HANGUP" (the channel was hung up while the AGI ran - by the
    caller or by the server's HANGUP command), "FAILURE" (the connection was
    refused or reset before the environment was sent, or a command failed -
    a missing sound file in STREAM FILE, a GOSUB to an unknown label, ...).

    ``replies`` holds every line written to the server, one entry per line
    without the newline, including the ``HANGUP`` notice that follows the
    reply of the command during which the channel was hung up; the last
    ``HANGUP`` Asterisk writes as the AGI ends (usually to a closed socket)
    is not recorded.
    ``timings`` holds, per command, the wall seconds from the emulator's
    last write (reply or environment) to the arrival of the command line.

    The telephony applications leave one record per run in ``telephony``
    (a `TelephonyLog`): ``queue_log`` (Queue), ``dials``, ``voicemails``,
    ``mix_monitors`` (MixMonitor; not ``recordings``, which is RECORD FILE's),
    ``conferences``, ``faxes`` (ReceiveFax), ``originates``, ``user_events``.
    """

    uniqueid: str
    channel: str
    env: dict[str, str] = field(default_factory=dict)
    agi_status: str = "SUCCESS"
    hung_up_by: str | None = None
    server_closed: bool = False
    stuck: bool = False
    error: str | None = None
    commands: list[list[str]] = field(default_factory=list)
    command_lines: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    language: str = "en"
    digits_consumed: str = ""
    digits_lost: str = ""
    timeline: list[TimelineEvent] = field(default_factory=list)
    timings: list[float] = field(default_factory=list)
    virtual_duration: float = 0.0
    hangup_at: float | None = None
    closed_at: float | None = None
    commands_after_hangup: int = 0
    wall_duration: float = 0.0
    close_wall_time: float | None = None
    #: What Queue, Dial, VoiceMail... did on the channel (shared by every AGI of a dialplan run).
    telephony: TelephonyLog = field(default_factory=TelephonyLog)
