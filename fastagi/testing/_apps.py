"""Dialplan applications for EXEC, by lower-case name (Asterisk finds them case-insensitively).

The few whose effect the AGI can observe are emulated (Answer, Set, Wait,
Playback, Hangup, MusicOnHold); the telephony heavyweights (Dial, Queue,
VoiceMail, MixMonitor, ConfBridge, ReceiveFax, Originate, UserEvent) play out
the channel's `TelephonyScript` (see ``_telephony_apps``); the rest are known
no-ops returning 0. An application not in the mapping makes EXEC answer
``200 result=-2``, as in Asterisk.
"""

from __future__ import annotations

import math

from fastagi.testing._channel import STATE_UP, AppHandler, Channel
from fastagi.testing._parse import scan_float
from fastagi.testing._telephony_apps import telephony_applications

__all__ = ["default_applications"]

_NO_OPS = (
    "noop",
    "verbose",
    "log",
    "progress",
    "ringing",
    "voicemailmain",
    "sendfax",
    "record",
    "read",
    "background",
    "saydigits",
    "saynumber",
    "echo",
    "playtones",
    "stopplaytones",
    "celgenuserevent",
)


def _no_op(ch: Channel, data: str) -> int:
    return 0


def _answer(ch: Channel, data: str) -> int:
    ch.state = STATE_UP
    return -1 if ch.hung_up else 0


def _set(ch: Channel, data: str) -> int:
    name, sep, value = data.partition("=")
    if sep and name.strip():
        ch.set_variable(name.strip(), value)
    return 0


def _wait(ch: Channel, data: str) -> int:
    ch.wait(max(scan_float(data) or 0.0, 0.0))
    return -1 if ch.hung_up else 0


def _playback(ch: Channel, data: str) -> int:
    files = data.partition(",")[0]
    status = "SUCCESS"
    for name in files.split("&"):
        if not name or ch.hung_up:
            continue
        if ch.file_exists(name):
            ch.play(name)
        else:
            ch.missing(name)
            status = "FAILED"
    ch.variables["PLAYBACKSTATUS"] = status
    return -1 if ch.hung_up else 0


def _hangup(ch: Channel, data: str) -> int:
    ch.hangup("agi")
    return -1


def _music_on_hold(ch: Channel, data: str) -> int:
    music_class, _, duration = data.partition(",")
    ch.music_class = music_class or "default"
    ch.log("music", f"on {ch.music_class}")
    seconds = scan_float(duration) if duration else None
    ch.wait(seconds if seconds and seconds > 0 else math.inf)
    ch.music_class = None
    return -1 if ch.hung_up else 0


def _start_music(ch: Channel, data: str) -> int:
    ch.music_class = data.partition(",")[0] or "default"
    ch.log("music", f"on {ch.music_class}")
    return 0


def _stop_music(ch: Channel, data: str) -> int:
    ch.music_class = None
    ch.log("music", "off")
    return 0


def default_applications() -> dict[str, AppHandler]:
    """A fresh name -> handler mapping; keys are lower case."""
    apps: dict[str, AppHandler] = dict.fromkeys(_NO_OPS, _no_op)
    apps.update(
        {
            "answer": _answer,
            "set": _set,
            "wait": _wait,
            "playback": _playback,
            "hangup": _hangup,
            "musiconhold": _music_on_hold,
            "startmusiconhold": _start_music,
            "stopmusiconhold": _stop_music,
        }
    )
    apps.update(telephony_applications())
    return apps
