"""The telephony applications, playing out the channel's `TelephonyScript` in virtual time.

Each application behaves as its Asterisk namesake does at the dialplan's edge:
the same arguments, the same channel variables (QUEUESTATUS, DIALSTATUS,
VMSTATUS, ...), the same return value (-1 when the channel is hung up or the
application ends the call, 0 to carry on). The far end's behaviour comes from
``channel.telephony``; what happened is logged on the timeline and appended to
``channel.telephony_log``. Importing the module also registers the functions
QUEUE_WAITING_COUNT(queue) and QUEUE_VARIABLES(queue), answered from the script.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from fastagi.testing._expr import split_args
from fastagi.testing._functions import register_function
from fastagi.testing._parse import atoi, scan_float, scan_int
from fastagi.testing._telephony import (
    JOIN_REFUSALS,
    LEAVE_STATUSES,
    ConferenceRecord,
    DialRecord,
    DialScript,
    FaxRecord,
    MixMonitorRecord,
    OriginateRecord,
    QueueEvent,
    QueueLogEntry,
    QueueScript,
    UserEventRecord,
    VoicemailRecord,
)

if TYPE_CHECKING:
    from fastagi.testing._channel import AppHandler, Channel

__all__ = ["MONITOR_DIR", "telephony_applications"]

MONITOR_DIR = "/var/spool/asterisk/monitor"
"""Where MixMonitor() writes a file given without an absolute path."""


def _arg(args: list[str], index: int) -> str:
    return args[index].strip() if index < len(args) else ""


def _flags(options: str) -> str:
    """The option letters of ``options``, without their ``(...)`` arguments."""
    letters: list[str] = []
    depth = 0
    for char in options:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            letters.append(char)
    return "".join(letters)


def _whole(seconds: float) -> str:
    """Seconds as Asterisk writes durations measured with time(): whole, truncated."""
    return str(int(seconds))


def _wait_until(ch: Channel, at: float) -> None:
    """Let time pass until ``at`` (or the caller's hangup, whichever comes first)."""
    if math.isinf(at) and math.isinf(ch.hangup_at):
        raise RuntimeError("the script waits forever: give the channel a max_duration")
    ch.wait(at - ch.now)


# -- Queue -----------------------------------------------------------------------------


def _queue_priority(ch: Channel) -> int:
    # Queue() reads ${QUEUE_PRIO} with sscanf("%d"); anything else counts as 0
    text = ch.variables.get("QUEUE_PRIO")
    value = scan_int(text) if text is not None else None
    return value if value is not None else 0


class _QueueRun:
    """One caller's stay in a queue, building its queue_log events as it goes."""

    def __init__(self, ch: Channel, name: str, options: str, url: str, timeout: int | None):
        self.ch = ch
        self.name = name
        self.options = options
        self.url = url
        self.timeout = timeout
        self.script: QueueScript = ch.telephony.queue(name)
        self.priority = _queue_priority(ch)
        self.music = ch.get_variable("CHANNEL(musicclass)") or "default"
        self.position = self.script.waiting + 1
        self.start = ch.now
        self.events: list[QueueEvent] = []
        self.hold = 0.0
        self.talk = 0.0

    def event(self, name: str, agent: str, *data: str) -> None:
        self.events.append(QueueEvent(self.ch.now, name, agent, data))

    def leave(self, event: str) -> None:
        """The caller leaves the queue unanswered: position, original position, wait."""
        waited = _whole(self.ch.now - self.start)
        self.event(event, "NONE", str(self.position), str(self.position), waited)

    def finish(self, outcome: str, status: str | None) -> None:
        ch = self.ch
        if status is not None:
            ch.set_variable("QUEUESTATUS", status)
        answered = outcome in ("COMPLETEAGENT", "COMPLETECALLER")
        ch.telephony_log.queue_log.append(
            QueueLogEntry(
                queue=self.name,
                priority=self.priority,
                music_class=self.music,
                options=self.options,
                timeout=self.timeout,
                position=self.position,
                joined_at=self.start,
                left_at=ch.now,
                wait=self.hold if answered else ch.now - self.start,
                talk=self.talk,
                outcome=outcome,
                status=status,
                events=tuple(self.events),
            )
        )
        ch.log("queue", f"leave {self.name}: {outcome}" + (f" {status}" if status else ""))

    def end_of_wait(self) -> tuple[float, str]:
        """When and why the wait ends, if the caller does not hang up first."""
        script, start = self.script, self.start
        ends: list[tuple[float, int, str]] = []
        # at the same instant Queue() checks its timeout first, as its loop does
        if self.timeout is not None:
            ends.append((start + max(self.timeout, 0), 0, "timeout"))
        if script.status in LEAVE_STATUSES:
            ends.append((start + script.status_after, 1, "leave"))
        if script.caller_hangup_after is not None:
            ends.append((start + script.caller_hangup_after, 2, "abandon"))
        if script.answer_after is not None:
            ends.append((start + script.answer_after, 3, "answer"))
        if not ends:
            return math.inf, "none"
        at, _, why = min(ends)
        return at, why

    def run(self) -> int:
        ch, script = self.ch, self.script
        ch.log("queue", f"join {self.name} prio={self.priority} position={self.position}")
        if script.status in JOIN_REFUSALS:
            self.finish(script.status or "", script.status)
            return 0
        self.event("ENTERQUEUE", "NONE", self.url, ch.caller_number, str(self.position))
        at, why = self.end_of_wait()
        ringing = "r" in _flags(self.options)  # "r": ringback instead of music on hold
        playing = ch.music_class
        if not ringing:
            ch.music_class = self.music
        ch.log("queue", "ringing" if ringing else f"music {ch.music_class}")
        _wait_until(ch, at)
        ch.music_class = playing
        if ch.hung_up or why in ("abandon", "none"):
            ch.hangup("caller")
            self.leave("ABANDON")
            self.finish("ABANDON", None)
            return -1
        if why == "timeout":
            self.leave("EXITWITHTIMEOUT")
            self.finish("EXITWITHTIMEOUT", "TIMEOUT")
            return 0
        if why == "leave":
            self.leave("EXITEMPTY")
            self.finish("EXITEMPTY", script.status)
            return 0
        return self.connect()

    def connect(self) -> int:
        ch, script = self.ch, self.script
        self.hold = ch.now - self.start
        hold = _whole(self.hold)
        self.event("CONNECT", script.agent, hold, f"{ch.uniqueid}-agent", "0")
        # what queues.conf setinterfacevar=yes / setqueueentryvar=yes set before
        # the bridge (the shipped queues.conf has both)
        ch.set_variable("MEMBERINTERFACE", script.agent)
        ch.set_variable("QEHOLDTIME", hold)
        ch.set_variable("QEORIGINALPOS", str(self.position))
        ch.log("queue", f"connect {self.name} {script.agent}")
        began = ch.now
        ch.wait(script.talk)
        if not ch.hung_up and script.hangup_by == "caller":
            ch.hangup("caller")
        self.talk = ch.now - began
        event = "COMPLETECALLER" if ch.hung_up else "COMPLETEAGENT"
        self.event(event, script.agent, hold, _whole(self.talk), str(self.position))
        if not ch.hung_up and "c" in _flags(self.options):
            self.finish(event, "CONTINUE")
            return 0
        # without "c" the bridge's end ends Queue() with -1, QUEUESTATUS untouched
        self.finish(event, None)
        return -1


def _queue(ch: Channel, data: str) -> int:
    args = split_args(data)
    name = _arg(args, 0)
    if not name or ch.hung_up:
        return -1
    timeout_text = _arg(args, 4)
    timeout = atoi(timeout_text) if timeout_text else None
    return _QueueRun(ch, name, _arg(args, 1), _arg(args, 2), timeout).run()


# -- Dial ------------------------------------------------------------------------------


def _dial_outcome(
    scripts: list[tuple[str, DialScript | None]], timeout: float | None
) -> tuple[float, str, str | None]:
    """(seconds after the start, DIALSTATUS, answering target) for targets rung together."""
    answers = [
        (script.after, target)
        for target, script in scripts
        if script is not None
        and script.status == "ANSWER"
        and (timeout is None or script.after < timeout)
    ]
    if answers:
        after, target = min(answers)
        return after, "ANSWER", target
    failures: list[tuple[float, str]] = []
    for _target, script in scripts:
        if script is None or script.status == "CHANUNAVAIL":
            failures.append((0.0, "CHANUNAVAIL"))
        elif script.status in ("BUSY", "CONGESTION"):
            failures.append((script.after, script.status))
    if scripts and len(failures) == len(scripts):
        last = max(at for at, _ in failures)
        if timeout is None or last < timeout:
            # everyone failed: busy beats congestion beats unavailable, as in app_dial
            kinds = {kind for _, kind in failures}
            status = next(k for k in ("BUSY", "CONGESTION", "CHANUNAVAIL") if k in kinds)
            return last, status, None
    return (timeout if timeout is not None else math.inf), "NOANSWER", None


def _set_duration(ch: Channel, name: str, seconds: float) -> None:
    ch.set_variable(name, _whole(seconds))
    ch.set_variable(f"{name}_MS", str(int(seconds * 1000)))


def _dial(ch: Channel, data: str) -> int:
    args = split_args(data)
    spec, options = _arg(args, 0), _arg(args, 2)
    if not spec:
        ch.set_variable("DIALSTATUS", "INVALIDARGS")
        return -1
    if ch.hung_up:
        return -1
    targets = tuple(t.strip() for t in spec.split("&") if t.strip())
    value = scan_float(_arg(args, 1))
    timeout = value if value is not None and value > 0 else None
    scripts = [(t, ch.telephony.dial(t) if "/" in t else None) for t in targets]
    start = ch.now
    after, status, answered_by = _dial_outcome(scripts, timeout)
    ch.log("dial", f"{spec} ringing")
    _wait_until(ch, start + after)
    ring = ch.now - start
    talk = 0.0
    result = 0
    if ch.hung_up:
        status, answered_by, result = "CANCEL", None, -1
    elif answered_by is not None:
        script = ch.telephony.dial(answered_by) or DialScript()
        ch.log("dial", f"{answered_by} answered")
        ch.set_variable("DIALEDPEERNUMBER", answered_by.partition("/")[2])
        ch.wait(script.talk)
        if not ch.hung_up and script.hangup_by == "caller":
            ch.hangup("caller")
        talk = ch.now - ring - start
        _set_duration(ch, "ANSWEREDTIME", talk)
        _set_duration(ch, "DIALEDTIME", ring + talk)
        # the bridge's end ends Dial() with -1 unless "g" and the caller is still there
        result = 0 if not ch.hung_up and "g" in _flags(options) else -1
    ch.set_variable("DIALSTATUS", status)
    ch.log("dial", f"{spec}: {status}")
    ch.telephony_log.dials.append(
        DialRecord(targets, timeout, options, start, ch.now, status, answered_by, ring, talk)
    )
    return result


# -- VoiceMail -------------------------------------------------------------------------


def _voicemail(ch: Channel, data: str) -> int:
    args = split_args(data)
    mailbox, options = _arg(args, 0), _arg(args, 1)
    if not mailbox or ch.hung_up:
        return -1
    script = ch.telephony.voicemail
    start = ch.now
    message = 0.0
    result = 0
    if script.status == "FAILED" and not script.caller_hangs_up:
        status = "FAILED"
    else:
        ch.log("voicemail", f"{mailbox} greeting")
        ch.wait(script.greeting)
        if ch.hung_up or script.status == "FAILED":
            ch.hangup("caller")
            status, result = "FAILED", -1
        elif script.status == "USEREXIT":
            ch.log("voicemail", f"exit by {script.key}")
            status = "USEREXIT"
        else:
            ch.log("voicemail", "recording")
            began = ch.now
            ch.wait(script.message)
            if not ch.hung_up and script.caller_hangs_up:
                ch.hangup("caller")
            message = ch.now - began
            status = "SUCCESS" if message > 0 else "FAILED"
            result = -1 if ch.hung_up else 0
    ch.set_variable("VMSTATUS", status)
    ch.log("voicemail", f"{mailbox}: {status}")
    ch.telephony_log.voicemails.append(
        VoicemailRecord(mailbox, options, start, ch.now, message, status)
    )
    return result


# -- MixMonitor ------------------------------------------------------------------------


def _mix_monitor(ch: Channel, data: str) -> int:
    args = split_args(data)
    file, options = _arg(args, 0), _arg(args, 1)
    if not file:
        return -1
    path = file if file.startswith("/") else f"{MONITOR_DIR}/{file}"
    ch.set_variable("MIXMONITOR_FILENAME", path)
    ch.telephony_log.mix_monitors.append(MixMonitorRecord(file, path, options, ch.now))
    ch.log("mixmonitor", f"start {path}")
    return 0


def _stop_mix_monitor(ch: Channel, data: str) -> int:
    records = ch.telephony_log.mix_monitors
    for index, record in enumerate(records):
        if record.stopped_at is None:
            records[index] = replace(record, stopped_at=ch.now)
            ch.log("mixmonitor", f"stop {record.path}")
    return 0


# -- ConfBridge ------------------------------------------------------------------------


def _conf_bridge(ch: Channel, data: str) -> int:
    args = split_args(data)
    room = _arg(args, 0)
    if ch.hung_up:
        return -1
    script = ch.telephony.room(room)
    start = ch.now
    if not room or script.result == "FAILED":
        result = "FAILED"
    else:
        ch.log("conference", f"join {room}")
        ch.wait(script.after)
        if not ch.hung_up and script.result == "HANGUP":
            ch.hangup("caller")
        result = "HANGUP" if ch.hung_up else script.result
    ch.set_variable("CONFBRIDGE_RESULT", result)
    ch.log("conference", f"leave {room}: {result}")
    ch.telephony_log.conferences.append(
        ConferenceRecord(room, _arg(args, 1), _arg(args, 2), _arg(args, 3), start, ch.now, result)
    )
    return -1 if result == "FAILED" or ch.hung_up else 0


# -- ReceiveFax ------------------------------------------------------------------------


def _receive_fax(ch: Channel, data: str) -> int:
    file = _arg(split_args(data), 0)
    script = ch.telephony.fax
    start = ch.now
    if not file:
        status, pages, error = "FAILED", 0, "INVALID_ARGUMENTS"
    elif ch.hung_up:
        return -1
    else:
        ch.log("fax", f"receiving {file}")
        ch.wait(script.duration)
        if ch.hung_up:
            status, pages, error = "FAILED", 0, "HANGUP"
        else:
            status, pages, error = script.status, script.pages, script.fax_error
            if script.caller_hangs_up:
                ch.hangup("caller")
    ch.set_variable("FAXSTATUS", status)
    ch.set_variable("FAXERROR", error)
    ch.set_variable("FAXPAGES", str(pages))
    if script.remote_station and status == "SUCCESS":
        ch.set_variable("REMOTESTATIONID", script.remote_station)
    ch.log("fax", f"{file}: {status} {pages} pages")
    ch.telephony_log.faxes.append(FaxRecord(file, start, ch.now, status, pages, error))
    return -1 if not file or ch.hung_up else 0


# -- Originate -------------------------------------------------------------------------

_ORIGINATE_STATUS = {
    "ANSWER": "SUCCESS",
    "BUSY": "BUSY",
    "CONGESTION": "CONGESTION",
    "NOANSWER": "RINGING",
    "CHANUNAVAIL": "FAILED",
}


def _originate(ch: Channel, data: str) -> int:
    args = split_args(data)
    tech_data, kind = _arg(args, 0), _arg(args, 1).lower()
    if not tech_data or "/" not in tech_data or kind not in ("exten", "app"):
        ch.set_variable("ORIGINATE_STATUS", "FAILED")
        return -1
    if ch.hung_up:
        return -1
    value = scan_float(_arg(args, 5))
    timeout = value if value is not None and value > 0 else 30.0
    options = _arg(args, 6)
    script = ch.telephony.dial(tech_data)
    target_status = script.status if script is not None else "CHANUNAVAIL"
    if "a" in _flags(options):
        status = "SUCCESS"  # asynchronous: Originate() returns as soon as the call is placed
    else:
        after, dial_status, _ = _dial_outcome([(tech_data, script)], timeout)
        ch.wait(after)
        if ch.hung_up:
            return -1
        status = _ORIGINATE_STATUS[dial_status]
    ch.set_variable("ORIGINATE_STATUS", status)
    ch.log("originate", f"{tech_data} {kind}: {status}")
    extra = tuple(_arg(args, i) for i in (2, 3, 4))
    ch.telephony_log.originates.append(
        OriginateRecord(tech_data, kind, extra, timeout, options, ch.now, status, target_status)
    )
    return 0


# -- UserEvent -------------------------------------------------------------------------


def _user_event(ch: Channel, data: str) -> int:
    args = split_args(data)
    name = _arg(args, 0)
    if not name:
        return -1
    fields: dict[str, str] = {}
    for item in args[1:]:
        key, _, value = item.partition(":")
        if key.strip():
            fields[key.strip()] = value.strip()
    ch.telephony_log.user_events.append(UserEventRecord(ch.now, name, fields))
    ch.log("userevent", name + "".join(f", {k}: {v}" for k, v in fields.items()))
    return 0


# -- functions -------------------------------------------------------------------------


def _queue_waiting_count(ch: Channel, arg: str) -> str | None:
    name = arg.strip()
    return str(ch.telephony.queue(name).waiting) if name else None


def _queue_variables(ch: Channel, arg: str) -> str | None:
    """QUEUE_VARIABLES(q): sets the queue's statistics as channel variables, reads "0"."""
    name = arg.strip()
    if not name:
        return None
    script = ch.telephony.queue(name)
    values = {
        "QUEUEMAX": "0",
        "QUEUESTRATEGY": "ringall",
        "QUEUECALLS": str(script.waiting),
        "QUEUEHOLDTIME": str(script.holdtime),
        "QUEUETALKTIME": "0",
        "QUEUECOMPLETED": "0",
        "QUEUEABANDONED": "0",
        "QUEUESRVLEVEL": "0",
        "QUEUESRVLEVELPERF": "0.0",
    }
    for key, value in values.items():
        ch.set_variable(key, value)
    return "0"


register_function("QUEUE_WAITING_COUNT", _queue_waiting_count)
register_function("QUEUE_VARIABLES", _queue_variables)


def telephony_applications() -> dict[str, AppHandler]:
    """The scripted applications by lower-case name (see `default_applications`)."""
    return {
        "queue": _queue,
        "dial": _dial,
        "voicemail": _voicemail,
        "mixmonitor": _mix_monitor,
        "stopmixmonitor": _stop_mix_monitor,
        "confbridge": _conf_bridge,
        "receivefax": _receive_fax,
        "originate": _originate,
        "userevent": _user_event,
    }
