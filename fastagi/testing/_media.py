"""Commands that take channel time: playing files, saying things, reading DTMF, recording.

Reply formats and argument checks follow res_agi.c (Asterisk 22); positions
(``endpos``) are in samples at 8 kHz, except CONTROL STREAM FILE's, which is
in milliseconds as in Asterisk.
"""

from __future__ import annotations

import math

from fastagi.testing._channel import Channel
from fastagi.testing._parse import DTMF_DIGITS, atoi, scan_int
from fastagi.testing._table import USAGE, Outcome, failed, ok

__all__ = [
    "control_stream_file",
    "get_data",
    "get_option",
    "record_file",
    "say_alpha",
    "say_date",
    "say_datetime",
    "say_digits",
    "say_number",
    "say_phonetic",
    "say_time",
    "stream_file",
    "wait_for_digit",
]

RATE = 8000
"""Samples per second of telephony audio: the unit of ``endpos``."""

GET_DATA_FIRST_TIMEOUT = 6.0
GET_DATA_NEXT_TIMEOUT = 2.0
DIGIT_TIMEOUT = 5.0
"""The dialplan's default digit timeout (GET OPTION without a timeout)."""


def _samples(seconds: float) -> int:
    return round(seconds * RATE)


def _millis(value: int) -> float:
    """A timeout in ms as Asterisk takes it: negative waits forever."""
    return math.inf if value < 0 else value / 1000.0


def _digit_result(ch: Channel, digit: str | None) -> int:
    if ch.hung_up:
        return -1
    return ord(digit) if digit else 0


def stream_file(ch: Channel, argv: list[str]) -> Outcome:
    """STREAM FILE file escape_digits [sample_offset]"""
    if not 4 <= len(argv) <= 5:
        return USAGE
    escape = argv[3]
    offset = 0
    if len(argv) > 4:
        scanned = scan_int(argv[4])
        if scanned is None:
            return USAGE
        offset = scanned
    if not ch.file_exists(argv[2]):
        ch.missing(argv[2])
        return failed(f"200 result=-1 endpos={offset}\n")
    if escape:
        ch.open_window(escape, can_timeout=False)
    played = ch.play(argv[2], escape, offset=offset / RATE)
    res = _digit_result(ch, played.digit)
    endpos = _samples(played.length if played.finished else played.position)
    ch.variables["PLAYBACKSTATUS"] = "FAILED" if res else "SUCCESS"
    text = f"200 result={res} endpos={endpos}\n"
    return ok(text) if res >= 0 else failed(text)


def control_stream_file(ch: Channel, argv: list[str]) -> Outcome:
    """CONTROL STREAM FILE file escape_digits [skipms [ffchar [rewchr [pausechr [offsetms]]]]]

    Only the stop digits are emulated; forward/rewind/pause digits are lost.
    """
    if not 5 <= len(argv) <= 10:
        return USAGE
    stop = argv[4]
    if len(argv) > 5 and scan_int(argv[5]) is None:
        return USAGE
    offset_ms = 0
    if len(argv) > 9:
        scanned = scan_int(argv[9])
        if scanned is None:
            return USAGE
        offset_ms = scanned
    if not ch.file_exists(argv[3]):
        ch.missing(argv[3])
        ch.variables["CPLAYBACKSTATUS"] = "ERROR"
        ch.variables["CPLAYBACKOFFSET"] = str(offset_ms)
        return failed(f"200 result=-1 endpos={offset_ms}\n")
    if stop:
        ch.open_window(stop, can_timeout=False)
    played = ch.play(argv[3], stop, offset=offset_ms / 1000.0)
    res = _digit_result(ch, played.digit)
    if res > 0 and played.digit:
        ch.variables["CPLAYBACKSTATUS"] = "USERSTOPPED"
        ch.variables["CPLAYBACKSTOPKEY"] = played.digit
    else:
        ch.variables["CPLAYBACKSTATUS"] = "ERROR" if res < 0 else "SUCCESS"
    endpos = -1 if played.finished else int(played.position * 1000)
    ch.variables["CPLAYBACKOFFSET"] = str(endpos)
    text = f"200 result={res} endpos={endpos}\n"
    return ok(text) if res >= 0 else failed(text)


def get_option(ch: Channel, argv: list[str]) -> Outcome:
    """GET OPTION file escape_digits [timeout_ms]"""
    if not 4 <= len(argv) <= 5:
        return USAGE
    escape = argv[3]
    timeout = atoi(argv[4]) if len(argv) == 5 else int(DIGIT_TIMEOUT * 1000)
    if not ch.file_exists(argv[2]):
        ch.missing(argv[2])
        return failed("200 result=-1 endpos=0\n")
    ch.open_window(escape, can_timeout=timeout != 0)
    played = ch.play(argv[2], escape)
    digit = played.digit
    endpos = _samples(played.position)
    if digit is None and not ch.hung_up:
        endpos = _samples(played.length)
        digit = ch.wait(_millis(timeout), DTMF_DIGITS)
        if digit is None and not ch.hung_up and timeout != 0:
            ch.window_timed_out()
        elif digit is not None and digit not in escape:
            digit = None
    res = _digit_result(ch, digit)
    text = f"200 result={res} endpos={endpos}\n"
    return ok(text) if res >= 0 else failed(text)


def get_data(ch: Channel, argv: list[str]) -> Outcome:
    """GET DATA file [timeout_ms] [maxdigits]: '#' ends the input and is not returned."""
    if len(argv) < 3:
        return USAGE
    timeout = atoi(argv[3]) if len(argv) >= 4 else 0
    maxlen = min(atoi(argv[4]) if len(argv) >= 5 else 1024, 1023)
    prompt = argv[2]
    if prompt and not ch.file_exists(prompt):
        ch.missing(prompt)
        return ok("200 result=-1\n")
    first, following = GET_DATA_FIRST_TIMEOUT, GET_DATA_NEXT_TIMEOUT
    if timeout != 0:
        first = following = _millis(timeout)
    if ch.hung_up or maxlen == 0:
        return ok("200 result=-1\n")
    ch.open_window(DTMF_DIGITS, can_timeout=math.isfinite(first), prompted=bool(prompt))
    digit = ch.play(prompt, DTMF_DIGITS).digit if prompt else None
    if digit is None and not ch.hung_up:
        digit = ch.wait(first, DTMF_DIGITS)
    got = ""
    while True:
        if ch.hung_up:
            return ok("200 result=-1\n")
        if digit is None:
            if not got:
                ch.window_timed_out()
            return ok(f"200 result={got} (timeout)\n")
        if digit == "#":
            return ok(f"200 result={got}\n")
        got += digit
        if len(got) >= maxlen:
            return ok(f"200 result={got}\n")
        digit = ch.wait(following, DTMF_DIGITS)


def wait_for_digit(ch: Channel, argv: list[str]) -> Outcome:
    """WAIT FOR DIGIT timeout_ms (-1: forever)"""
    if len(argv) != 4:
        return USAGE
    timeout = scan_int(argv[3])
    if timeout is None:
        return USAGE
    if timeout != 0:
        ch.open_window(DTMF_DIGITS, can_timeout=timeout > 0, prompted=False)
    digit = ch.wait(_millis(timeout), DTMF_DIGITS)
    res = _digit_result(ch, digit)
    if res == 0 and timeout > 0:
        ch.window_timed_out()
    text = f"200 result={res}\n"
    return ok(text) if res >= 0 else failed(text)


def _say(ch: Channel, what: str, escape: str) -> Outcome:
    if escape:
        ch.open_window(escape, can_timeout=False)
    played = ch.play(what, escape, kind="say")
    res = _digit_result(ch, played.digit)
    text = f"200 result={res}\n"
    return ok(text) if res >= 0 else failed(text)


def say_digits(ch: Channel, argv: list[str]) -> Outcome:
    """SAY DIGITS digits escape_digits: plays the pseudo-file ``say-digits:<digits>``."""
    if len(argv) != 4 or scan_int(argv[2]) is None:
        return USAGE
    return _say(ch, f"say-digits:{argv[2]}", argv[3])


def say_number(ch: Channel, argv: list[str]) -> Outcome:
    """SAY NUMBER number escape_digits [gender]: plays ``say-number:<number>``."""
    if not 4 <= len(argv) <= 5:
        return USAGE
    number = scan_int(argv[2])
    if number is None:
        return USAGE
    return _say(ch, f"say-number:{number}", argv[3])


def say_alpha(ch: Channel, argv: list[str]) -> Outcome:
    """SAY ALPHA text escape_digits [case]: plays ``say-alpha:<text>``."""
    if not 4 <= len(argv) <= 5:
        return USAGE
    if len(argv) > 4 and argv[4][:1].lower() not in ("a", "l", "n", "u", ""):
        return USAGE
    return _say(ch, f"say-alpha:{argv[2]}", argv[3])


def say_phonetic(ch: Channel, argv: list[str]) -> Outcome:
    """SAY PHONETIC text escape_digits: plays ``say-phonetic:<text>``."""
    if len(argv) != 4:
        return USAGE
    return _say(ch, f"say-phonetic:{argv[2]}", argv[3])


def say_date(ch: Channel, argv: list[str]) -> Outcome:
    """SAY DATE epoch escape_digits: plays ``say-date:<epoch>``."""
    if len(argv) != 4 or scan_int(argv[2]) is None:
        return USAGE
    return _say(ch, f"say-date:{scan_int(argv[2])}", argv[3])


def say_time(ch: Channel, argv: list[str]) -> Outcome:
    """SAY TIME epoch escape_digits: plays ``say-time:<epoch>``."""
    if len(argv) != 4 or scan_int(argv[2]) is None:
        return USAGE
    return _say(ch, f"say-time:{scan_int(argv[2])}", argv[3])


def say_datetime(ch: Channel, argv: list[str]) -> Outcome:
    """SAY DATETIME epoch escape_digits [format [timezone]]: plays ``say-datetime:<epoch>``."""
    if len(argv) < 4 or scan_int(argv[2]) is None:
        return USAGE
    return _say(ch, f"say-datetime:{scan_int(argv[2])}", argv[3])


def record_file(ch: Channel, argv: list[str]) -> Outcome:
    """RECORD FILE file format escape_digits timeout_ms [offset_samples] [BEEP] [s=silence]

    The caller is taken to be talking: the recording ends on an escape digit,
    at the timeout or on hangup (silence detection is not emulated).
    """
    if len(argv) < 6:
        return USAGE
    limit = scan_int(argv[5])
    if limit is None:
        return USAGE
    escape = argv[4]
    offset = 0
    if len(argv) > 6 and not argv[6].startswith("s="):
        offset = scan_int(argv[6]) or 0
    beep = (len(argv) > 6 and scan_int(argv[6]) is None and not argv[6].startswith("s=")) or (
        len(argv) > 7 and not argv[7].startswith("s=")
    )
    if beep:
        played = ch.play("beep", escape)
        if played.digit or ch.hung_up:
            res = _digit_result(ch, played.digit)
            return ok(f"200 result={res} (randomerror) endpos={offset}\n")
    ch.recordings.append(f"{argv[2]}.{argv[3]}")
    ch.log("record", f"{argv[2]}.{argv[3]}")
    ch.open_window(escape, can_timeout=True)
    began = ch.now
    digit = ch.wait(_millis(limit), escape)
    endpos = offset + _samples(ch.now - began)
    if ch.hung_up:
        return failed(f"200 result=-1 (hangup) endpos={endpos}\n")
    if digit is not None:
        endpos = max(offset, endpos - _samples(0.2))
        return ok(f"200 result={ord(digit)} (dtmf) endpos={endpos}\n")
    ch.window_timed_out()
    return ok(f"200 result=0 (timeout) endpos={endpos}\n")
